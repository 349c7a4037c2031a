"""Services for campaign updates (mailings) to opted-in supporters.

Starting a mailing snapshots its audience as one row per recipient. Senders
claim batches of rows, send each batch in one ESP call (anymail batch
sending), and record every recipient's outcome on their row. A batch keeps its
members and its idempotency key if it has to be sent again after a crash, so
nobody gets two copies however often a sender runs.
"""

import logging
import time
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from petitions import emails
from petitions.bulk import update_each
from petitions.delivery import DeliveryFailure, batch_sending_available, deliver, deliver_batch
from petitions.models import Mailing, MailingRecipient, Outbox, Signature, Suppression
from petitions.outbox import outbox_add, publish

logger = logging.getLogger(__name__)

# A batch claimed this long ago and not finished lost its sender, or met a
# transient ESP failure: it is sent again, whole, under the same key.
BATCH_LEASE = timezone.timedelta(minutes=2)
# A sender works this long, then hands over to a fresh task, staying far
# below Celery's time limit and the broker's visibility timeout.
SENDER_TIME_BUDGET_SECONDS = 60


class MailingStateError(Exception):
    pass


def mailing_test_send(*, mailing_id, to_email):
    """Ask for a test copy of the mailing to `to_email` (a staff member). Sent by a worker."""
    with transaction.atomic():
        return outbox_add(Outbox.Kind.MAILING_TEST, mailing_id=mailing_id, to_email=to_email)


_AUDIENCE_SQL = """
    INSERT INTO petitions_mailingrecipient
        (mailing_id, signature_id, email, email_normalized, state, error, esp_message_id)
    SELECT %s, s.id, s.email, s.email_normalized, %s, '', ''
    FROM petitions_signature s
    WHERE s.petition_id = %s AND s.state = %s AND s.updates_consent_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM petitions_suppression x WHERE x.email_normalized = s.email_normalized)
"""


def mailing_audience_count(mailing):
    """How many supporters the mailing would go to if started now."""
    from django.db.models import Exists, OuterRef

    suppressed = Suppression.objects.filter(email_normalized=OuterRef("email_normalized"))
    return (
        Signature.objects.counted()
        .filter(petition_id=mailing.petition_id, updates_consent__isnull=False)
        .exclude(Exists(suppressed))
        .count()
    )


def mailing_start(*, mailing_id):
    """Snapshot the audience of a draft mailing and start sending it.

    The audience is the petition's confirmed signers who asked for updates,
    minus suppressed addresses, fixed at this moment. Starting twice (a double
    click) starts once. Senders are published after commit. Returns the
    number of recipients.
    """
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing_id)
        if mailing.state != Mailing.State.DRAFT:
            raise MailingStateError(f"This update is {mailing.get_state_display().lower()}; only a draft can be sent.")
        with connection.cursor() as cursor:
            cursor.execute(
                _AUDIENCE_SQL,
                [mailing.pk, MailingRecipient.State.PENDING, mailing.petition_id, Signature.State.CONFIRMED],
            )
            count = cursor.rowcount
        Mailing.objects.filter(pk=mailing.pk).update(state=Mailing.State.SENDING, started_at=timezone.now())
        transaction.on_commit(lambda: _senders_publish(mailing.pk, settings.MAILING_PARALLELISM))
    return count


def _senders_publish(mailing_id, count):
    from kombu.exceptions import OperationalError as BrokerError

    from petitions.tasks import mailing_send

    try:
        publish(mailing_send, [(mailing_id,)] * count)
    except BrokerError as error:
        # The periodic mailings_resume picks the mailing up once the broker is back.
        logger.warning("Broker unavailable; mailing %s will be resumed by the sweep: %s", mailing_id, error)


def mailing_pause(*, mailing_id):
    """Stop sending after the batches in flight; resume later where it stopped."""
    return _mailing_transition(mailing_id, Mailing.State.SENDING, Mailing.State.PAUSED)


def mailing_resume(*, mailing_id):
    changed = _mailing_transition(mailing_id, Mailing.State.PAUSED, Mailing.State.SENDING)
    if changed:
        transaction.on_commit(lambda: _senders_publish(mailing_id, settings.MAILING_PARALLELISM))
    return changed


def mailing_cancel(*, mailing_id):
    """Send no more of it. Copies already sent stay sent; the rest are skipped."""
    with transaction.atomic():
        changed = Mailing.objects.filter(
            pk=mailing_id, state__in=[Mailing.State.DRAFT, Mailing.State.SENDING, Mailing.State.PAUSED]
        ).update(state=Mailing.State.CANCELLED, finished_at=timezone.now())
        if changed:
            MailingRecipient.objects.filter(mailing_id=mailing_id, state=MailingRecipient.State.PENDING).update(
                state=MailingRecipient.State.SKIPPED, error="Mailing cancelled."
            )
    return bool(changed)


def _mailing_transition(mailing_id, from_state, to_state):
    with transaction.atomic():
        return bool(Mailing.objects.filter(pk=mailing_id, state=from_state).update(state=to_state))


def mailing_progress(mailing):
    """Counts of the mailing's recipients by outcome, for the admin."""
    rows = MailingRecipient.objects.filter(mailing=mailing).order_by().values("state").annotate(count=Count("pk"))
    counts = Counter({row["state"]: row["count"] for row in rows})
    total = sum(counts.values())
    done = counts[MailingRecipient.State.SENT] + counts[MailingRecipient.State.FAILED] + counts[MailingRecipient.State.SKIPPED]
    return {
        "total": total,
        "sent": counts[MailingRecipient.State.SENT],
        "failed": counts[MailingRecipient.State.FAILED],
        "skipped": counts[MailingRecipient.State.SKIPPED],
        "remaining": total - done,
        "percent": round(100 * done / total) if total else 100,
    }


def mailing_send(*, mailing_id, time_budget=SENDER_TIME_BUDGET_SECONDS):
    """Send batches of a mailing until none is left, it is paused, or time is up.

    Safe to run any number of times at once. When time is up with work left it
    publishes a successor; when nothing is left it marks the mailing sent.
    Returns how many recipients this run sent to.
    """
    deadline = time.monotonic() + time_budget
    sent = 0
    while time.monotonic() < deadline:
        if not Mailing.objects.filter(pk=mailing_id, state=Mailing.State.SENDING).exists():
            return sent
        batch = _batch_claim_stale(mailing_id) or _batch_claim_new(mailing_id)
        if batch is None:
            _mailing_finish_if_done(mailing_id)
            return sent
        sent += _batch_send(mailing_id, batch)
    _senders_publish(mailing_id, 1)
    return sent


def _batch_claim_new(mailing_id):
    """Claim the next batch of pending recipients; its id is its first member's id."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            MailingRecipient.objects.select_for_update(skip_locked=True)
            .filter(mailing_id=mailing_id, state=MailingRecipient.State.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.MAILING_BATCH_SIZE]
        )
        if not ids:
            return None
        MailingRecipient.objects.filter(pk__in=ids).update(
            state=MailingRecipient.State.SENDING, batch=ids[0], claimed_at=now
        )
    return ids[0]


def _batch_claim_stale(mailing_id):
    """Take over a batch whose sender died or met a transient failure."""
    now = timezone.now()
    with transaction.atomic():
        stale = (
            MailingRecipient.objects.filter(
                mailing_id=mailing_id, state=MailingRecipient.State.SENDING, claimed_at__lt=now - BATCH_LEASE
            )
            .values("batch")
            .annotate(first=Min("pk"))
            .order_by("first")
            .values_list("batch", flat=True)
            .first()
        )
        if stale is None:
            return None
        claimed = MailingRecipient.objects.filter(
            mailing_id=mailing_id, batch=stale, state=MailingRecipient.State.SENDING, claimed_at__lt=now - BATCH_LEASE
        ).update(claimed_at=now)
    return stale if claimed else None


def _batch_send(mailing_id, batch):
    mailing = Mailing.objects.select_related("petition").get(pk=mailing_id)
    members = list(
        MailingRecipient.objects.select_related("signature")
        .filter(mailing_id=mailing_id, batch=batch, state=MailingRecipient.State.SENDING)
        .order_by("pk")
    )
    suppressed = set(
        Suppression.objects.filter(email_normalized__in=[m.email_normalized for m in members]).values_list(
            "email_normalized", flat=True
        )
    )
    # Unsubscribed since the start, or erased: their copies are not sent.
    skipped = [m for m in members if m.email_normalized in suppressed or m.signature is None]
    if skipped:
        MailingRecipient.objects.filter(pk__in=[m.pk for m in skipped]).update(
            state=MailingRecipient.State.SKIPPED, error="Unsubscribed or suppressed before sending."
        )
    members = [m for m in members if m not in skipped]
    if not members:
        return 0
    outcomes, failure = _batch_deliver(mailing, members, idempotency_key=f"mailing-{mailing_id}-{batch}")
    sent = [(member.pk, outcomes[member.email][0]) for member in members if member.email in outcomes and not outcomes[member.email][1]]
    _recipients_record_sent(sent)
    for member in members:
        if member.email in outcomes and outcomes[member.email][1]:
            MailingRecipient.objects.filter(pk=member.pk).update(
                state=MailingRecipient.State.FAILED, error=outcomes[member.email][1][:500]
            )
    unreported = [member for member in members if member.email not in outcomes]
    if unreported:
        _batch_failure_record(
            unreported, failure or DeliveryFailure("No status reported by the email service.", transient=False)
        )
    return len(sent)


def _recipients_record_sent(pairs):
    """Mark recipients sent, each with its own ESP message id, in one statement."""
    update_each(
        MailingRecipient, "esp_message_id", dict(pairs),
        state=MailingRecipient.State.SENT, sent_at=timezone.now(), error="",
    )


def _batch_deliver(mailing, members, *, idempotency_key):
    """Send a batch: ({email: (message id, error or None)}, DeliveryFailure or None).

    Through an ESP's batch sending the call succeeds or fails whole. A backend
    without batch sending (SMTP, or files locally) gets one message per
    recipient, since a single message to many would show them to each other;
    there the outcomes of those sent before a failure are kept.
    """
    if batch_sending_available():
        try:
            return deliver_batch(emails.mailing_batch_email(mailing, members), idempotency_key=idempotency_key), None
        except DeliveryFailure as failure:
            return {}, failure
    outcomes = {}
    for member in members:
        try:
            message_id = deliver(
                emails.mailing_single_email(mailing, member), idempotency_key=f"{idempotency_key}-{member.pk}"
            )
        except DeliveryFailure as failure:
            if failure.transient:
                return outcomes, failure
            outcomes[member.email] = ("", failure.reason[:500])
            continue
        outcomes[member.email] = (message_id, None)
    return outcomes, None


def _batch_failure_record(members, failure):
    ids = [m.pk for m in members]
    if failure.transient:
        # Left claimed: once the lease runs out the batch is sent again, whole
        # and under the same key. That lease is the back-off.
        MailingRecipient.objects.filter(pk__in=ids).update(error=failure.reason[:500])
        logger.info("Mailing batch of %d: transient failure, retrying after the lease: %s", len(ids), failure.reason)
    else:
        MailingRecipient.objects.filter(pk__in=ids).update(state=MailingRecipient.State.FAILED, error=failure.reason[:500])
        logger.warning("Mailing batch of %d failed: %s", len(ids), failure.reason)


def _mailing_finish_if_done(mailing_id):
    with transaction.atomic():
        unfinished = MailingRecipient.objects.filter(
            mailing_id=mailing_id, state__in=[MailingRecipient.State.PENDING, MailingRecipient.State.SENDING]
        ).exists()
        if not unfinished:
            Mailing.objects.filter(pk=mailing_id, state=Mailing.State.SENDING).update(
                state=Mailing.State.SENT, finished_at=timezone.now()
            )


def mailings_resume():
    """Publish a sender for every mailing still sending (beat). Harmless if one is running."""
    mailing_ids = list(Mailing.objects.filter(state=Mailing.State.SENDING).values_list("pk", flat=True))
    for mailing_id in mailing_ids:
        _senders_publish(mailing_id, 1)
    return len(mailing_ids)
