"""Supporter email asked for in a transaction and sent after it commits.

An entry is written in the same transaction as the change that asks for it
(a signature, a confirmation, a reminder), so a broker outage delays the
email but never loses it. After commit the writer wakes a *drain*: a task
that claims due entries in batches and sends each in its own ESP call under
its own idempotency key, until none is left.

Waking is cheap, because signing does it on every signature: one Redis
SET NX of the drain's slot key, and a task only when no drain already holds
the slot. A drain frees its slot only after finding nothing to send, then
looks once more, so an entry committed at any moment is either seen by the
running drain or wakes a new one. A drain that finds a full batch wakes a
second slot, for a second worker. Before a confirmation email goes out, the
drain applies the rate limits to its signature (abuse.over_limit_reasons),
a batch at a time, and holds the signature instead if it was over one. If Redis or the broker is down, the
entries are marked unpublished and the periodic sweep (outbox_republish)
wakes a drain once it can; the sweep also wakes one for entries whose lease
ran out (a drain that died).
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from petitions import abuse, emails
from petitions.bulk import update_each
from petitions.delivery import DeliveryFailure, backoff, batch_sending_available, deliver, deliver_batch
from petitions.models import Outbox, Signature, Suppression

logger = logging.getLogger(__name__)

# A task handed to the broker that has not run within this time is assumed lost
# (Redis restarted without persistence, say) and is handed over again. Tasks
# are idempotent, so a copy that was merely slow does no harm.
OUTBOX_LEASE = timezone.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
MAX_ATTEMPTS = 12
REPUBLISH_BATCH = 1000
# Entries claimed at once by a drain.
DRAIN_BATCH = 50
# After this long a drain hands its slot to a fresh task, so one task never
# holds a worker process for ever under a steady stream of signatures.
DRAIN_TURN_SECONDS = 30
# A slot key outlives its drain by at most this long if the drain dies.
DRAIN_SLOT_SECONDS = 60
# After a batch that was not full, a drain waits this long for more entries
# before it looks again: under a steady stream of signers, one claim then
# serves many emails instead of one or two. Emails wait at most this long more.
DRAIN_GATHER_SECONDS = 0.2
# What became of a claimed entry.
SENT, SKIPPED, TRANSIENT, FAILED, REFUSED_UNSENT = "sent", "skipped", "transient", "failed", "refused unsent"


def publish(task, argument_tuples):
    """Hand tasks to the broker over one connection; raise BrokerError on failure.

    No retries here: callers either run in a request, which must not wait on a
    broker, or in a periodic task that will simply try again.
    """
    from campaign.celery import app

    with app.producer_or_acquire() as producer:
        for arguments in argument_tuples:
            task.apply_async(args=arguments, producer=producer, retry=False)


def outbox_entry(kind, *, now=None, **fields):
    """An unsaved entry for an email due now (outbox_add saves it)."""
    now = now or timezone.now()
    # Marked as published from the start: waking a drain right after commit
    # almost always works, and when it does not, the failure path clears the
    # mark so the periodic sweep picks the entry up at once.
    return Outbox(kind=kind, created_at=now, next_attempt_at=now, published_at=now, **fields)


def outbox_add(kind, *, now=None, **fields):
    """Record an email to send once the current transaction commits; return the entry."""
    entry = outbox_entry(kind, now=now, **fields)
    entry.save(force_insert=True)
    drain_wake_on_commit([entry.pk])
    return entry


def drain_wake_on_commit(outbox_ids):
    """Wake a drain for these entries once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: drain_wake(outbox_ids))


def _slot_key(slot):
    return f"outbox:drain-slot:{slot}"


# (the cache backend, the Redis client made from it), kept per process.
_slot_client = [None, None]


def _slot_taken(slot):
    """Take the slot (SET NX, as cache.add does): False if a drain already holds it.

    Every signature asks this. Django's cache builds a new Redis client for
    every call, which was a third of the time; this process keeps one, on the
    cache's own connection pool and under the cache's key for the slot.
    """
    backend = caches["default"]
    if _slot_client[0] is not backend:  # first use, or the settings changed
        _slot_client[:] = [backend, backend._cache.get_client(write=True)]
    key = backend.make_and_validate_key(_slot_key(slot))
    return bool(_slot_client[1].set(key, 1, nx=True, ex=DRAIN_SLOT_SECONDS))


def drain_wake(outbox_ids, *, slot=0):
    """Make sure a drain runs for slot `slot`; True if one runs or was started."""
    from petitions.tasks import outbox_drain

    try:
        if not _slot_taken(slot):
            return True  # a drain holds the slot and will see these entries
        publish(outbox_drain, [(slot,)])
    except (RedisError, BrokerError) as error:
        logger.warning("Broker unavailable, %d outbox entries left for the sweep: %s", len(outbox_ids), error)
        _slot_free(slot)
        Outbox.objects.filter(pk__in=outbox_ids).update(published_at=None)
        return False
    return True


def _slot_free(slot):
    try:
        cache.delete(_slot_key(slot))
    except RedisError:
        pass  # it expires by itself


def outbox_drain(*, slot=0):
    """Send due entries until none is left (or DRAIN_TURN_SECONDS pass); return how many were handled."""
    from petitions.tasks import outbox_drain as drain_task

    started, handled = time.monotonic(), 0
    while True:
        claimed = _claim(DRAIN_BATCH)
        if not claimed:
            # Free the slot first, then look once more: whatever commits after
            # this look wakes a new drain.
            _slot_free(slot)
            claimed = _claim(DRAIN_BATCH)
            if not claimed:
                return handled
        if len(claimed) == DRAIN_BATCH and slot + 1 < settings.OUTBOX_DRAIN_SLOTS:
            drain_wake([], slot=slot + 1)  # a backlog: a second worker helps
        sent = {}
        try:
            count, unsent = _send_claimed(claimed, sent=sent)
        finally:
            # Recorded once per claim. Should this process die first, the sent
            # entries go again after their lease, under the same keys, and the
            # ESP drops the repeats.
            _sent_record(sent)
        handled += count
        if unsent is not None:
            # The ESP is struggling: this drain stops, and the rest of what it
            # claimed waits for the sweep (or the next signer) to wake one.
            _release(unsent)
            _slot_free(slot)
            return handled
        if time.monotonic() - started > DRAIN_TURN_SECONDS:
            try:
                cache.touch(_slot_key(slot), DRAIN_SLOT_SECONDS)
                publish(drain_task, [(slot,)])
            except (RedisError, BrokerError):
                _slot_free(slot)  # the sweep wakes a drain for what is left
            return handled
        if len(claimed) < DRAIN_BATCH:
            time.sleep(DRAIN_GATHER_SECONDS)


def _claim(limit):
    """Claim for this process a batch sent before that is due again, whole, or
    else up to `limit` due entries not in a batch (skipping ones another holds)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = _batch_claim_again(now) or list(
            Outbox.objects.select_for_update(skip_locked=True)
            .filter(state=Outbox.State.PENDING, next_attempt_at__lte=now, batch__isnull=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if claimed:
            Outbox.objects.filter(pk__in=claimed).update(next_attempt_at=now + OUTBOX_LEASE, attempts=F("attempts") + 1)
    return list(
        Outbox.objects.select_related("signature__petition", "mailing__petition").filter(pk__in=claimed).order_by("pk")
    )


def _send_claimed(claimed, *, sent):
    """Send what a drain claimed, adding what was sent to `sent`. Returns how
    many entries were handled, and the ones left unsent because the ESP failed
    transiently (None if it did not)."""
    together, alone, suppressions = _together_and_alone(claimed)
    outcome = _deliver_together(together, sent=sent) if together else None
    if outcome == TRANSIENT:
        return len(claimed) - len(alone), alone
    if outcome == REFUSED_UNSENT:
        alone = together + alone  # one by one: the ESP refuses only the address at fault
    for position, entry in enumerate(alone):
        if _deliver(entry, suppressions=suppressions, sent=sent) == TRANSIENT:
            unsent = alone[position + 1:]
            return len(claimed) - len(unsent), unsent
    return len(claimed), None


def _batch_claim_again(now):
    """Lock every pending member of one due batch, or none: a batch goes again
    whole or not at all (another drain holding part of it sends it)."""
    due = (
        Outbox.objects.select_for_update(skip_locked=True)
        .filter(state=Outbox.State.PENDING, next_attempt_at__lte=now, batch__isnull=False)
        .order_by("next_attempt_at", "pk")
        .values_list("batch", flat=True)
        .first()
    )
    if due is None:
        return []
    members = Outbox.objects.filter(state=Outbox.State.PENDING, batch=due)
    locked = list(members.select_for_update(skip_locked=True).values_list("pk", flat=True))
    return locked if len(locked) == members.count() else []


def _together_and_alone(claimed):
    """Split claimed entries into those to send in one ESP batch call and those
    to send one by one; also returns the suppressions looked up for them.

    A batch claimed again goes as it went before. Of fresh entries, those over
    a rate limit are held (_screen) and unwanted ones skipped; confirmation
    emails to distinct addresses for one petition then form a new batch, its
    members recorded before anything is sent. Only ESP backends batch.
    """
    again = [entry for entry in claimed if entry.batch is not None]
    if again:
        return again, [entry for entry in claimed if entry.batch is None], None
    fresh = _screen(claimed)
    suppressions = _suppressions_of(fresh)
    if not batch_sending_available():
        return [], fresh, suppressions
    together, alone, addresses = [], [], set()
    for entry in fresh:
        address = emails.batch_recipient(entry.signature.email).lower() if entry.signature else None
        if (
            entry.kind != Outbox.Kind.CONFIRMATION_EMAIL
            or address in addresses
            or (together and entry.signature.petition_id != together[0].signature.petition_id)
        ):
            alone.append(entry)
        elif not _skipped_if_unwanted(entry, suppressions):
            together.append(entry)
            addresses.add(address)
    if len(together) < 2:
        return [], alone + together, suppressions
    Outbox.objects.filter(pk__in=[entry.pk for entry in together]).update(batch=together[0].pk)
    for entry in together:
        entry.batch = together[0].pk
    return together, alone, suppressions


def _deliver_together(entries, *, sent):
    """Send claimed confirmation emails in one ESP batch call (one batch's
    members, in order). The idempotency key stands for exactly these entries:
    sent again, the batch is the same request, and the ESP drops the repeat.

    Returns SENT (whatever each recipient's outcome: refused addresses fail
    alone, sent ones are added to `sent`), TRANSIENT, FAILED, or
    REFUSED_UNSENT when the ESP refused the whole batch for what one member
    carries and sent nothing: the entries then leave the batch, to be sent
    one by one."""
    key = "outbox-batch-" + hashlib.sha256(",".join(str(entry.pk) for entry in entries).encode()).hexdigest()[:40]
    message = emails.confirmation_batch_email([(entry.signature, entry.created_at) for entry in entries])
    try:
        outcomes = deliver_batch(message, idempotency_key=key)
    except DeliveryFailure as failure:
        if failure.refused_unsent:
            Outbox.objects.filter(pk__in=[entry.pk for entry in entries]).update(batch=None)
            for entry in entries:
                entry.batch = None
            return REFUSED_UNSENT
        results = {_failure_record(entry, failure) for entry in entries}
        return TRANSIENT if TRANSIENT in results else FAILED
    except Exception as error:
        for entry in entries:
            _failure_record(entry, DeliveryFailure(f"Unexpected error: {error!r}"[:500], transient=False))
        raise
    for entry in entries:
        message_id, error = outcomes.get(
            emails.batch_recipient(entry.signature.email), ("", "No status reported by the email service.")
        )
        if error:
            _failure_record(entry, DeliveryFailure(error, transient=False))
        else:
            sent[entry.pk] = message_id
    return SENT


def _screen(entries):
    """Hold new signatures that were over a rate limit instead of asking them
    to confirm, as signing holds blocklisted ones; return the entries still
    to send. Only a confirmation email for a signature no moderator has
    decided on is screened: one a moderator approved goes out."""
    signatures = [
        entry.signature for entry in entries
        if entry.kind == Outbox.Kind.CONFIRMATION_EMAIL and entry.signature is not None
        and entry.signature.last_decision_id is None and not entry.signature.flag_reason
    ]
    reasons = abuse.over_limit_reasons(signatures)
    if not reasons:
        return entries
    now = timezone.now()
    held = {entry.pk for entry in entries if entry.kind == Outbox.Kind.CONFIRMATION_EMAIL and entry.signature_id in reasons}
    with transaction.atomic():
        for reason in set(reasons.values()):
            ids = [pk for pk, its_reason in reasons.items() if its_reason == reason]
            Signature.objects.filter(pk__in=ids, last_decision__isnull=True, flag_reason="").update(
                flag_reason=reason, flagged_at=now
            )
        Outbox.objects.filter(pk__in=held).update(
            state=Outbox.State.SKIPPED, done_at=now, last_error="Signature held for review (over a rate limit)."
        )
    return [entry for entry in entries if entry.pk not in held]


def _release(entries):
    """Give claimed entries back unsent, due at once and unpublished (for the
    sweep), their attempt uncounted."""
    if entries:
        Outbox.objects.filter(pk__in=[entry.pk for entry in entries], state=Outbox.State.PENDING).update(
            next_attempt_at=timezone.now(), published_at=None, attempts=F("attempts") - 1
        )


def outbox_republish(*, now=None):
    """Wake a drain for due entries that were never published or whose lease ran out.

    Returns how many entries that covers. Safe to run concurrently and
    repeatedly: a drain claims each entry once.
    """
    from petitions.tasks import outbox_drain

    now = now or timezone.now()
    due = list(
        Outbox.objects.filter(state=Outbox.State.PENDING, next_attempt_at__lte=now)
        .filter(Q(published_at__isnull=True) | Q(published_at__lt=now - OUTBOX_LEASE))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:REPUBLISH_BATCH]
    )
    if not due:
        return 0
    Outbox.objects.filter(pk__in=due).update(published_at=now, publish_count=F("publish_count") + 1)
    try:
        # Not through the slot: a drain that died may have left its key behind.
        publish(outbox_drain, [(0,)])
    except BrokerError as error:
        logger.warning("Broker unavailable, %d outbox entries left for the next sweep: %s", len(due), error)
        Outbox.objects.filter(pk__in=due).update(published_at=None)
        return 0
    return len(due)


def _signer_email(build):
    return lambda entry: build(entry.signature, issued_at=entry.created_at)


# Each kind of entry, the message it sends, and whether it still should be
# sent when its turn comes (a reminder after confirming is noise).
_BUILDERS = {
    Outbox.Kind.CONFIRMATION_EMAIL: _signer_email(emails.confirmation_email),
    Outbox.Kind.ALREADY_SIGNED_EMAIL: _signer_email(emails.already_signed_email),
    Outbox.Kind.THANKS_EMAIL: _signer_email(emails.thanks_email),
    Outbox.Kind.REMINDER_EMAIL: lambda entry: emails.reminder_email(
        entry.signature, issued_at=entry.created_at, number=_reminder_number(entry)
    ),
    Outbox.Kind.MAILING_TEST: lambda entry: emails.mailing_test_email(entry.mailing, to_email=entry.to_email),
}


def _reminder_number(entry):
    """Which reminder this entry is (from 1): fixed once queued, so a retry reads the same."""
    return Outbox.objects.filter(signature=entry.signature, kind=Outbox.Kind.REMINDER_EMAIL, pk__lte=entry.pk).count()


def _suppressions_of(entries):
    """The suppression list's entries for these entries' signers, by address, in one query."""
    addresses = {entry.signature.email_normalized for entry in entries if entry.signature is not None}
    return {s.email_normalized: s for s in Suppression.objects.filter(email_normalized__in=addresses)}


def _still_wanted(entry, suppressions=None):
    """Why an entry should no longer be sent, or None if it should.

    `suppressions` is the suppression list for the entry's address and
    others, as _suppressions_of gives it; None looks the address up."""
    if entry.signature is None:
        return None
    signature = entry.signature
    if entry.kind == Outbox.Kind.REMINDER_EMAIL and signature.state != Signature.State.PENDING:
        return "Signature no longer pending."
    if entry.kind != Outbox.Kind.CONFIRMATION_EMAIL and signature.state == Signature.State.INVALIDATED:
        return "Signature invalidated."
    from petitions.supporters import supporter_email_blocked, suppression_blocks

    if suppressions is None:
        return supporter_email_blocked(signature.email_normalized, entry.kind)
    return suppression_blocks(suppressions.get(signature.email_normalized), entry.kind)


def outbox_deliver(*, outbox_id):
    """Send the email one outbox entry asks for, once; return the ESP's message id or None.

    The entry is claimed by a single UPDATE, so two copies of the task cannot
    both send; a copy arriving after success finds it done and does nothing.
    An entry in an ESP batch is left to the drain, which sends batches whole.
    """
    now = timezone.now()
    claimed = Outbox.objects.filter(
        pk=outbox_id, state=Outbox.State.PENDING, next_attempt_at__lte=now, batch__isnull=True
    ).update(next_attempt_at=now + OUTBOX_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    entry = Outbox.objects.select_related("signature__petition", "mailing__petition").get(pk=outbox_id)
    if not _screen([entry]):
        return None
    return entry.esp_message_id if _deliver(entry) == SENT else None


def _deliver(entry, *, suppressions=None, sent=None):
    """Send a claimed entry outside any transaction, with its idempotency key.

    Returns SENT (the ESP's message id then in entry.esp_message_id), SKIPPED
    (no longer wanted), TRANSIENT (scheduled again from the database, with
    back-off) or FAILED. A sent entry is marked done at once, or, if `sent`
    is given, added to it ({id: message id}) for _sent_record to mark.
    """
    if _skipped_if_unwanted(entry, suppressions):
        return SKIPPED
    message = _BUILDERS[entry.kind](entry)
    try:
        message_id = deliver(message, idempotency_key=entry.idempotency_key)
    except DeliveryFailure as failure:
        return _failure_record(entry, failure)
    except Exception as error:
        # As for letters: an error we do not know fails visibly, not silently for ever.
        _failure_record(entry, DeliveryFailure(f"Unexpected error: {error!r}"[:500], transient=False))
        raise
    entry.esp_message_id = message_id
    if sent is None:
        _sent_record({entry.pk: message_id})
    else:
        sent[entry.pk] = message_id
    return SENT


def _skipped_if_unwanted(entry, suppressions):
    """Mark the entry skipped, with why, if it should no longer be sent; True if so."""
    unwanted = _still_wanted(entry, suppressions)
    if unwanted:
        Outbox.objects.filter(pk=entry.pk).update(state=Outbox.State.SKIPPED, done_at=timezone.now(), last_error=unwanted)
    return bool(unwanted)


def _sent_record(message_ids):
    """Mark entries done with their ESP message ids ({id: message id}), in one statement."""
    update_each(Outbox, "esp_message_id", message_ids, state=Outbox.State.DONE, done_at=timezone.now(), last_error="")


def _failure_record(entry, failure):
    now = timezone.now()
    if failure.transient and entry.attempts < MAX_ATTEMPTS:
        Outbox.objects.filter(pk=entry.pk).update(
            next_attempt_at=now + backoff(entry.attempts, failure.retry_after),
            published_at=None,
            last_error=failure.reason,
        )
        logger.info("Outbox %s: transient failure, retrying later: %s", entry.pk, failure.reason)
        return TRANSIENT
    Outbox.objects.filter(pk=entry.pk).update(state=Outbox.State.FAILED, done_at=now, last_error=failure.reason)
    logger.warning("Outbox %s failed for good: %s", entry.pk, failure.reason)
    return FAILED
