from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "petitions"

    def ready(self):
        from anymail.signals import tracking

        from petitions import checks  # noqa: F401  (registers the deploy checks)
        from petitions.webhooks import tracking_event_received

        tracking.connect(tracking_event_received, dispatch_uid="petitions.tracking")
