"""Hand-over packs: the confirmed signatures of a petition as a CSV and a
PDF, for a delivery in person, with a hash chain whose final digest is
printed on the cover and recorded (see petitions.selectors.handover).

Staff ask for a pack in the admin (handover_pack_request); a worker builds
it (task "handover_pack_build"), since a million rows take longer than a web
request may. Built in two streaming passes: the rows go from the database to the CSV a
chunk at a time, computing the chain and the count by country; then the PDF
is drawn from that CSV, cover first, its digest known by then. Memory stays
bounded whatever the number of signatures (bench/: a million in the figures
of docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from petitions.delivery import broker
from petitions.documents import Cover, handover_pdf_write
from petitions.models import HandoverPack, Petition
from petitions.selectors.handover import HEADER, chain_next, chain_start, handover_rows

logger = logging.getLogger(__name__)

# A spreadsheet runs a cell starting with one of these as a formula; such a
# name is written after an apostrophe (in the CSV, and so in the chain).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def handover_paths(pack: HandoverPack) -> tuple[Path, Path]:
    """Where the pack's CSV and PDF are kept."""
    stem = f"{pack.petition.slug}-handover-{pack.pk}"
    directory = Path(settings.HANDOVER_DIR)
    return directory / f"{stem}.csv", directory / f"{stem}.pdf"


def handover_pack_request(*, petition: Petition, created_by: User | None, recipients: list[str]) -> HandoverPack:
    """Record a pack to make and hand it to a worker after commit (task
    "handover_pack_build"). If the broker is down the pack stays listed as
    not finished, and staff ask again; nothing else is lost."""
    with transaction.atomic():
        pack = HandoverPack.objects.create(petition=petition, created_by=created_by, recipients="\n".join(recipients))
        transaction.on_commit(lambda: _publish(pack.pk))
    return pack


def _publish(pack_id: int) -> None:
    try:
        broker.publish("handover_pack_build", [(pack_id,)])
    except broker.BrokerUnavailable:
        logger.warning("Broker unavailable: hand-over pack %s not handed to a worker", pack_id)


def handover_pack_make(*, petition: Petition, created_by: User | None, recipients: list[str]) -> HandoverPack:
    """Record and build a pack at once, in this process (the benchmark, the shell)."""
    pack = HandoverPack.objects.create(petition=petition, created_by=created_by, recipients="\n".join(recipients))
    return handover_pack_build(pack_id=pack.pk)


def handover_pack_build(*, pack_id: int) -> HandoverPack:
    """Build a requested pack of the petition's confirmed signatures (those
    counted publicly): its CSV, then its PDF, then the record of its final
    digest, count and count by country. Idempotent: a finished pack is left
    as it is; one left half made (a worker died) is built again from the start.

    The digest is recorded only once both files are complete, so a pack
    without one is never mistaken for a finished one. No email addresses are
    ever written."""
    pack = HandoverPack.objects.select_related("petition").get(pk=pack_id)
    if pack.completed_at is not None:
        return pack
    petition = pack.petition
    recipients = [line for line in pack.recipients.splitlines() if line.strip()]
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
