"""anymail's Resend tracking webhook, answering 400 to a malformed body.

anymail validates the request (basic auth and Resend's svix signature) before
parsing it, but a body that passes validation and still is not the JSON it
expects would raise out of the view as a server error. A request from outside
that is merely wrong is a bad request, not our failure.
"""

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent
from anymail.webhooks.resend import ResendTrackingWebhookView as AnymailResendTrackingWebhookView
from django.http import HttpRequest


class ResendTrackingWebhookView(AnymailResendTrackingWebhookView):
    def parse_events(self, request: HttpRequest) -> list[AnymailTrackingEvent]:
        try:
            return super().parse_events(request)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise AnymailWebhookValidationFailure(f"Malformed Resend event: {error}") from error
