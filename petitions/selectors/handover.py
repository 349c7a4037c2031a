"""The rows of a hand-over pack and the hash chain over them.

A pack lists a petition's confirmed signatures (those counted publicly): a
number, the name, the country, the day signed and whether online or on
paper; never an email address. Each row of its CSV carries the SHA-256 chain
value up to and including that row, so that changing, adding, removing or
reordering any row changes every value after it and the final digest, which
is printed on the pack's cover and recorded with it (HandoverPack).

The chain: the value before the first row is SHA-256 of CHAIN_LABEL and the
header line; each row's value is SHA-256 of the previous value (hex), a line
feed, and the row's cells (all but the chain cell) joined by U+001F. Anyone
can recompute it from the CSV alone (`python manage.py handover_verify FILE`).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django_countries import countries

from petitions.models import HandoverPack, Signature
from petitions.selectors.exports import UtcTimestampText

CHAIN_LABEL = "petition-handover-v1"
HEADER = ("number", "name", "country_code", "country", "signed_on", "collected", "chain")
ONLINE, PAPER = "online", "paper"
CHUNK_ROWS = 5000


def chain_start() -> str:
    return hashlib.sha256(f"{CHAIN_LABEL}\n{','.join(HEADER)}".encode()).hexdigest()


def chain_next(previous: str, cells: Iterable[str]) -> str:
    """The chain value after a row whose cells (without the chain cell) are `cells`."""
    return hashlib.sha256(f"{previous}\n{chr(0x1F).join(cells)}".encode()).hexdigest()


def handover_rows(*, petition_id: int) -> Iterator[tuple[str, str, str, str, str, str]]:
    """The pack's rows without their chain cell, in the order they were recorded, read
    through a server-side cursor a chunk at a time (constant memory)."""
    names = dict(countries)
    rows = (
        Signature.objects.counted()
        .filter(petition_id=petition_id)
        .order_by("pk")
        .values_list("first_name", "last_name", "country", UtcTimestampText("created_at"), "offline_batch_id")
        .iterator(chunk_size=CHUNK_ROWS)
    )
    for number, (first_name, last_name, code, signed_at, batch_id) in enumerate(rows, start=1):
        yield (
            str(number), f"{first_name} {last_name}".strip(), code, names.get(code, code), signed_at[:10],
            ONLINE if batch_id is None else PAPER,
        )




@dataclass(frozen=True)
class ChainCheck:
    """What recomputing a pack's chain from its CSV found."""

    header_ok: bool
    rows: int
    final_digest: str
    # The first data row (1 for the first under the header) whose chain cell
    # is not the value recomputed up to it: it, or one before it, was changed.
    first_changed_row: int | None
    pack: HandoverPack | None

    @property
    def is_handed_over_list(self) -> bool:
        return self.header_ok and self.first_changed_row is None and self.pack is not None


def handover_csv_check(lines: Iterable[str]) -> ChainCheck:
    """Recompute the chain over a pack's CSV (its lines, as text) and look its
    final digest up among the recorded packs. Reads the file once."""
    reader = csv.reader(lines)
    header = tuple(next(reader, ()))
    if header != HEADER:
        return ChainCheck(header_ok=False, rows=0, final_digest="", first_changed_row=None, pack=None)
    chain = chain_start()
    first_changed: int | None = None
    rows = 0
    for rows, row in enumerate(reader, start=1):  # noqa: B007 (rows is the count afterwards)
        *cells, written = row if row else ("",)
        chain = chain_next(chain, cells)
        if first_changed is None and written != chain:
            first_changed = rows
    pack = HandoverPack.objects.filter(final_digest=chain).exclude(completed_at=None).first() if rows else None
    return ChainCheck(header_ok=True, rows=rows, final_digest=chain, first_changed_row=first_changed, pack=pack)
