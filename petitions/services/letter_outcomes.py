"""What became of each letter after it left: the ESP's tracking events
(queued, sent, delivered, deferred, bounced, complained) recorded on the
letter, for the public delivery page and the signer's own letter-state page.
"""

from __future__ import annotations

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.utils import timezone

from petitions.models import OUTCOME_RANK, Letter

_OUTCOMES = {
    EventType.QUEUED: Letter.Outcome.QUEUED,
    EventType.SENT: Letter.Outcome.SENT,
    EventType.DEFERRED: Letter.Outcome.DEFERRED,
    EventType.DELIVERED: Letter.Outcome.DELIVERED,
    EventType.BOUNCED: Letter.Outcome.BOUNCED,
    EventType.COMPLAINED: Letter.Outcome.COMPLAINED,
}


def letter_outcome_record(*, event: AnymailTrackingEvent) -> str:
    """Record on the letter the ESP sent as `event.message_id` what the event says.

    Idempotent and order-proof: an outcome replaces only one that ranks lower
    (models.OUTCOME_RANK), in one conditional UPDATE, so a repeated event
    changes nothing and a late 'sent' or 'deferred' never overwrites
    'delivered'. The first delivery's time is kept. Returns what was done, for
    the log; an event about no letter (supporter email, say) changes nothing.
    """
    outcome = _OUTCOMES.get(event.event_type)
    if outcome is None or not event.message_id:
        return "not a letter outcome"
    at = event.timestamp or timezone.now()
    lower = [name for name, rank in OUTCOME_RANK.items() if rank < OUTCOME_RANK[outcome]]
    letters = Letter.objects.filter(esp_message_id=str(event.message_id)[:200])
    with transaction.atomic():
        changed = letters.filter(outcome__in=lower).update(outcome=outcome, outcome_at=at)
        if outcome == Letter.Outcome.DELIVERED:
            letters.filter(delivered_at__isnull=True).update(delivered_at=at)
    if changed:
        return f"letter {outcome}"
    return "letter unchanged" if letters.exists() else "not a letter"
