"""Deployment checks (`manage.py check --deploy`) for what Django cannot know."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.database, deploy=True)
def database_is_configured(app_configs, **kwargs):
    if getattr(settings, "DATABASE_URL_IS_DEFAULT", False):
        return [
            Warning(
                "DATABASE_URL is not set, so the local SQLite default is in use.",
                hint="Set DATABASE_URL to the production PostgreSQL database, e.g. postgres://user:pass@host/db.",
                id="petitions.W001",
            )
        ]
    return []


@register(deploy=True)
def email_goes_to_an_esp(app_configs, **kwargs):
    if settings.EMAIL_BACKEND.startswith("django.core.mail.backends."):
        return [
            Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: no email would reach anyone.",
                hint="Set EMAIL_BACKEND to an anymail backend and its ANYMAIL_* keys.",
                id="petitions.W002",
            )
        ]
    return []
