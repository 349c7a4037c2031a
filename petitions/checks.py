"""Deployment checks (`manage.py check --deploy`) for what Django cannot know."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


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


PRIVACY_SETTINGS = ("PRIVACY_CONTROLLER", "PRIVACY_CONTACT_EMAIL", "PRIVACY_EMAIL_PROVIDER", "PRIVACY_LEGAL_BASIS")


@register(deploy=True)
def privacy_page_is_complete(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Signers must be told who holds their data, why, who sends for them and whom to ask."""
    missing = [name for name in PRIVACY_SETTINGS if not getattr(settings, name, "").strip()]
    if missing and not settings.DEBUG:
        return [
            Error(
                f"The privacy page would not say {', '.join(missing)}.",
                hint="Set them in the environment: the organisation, its contact, its email provider, the legal basis.",
                id="petitions.E002",
            )
        ]
    return []


@register(deploy=True)
def webhooks_are_authenticated(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """An ESP in production with unauthenticated webhooks would take anyone's
    forged bounce; the webhooks refuse every request then, so nothing arrives."""
    esp = not settings.EMAIL_BACKEND.startswith("django.core.mail.backends.")
    if esp and not settings.DEBUG and not (settings.ANYMAIL or {}).get("WEBHOOK_SECRET"):
        return [
            Error(
                "ANYMAIL_WEBHOOK_SECRET is not set: the ESP's bounce and complaint webhooks would be refused.",
                hint="Set ANYMAIL_WEBHOOK_SECRET to user:password and give the same to the ESP's webhook settings.",
                id="petitions.E001",
            )
        ]
    return []
