"""Email backends: anymail's own, with two additions for Resend.

- Resend accepts an `Idempotency-Key` request header and sends a message only
  once per key, however often the request is repeated. Stock anymail does not
  set it, so this backend passes `message.idempotency_key` through. It turns
  "a worker died after the ESP accepted the letter but before we recorded it"
  from a duplicate letter into a harmless repeat.
- Resend's batch endpoint takes a separate subject and body for every
  recipient but has no templating of its own, so anymail refuses `merge_data`
  for it. This backend fills each recipient's merge fields into their copy
  before sending, which is what ESPs with server-side templating do, so the
  mailing code can use anymail's portable `merge_data` for every ESP.
"""

import html
import re
from collections.abc import Mapping
from typing import Any

from anymail.backends.resend import EmailBackend as AnymailResendBackend
from anymail.backends.resend import ResendPayload as AnymailResendPayload
from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import EmailMessage


def merge_into(text: str, values: Mapping[str, str] | None, *, escape: bool) -> str:
    """Fill merge fields in as an ESP would, in one pass (a value that looks
    like a merge field stays as it is); values are HTML-escaped in HTML."""
    if not values:
        return text
    by_field = {
        settings.ESP_MERGE_FIELD.replace("NAME", name): html.escape(value) if escape else value
        for name, value in values.items()
    }
    pattern = re.compile("|".join(re.escape(field) for field in sorted(by_field, key=len, reverse=True)))
    return pattern.sub(lambda match: by_field[match.group(0)], text)


class ResendPayload(AnymailResendPayload):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.recipient_merge_data: dict[str, dict[str, str]] = {}
        super().__init__(*args, **kwargs)

    def set_merge_data(self, merge_data: dict[str, dict[str, str]]) -> None:
        self.recipient_merge_data = merge_data

    def serialize_json(self, data: Any) -> str:
        # anymail's serialize_data hands the batch's list of emails, one per
        # recipient, here to be written as JSON: each copy is filled in first
        # (before, the JSON was written, read back, filled in and written again).
        if isinstance(data, list) and self.is_batch() and any(self.recipient_merge_data.values()):
            for item, recipient in zip(data, self.to_recipients, strict=True):
                self._merge(item, recipient.addr_spec)
        return super().serialize_json(data)

    def _merge(self, item: dict[str, Any], address: str) -> None:
        values = self.recipient_merge_data.get(address)
        if values is None:
            # Sent on, the copy would show the bare merge fields (a link
            # that leads nowhere): better that nothing goes.
            raise AnymailError(f"No merge data for the recipient {address!r}.")
        for field in ("subject", "text"):
            if field in item:
                item[field] = merge_into(item[field], values, escape=False)
        if "html" in item:
            item["html"] = merge_into(item["html"], values, escape=True)


class ResendEmailBackend(AnymailResendBackend):
    def build_message_payload(self, message: EmailMessage, defaults: dict[str, Any]) -> ResendPayload:
        payload = ResendPayload(message, defaults, self)
        key = getattr(message, "idempotency_key", None)
        if key:
            payload.headers["Idempotency-Key"] = key
        return payload
