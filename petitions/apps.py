from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "petitions"

    def ready(self) -> None:
        # Imported here because models can only be imported once apps are ready.
        from anymail.signals import inbound, tracking

        from petitions import caches, checks  # noqa: F401  (checks registers the deploy checks)
        from petitions.webhooks import inbound_event_received, tracking_event_received

        tracking.connect(tracking_event_received, dispatch_uid="petitions.tracking")
        inbound.connect(inbound_event_received, dispatch_uid="petitions.inbound")
        caches.connect()
