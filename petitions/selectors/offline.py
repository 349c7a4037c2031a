"""Reads for paper and offline signatures: which addresses have signed already."""

from __future__ import annotations

from collections.abc import Iterable

from petitions.models import Signature

# Addresses looked up per query: a batch of thousands stays within any
# database's limit on parameters.
LOOKUP_CHUNK = 500


def addresses_signed(*, petition_id: int, canonical_addresses: Iterable[str]) -> set[str]:
    """Those of the canonical addresses (petitions.addresses.email_canonical)
    that already have a signature of this petition, online or on paper, in
    any state: the same rule as the one-signature-per-address constraint."""
    wanted = sorted(set(canonical_addresses))
    found: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        found.update(
            Signature.objects.filter(
                petition_id=petition_id, email_normalized__in=wanted[start : start + LOOKUP_CHUNK]
            ).values_list("email_normalized", flat=True)
        )
    return found
