"""Reads about letters that pages share: who a signer writes to, a signer's own
letters, and the names a recipient's digest counts."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

from django_countries import countries as country_names

from petitions.models import Letter, Petition, Signature, Target
from petitions.selectors.exports import cell_neutralise


def recipients_for_country(*, petition: Petition, country: str) -> list[Target]:
    """The active recipients a signer in `country` (a code) writes to: the
    petition's main recipients, and those tied to that country."""
    targets = petition.targets.filter(is_active=True).order_by("pk")
    return [target for target in targets if target.writes_to(country)]


def signature_recipients(*, public_id: uuid.UUID) -> list[Target]:
    """The recipients of a signature's letter, by its petition and country."""
    signature = Signature.objects.select_related("petition").filter(public_id=public_id).first()
    if signature is None:
        return []
    return recipients_for_country(petition=signature.petition, country=signature.country.code)


def signature_letters(*, public_id: uuid.UUID) -> list[Letter]:
    """A signature's letters with their recipients, in recipient order."""
    return list(
        Letter.objects.filter(signature__public_id=public_id).select_related("target", "signature").order_by("target")
    )


def digest_names_csv(*, digest_id: int) -> Iterator[bytes]:
    """The names and countries of the signers a digest counted, as CSV in
    pieces; no addresses. Signers invalidated or erased since are left out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["Name", "Country"])
    rows = (
        Letter.objects.filter(digest_id=digest_id, signature__state=Signature.State.CONFIRMED)
        .exclude(signature__first_name="", signature__last_name="")
        .order_by("pk")
        .values_list("signature__first_name", "signature__last_name", "signature__country")
    )
    for number, (first_name, last_name, country) in enumerate(rows.iterator(chunk_size=2000), start=1):
        writer.writerow([cell_neutralise(f"{first_name} {last_name}"), country_names.name(country) or country])
        if number % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
