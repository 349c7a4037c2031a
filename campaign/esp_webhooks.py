"""anymail's Resend tracking and inbound webhooks, answering 400 to a malformed body.

anymail validates the request (basic auth and Resend's svix signature) before
parsing it, but a body that passes validation and still is not the JSON it
expects would raise out of the view as a server error. A request from outside
that is merely wrong is a bad request, not our failure.
"""

from collections.abc import Callable

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent
from anymail.webhooks.resend import ResendInboundWebhookView as AnymailResendInboundWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView as AnymailResendTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden


class ResendTrackingWebhookView(AnymailResendTrackingWebhookView):
    def parse_events(self, request: HttpRequest) -> list[AnymailTrackingEvent]:
        try:
            return super().parse_events(request)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AnymailWebhookValidationFailure(f"Malformed Resend event: {error}") from error


class ResendInboundWebhookView(AnymailResendInboundWebhookView):
    """Resend's inbound mail: the event names the email, which anymail then
    fetches from Resend's API. A body that is not an `email.received` event
    is refused as a bad request."""

    def parse_events(self, request: HttpRequest) -> list[AnymailInboundEvent]:
        try:
            return super().parse_events(request)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AnymailWebhookValidationFailure(f"Malformed Resend inbound event: {error}") from error


class WebhookAuthenticationRequired:
    """Refuses every ESP webhook (`/anymail/...`) while no shared secret is set.

    anymail only warns when ANYMAIL's WEBHOOK_SECRET is empty and then accepts
    anyone's POST: one forged "bounced" event would hold a recipient's letters.
    `check --deploy` stops a production start without the secret
    (petitions.E001); locally the webhooks answer 403 unless
    ESP_WEBHOOKS_OPEN=1 opens them on purpose, for trying an ESP by hand.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(WEBHOOK_PREFIX) and not webhooks_authenticated() and not settings.ESP_WEBHOOKS_OPEN:
            return HttpResponseForbidden("Webhooks are closed: ANYMAIL_WEBHOOK_SECRET is not set.")
        return self.get_response(request)


WEBHOOK_PREFIX = "/anymail/"


def webhooks_authenticated() -> bool:
    """True when anymail checks a shared secret (basic auth) on every webhook."""
    return bool((settings.ANYMAIL or {}).get("WEBHOOK_SECRET"))
