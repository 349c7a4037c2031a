"""Hands a composed message to Django's mail API and says what became of it.

Any django-anymail ESP (or Django's file backend locally) sits behind the same
call. Failures are sorted into two kinds, because they are handled in
opposite ways: a transient failure is tried again later, a permanent one is
recorded with its reason and not tried again.
"""

import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.http import parse_http_date_safe

# Statuses an ESP uses for "not now": rate limits, timeouts and its own faults.
TRANSIENT_HTTP_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


@dataclass
class DeliveryFailure(Exception):
    reason: str
    transient: bool
    retry_after: timedelta | None = None
    # The ESP checked the request and refused it whole, sending nothing (a
    # 400 or 422: an address or field it will not take).
    refused_unsent: bool = False

    def __str__(self) -> str:
        return self.reason


def deliver(message: EmailMessage, *, idempotency_key: str) -> str:
    """Send one message; return the ESP's message id ("" where the backend has none).

    The idempotency key is passed to backends that accept one, so that a retry
    after a lost response cannot send the message twice. Raises DeliveryFailure.
    """
    _send(message, idempotency_key)
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id:
        message_id = status.message_id
        return message_id if isinstance(message_id, str) else ",".join(sorted(filter(None, message_id)))
    return ""


# What anymail calls a recipient the ESP took on.
_ACCEPTED = {"queued", "sent", "scheduled"}


def deliver_batch(message: EmailMessage, *, idempotency_key: str) -> dict[str, tuple[str, str | None]]:
    """Send an anymail batch message (one copy per `to` address) in one ESP call.

    Returns {address: (message id, error or None)} for every recipient; raises
    DeliveryFailure when the call as a whole failed.
    """
    _send(message, idempotency_key)
    status: Any = getattr(message, "anymail_status")  # noqa: B009  (set by anymail on send)
    return {
        address: (status.message_id or "", None if status.status in _ACCEPTED else f"Refused: {status.status}")
        for address, status in status.recipients.items()
    }


def batch_sending_available() -> bool:
    """True when the mail backend is an ESP's, which sends one copy per
    recipient of a message with merge data (deliver_batch)."""
    return isinstance(_connection(), AnymailBaseBackend)


_open_connections: dict[tuple[str, str], BaseEmailBackend] = {}


def _connection() -> BaseEmailBackend:
    """The mail backend to send with, kept open per process for ESP backends.

    anymail opens a new HTTP session, and so a new TCP and TLS connection, for
    every send_messages() call unless the backend is already open. A worker
    sends one message per task, so an open backend is kept per process, keyed
    by the settings it was made from. Other backends (the file backend writes
    one file per connection) are made afresh each time, as Django intends.
    """
    connection = get_connection(fail_silently=False)
    if not isinstance(connection, AnymailBaseBackend):
        return connection
    key = (settings.EMAIL_BACKEND, repr(sorted((settings.ANYMAIL or {}).items())))
    if key not in _open_connections:
        for stale in _open_connections.values():
            stale.close()
        _open_connections.clear()
        connection.open()
        _open_connections[key] = connection
    return _open_connections[key]


def _send(message: EmailMessage, idempotency_key: str) -> None:
    # anymail and our Resend backend read it off the message.
    message.idempotency_key = idempotency_key  # type: ignore[attr-defined]
    try:
        sent = _connection().send_messages([message])
    except AnymailRecipientsRefused as error:
        raise DeliveryFailure(f"Recipient refused by the email service: {error}", transient=False) from error
    except (AnymailInvalidAddress, AnymailUnsupportedFeature) as error:
        raise DeliveryFailure(f"Message cannot be sent: {error}", transient=False) from error
    except AnymailRequestsAPIError as error:
        raise _classify_http_error(error) from error
    except AnymailAPIError as error:
        raise DeliveryFailure(f"Email service error: {error}", transient=True) from error
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailure(f"Mail transport error: {error}", transient=True) from error
    if sent != 1:
        raise DeliveryFailure("The mail backend reported the message as not sent.", transient=True)


def _classify_http_error(error: AnymailRequestsAPIError) -> DeliveryFailure:
    status = error.status_code
    summary = _esp_message(error)
    if status is None:
        return DeliveryFailure(f"Email service unreachable: {summary}", transient=True)
    if status == 409 and "invalid_idempotent_request" in (error.response.text if error.response is not None else ""):
        # The ESP already accepted a different message under this key: sending
        # again cannot succeed, and staff must look at it.
        return DeliveryFailure(f"Email service refused a changed retry ({status}): {summary}", transient=False)
    if status in TRANSIENT_HTTP_STATUSES or status >= 500:
        retry_after = None
        if error.response is not None:
            retry_after = _parse_retry_after(error.response.headers.get("Retry-After"))
        return DeliveryFailure(f"Email service answered {status}: {summary}", transient=True, retry_after=retry_after)
    return DeliveryFailure(
        f"Email service refused the message ({status}): {summary}", transient=False, refused_unsent=status in (400, 422)
    )


def _esp_message(error: AnymailRequestsAPIError) -> str:
    """The ESP's own explanation where it gave one, else anymail's first line."""
    response = error.response
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"][:500]
        if response.text:
            return " ".join(response.text.split())[:500]
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def _parse_retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    timestamp = parse_http_date_safe(value)
    if timestamp is None:
        return None
    return timedelta(seconds=max(0, timestamp - time.time()))


def backoff(attempts: int, retry_after: timedelta | None = None) -> timedelta:
    """How long to wait before attempt number `attempts + 1`."""
    delay = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return delay
