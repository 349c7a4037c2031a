"""Who a mailing goes to, and how far it has got."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet

from petitions.models import Mailing, MailingRecipient, Signature, Suppression


def mailing_audience(*, petition_id: int) -> QuerySet[Signature]:
    """The supporters a mailing of this petition goes to if started now: its
    confirmed signers who asked for updates, minus suppressed addresses.
    (fastsql.mailing_audience_insert writes the same rows as a snapshot.)"""
    suppressed = Suppression.objects.filter(email_normalized=OuterRef("email_normalized"))
    return (
        Signature.objects.counted()
        .filter(petition_id=petition_id, updates_consent__isnull=False)
        .exclude(Exists(suppressed))
    )


def mailing_audience_count(mailing: Mailing) -> int:
    """How many supporters the mailing would go to if started now."""
    return mailing_audience(petition_id=mailing.petition_id).count()


def mailing_audience_by_language(mailing: Mailing) -> list[dict[str, object]]:
    """The audience by supporters' language, each with the language of the
    copy they will get: their own where the mailing has it, else the mailing's."""
    names = dict(settings.LANGUAGES)
    written = {mailing.language, *mailing.translations.values_list("language", flat=True)}
    rows = (
        mailing_audience(petition_id=mailing.petition_id)
        .order_by()
        .values("language")
        .annotate(count=Count("pk"))
        .order_by("-count", "language")
    )
    return [
        {
            "language": names.get(row["language"], row["language"]),
            "count": row["count"],
            "gets": names.get(row["language"] if row["language"] in written else mailing.language, mailing.language),
            "is_own": row["language"] in written,
        }
        for row in rows
    ]


def mailing_progress(mailing: Mailing) -> dict[str, int]:
    """Counts of the mailing's recipients by outcome, for the admin."""
    rows = MailingRecipient.objects.filter(mailing=mailing).order_by().values("state").annotate(count=Count("pk"))
    counts = Counter({row["state"]: row["count"] for row in rows})
    total = sum(counts.values())
    finished = (MailingRecipient.State.SENT, MailingRecipient.State.FAILED, MailingRecipient.State.SKIPPED)
    done = sum(counts[state] for state in finished)
    return {
        "total": total,
        "sent": counts[MailingRecipient.State.SENT],
        "failed": counts[MailingRecipient.State.FAILED],
        "skipped": counts[MailingRecipient.State.SKIPPED],
        "remaining": total - done,
        "percent": round(100 * done / total) if total else 100,
    }
