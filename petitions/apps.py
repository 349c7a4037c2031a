from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "petitions"

    def ready(self):
        from anymail.signals import tracking

        from petitions import checks  # noqa: F401  (registers the deploy checks)
        from petitions.webhooks import tracking_event_received

        tracking.connect(tracking_event_received, dispatch_uid="petitions.tracking")
        self._process_caches_connect()

    def _process_caches_connect(self):
        """A save or delete clears the saving process's copy of what it changes
        (petitions.process_cache); other processes renew theirs within seconds."""
        from django.db.models.signals import post_delete, post_save

        from petitions.abuse import config_forget
        from petitions.services import consent_wordings_forget
        from petitions.views import page_cache_clear

        clearing = {
            "page": (page_cache_clear, ["Petition", "Demand", "BackgroundFact", "Target", "ConsentWording"]),
            "consents": (consent_wordings_forget, ["ConsentWording"]),
            "abuse": (config_forget, ["RateLimit", "BlockedSource"]),
        }
        for cache_name, (clear, model_names) in clearing.items():
            for name in model_names:
                for action, signal in (("save", post_save), ("delete", post_delete)):
                    signal.connect(
                        clear, sender=self.get_model(name), dispatch_uid=f"petitions.{cache_name}.{name}.{action}"
                    )
