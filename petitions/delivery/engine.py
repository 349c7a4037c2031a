"""The one delivery engine: every message the service sends goes through it.

A message to send is a row in the database (an outbox entry, a letter, a
mailing's copy), written in the same transaction as the change that asks for
it. The engine owns what is the same for all of them:

- **claiming** due rows under a lease, skipping rows another worker holds
  (SELECT ... FOR UPDATE SKIP LOCKED), so two workers never send one row;
- **handing over** to the broker after commit, and marking rows unpublished
  when the broker is down, so a periodic sweep hands them over later;
- **sending** one by one or as one ESP batch, each under an idempotency key
  that stands for exactly that message, so a repeat after a crash is dropped
  by the ESP;
- **recording** what became of each row: sent (with the ESP's message id),
  skipped (no longer wanted, and why), retried later with back-off from the
  database (never a broker ETA), or failed for good with the reason staff see;
- **giving back** what a worker claimed but did not send, its attempt uncounted.

Each kind of message describes its table once, as a `Ledger`: which columns
and states mean "due", "claimed", "sent" and so on. Supporter email, letters
and mailings (petitions.services) say only what to send, to whom and in
which batches.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from petitions.delivery import broker
from petitions.delivery.transport import DeliveryFailure, backoff, deliver, deliver_batch
from petitions.fastsql import update_each

logger = logging.getLogger(__name__)

# A message that keeps failing in ways that may pass is given up after this many tries.
MAX_ATTEMPTS = 12

# What became of a claimed row, or of a batch.
SENT, SKIPPED, TRANSIENT, FAILED, REFUSED_UNSENT = "sent", "skipped", "transient", "failed", "refused unsent"


class Row(Protocol):
    pk: Any


@dataclass(frozen=True)
class Ledger:
    """Where one kind of message keeps its delivery state.

    `claimed` is the state of a row a worker is sending; where it equals
    `pending`, a claim is a lease alone: the row's due time moves a lease
    ahead, and a worker that dies simply lets it come due again.
    """

    model: type[models.Model]
    label: str
    pending: str
    claimed: str
    sent: str
    failed: str
    skipped: str
    lease: Callable[[], timedelta]
    error_field: str = "last_error"
    due_field: str | None = "next_attempt_at"
    attempts_field: str | None = "attempts"
    claimed_at_field: str | None = None
    published_at_field: str | None = None
    publish_count_field: str | None = None
    finished_at_field: str | None = None
    sent_at_field: str | None = None
    # A transient failure leaves the rows claimed: their lease is the back-off,
    # and the same members go again under the same key when it ends.
    retry_when_lease_ends: bool = False

    @property
    def claim_is_lease(self) -> bool:
        return self.claimed == self.pending

    def rows(self, pks: Iterable[Any]) -> models.QuerySet:
        return self.model._default_manager.filter(pk__in=list(pks))

    def due(self, now: datetime) -> Q:
        """Rows that may be claimed now."""
        condition = Q(state=self.pending)
        if self.due_field:
            condition &= Q(**{f"{self.due_field}__lte": now})
        return condition


def unexpected_failure(error: BaseException) -> DeliveryFailure:
    """A failure nobody classified (a bug, a bad setting): retrying blindly would
    hide it, so the row fails where staff see the reason, and the task still
    raises."""
    return DeliveryFailure(f"Unexpected error: {error!r}"[:500], transient=False)


# Claiming -------------------------------------------------------------------------


def claim_mark(ledger: Ledger, pks: Sequence[Any], *, now: datetime, **also: Any) -> None:
    """Mark locked rows as claimed by this worker: attempt counted, lease started."""
    if not pks:
        return
    changes: dict[str, Any] = dict(also)
    if ledger.claim_is_lease and ledger.due_field:
        changes[ledger.due_field] = now + ledger.lease()
    else:
        changes["state"] = ledger.claimed
    if ledger.claimed_at_field:
        changes[ledger.claimed_at_field] = now
    if ledger.attempts_field:
        changes[ledger.attempts_field] = F(ledger.attempts_field) + 1
    ledger.rows(pks).update(**changes)


def batch_claim_again(ledger: Ledger, candidates: models.QuerySet, *, now: datetime) -> list[Any]:
    """Lock every member of one due batch sent before, or none: a batch goes
    again whole, with the same members under the same key, or not at all
    (another worker holding part of it sends it)."""
    due = (
        candidates.select_for_update(skip_locked=True)
        .filter(ledger.due(now), batch__isnull=False)
        .values_list("batch", flat=True)
        .first()
    )
    if due is None:
        return []
    members = candidates.filter(state=ledger.pending, batch=due)
    locked = list(members.select_for_update(skip_locked=True).values_list("pk", flat=True))
    return locked if len(locked) == members.count() else []


def leases_expired(ledger: Ledger, *, now: datetime) -> None:
    """Rows claimed longer ago than the lease lost their worker mid-send: they
    are queued again (the ESP's idempotency key stops a second copy), or, once
    a row has lost MAX_ATTEMPTS workers (it crashes the process, say), failed
    with the reason staff see."""
    assert ledger.claimed_at_field and not ledger.claim_is_lease
    stale = ledger.model._default_manager.filter(
        state=ledger.claimed, **{f"{ledger.claimed_at_field}__lt": now - ledger.lease()}
    )
    if ledger.attempts_field:
        stale.filter(**{f"{ledger.attempts_field}__gte": MAX_ATTEMPTS}).update(
            state=ledger.failed,
            **{
                ledger.claimed_at_field: None,
                ledger.error_field: f"Worker lost while sending, {MAX_ATTEMPTS} times; given up.",
            },
        )
    changes = {
        "state": ledger.pending,
        ledger.claimed_at_field: None,
        ledger.error_field: "Worker lost while sending; queued again.",
    }
    if ledger.published_at_field:
        changes[ledger.published_at_field] = None
    stale.update(**changes)


def release(ledger: Ledger, rows: Sequence[Row]) -> None:
    """Give back claimed rows that were not sent: due at once and unpublished
    (for the sweep), their attempt not counted."""
    if not rows:
        return
    changes: dict[str, Any] = {"state": ledger.pending}
    if ledger.due_field:
        changes[ledger.due_field] = timezone.now()
    if ledger.claimed_at_field:
        changes[ledger.claimed_at_field] = None
    if ledger.published_at_field:
        changes[ledger.published_at_field] = None
    if ledger.attempts_field:
        changes[ledger.attempts_field] = F(ledger.attempts_field) - 1
    ledger.rows(row.pk for row in rows).filter(state=ledger.claimed).update(**changes)


def unpublish(ledger: Ledger, pks: Sequence[Any]) -> None:
    """Leave waiting rows for the sweep to hand over again."""
    if pks and ledger.published_at_field:
        ledger.rows(pks).update(**{ledger.published_at_field: None})


# Handing over ----------------------------------------------------------------------


def hand_over(ledger: Ledger, task: str, batches: Sequence[Sequence[Any]]) -> bool:
    """Publish `task` once per batch of row ids. If the broker is down, the rows
    are marked unpublished for the sweep, and False is returned."""
    batches = [list(batch) for batch in batches if batch]
    if not batches:
        return True
    try:
        broker.publish(task, [(batch,) for batch in batches])
    except broker.BrokerUnavailable as error:
        pks = [pk for batch in batches for pk in batch]
        logger.warning("Broker unavailable, %d %s rows left for the sweep: %s", len(pks), ledger.label, error)
        unpublish(ledger, pks)
        return False
    return True


def hand_over_on_commit(ledger: Ledger, task: str, batches: Sequence[Sequence[Any]]) -> None:
    """hand_over once the current transaction commits (at once outside one)."""
    batches = [list(batch) for batch in batches]
    transaction.on_commit(lambda: hand_over(ledger, task, batches))


def chunks(pks: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(pks[start:start + size]) for start in range(0, len(pks), size)]


# Recording -------------------------------------------------------------------------


def sent_record(ledger: Ledger, message_ids: dict[Any, str]) -> None:
    """Mark claimed rows sent, each with its ESP message id, in one statement."""
    now = timezone.now()
    same: dict[str, Any] = {"state": ledger.sent, ledger.error_field: ""}
    for field in {ledger.sent_at_field, ledger.finished_at_field} - {None}:
        same[str(field)] = now
    update_each(ledger.model, "esp_message_id", message_ids, **same)


def skip(ledger: Ledger, pks: Sequence[Any], reason: str) -> None:
    """Mark rows skipped: no longer wanted, with why."""
    if not pks:
        return
    changes: dict[str, Any] = {"state": ledger.skipped, ledger.error_field: reason[:500]}
    if ledger.finished_at_field:
        changes[ledger.finished_at_field] = timezone.now()
    ledger.rows(pks).update(**changes)


def failure_record(ledger: Ledger, rows: Sequence[Row], failure: DeliveryFailure) -> str:
    """Record a failed send of claimed rows; return TRANSIENT or FAILED.

    A transient failure is tried again later, with back-off from the database,
    until MAX_ATTEMPTS; a permanent one fails with the reason staff see."""
    if not rows:
        return FAILED
    now = timezone.now()
    attempts = max(getattr(row, ledger.attempts_field, 0) for row in rows) if ledger.attempts_field else 0
    reason = failure.reason[:500]
    claimed = ledger.rows(row.pk for row in rows).filter(state=ledger.claimed)
    if failure.transient and attempts < MAX_ATTEMPTS:
        changes: dict[str, Any] = {ledger.error_field: reason}
        if not ledger.retry_when_lease_ends:
            changes["state"] = ledger.pending
            if ledger.due_field:
                changes[ledger.due_field] = now + backoff(attempts, failure.retry_after)
            for field in (ledger.claimed_at_field, ledger.published_at_field):
                if field:
                    changes[field] = None
        claimed.update(**changes)
        logger.info("%s %s: transient failure, retrying later: %s", ledger.label, _ids(rows), reason)
        return TRANSIENT
    changes = {"state": ledger.failed, ledger.error_field: reason}
    if ledger.claimed_at_field and not ledger.retry_when_lease_ends:
        changes[ledger.claimed_at_field] = None
    if ledger.finished_at_field:
        changes[ledger.finished_at_field] = now
    claimed.update(**changes)
    logger.warning("%s %s failed: %s", ledger.label, _ids(rows), reason)
    return FAILED


def _ids(rows: Sequence[Row]) -> str:
    return ",".join(str(row.pk) for row in rows[:5]) + ("..." if len(rows) > 5 else "")


# Sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Skip:
    """What a message builder returns for a row that should no longer be sent."""

    reason: str


def send_each(
    ledger: Ledger,
    rows: Sequence[Row],
    *,
    build: Callable[[Any], EmailMessage | Skip],
    key: Callable[[Any], str],
    sent: dict[Any, str] | None = None,
    deadline: Callable[[], bool] | None = None,
) -> tuple[dict[Any, str], list[Row]]:
    """Send claimed rows one by one, outside any transaction, each under its own key.

    Returns ({row id: SENT, SKIPPED, TRANSIENT or FAILED}, the rows left unsent).
    Sent rows are marked at once, or added to `sent` ({id: message id}) for the
    caller to mark together. After a transient failure, or once `deadline()`
    says time is up, the rest are given back unattempted rather than meet the
    same answer now (or, for a ledger that retries when the lease ends, wait
    out the lease with the failed row). An unexpected error fails its row visibly, gives back the
    rest and raises.
    """
    outcome: dict[Any, str] = {}
    for position, row in enumerate(rows):
        if deadline is not None and deadline():
            release(ledger, rows[position:])
            return outcome, list(rows[position:])
        message = build(row)
        if isinstance(message, Skip):
            skip(ledger, [row.pk], message.reason)
            outcome[row.pk] = SKIPPED
            continue
        try:
            message_id = deliver(message, idempotency_key=key(row))
        except DeliveryFailure as failure:
            outcome[row.pk] = failure_record(ledger, [row], failure)
            if outcome[row.pk] == TRANSIENT:
                rest = rows[position + 1:]
                if ledger.retry_when_lease_ends:
                    failure_record(ledger, rest, failure)  # the rest wait out the lease with it
                else:
                    release(ledger, rest)
                return outcome, list(rest)
            continue
        except Exception as error:
            failure_record(ledger, [row], unexpected_failure(error))
            release(ledger, rows[position + 1:])
            raise
        outcome[row.pk] = SENT
        if sent is None:
            sent_record(ledger, {row.pk: message_id})
        else:
            sent[row.pk] = message_id
    return outcome, []


def send_together(
    ledger: Ledger,
    rows: Sequence[Row],
    *,
    message: EmailMessage,
    key: str,
    address_of: Callable[[Any], str],
    sent: dict[Any, str],
) -> str:
    """Send claimed rows as one ESP batch call (anymail merge data: one copy per
    `to` address). The key stands for exactly these rows: sent again, the batch
    is the same request, and the ESP drops the repeat.

    Returns SENT (whatever each recipient's outcome: refused addresses fail
    alone, sent ones are added to `sent`), TRANSIENT, FAILED, or REFUSED_UNSENT
    when the ESP refused the whole batch for what one member carries and sent
    nothing (the caller then sends them one by one)."""
    try:
        outcomes = deliver_batch(message, idempotency_key=key)
    except DeliveryFailure as failure:
        if failure.refused_unsent:
            return REFUSED_UNSENT
        return failure_record(ledger, rows, failure)
    except Exception as error:
        failure_record(ledger, rows, unexpected_failure(error))
        raise
    refused: dict[str, list[Row]] = {}
    for row in rows:
        message_id, refusal = outcomes.get(address_of(row), ("", "No status reported by the email service."))
        if refusal:
            refused.setdefault(refusal, []).append(row)
        else:
            sent[row.pk] = message_id
    for refusal, members in refused.items():
        failure_record(ledger, members, DeliveryFailure(refusal, transient=False))
    return SENT


def batch_key(prefix: str, pks: Iterable[Any]) -> str:
    """An idempotency key standing for exactly these rows."""
    return f"{prefix}-" + hashlib.sha256(",".join(str(pk) for pk in pks).encode()).hexdigest()[:40]


def republish(ledger: Ledger, task: str, *, arguments: Sequence[Any], limit: int, now: datetime) -> int:
    """Hand over once more the due rows that were never handed over or whose
    hand-over lease ran out (Redis lost them, say); return how many rows that
    covers. Safe to run concurrently: a worker claims each row once."""
    assert ledger.published_at_field
    published = ledger.published_at_field
    due = list(
        ledger.model._default_manager.filter(ledger.due(now))
        .filter(Q(**{f"{published}__isnull": True}) | Q(**{f"{published}__lt": now - ledger.lease()}))
        .order_by(ledger.due_field or "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    changes: dict[str, Any] = {published: now}
    if ledger.publish_count_field:
        changes[ledger.publish_count_field] = F(ledger.publish_count_field) + 1
    ledger.rows(due).update(**changes)
    try:
        broker.publish(task, [arguments])
    except broker.BrokerUnavailable as error:
        logger.warning("Broker unavailable, %d %s rows left for the next sweep: %s", len(due), ledger.label, error)
        unpublish(ledger, due)
        return 0
    return len(due)
