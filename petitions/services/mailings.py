"""Campaign updates (mailings) to opted-in supporters, through the delivery engine.

Starting a mailing snapshots its audience as one row per recipient. Senders
claim batches of rows, send each batch in one ESP call (anymail batch
sending), and record every recipient's outcome on their row. A batch keeps its
members and its idempotency key if it has to be sent again after a crash, so
nobody gets two copies however often a sender runs.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext

from petitions import emails
from petitions.delivery import broker, engine
from petitions.delivery.transport import batch_sending_available
from petitions.fastsql import mailing_audience_insert
from petitions.models import Mailing, MailingRecipient, Outbox
from petitions.selectors.suppressions import suppressions_of
from petitions.services.supporter_mail import outbox_add

logger = logging.getLogger(__name__)

# A batch claimed this long ago and not finished lost its sender, or met a
# transient ESP failure: it is sent again, whole, under the same key.
BATCH_LEASE = timedelta(minutes=2)

MAILING = engine.Ledger(
    model=MailingRecipient,
    label="Mailing copy",
    pending=MailingRecipient.State.PENDING,
    claimed=MailingRecipient.State.SENDING,
    sent=MailingRecipient.State.SENT,
    failed=MailingRecipient.State.FAILED,
    skipped=MailingRecipient.State.SKIPPED,
    lease=lambda: BATCH_LEASE,
    error_field="error",
    due_field=None,
    attempts_field=None,
    claimed_at_field="claimed_at",
    sent_at_field="sent_at",
    retry_when_lease_ends=True,
)
# A sender works this long, then hands over to a fresh task, staying far
# below Celery's time limit and the broker's visibility timeout.
SENDER_TIME_BUDGET_SECONDS = 60


class MailingStateError(Exception):
    pass


def mailing_test_send(*, mailing_id: int, to_email: str) -> Outbox:
    """Ask for a test copy of the mailing to `to_email` (a staff member). Sent by a worker."""
    with transaction.atomic():
        return outbox_add(Outbox.Kind.MAILING_TEST, mailing_id=mailing_id, to_email=to_email)


def mailing_start(*, mailing_id: int) -> int:
    """Snapshot the audience of a draft mailing and start sending it.

    The audience is the petition's confirmed signers who asked for updates,
    minus suppressed addresses, fixed at this moment. Starting twice (a double
    click) starts once. Senders are published after commit. Returns the
    number of recipients.
    """
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing_id)
        if mailing.state != Mailing.State.DRAFT:
            raise MailingStateError(
                gettext("This update is %(state)s; only a draft can be sent.")
                % {"state": str(mailing.get_state_display()).lower()}
            )
        count = mailing_audience_insert(mailing_id=mailing.pk, petition_id=mailing.petition_id)
        Mailing.objects.filter(pk=mailing.pk).update(state=Mailing.State.SENDING, started_at=timezone.now())
        transaction.on_commit(lambda: _senders_publish(mailing.pk, settings.MAILING_PARALLELISM))
    return count


def _senders_publish(mailing_id: int, count: int) -> None:
    try:
        broker.publish("mailing_send", [(mailing_id,)] * count)
    except broker.BrokerUnavailable as error:
        # The periodic mailings_resume picks the mailing up once the broker is back.
        logger.warning("Broker unavailable; mailing %s will be resumed by the sweep: %s", mailing_id, error)


def mailing_pause(*, mailing_id: int) -> bool:
    """Stop sending after the batches in flight; resume later where it stopped."""
    return _mailing_transition(mailing_id, Mailing.State.SENDING, Mailing.State.PAUSED)


def mailing_resume(*, mailing_id: int) -> bool:
    changed = _mailing_transition(mailing_id, Mailing.State.PAUSED, Mailing.State.SENDING)
    if changed:
        transaction.on_commit(lambda: _senders_publish(mailing_id, settings.MAILING_PARALLELISM))
    return changed


def mailing_cancel(*, mailing_id: int) -> bool:
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


def _mailing_transition(mailing_id: int, from_state: str, to_state: str) -> bool:
    with transaction.atomic():
        return bool(Mailing.objects.filter(pk=mailing_id, state=from_state).update(state=to_state))


def mailing_send(*, mailing_id: int, time_budget: float = SENDER_TIME_BUDGET_SECONDS) -> int:
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


def _batch_claim_new(mailing_id: int) -> int | None:
    """Claim the next batch of pending recipients, all of one language (one
    message is rendered per batch); its id is its first member's id."""
    now = timezone.now()
    with transaction.atomic():
        due = MailingRecipient.objects.select_for_update(skip_locked=True).filter(
            MAILING.due(now), mailing_id=mailing_id
        )
        language = due.order_by("pk").values_list("language", flat=True).first()
        if language is None:
            return None
        ids = list(
            due.filter(language=language).order_by("pk").values_list("pk", flat=True)[: settings.MAILING_BATCH_SIZE]
        )
        if not ids:
            return None
        engine.claim_mark(MAILING, ids, now=now, batch=ids[0])
    return ids[0]


def _batch_claim_stale(mailing_id: int) -> int | None:
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


def _batch_send(mailing_id: int, batch: int) -> int:
    """Send one claimed batch; return how many copies were sent."""
    mailing = Mailing.objects.select_related("petition").get(pk=mailing_id)
    members = list(
        MailingRecipient.objects.select_related("signature")
        .filter(mailing_id=mailing_id, batch=batch, state=MailingRecipient.State.SENDING)
        .order_by("pk")
    )
    suppressed = set(suppressions_of(m.email_normalized for m in members))
    # Unsubscribed since the start, or erased: their copies are not sent.
    skipped = [m for m in members if m.email_normalized in suppressed or m.signature is None]
    engine.skip(MAILING, [m.pk for m in skipped], "Unsubscribed or suppressed before sending.")
    members = [m for m in members if m not in skipped]
    if not members:
        return 0
    key = f"mailing-{mailing_id}-{batch}"
    sent: dict[int, str] = {}
    if batch_sending_available():
        outcome = engine.send_together(
            MAILING, members, message=emails.mailing_batch_email(mailing, members), key=key,
            address_of=lambda member: member.email, sent=sent,
        )
        if outcome != engine.REFUSED_UNSENT:
            engine.sent_record(MAILING, sent)
            return len(sent)
    # A backend without batch sending (SMTP, or files locally) gets one message
    # per recipient, since a single message to many would show them to each
    # other; so does a batch the ESP refused whole for one member's address.
    results, _unsent = engine.send_each(
        MAILING, members, build=lambda member: emails.mailing_single_email(mailing, member),
        key=lambda member: f"{key}-{member.pk}", sent=sent,
    )
    engine.sent_record(MAILING, sent)
    return len(sent)


def _mailing_finish_if_done(mailing_id: int) -> None:
    with transaction.atomic():
        unfinished = MailingRecipient.objects.filter(
            mailing_id=mailing_id, state__in=[MailingRecipient.State.PENDING, MailingRecipient.State.SENDING]
        ).exists()
        if not unfinished:
            Mailing.objects.filter(pk=mailing_id, state=Mailing.State.SENDING).update(
                state=Mailing.State.SENT, finished_at=timezone.now()
            )


def mailings_resume() -> int:
    """Publish a sender for every mailing still sending (beat). Harmless if one is running."""
    mailing_ids = list(Mailing.objects.filter(state=Mailing.State.SENDING).values_list("pk", flat=True))
    for mailing_id in mailing_ids:
        _senders_publish(mailing_id, 1)
    return len(mailing_ids)
