"""Where signatures came from, for the dashboard: by source (the ?source= or
utm_source of the address the signer arrived at), by embedding site, and the
supporters whose share links brought the most signers (first name and country
only: the dashboard is open to staff who may not see addresses)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from petitions.models import Signature, SignatureQuerySet

ROWS_SHOWN = 15


@dataclass(frozen=True)
class AttributionRow:
    label: str
    signatures: int
    confirmed: int

    @property
    def confirmation_percent(self) -> float | None:
        return round(100 * self.confirmed / self.signatures, 1) if self.signatures else None


@dataclass(frozen=True)
class ReferrerRow:
    first_name: str
    country: str
    brought: int


def _rows(signatures: SignatureQuerySet, field: str) -> list[AttributionRow]:
    rows = (
        signatures.exclude(state=Signature.State.INVALIDATED)
        .values(field)
        .annotate(total=Count("pk"), confirmed=Count("pk", filter=Q(state=Signature.State.CONFIRMED)))
        .order_by("-total", field)[:ROWS_SHOWN]
    )
    return [AttributionRow(label=row[field], signatures=row["total"], confirmed=row["confirmed"]) for row in rows]


def signatures_by_source(signatures: SignatureQuerySet) -> list[AttributionRow]:
    """Signatures and how many confirmed, by `source` ('' for direct or unknown)."""
    return _rows(signatures, "source")


def signatures_by_utm_source(signatures: SignatureQuerySet) -> list[AttributionRow]:
    return _rows(signatures, "utm_source")


def signatures_by_embed_site(signatures: SignatureQuerySet) -> list[AttributionRow]:
    """Signatures made inside an embed, by the site that embedded it."""
    return _rows(signatures.exclude(embed_site=""), "embed_site")


def referrers_top(signatures: SignatureQuerySet, *, limit: int = ROWS_SHOWN) -> list[ReferrerRow]:
    """The supporters whose links brought the most confirmed signatures."""
    brought = (
        signatures.counted()
        .exclude(referred_by="")
        .values("referred_by")
        .annotate(brought=Count("pk"))
        .order_by("-brought", "referred_by")[:limit]
    )
    counts = {row["referred_by"]: row["brought"] for row in brought}
    referrers = Signature.objects.filter(referral_code__in=counts).only("first_name", "country", "referral_code")
    rows = [
        ReferrerRow(
            first_name=referrer.first_name, country=str(referrer.country), brought=counts[referrer.referral_code]
        )
        for referrer in referrers
    ]
    return sorted(rows, key=lambda row: (-row.brought, row.first_name))


def referrals_brought(*, referral_code: str) -> int:
    """How many confirmed signers a supporter's links brought ("your link brought N people")."""
    if not referral_code:
        return 0
    return Signature.objects.counted().filter(referred_by=referral_code).count()
