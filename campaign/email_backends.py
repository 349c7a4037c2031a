"""Email backends: anymail's own, with one addition.

Resend accepts an `Idempotency-Key` request header and sends a message only
once per key, however often the request is repeated. Stock anymail does not
set it, so this backend passes `message.idempotency_key` through. It is what
turns "a worker died after the ESP accepted the letter but before we recorded
it" from a duplicate letter into a harmless repeat.
"""

from anymail.backends.resend import EmailBackend as AnymailResendBackend


class ResendEmailBackend(AnymailResendBackend):
    def build_message_payload(self, message, defaults):
        payload = super().build_message_payload(message, defaults)
        key = getattr(message, "idempotency_key", None)
        if key:
            payload.headers["Idempotency-Key"] = key
        return payload
