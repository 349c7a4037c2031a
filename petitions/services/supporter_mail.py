"""Email to supporters (confirmation, already-signed, thanks, reminders, staff's
test copies), asked for in a transaction and sent after it commits.

An outbox entry is written in the same transaction as the change that asks
for it, so a broker outage delays the email but never loses it. After commit
the writer wakes a *drain*: a task that claims due entries in batches through
the delivery engine and sends them, until none is left.

Waking is cheap, because signing does it on every signature: one Redis
SET NX of the drain's slot (delivery.broker), and a task only when no drain
already holds it. A drain frees its slot only after finding nothing to send,
then looks once more, so an entry committed at any moment is either seen by
the running drain or wakes a new one. A drain that finds a full batch wakes a
second slot, for a second worker. Before a confirmation email goes out, the
drain applies the rate limits to its signature, a batch at a time, and holds
the signature instead if it was over one. If Redis or the broker is down,
the entries are marked unpublished and the periodic sweep (outbox_republish)
wakes a drain once it can; the sweep also wakes one for entries whose lease
ran out (a drain that died).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from petitions import emails
from petitions.delivery import broker, engine
from petitions.delivery.transport import batch_sending_available
from petitions.models import Outbox, Signature, Suppression
from petitions.selectors.suppressions import suppressions_of
from petitions.services import screening, waves
from petitions.services.suppression import supporter_email_blocked, suppression_blocks

logger = logging.getLogger(__name__)

REPUBLISH_BATCH = 1000
# Entries claimed at once by a drain.
DRAIN_BATCH = 50
# After this long a drain hands its slot to a fresh task, so one task never
# holds a worker process for ever under a steady stream of signatures.
DRAIN_TURN_SECONDS = 30
# A slot outlives its drain by at most this long if the drain dies.
DRAIN_SLOT_SECONDS = 60
# After a batch that was not full, a drain waits this long for more entries
# before it looks again: under a steady stream of signers, one claim then
# serves many emails instead of one or two. Emails wait at most this long more.
DRAIN_GATHER_SECONDS = 0.2
REMINDER_BATCH = 1000


def _lease() -> timedelta:
    """A task handed to the broker that has not run within this time is assumed
    lost (Redis restarted without persistence, say) and is handed over again.
    Tasks are idempotent, so a copy that was merely slow does no harm."""
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


OUTBOX = engine.Ledger(
    model=Outbox,
    label="Outbox",
    pending=Outbox.State.PENDING,
    claimed=Outbox.State.PENDING,
    sent=Outbox.State.DONE,
    failed=Outbox.State.FAILED,
    skipped=Outbox.State.SKIPPED,
    lease=_lease,
    published_at_field="published_at",
    publish_count_field="publish_count",
    finished_at_field="done_at",
)


def outbox_entry(kind: str, *, now: datetime | None = None, **fields: Any) -> Outbox:
    """An unsaved entry for an email due now (outbox_add saves it)."""
    now = now or timezone.now()
    # Marked as published from the start: waking a drain right after commit
    # almost always works, and when it does not, the failure path clears the
    # mark so the periodic sweep picks the entry up at once.
    return Outbox(kind=kind, created_at=now, next_attempt_at=now, published_at=now, **fields)


def outbox_add(kind: str, *, now: datetime | None = None, **fields: Any) -> Outbox:
    """Record an email to send once the current transaction commits; return the entry."""
    entry = outbox_entry(kind, now=now, **fields)
    entry.save(force_insert=True)
    drain_wake_on_commit([entry.pk])
    return entry


def drain_wake_on_commit(outbox_ids: list[int]) -> None:
    """Wake a drain for these entries once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: drain_wake(outbox_ids))


def _slot(slot: int) -> str:
    return f"outbox-drain-{slot}"


def drain_wake(outbox_ids: list[int], *, slot: int = 0) -> bool:
    """Make sure a drain runs for slot `slot`; True if one runs or was started."""
    try:
        if not broker.slot_take(_slot(slot), seconds=DRAIN_SLOT_SECONDS):
            return True  # a drain holds the slot and will see these entries
        broker.publish("outbox_drain", [(slot,)])
    except broker.BrokerUnavailable as error:
        logger.warning("Broker unavailable, %d outbox entries left for the sweep: %s", len(outbox_ids), error)
        broker.slot_free(_slot(slot))
        engine.unpublish(OUTBOX, outbox_ids)
        return False
    return True


def outbox_drain(*, slot: int = 0) -> int:
    """Send due entries until none is left (or DRAIN_TURN_SECONDS pass); return how many were handled."""
    started, handled = time.monotonic(), 0
    while True:
        claimed = _claim(DRAIN_BATCH)
        if not claimed:
            # Free the slot first, then look once more: whatever commits after
            # this look wakes a new drain.
            broker.slot_free(_slot(slot))
            claimed = _claim(DRAIN_BATCH)
            if not claimed:
                return handled
        if len(claimed) == DRAIN_BATCH and slot + 1 < settings.OUTBOX_DRAIN_SLOTS:
            drain_wake([], slot=slot + 1)  # a backlog: a second worker helps
        sent: dict[Any, str] = {}
        try:
            count, struggling = _send_claimed(claimed, sent=sent)
        finally:
            # Recorded once per claim. Should this process die first, the sent
            # entries go again after their lease, under the same keys, and the
            # ESP drops the repeats.
            engine.sent_record(OUTBOX, sent)
        handled += count
        if struggling:
            # The ESP is struggling: this drain stops, and the rest of what it
            # claimed waits, given back, for the sweep (or the next signer).
            broker.slot_free(_slot(slot))
            return handled
        if time.monotonic() - started > DRAIN_TURN_SECONDS:
            try:
                broker.slot_keep(_slot(slot), seconds=DRAIN_SLOT_SECONDS)
                broker.publish("outbox_drain", [(slot,)])
            except broker.BrokerUnavailable:
                broker.slot_free(_slot(slot))  # the sweep wakes a drain for what is left
            return handled
        if len(claimed) < DRAIN_BATCH:
            time.sleep(DRAIN_GATHER_SECONDS)


def _claim(limit: int) -> list[Outbox]:
    """Claim a batch sent before that is due again, whole, or else up to
    `limit` due entries not in a batch (skipping ones another drain holds)."""
    now = timezone.now()
    pending = Outbox.objects.order_by("next_attempt_at", "pk")
    with transaction.atomic():
        claimed = engine.batch_claim_again(OUTBOX, pending, now=now) or list(
            pending.select_for_update(skip_locked=True)
            .filter(OUTBOX.due(now), batch__isnull=True)
            .values_list("pk", flat=True)[:limit]
        )
        engine.claim_mark(OUTBOX, claimed, now=now)
    return list(
        Outbox.objects.select_related("signature__petition", "mailing__petition").filter(pk__in=claimed).order_by("pk")
    )


def repeats_resolve(entries: list[Outbox]) -> list[Outbox]:
    """Turn the repeat signatures among claimed entries into already-signed
    emails (at most REPEAT_NOTICE_LIMIT per signature, none to an invalidated
    or held signature), skipping the rest; return the entries to send."""
    repeats = [entry for entry in entries if entry.kind == Outbox.Kind.REPEAT_SIGNATURE]
    if not repeats:
        return entries
    kept = [entry for entry in entries if entry.kind != Outbox.Kind.REPEAT_SIGNATURE]
    now = timezone.now()
    with transaction.atomic():
        for entry in repeats:
            signature = (
                Signature.objects.select_for_update()
                .select_related("petition")
                .filter(petition_id=entry.petition_id, email_normalized=entry.signer_address)
                .first()
            )
            if (
                signature is None
                or signature.state == Signature.State.INVALIDATED
                or signature.flag_reason
                or signature.repeat_notices_sent >= settings.REPEAT_NOTICE_LIMIT
            ):
                Outbox.objects.filter(pk=entry.pk).update(
                    state=Outbox.State.SKIPPED, done_at=now, signer_address="",
                    last_error="Repeat signature: no notice (limit reached, invalidated, held or erased).",
                )
                continue
            Signature.objects.filter(pk=signature.pk).update(repeat_notices_sent=F("repeat_notices_sent") + 1)
            Outbox.objects.filter(pk=entry.pk).update(
                kind=Outbox.Kind.ALREADY_SIGNED_EMAIL, signature=signature, signer_address=""
            )
            entry.kind, entry.signature, entry.signer_address = Outbox.Kind.ALREADY_SIGNED_EMAIL, signature, ""
            kept.append(entry)
    return sorted(kept, key=lambda entry: entry.pk)


def _send_claimed(claimed: list[Outbox], *, sent: dict[Any, str]) -> tuple[int, bool]:
    """Send what a drain claimed, adding what was sent to `sent`. Returns how
    many entries were handled, and whether the ESP failed transiently (what
    was left unsent is then given back)."""
    handled = len(claimed)
    claimed = repeats_resolve(claimed)
    together, alone, suppressions = _together_and_alone(claimed)
    outcome = _deliver_together(together, sent=sent) if together else None
    if outcome == engine.TRANSIENT:
        engine.release(OUTBOX, alone)
        return handled - len(alone), True
    if outcome == engine.REFUSED_UNSENT:
        # One by one: the ESP refuses only the address at fault.
        Outbox.objects.filter(pk__in=[entry.pk for entry in together]).update(batch=None)
        alone = together + alone
    results, unsent = engine.send_each(
        OUTBOX, alone, build=_builder(suppressions), key=lambda entry: entry.idempotency_key, sent=sent
    )
    return handled - len(unsent), engine.TRANSIENT in results.values()


def _together_and_alone(claimed: list[Outbox]) -> tuple[list[Outbox], list[Outbox], dict[str, Suppression] | None]:
    """Split claimed entries into those to send in one ESP batch call and those
    to send one by one; also returns the suppressions looked up for them.

    A batch claimed again goes as it went before. Of fresh entries, those over
    a rate limit are held and unwanted ones skipped; confirmation emails to
    distinct addresses for one petition, in one language, then form a new batch, its members
    recorded before anything is sent. Only ESP backends batch.
    """
    again = [entry for entry in claimed if entry.batch is not None]
    if again:
        return again, [entry for entry in claimed if entry.batch is None], None
    fresh = _screen(claimed)
    suppressions = _suppressions_of(fresh)
    if not batch_sending_available():
        return [], fresh, suppressions
    together: list[Outbox] = []
    alone: list[Outbox] = []
    addresses: set[str] = set()
    petition_id = language = None
    for entry in fresh:
        signature = entry.signature
        address = emails.batch_recipient(signature.email).lower() if signature else None
        if (
            signature is None
            or address is None
            or entry.kind != Outbox.Kind.CONFIRMATION_EMAIL
            or address in addresses
            or (petition_id is not None and signature.petition_id != petition_id)
            or (language is not None and signature.language != language)
        ):
            alone.append(entry)
        elif (unwanted := _unwanted(entry, suppressions)) is not None:
            engine.skip(OUTBOX, [entry.pk], unwanted)
        else:
            together.append(entry)
            addresses.add(address)
            petition_id, language = signature.petition_id, signature.language
    if len(together) < 2:
        return [], alone + together, suppressions
    Outbox.objects.filter(pk__in=[entry.pk for entry in together]).update(batch=together[0].pk)
    for entry in together:
        entry.batch = together[0].pk
    return together, alone, suppressions


def _deliver_together(entries: list[Outbox], *, sent: dict[Any, str]) -> str:
    """Send claimed confirmation emails (one batch's members, in order) in one ESP call."""
    message = emails.confirmation_batch_email([(entry.signature, entry.created_at) for entry in entries])
    return engine.send_together(
        OUTBOX, entries, message=message, key=engine.batch_key("outbox-batch", [entry.pk for entry in entries]),
        address_of=lambda entry: emails.batch_recipient(entry.signature.email), sent=sent,
    )


def _screen(entries: list[Outbox]) -> list[Outbox]:
    """Hold new signatures that were over a rate limit instead of asking them
    to confirm, as signing holds blocklisted ones; return the entries still
    to send. Only a confirmation email for a signature no moderator has
    decided on is screened: one a moderator approved goes out."""
    signatures = [
        entry.signature for entry in entries
        if entry.kind == Outbox.Kind.CONFIRMATION_EMAIL and entry.signature is not None
        and entry.signature.last_decision_id is None and not entry.signature.flag_reason
    ]
    held_signatures = screening.signatures_hold_over_limits(signatures=signatures)
    held_signatures |= waves.waves_flag(signatures=[s for s in signatures if s.pk not in held_signatures])
    if not held_signatures:
        return entries
    held = [
        entry.pk for entry in entries
        if entry.kind == Outbox.Kind.CONFIRMATION_EMAIL and entry.signature_id in held_signatures
    ]
    engine.skip(OUTBOX, held, "Signature held for review (over a rate limit, or part of a wave).")
    return [entry for entry in entries if entry.pk not in held]


def outbox_republish(*, now: datetime | None = None) -> int:
    """Wake a drain for due entries that were never handed over or whose lease
    ran out. Returns how many entries that covers. Not through the slot: a
    drain that died may have left its slot behind."""
    return engine.republish(OUTBOX, "outbox_drain", arguments=(0,), limit=REPUBLISH_BATCH, now=now or timezone.now())


def _reminder_email(entry: Outbox) -> EmailMessage:
    # Which reminder this entry is (from 1): fixed once queued, so a retry reads the same.
    number = Outbox.objects.filter(signature=entry.signature, kind=Outbox.Kind.REMINDER_EMAIL, pk__lte=entry.pk).count()
    return emails.reminder_email(entry.signature, issued_at=entry.created_at, number=number)


# The message each kind of entry sends.
_BUILDERS: dict[str, Callable[[Outbox], EmailMessage]] = {
    Outbox.Kind.CONFIRMATION_EMAIL: lambda entry: emails.confirmation_email(
        entry.signature, issued_at=entry.created_at
    ),
    Outbox.Kind.ALREADY_SIGNED_EMAIL: lambda entry: emails.already_signed_email(
        entry.signature, issued_at=entry.created_at
    ),
    Outbox.Kind.THANKS_EMAIL: lambda entry: emails.thanks_email(entry.signature, issued_at=entry.created_at),
    Outbox.Kind.REMINDER_EMAIL: _reminder_email,
    Outbox.Kind.MAILING_TEST: lambda entry: emails.mailing_test_email(entry.mailing, to_email=entry.to_email),
}


def _suppressions_of(entries: Iterable[Outbox]) -> dict[str, Suppression]:
    """The suppression list's entries for these entries' signers, by address, in one query."""
    return suppressions_of(entry.signature.email_normalized for entry in entries if entry.signature is not None)


def _unwanted(entry: Outbox, suppressions: dict[str, Suppression] | None) -> str | None:
    """Why an entry should no longer be sent when its turn comes, or None if it
    should (a reminder after confirming is noise). `suppressions` is the list
    for the entry's address and others, as _suppressions_of gives it; None
    looks the address up."""
    if entry.signature is None:
        return None
    signature = entry.signature
    if not signature.email:
        return "Signer erased."
    if entry.kind == Outbox.Kind.REMINDER_EMAIL and signature.state != Signature.State.PENDING:
        return "Signature no longer pending."
    if entry.kind != Outbox.Kind.CONFIRMATION_EMAIL and signature.state == Signature.State.INVALIDATED:
        return "Signature invalidated."
    if suppressions is None:
        return supporter_email_blocked(signature.email_normalized, entry.kind)
    return suppression_blocks(suppressions.get(signature.email_normalized), entry.kind)


def _builder(suppressions: dict[str, Suppression] | None) -> Callable[[Outbox], EmailMessage | engine.Skip]:
    def build(entry: Outbox) -> EmailMessage | engine.Skip:
        unwanted = _unwanted(entry, suppressions)
        return engine.Skip(unwanted) if unwanted else _BUILDERS[entry.kind](entry)

    return build


def outbox_deliver(*, outbox_id: int) -> str | None:
    """Send the email one outbox entry asks for, once; return the ESP's message id or None.

    For messages queued before entries were drained in batches. The entry is
    claimed by a single UPDATE, so two copies of the task cannot both send; a
    copy arriving after success finds it done and does nothing. An entry in an
    ESP batch is left to the drain, which sends batches whole.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Outbox.objects.select_for_update(skip_locked=True)
            .filter(OUTBOX.due(now), pk=outbox_id, batch__isnull=True)
            .values_list("pk", flat=True)
        )
        engine.claim_mark(OUTBOX, claimed, now=now)
    if not claimed:
        return None
    entry = Outbox.objects.select_related("signature__petition", "mailing__petition").get(pk=outbox_id)
    if not repeats_resolve([entry]) or not _screen([entry]):
        return None
    sent: dict[Any, str] = {}
    engine.send_each(OUTBOX, [entry], build=_builder(None), key=lambda row: row.idempotency_key, sent=sent)
    engine.sent_record(OUTBOX, sent)
    return sent.get(entry.pk)


def reminders_queue(*, now: datetime | None = None) -> int:
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
                    created_at__lte=now - timedelta(days=days),
                    petition__is_open=True,
                )
                .exclude(Exists(suppressed))
                .exclude(email="")  # erased: nobody to write to
                .order_by("created_at")[:REMINDER_BATCH]
            )
            Signature.objects.filter(pk__in=[s.pk for s in due], reminders_sent=index).update(reminders_sent=index + 1)
            for signature in due:
                outbox_add(Outbox.Kind.REMINDER_EMAIL, signature=signature, now=now)
            queued += len(due)
    return queued
