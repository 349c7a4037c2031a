"""What the public may read about petitions, shared by the pages, the embed
and the open API: nothing here carries a signer's personal data beyond the
first name and country an approved comment is shown with."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from petitions import caches
from petitions.models import Organisation, Petition, Signature
from petitions.selectors.counts import confirmed_count

TOP_COUNTRIES = 10


def petitions_public() -> QuerySet[Petition]:
    """Published petitions, open or not (a closed one keeps its page)."""
    return Petition.objects.filter(is_published=True)


def petitions_open() -> list[Petition]:
    """Published petitions that take signatures now, newest first."""
    return [petition for petition in petitions_public().filter(is_open=True) if petition.accepts_signatures]


@dataclass(frozen=True)
class Thermometer:
    """The count as people read it: "N of GOAL", with the goal from the ladder."""

    count: int
    goal: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.count / self.goal)) if self.goal else 100


def thermometer_read(petition: Petition) -> Thermometer:
    count = confirmed_count(petition)
    return Thermometer(count=count, goal=petition.goal_for(count))


def counts_by_country(petition: Petition, *, limit: int = TOP_COUNTRIES) -> list[tuple[str, int]]:
    """(ISO country code, counted signatures), most first, at most `limit`."""
    rows = (
        Signature.objects.counted()
        .filter(petition=petition)
        .values("country")
        .annotate(signatures=Count("pk"))
        .order_by("-signatures", "country")[:limit]
    )
    return [(str(row["country"]), int(row["signatures"])) for row in rows]


def comments_approved(petition: Petition, *, limit: int = 10) -> QuerySet[Signature]:
    """The newest approved comments of counted signatures, with first name and country only."""
    return (
        petition.signatures.filter(
            comment_state=Signature.CommentState.APPROVED, state=Signature.State.CONFIRMED, flag_reason=""
        )
        .order_by("-created_at")
        .only("first_name", "country", "comment", "created_at")[:limit]
    )


def organisation_current() -> Organisation | None:
    """The organisation the pages name, read at most every few seconds per process."""
    return caches.organisation.get("current", lambda: Organisation.objects.order_by("pk").first())
