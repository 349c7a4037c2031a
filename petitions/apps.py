from django.apps import AppConfig


class PetitionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "petitions"

    def ready(self):
        from petitions import checks  # noqa: F401  (registers the deploy checks)
