"""Who may still be emailed: unsubscribes, bounces and complaints the ESP
reports, staff's own additions, and recipients held after a bounce.

Every address is compared in one form, petitions.addresses.email_canonical:
a bounce for `Jane.Doe@gmail.com` suppresses the signer `janedoe@gmail.com`.
"""

from __future__ import annotations

import logging
from uuid import UUID

from anymail.signals import AnymailTrackingEvent, EventType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from petitions.addresses import address_hash, email_canonical
from petitions.models import EspEvent, MailingRecipient, Outbox, Signature, Suppression, Target
from petitions.selectors.suppressions import suppressions_of

logger = logging.getLogger(__name__)
MAX_ADDRESS_LENGTH = 254

# Mail the supporter did not just ask for. An unsubscribe stops these; the
# confirmation of a signature they have just made still goes, since they asked.
_UNSOLICITED = {Outbox.Kind.REMINDER_EMAIL}


def supporter_email_blocked(email_normalized: str, kind: str | None = None) -> str | None:
    """Why this address must not get an email of `kind` (None: a mailing), or None."""
    return suppression_blocks(suppressions_of([email_normalized]).get(email_normalized), kind)


def suppression_blocks(suppression: Suppression | None, kind: str | None = None) -> str | None:
    """Why an address with this suppression (or None) must not get an email of `kind`, or None."""
    if suppression is None:
        return None
    if suppression.reason == Suppression.Reason.UNSUBSCRIBED and kind is not None and kind not in _UNSOLICITED:
        return None
    return f"Address suppressed: {suppression.get_reason_display()}."


def _suppress(email_normalized: str, reason: str, detail: str = "") -> Suppression:
    """Add the address (in its canonical form) to the suppression list; a
    stronger reason replaces 'unsubscribed'."""
    suppression = suppressions_of([email_normalized]).get(email_normalized)
    created = suppression is None
    if suppression is None:
        suppression = Suppression.objects.create(
            email_normalized=email_normalized, address_hash=address_hash(email_normalized), reason=reason,
            detail=detail[:300],
        )
    if not created and suppression.reason == Suppression.Reason.UNSUBSCRIBED and reason != suppression.reason:
        Suppression.objects.filter(pk=suppression.pk).update(reason=reason, detail=detail[:300])
    # Copies of mailings not yet sent to this address will not be.
    MailingRecipient.objects.filter(email_normalized=email_normalized, state=MailingRecipient.State.PENDING).update(
        state=MailingRecipient.State.SKIPPED, error=f"Suppressed: {reason}"
    )
    return suppression


def supporter_unsubscribe(*, public_id: UUID) -> bool:
    """Stop all campaign email to the address that made signature `public_id`.

    Per address, not per petition, and effective before the next send: the
    address is suppressed, its update consents are withdrawn and its unsent
    copies of mailings are skipped. Idempotent. Returns False for an unknown id.
    """
    with transaction.atomic():
        signature = Signature.objects.filter(public_id=public_id).first()
        if signature is None:
            return False
        _suppress(signature.email_normalized, Suppression.Reason.UNSUBSCRIBED, "Unsubscribe link")
        Signature.objects.filter(email_normalized=signature.email_normalized).update(updates_consent=None)
    return True


_SUPPRESSING_EVENTS = {
    EventType.BOUNCED: Suppression.Reason.BOUNCED,
    EventType.COMPLAINED: Suppression.Reason.COMPLAINED,
    EventType.REJECTED: Suppression.Reason.REJECTED,
    EventType.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBED,
}


def esp_event_record(*, event: AnymailTrackingEvent) -> str:
    """Act on one tracking event from the ESP's webhook, once.

    A bounce, complaint or rejection suppresses the address for supporter
    email and, if it is a recipient's address, holds that recipient's letters;
    an unsubscribe reported by the ESP suppresses the address. The event's id
    is stored in the same transaction, so a replayed event changes nothing.
    Returns what was done, for the log.
    """
    if event.event_type not in _SUPPRESSING_EVENTS or not event.recipient:
        return "ignored"
    # The webhook is input from outside, even authenticated: an address that
    # cannot be one (RFC 5321 allows 254 characters) is refused, not stored.
    email_normalized = email_canonical(str(event.recipient))
    if not _is_address(email_normalized):
        return "ignored (not an email address)"
    event_id = str(event.event_id or f"{event.event_type}:{event.message_id}:{email_normalized}")
    reason = _SUPPRESSING_EVENTS[event.event_type]
    detail = (event.description or event.mta_response or "")[:300]
    try:
        with transaction.atomic():
            EspEvent.objects.create(event_id=event_id[:200], event_type=event.event_type, recipient=email_normalized)
            held = 0
            if reason != Suppression.Reason.UNSUBSCRIBED:
                recipients = Target.objects.filter(email__iexact=event.recipient.strip())
                held = recipients.filter(bounce_held_since__isnull=True).update(
                    bounce_held_since=timezone.now(), bounce_reason=f"{event.event_type}: {detail}"[:300]
                )
            _suppress(email_normalized, reason, detail)
    except IntegrityError:
        return "replay"
    if held:
        logger.warning("Recipient address %s %s; its letters are held", email_normalized, event.event_type)
    return f"suppressed ({reason})" + (", recipient held" if held else "")


def _is_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return len(address) <= MAX_ADDRESS_LENGTH


def target_bounce_clear(*, target_ids: list[int]) -> int:
    """Release recipients held after a bounce (staff fixed the address). Returns how many."""
    with transaction.atomic():
        count = Target.objects.filter(pk__in=target_ids, bounce_held_since__isnull=False).update(
            bounce_held_since=None, bounce_reason=""
        )
    return count


def suppression_add(*, email: str, reason: str = Suppression.Reason.MANUAL, detail: str = "") -> Suppression:
    """Suppress an address staff typed, in any spelling of it. Idempotent."""
    with transaction.atomic():
        return _suppress(email_canonical(email), reason, detail)
