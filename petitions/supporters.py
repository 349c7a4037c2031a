"""Services for email to supporters: who may still be emailed, reminders,
unsubscribing, and what the ESP reports back (bounces, complaints).

Like `petitions.services`, every function here runs in one transaction and
says what it guarantees.
"""

import logging

from anymail.signals import EventType
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from petitions.models import EspEvent, MailingRecipient, Outbox, Signature, Suppression, Target
from petitions.outbox import outbox_add

logger = logging.getLogger(__name__)
REMINDER_BATCH = 1000

# Mail the supporter did not just ask for. An unsubscribe stops these; the
# confirmation of a signature they have just made still goes, since they asked.
_UNSOLICITED = {Outbox.Kind.REMINDER_EMAIL}


def supporter_email_blocked(email_normalized, kind=None):
    """Why this address must not get an email of `kind` (None: a mailing), or None."""
    return suppression_blocks(Suppression.objects.filter(email_normalized=email_normalized).first(), kind)


def suppression_blocks(suppression, kind=None):
    """Why an address with this suppression (or None) must not get an email of `kind`, or None."""
    if suppression is None:
        return None
    if suppression.reason == Suppression.Reason.UNSUBSCRIBED and kind is not None and kind not in _UNSOLICITED:
        return None
    return f"Address suppressed: {suppression.get_reason_display()}."


def _suppress(email_normalized, reason, detail=""):
    """Add the address to the suppression list; a stronger reason replaces 'unsubscribed'."""
    suppression, created = Suppression.objects.get_or_create(
        email_normalized=email_normalized, defaults={"reason": reason, "detail": detail[:300]}
    )
    if not created and suppression.reason == Suppression.Reason.UNSUBSCRIBED and reason != suppression.reason:
        Suppression.objects.filter(pk=suppression.pk).update(reason=reason, detail=detail[:300])
    # Copies of mailings not yet sent to this address will not be.
    MailingRecipient.objects.filter(email_normalized=email_normalized, state=MailingRecipient.State.PENDING).update(
        state=MailingRecipient.State.SKIPPED, error=f"Suppressed: {reason}"
    )
    return suppression


def supporter_unsubscribe(*, public_id):
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


def reminders_queue(*, now=None):
    """Ask for reminder emails to pending signers who are due one.

    At most len(REMINDER_SCHEDULE_DAYS) per signature, each when its day after
    signing has come, never to an unsubscribed or suppressed address, never on
    a closed petition. Counting the reminder and asking for it happen in one
    transaction, so a reminder is asked for once. Returns how many.
    """
    now = now or timezone.now()
    suppressed = Suppression.objects.filter(email_normalized=OuterRef("email_normalized"))
    queued = 0
    for index, days in enumerate(settings.REMINDER_SCHEDULE_DAYS):
        with transaction.atomic():
            due = list(
                Signature.objects.select_for_update(skip_locked=True)
                .filter(
                    state=Signature.State.PENDING,
                    reminders_sent=index,
                    created_at__lte=now - timezone.timedelta(days=days),
                    petition__is_open=True,
                )
                .exclude(Exists(suppressed))
                .order_by("created_at")[:REMINDER_BATCH]
            )
            Signature.objects.filter(pk__in=[s.pk for s in due], reminders_sent=index).update(reminders_sent=index + 1)
            for signature in due:
                outbox_add(Outbox.Kind.REMINDER_EMAIL, signature=signature, now=now)
            queued += len(due)
    return queued


_SUPPRESSING_EVENTS = {
    EventType.BOUNCED: Suppression.Reason.BOUNCED,
    EventType.COMPLAINED: Suppression.Reason.COMPLAINED,
    EventType.REJECTED: Suppression.Reason.REJECTED,
    EventType.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBED,
}


def esp_event_record(*, event):
    """Act on one tracking event from the ESP's webhook, once.

    A bounce, complaint or rejection suppresses the address for supporter
    email and, if it is a recipient's address, holds that recipient's letters;
    an unsubscribe reported by the ESP suppresses the address. The event's id
    is stored in the same transaction, so a replayed event changes nothing.
    Returns what was done, for the log.
    """
    if event.event_type not in _SUPPRESSING_EVENTS or not event.recipient:
        return "ignored"
    event_id = event.event_id or f"{event.event_type}:{event.message_id}:{event.recipient}"
    email_normalized = event.recipient.strip().lower()
    reason = _SUPPRESSING_EVENTS[event.event_type]
    detail = (event.description or event.mta_response or "")[:300]
    try:
        with transaction.atomic():
            EspEvent.objects.create(event_id=event_id[:200], event_type=event.event_type, recipient=email_normalized)
            held = 0
            if reason != Suppression.Reason.UNSUBSCRIBED:
                held = Target.objects.filter(email__iexact=email_normalized, bounce_held_since__isnull=True).update(
                    bounce_held_since=timezone.now(), bounce_reason=f"{event.event_type}: {detail}"[:300]
                )
            _suppress(email_normalized, reason, detail)
    except IntegrityError:
        return "replay"
    if held:
        logger.warning("Recipient address %s %s; its letters are held", email_normalized, event.event_type)
    return f"suppressed ({reason})" + (", recipient held" if held else "")


def target_bounce_clear(*, target_ids):
    """Release recipients held after a bounce (staff fixed the address). Returns how many."""
    with transaction.atomic():
        count = Target.objects.filter(pk__in=target_ids, bounce_held_since__isnull=False).update(
            bounce_held_since=None, bounce_reason=""
        )
    return count
