"""Which addresses are suppressed: unsubscribed, bounced, complained, or added by staff."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from petitions.addresses import address_hash
from petitions.models import Suppression


def suppressions_of(addresses: Iterable[str]) -> dict[str, Suppression]:
    """The suppressions of these canonical addresses, by address, in one query:
    by the address itself, or by its keyed hash once the signer was erased."""
    hashes = {address_hash(address): address for address in set(addresses)}
    if not hashes:
        return {}
    found = Suppression.objects.filter(Q(address_hash__in=hashes) | Q(email_normalized__in=hashes.values()))
    by_address: dict[str, Suppression] = {}
    for suppression in found:
        address = hashes.get(suppression.address_hash or "") or suppression.email_normalized
        if address:
            by_address[address] = suppression
    return by_address
