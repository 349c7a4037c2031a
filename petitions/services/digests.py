"""Daily digests to recipients, sent through the delivery engine.

A recipient in digest mode ("digest", or "both") gets one email a day at its
digest time, in its time zone, counting the letters since its last digest.
Beat's dispatcher makes the digest of each period that has come, as a row
whose figures are fixed then, counts the letters it covers as included
(Letter.digest), and hands it over after commit; a worker claims and sends
it like any message of the engine.

Exactly once per (recipient, period): the unique constraint on the row stops
a second digest for the period, the claim stops two workers sending one row,
and the idempotency key, which stands for the recipient and period, makes the
ESP drop a repeat after a worker died between the ESP's acceptance and our
record of it.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from petitions import emails
from petitions.delivery import engine
from petitions.models import Digest, Letter, Signature, Target

# How many approved comments a digest quotes.
DIGEST_COMMENTS = 5
DIGEST_BATCH = 20


def _send_lease() -> timedelta:
    return timedelta(seconds=settings.LETTER_SEND_LEASE_SECONDS)


def _publish_lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


DIGESTS = engine.Ledger(
    model=Digest,
    label="Digest",
    pending=Digest.State.QUEUED,
    claimed=Digest.State.SENDING,
    sent=Digest.State.SENT,
    failed=Digest.State.FAILED,
    skipped=Digest.State.CANCELLED,
    lease=_send_lease,
    claimed_at_field="send_started_at",
    published_at_field="enqueued_at",
    sent_at_field="sent_at",
)


def digest_period(*, target: Target, now: datetime) -> tuple[date, datetime]:
    """The period whose digest is due at `now`, and the moment it was due: today,
    in the recipient's time zone, once its digest time has passed, else yesterday."""
    zone = target.zone
    local = now.astimezone(zone)
    due_today = datetime.combine(local.date(), target.digest_time, tzinfo=zone)
    if now >= due_today:
        return local.date(), due_today
    yesterday = local.date() - timedelta(days=1)
    return yesterday, datetime.combine(yesterday, target.digest_time, tzinfo=zone)


def _letters_to_include(target: Target, cutoff: datetime) -> models.QuerySet[Letter]:
    """The target's letters no digest has counted yet that had reached it by
    `cutoff` (the digest time): sent on their own, or released to wait for the
    digest; of signatures still counted. Later ones wait for the next digest."""
    return (
        Letter.objects.filter(target=target, digest__isnull=True)
        .filter(
            Q(state=Letter.State.SENT, sent_at__lte=cutoff)
            | Q(state=Letter.State.DIGEST_ONLY, next_attempt_at__lte=cutoff, signature__petition__letters_paused=False)
        )
        .filter(signature__state=Signature.State.CONFIRMED, signature__flag_reason="")
    )


def digest_create(*, target: Target, now: datetime) -> Digest | None:
    """Make the recipient's digest of the period due at `now`, if none exists
    and letters reached the recipient between the last digest and this
    period's digest time; count those letters as included in it; hand it over
    after commit. One transaction. A dispatcher late by hours still makes the
    period's digest, with the letters up to its time.

    Idempotent: a second call for the same period (another beat, a retry)
    finds the row, or meets the unique constraint, and makes nothing. Returns
    the new digest, or None."""
    period, cutoff = digest_period(target=target, now=now)
    if Digest.objects.filter(target=target, period=period).exists():
        return None
    if not _letters_to_include(target, cutoff).exists():
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                digest = Digest.objects.create(
                    target=target, period=period, letters_count=0, total_count=0,
                    created_at=now, next_attempt_at=now, enqueued_at=now,
                )
        except IntegrityError:
            return None  # Another dispatcher made this period's digest.
        included = _letters_to_include(target, cutoff).update(digest=digest)
        if not included:
            digest.delete()  # The letters went (invalidated, say) since we looked.
            return None
        letters = Letter.objects.filter(digest=digest)
        by_country = (
            letters.values_list("signature__country")
            .annotate(count=Count("pk"))
            .order_by("-count", "signature__country")
        )
        comments = (
            Signature.objects.filter(letters__digest=digest, comment_state=Signature.CommentState.APPROVED)
            .order_by("-created_at")
            .values_list("first_name", "country", "comment")[:DIGEST_COMMENTS]
        )
        digest.letters_count = included
        digest.total_count = Letter.objects.filter(target=target, digest__isnull=False).count()
        digest.by_country = [[str(code), count] for code, count in by_country]
        digest.comments = [list(comment) for comment in comments]
        digest.petition_titles = sorted(set(letters.values_list("signature__petition__title", flat=True)))
        digest.save(update_fields=["letters_count", "total_count", "by_country", "comments", "petition_titles"])
        engine.hand_over_on_commit(DIGESTS, "digests_send", [[digest.pk]])
    return digest


def digests_dispatch(*, now: datetime | None = None) -> int:
    """Make the digests that have come due, give back digests whose worker
    died mid-send, and hand over due digests not handed over recently (the
    broker was down, or lost them). Returns how many were handed over."""
    now = now or timezone.now()
    # A recipient switched back to each letter on its own still gets the
    # digest of the letters that were waiting for one.
    waiting = Letter.objects.filter(target=OuterRef("pk"), state=Letter.State.DIGEST_ONLY, digest__isnull=True)
    takers = Target.objects.filter(is_active=True, own_mail_only=False, bounce_held_since__isnull=True).filter(
        ~Q(delivery_mode=Target.DeliveryMode.EACH) | Exists(waiting)
    )
    for target in takers:
        digest_create(target=target, now=now)
    engine.leases_expired(DIGESTS, now=now)
    due = list(
        Digest.objects.filter(DIGESTS.due(now))
        .exclude(enqueued_at__gte=now - _publish_lease())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
    if due:
        Digest.objects.filter(pk__in=due).update(enqueued_at=now)
        engine.hand_over(DIGESTS, "digests_send", engine.chunks(due, DIGEST_BATCH))
    return len(due)


def digests_send(*, digest_ids: list[int]) -> dict[int, str]:
    """Send queued digests, each once: claimed in a short transaction (a digest
    another worker holds is left to it), then each in its own ESP call under
    its period's key. Returns {digest id: new state} for those it changed."""
    now = timezone.now()
    with transaction.atomic():
        digests = list(
            Digest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("target")
            .filter(DIGESTS.due(now), pk__in=digest_ids)
            .order_by("pk")
        )
        held = [digest.pk for digest in digests if digest.target.bounce_held_since is not None]
        # Held with the recipient's letters until staff clear the bounce hold.
        engine.unpublish(DIGESTS, held)
        claimed = [digest for digest in digests if digest.pk not in held]
        engine.claim_mark(DIGESTS, [digest.pk for digest in claimed], now=now)
        for digest in claimed:
            digest.state = Digest.State.SENDING
            digest.attempts += 1
    started = time.monotonic()
    results, _unsent = engine.send_each(
        DIGESTS,
        claimed,
        build=emails.digest_email,
        key=lambda digest: digest.idempotency_key,
        deadline=lambda: time.monotonic() - started > _send_lease().total_seconds() / 2,
    )
    states = {engine.SENT: Digest.State.SENT, engine.TRANSIENT: Digest.State.QUEUED, engine.FAILED: Digest.State.FAILED}
    return {pk: states[result] for pk, result in results.items() if result in states}
