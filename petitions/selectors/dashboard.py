"""The staff dashboard's figures: signatures over time and by country, the
confirmation rate, letters per recipient and the health of the queues.

Every figure is aggregated by the database (COUNT ... GROUP BY over indexed
columns and windows), so the page costs a dozen queries however many
signatures there are; Python only fills in the empty hours and days. Some of
those aggregates still read every signature or letter, so the figures are
kept in the cache for a minute: staff reloading the page during an incident
do not rescan the tables each time. Only the broker's state is read live.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypedDict

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import TruncDay, TruncHour
from django.db.models.functions.datetime import TruncBase
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django_countries import countries

from petitions.models import Letter, Mailing, MailingRecipient, Outbox, Petition, Signature, SignatureQuerySet, Target
from petitions.selectors.attribution import (
    AttributionRow,
    ReferrerRow,
    referrers_top,
    signatures_by_embed_site,
    signatures_by_source,
    signatures_by_utm_source,
)

logger = logging.getLogger(__name__)

FIGURES_CACHE_SECONDS = 60
HOURLY_WINDOW_HOURS = 48
DAILY_WINDOW_DAYS = 60
COUNTRIES_SHOWN = 15
# A signature younger than this may still be confirmed, so it is left out of
# the confirmation rate; the "recent" rate looks at the week before that.
CONFIRMATION_SETTLE = timedelta(days=1)
RECENT_RATE_WINDOW = timedelta(days=7)
# An email that has waited longer than this has missed several sweeps of the
# outbox (every OUTBOX_REPUBLISH_INTERVAL_SECONDS, lease OUTBOX_LEASE_SECONDS):
# workers are down, the broker is, or the ESP keeps failing.
OUTBOX_STALE_AFTER = timedelta(minutes=15)
# Celery's default queue, a Redis list on the broker.
BROKER_QUEUE = "celery"
BROKER_BACKLOG_WARNING = 10_000


# Signatures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    start: datetime
    total: int
    confirmed: int


def signatures_over_time(
    signatures: SignatureQuerySet, *, now: datetime, unit: Literal["hour", "day"]
) -> list[Bucket]:
    """Signatures per hour over the last 48 hours, or per day over the last 60
    days, oldest first, with the empty hours or days included as zeros."""
    truncate: type[TruncBase]
    if unit == "hour":
        truncate, step, count = TruncHour, timedelta(hours=1), HOURLY_WINDOW_HOURS
        last = now.replace(minute=0, second=0, microsecond=0)
    else:
        truncate, step, count = TruncDay, timedelta(days=1), DAILY_WINDOW_DAYS
        last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = last - step * (count - 1)
    # Counting created_at rather than the id lets an index on (created_at,
    # state) answer alone; without ORDER BY PostgreSQL hashes the few buckets
    # instead of sorting every row of the window.
    rows = (
        signatures.filter(created_at__gte=first)
        .annotate(bucket=truncate("created_at"))
        .values("bucket")
        .annotate(
            total=Count("created_at"), confirmed=Count("created_at", filter=Q(state=Signature.State.CONFIRMED))
        )
        .order_by()
    )
    by_start = {row["bucket"]: row for row in rows}
    buckets: list[Bucket] = []
    for index in range(count):
        start = first + step * index
        row = by_start.get(start, {"total": 0, "confirmed": 0})
        buckets.append(Bucket(start=start, total=row["total"], confirmed=row["confirmed"]))
    return buckets


@dataclass(frozen=True)
class CountryRow:
    code: str
    name: str
    count: int
    share: float

    @property
    def percent(self) -> float:
        return round(100 * self.share, 1)


def signatures_by_country(signatures: SignatureQuerySet, *, limit: int = COUNTRIES_SHOWN) -> list[CountryRow]:
    """Confirmed signatures per country, largest first: the first `limit`
    countries, then one row for all the others."""
    rows = list(
        signatures.counted().values("country").annotate(count=Count("country")).order_by("-count", "country")
    )
    total = sum(row["count"] for row in rows)
    shown = [
        CountryRow(code=row["country"], name=countries.name(row["country"]) or row["country"], count=row["count"],
                   share=row["count"] / total)
        for row in rows[:limit]
    ]
    others = rows[limit:]
    if others:
        rest = sum(row["count"] for row in others)
        name = ngettext("%(count)s other country", "%(count)s other countries", len(others)) % {"count": len(others)}
        shown.append(CountryRow(code="", name=name, count=rest, share=rest / total))
    return shown


@dataclass(frozen=True)
class Rate:
    confirmed: int
    pending: int

    @property
    def percent(self) -> float | None:
        settled = self.confirmed + self.pending
        return None if settled == 0 else round(100 * self.confirmed / settled, 1)


class SignatureTotals(TypedDict):
    confirmed: int
    pending: int
    held: int
    invalidated: int
    rate: Rate
    recent_rate: Rate


def signature_totals(signatures: SignatureQuerySet, *, now: datetime) -> SignatureTotals:
    """The counts by state and the confirmation rates, in two queries."""
    settled_before = now - CONFIRMATION_SETTLE
    recent_since = settled_before - RECENT_RATE_WINDOW
    # Held signatures (over a rate limit, blocklisted) were sent no email and
    # could not be confirmed; counting them would blame the email for them.
    unflagged_pending = Q(state=Signature.State.PENDING, flag_reason="")
    confirmed = Q(state=Signature.State.CONFIRMED)
    settled = Q(created_at__lt=settled_before)
    recent = Q(created_at__lt=settled_before, created_at__gte=recent_since)
    figures = signatures.aggregate(
        pending=Count("created_at", filter=Q(state=Signature.State.PENDING)),
        held=Count("created_at", filter=Q(state=Signature.State.PENDING) & ~Q(flag_reason="")),
        invalidated=Count("created_at", filter=Q(state=Signature.State.INVALIDATED)),
        settled_confirmed=Count("created_at", filter=confirmed & settled),
        settled_pending=Count("created_at", filter=unflagged_pending & settled),
        recent_confirmed=Count("created_at", filter=confirmed & recent),
        recent_pending=Count("created_at", filter=unflagged_pending & recent),
    )
    return {
        "confirmed": signatures.counted().count(),
        "pending": figures["pending"],
        "held": figures["held"],
        "invalidated": figures["invalidated"],
        "rate": Rate(figures["settled_confirmed"], figures["settled_pending"]),
        "recent_rate": Rate(figures["recent_confirmed"], figures["recent_pending"]),
    }


# Letters and queues -------------------------------------------------------------


@dataclass
class RecipientLetters:
    target: Target
    queued: int = 0
    held: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    stuck_sending: int = 0
    # When the queued letter due first became (or becomes) due.
    first_due_at: datetime | None = None


def letters_by_recipient(*, now: datetime) -> list[RecipientLetters]:
    """Letters per recipient by state. The queued letters of a recipient whose
    address bounced are counted as held.

    The counts take one pass over the letters; the first due letter and the
    letters stuck in 'sending' are looked up per recipient along the
    (target, state, next_attempt_at) index, which reads only those few rows.
    """
    counts: dict[int, dict[str, int]] = {}
    for row in Letter.objects.order_by().values("target", "state").annotate(count=Count("*")):
        counts.setdefault(row["target"], {})[row["state"]] = row["count"]
    letters = Letter.objects.filter(target=OuterRef("pk")).order_by()
    send_lease_ended = now - timedelta(seconds=settings.LETTER_SEND_LEASE_SECONDS)
    targets = Target.objects.order_by("id").annotate(
        first_due_at=Subquery(
            letters.filter(state=Letter.State.QUEUED).order_by("next_attempt_at").values("next_attempt_at")[:1]
        ),
        stuck_sending=Subquery(
            letters.filter(state=Letter.State.SENDING, send_started_at__lt=send_lease_ended)
            .values("target")
            .annotate(count=Count("*"))
            .values("count")
        ),
    )
    rows: list[RecipientLetters] = []
    for target in targets:
        by_state = counts.get(target.pk, {})
        if not by_state and not target.is_active:
            continue
        queued = by_state.get(Letter.State.QUEUED, 0)
        rows.append(
            RecipientLetters(
                target=target,
                queued=0 if target.bounce_held_since else queued,
                held=queued if target.bounce_held_since else 0,
                sending=by_state.get(Letter.State.SENDING, 0),
                sent=by_state.get(Letter.State.SENT, 0),
                failed=by_state.get(Letter.State.FAILED, 0),
                cancelled=by_state.get(Letter.State.CANCELLED, 0),
                stuck_sending=target.stuck_sending or 0,
                first_due_at=target.first_due_at,
            )
        )
    return rows


@dataclass
class QueueHealth:
    checked_at: datetime
    oldest_pending_outbox_at: datetime | None = None
    outbox_pending: int = 0
    outbox_failed: int = 0
    letters_failed: int = 0
    letters_held: int = 0
    letters_stuck_sending: int = 0
    # (subject, recipients failed) of each update with failures, newest first.
    mailings_failed: list[tuple[str, int]] = field(default_factory=list)
    # Read live on every request (see broker_backlog); None: unreachable.
    broker_backlog: int | None = None

    @property
    def problems(self) -> list[str]:
        """A sentence for each thing that looks wrong, most urgent first."""
        problems: list[str] = []
        if self.broker_backlog is None:
            problems.append(gettext("The broker (Redis) cannot be reached: nothing is being sent until it is back."))
        elif self.broker_backlog > BROKER_BACKLOG_WARNING:
            problems.append(
                gettext("%(count)s tasks are waiting in the broker: are the workers running?")
                % {"count": _number(self.broker_backlog)}
            )
        if self.oldest_pending_outbox_at and self.checked_at - self.oldest_pending_outbox_at > OUTBOX_STALE_AFTER:
            problems.append(
                gettext(
                    "The oldest unsent email has waited %(age)s: "
                    "workers may be down or the email service may be failing."
                )
                % {"age": _age(self.oldest_pending_outbox_at, self.checked_at)}
            )
        if self.outbox_failed:
            problems.append(
                ngettext(
                    "%(count)s email(s) to signers or staff failed for good (see Outbox).",
                    "%(count)s email(s) to signers or staff failed for good (see Outbox).",
                    self.outbox_failed,
                )
                % {"count": _number(self.outbox_failed)}
            )
        if self.letters_failed:
            problems.append(
                ngettext(
                    "%(count)s letter(s) failed for good (see Letters; they can be retried).",
                    "%(count)s letter(s) failed for good (see Letters; they can be retried).",
                    self.letters_failed,
                )
                % {"count": _number(self.letters_failed)}
            )
        if self.letters_held:
            problems.append(
                ngettext(
                    "%(count)s letter(s) are held because a recipient's address bounced (see Recipients).",
                    "%(count)s letter(s) are held because a recipient's address bounced (see Recipients).",
                    self.letters_held,
                )
                % {"count": _number(self.letters_held)}
            )
        if self.letters_stuck_sending:
            problems.append(
                ngettext(
                    "%(count)s letter(s) have been 'sending' for too long.",
                    "%(count)s letter(s) have been 'sending' for too long.",
                    self.letters_stuck_sending,
                )
                % {"count": _number(self.letters_stuck_sending)}
            )
        for subject, failed in self.mailings_failed:
            problems.append(
                ngettext(
                    "Update “%(subject)s”: %(count)s recipient(s) failed.",
                    "Update “%(subject)s”: %(count)s recipient(s) failed.",
                    failed,
                )
                % {"subject": subject, "count": _number(failed)}
            )
        return problems

    @property
    def healthy(self) -> bool:
        return not self.problems


def broker_backlog() -> int | None:
    """Tasks waiting in the broker's default queue, or None if it cannot be reached."""
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
    try:
        return client.llen(BROKER_QUEUE)
    except redis.RedisError:
        return None
    finally:
        client.close()


def _number(value: int) -> str:
    """A count as the active language groups its digits (1,234 in English)."""
    return number_format(value, force_grouping=True)


def _age(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    if seconds < 2 * 3600:
        minutes = seconds // 60
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
    if seconds < 2 * 86400:
        hours = seconds // 3600
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}
    days = seconds // 86400
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}


def queue_health(*, now: datetime, recipients: Sequence[RecipientLetters]) -> QueueHealth:
    """What is waiting or has failed in the outbox, the letters and the updates
    (the broker is read separately, live)."""
    outbox = Outbox.objects.filter(state=Outbox.State.PENDING).aggregate(oldest=Min("created_at"), count=Count("*"))
    failed_recipients = (
        MailingRecipient.objects.filter(mailing=OuterRef("pk"), state=MailingRecipient.State.FAILED)
        .order_by()
        .values("mailing")
        .annotate(count=Count("*"))
        .values("count")
    )
    mailings_failed = (
        Mailing.objects.exclude(state=Mailing.State.DRAFT)
        .annotate(failed=Subquery(failed_recipients))
        .filter(failed__gt=0)
        .order_by("-created_at")
        .values_list("subject", "failed")
    )
    return QueueHealth(
        checked_at=now,
        oldest_pending_outbox_at=outbox["oldest"],
        outbox_pending=outbox["count"],
        outbox_failed=Outbox.objects.filter(state=Outbox.State.FAILED).count(),
        letters_failed=sum(row.failed for row in recipients),
        letters_held=sum(row.held for row in recipients),
        letters_stuck_sending=sum(row.stuck_sending for row in recipients),
        mailings_failed=list(mailings_failed),
    )


class DashboardFigures(TypedDict):
    computed_at: datetime
    totals: SignatureTotals
    hourly: list[Bucket]
    daily: list[Bucket]
    countries: list[CountryRow]
    recipients: list[RecipientLetters]
    health: QueueHealth
    by_source: list[AttributionRow]
    by_utm_source: list[AttributionRow]
    by_embed_site: list[AttributionRow]
    referrers: list[ReferrerRow]


def dashboard_figures(*, petition: Petition | None, now: datetime) -> DashboardFigures:
    """Every figure on the page but the broker's, for one petition's signatures
    or (petition None) all of them."""
    signatures = Signature.objects.filter(petition=petition) if petition else Signature.objects.all()
    recipients = letters_by_recipient(now=now)
    return {
        "computed_at": now,
        "totals": signature_totals(signatures, now=now),
        "hourly": signatures_over_time(signatures, now=now, unit="hour"),
        "daily": signatures_over_time(signatures, now=now, unit="day"),
        "countries": signatures_by_country(signatures),
        "recipients": recipients,
        "health": queue_health(now=now, recipients=recipients),
        "by_source": signatures_by_source(signatures),
        "by_utm_source": signatures_by_utm_source(signatures),
        "by_embed_site": signatures_by_embed_site(signatures),
        "referrers": referrers_top(signatures),
    }


def dashboard_figures_cached(*, petition: Petition | None) -> DashboardFigures:
    """The figures as computed at most FIGURES_CACHE_SECONDS ago; computed now
    if the cache has none or cannot be reached."""
    key = f"dashboard:figures:{petition.pk if petition else 'all'}"
    try:
        figures: DashboardFigures | None = cache.get(key)
    except redis.RedisError:
        logger.warning("Cache unavailable; computing the dashboard's figures for this request")
        return dashboard_figures(petition=petition, now=timezone.now())
    if figures is None:
        figures = dashboard_figures(petition=petition, now=timezone.now())
        try:
            cache.set(key, figures, FIGURES_CACHE_SECONDS)
        except redis.RedisError:
            logger.warning("Cache unavailable; the dashboard's figures were not stored")
    return figures
