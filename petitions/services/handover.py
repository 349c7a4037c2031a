"""Hand-over packs: the confirmed signatures of a petition as a CSV and a
PDF, for a delivery in person, with a hash chain whose final digest is
printed on the cover and recorded (see petitions.selectors.handover).

Built in two streaming passes: the rows go from the database to the CSV a
chunk at a time, computing the chain and the count by country; then the PDF
is drawn from that CSV, cover first, its digest known by then. Memory stays
bounded whatever the number of signatures (bench/: a million in the figures
of docs/benchmarks.md).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from petitions.documents import Cover, handover_pdf_write
from petitions.models import HandoverPack, Petition
from petitions.selectors.handover import HEADER, chain_next, chain_start, handover_rows

# A spreadsheet runs a cell starting with one of these as a formula; such a
# name is written after an apostrophe (in the CSV, and so in the chain).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def handover_paths(pack: HandoverPack) -> tuple[Path, Path]:
    """Where the pack's CSV and PDF are kept."""
    stem = f"{pack.petition.slug}-handover-{pack.pk}"
    directory = Path(settings.HANDOVER_DIR)
    return directory / f"{stem}.csv", directory / f"{stem}.pdf"


def handover_pack_make(*, petition: Petition, created_by: User | None, recipients: list[str]) -> HandoverPack:
    """Make a hand-over pack of the petition's confirmed signatures (those
    counted publicly): its CSV, then its PDF, then the record of its final
    digest, count and count by country.

    The record is created first (without a digest) so that a pack that fails
    half way is seen as such; its digest is recorded only once both files
    are complete. No email addresses are ever written."""
    pack = HandoverPack.objects.create(petition=petition, created_by=created_by, recipients="\n".join(recipients))
    csv_path, pdf_path = handover_paths(pack)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    chain, count, by_country = _csv_write(petition, csv_path)
    cover = Cover(
        petition_title=petition.title,
        recipients=recipients,
        made_at=pack.created_at,
        signature_count=count,
        count_by_country=[(name, number) for name, number in sorted(by_country.items(), key=lambda i: (-i[1], i[0]))],
        final_digest=chain,
        pack_number=pack.pk,
    )
    handover_pdf_write(cover=cover, csv_path=csv_path, pdf_path=pdf_path)
    pack.final_digest, pack.signature_count, pack.count_by_country = chain, count, dict(by_country)
    pack.completed_at = timezone.now()
    pack.save(update_fields=["final_digest", "signature_count", "count_by_country", "completed_at"])
    return pack


def _csv_write(petition: Petition, path: Path) -> tuple[str, int, Counter[str]]:
    chain = chain_start()
    count = 0
    by_country: Counter[str] = Counter()
    with path.open("w", newline="", encoding="utf-8", buffering=1 << 16) as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        for number, name, code, country, signed_on, collected in handover_rows(petition_id=petition.pk):
            if name.startswith(FORMULA_STARTS):
                name = "'" + name
            cells = (number, name, code, country, signed_on, collected)
            chain = chain_next(chain, cells)
            writer.writerow((*cells, chain))
            by_country[country] += 1
            count += 1
    return chain, count, by_country
