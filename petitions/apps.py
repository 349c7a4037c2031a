from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "petitions"

    def ready(self):
        from anymail.signals import tracking

        from petitions import checks  # noqa: F401  (registers the deploy checks)
        from petitions.webhooks import tracking_event_received

        tracking.connect(tracking_event_received, dispatch_uid="petitions.tracking")
        self._page_cache_connect()
        from django.db.models.signals import post_save

        from petitions.services import consent_wordings_forget

        post_save.connect(consent_wordings_forget, sender=self.get_model("ConsentWording"), dispatch_uid="petitions.consents")

    def _page_cache_connect(self):
        """An edit to what the public page shows clears this process's copy at once."""
        from django.db.models.signals import post_delete, post_save

        from petitions.views import page_cache_clear

        for name in ("Petition", "Demand", "BackgroundFact", "Target", "ConsentWording"):
            model = self.get_model(name)
            for action, signal in (("save", post_save), ("delete", post_delete)):
                signal.connect(page_cache_clear, sender=model, dispatch_uid=f"petitions.page.{name}.{action}")
