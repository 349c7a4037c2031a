"""The hand-over pack as a PDF: a cover page, then every row of its CSV.

Drawn with ReportLab. The PDF is written from the pack's CSV, read a line at
a time, so it shows exactly the rows the chain covers. ReportLab keeps every
page until it saves the file, each as its uncompressed drawing commands; a
million signatures would then hold some 150 MB of them. Each page's commands
are therefore compressed as soon as the page is finished (ReportLab's page
callback), which is what it would do at the end, and a page is a few
kilobytes from then on.

Names are drawn in DejaVu Sans (Mono, for the list) where the system has it
(Latin, Greek, Cyrillic), else in the Bitstream Vera font that ships with
ReportLab. A name with letters the font lacks (Korean, Devanagari, Ethiopic,
...) or written right to left (ReportLab neither shapes Arabic nor reorders
right-to-left text) is printed transliterated into Latin letters (anyascii)
and marked with "*"; the CSV holds every name as written, and is what the
chain covers.
"""

from __future__ import annotations

import csv
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import reportlab
from anyascii import anyascii
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "HandoverSans"
LIST_FONT = "HandoverMono"
_FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
)
# The list is one line of text per signature, its columns aligned by a
# monospaced font: one drawing call per row instead of one per cell, which
# was most of a million-row pack's time.
_LIST_FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    *_FONT_FILES,
)
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 36
ROW_HEIGHT = 10
FONT_SIZE = 7
# Two lists side by side on each page: half the pages, half their cost.
COLUMN_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / 2
NAME_CHARACTERS = 28
TRANSLITERATED = "*"


def _font(name: str = FONT, files: tuple[Path, ...] = _FONT_FILES) -> str:
    if name not in pdfmetrics.getRegisteredFontNames():
        path = next(path for path in files if path.exists())
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


@dataclass(frozen=True)
class Cover:
    petition_title: str
    recipients: list[str]
    made_at: datetime
    signature_count: int
    count_by_country: list[tuple[str, int]]
    final_digest: str
    pack_number: int


def handover_pdf_write(*, cover: Cover, csv_path: Path, pdf_path: Path) -> int:
    """Write the pack's PDF from its CSV; returns the number of pages."""
    font = _font()
    canvas = Canvas(str(pdf_path), pagesize=A4, pageCompression=1, invariant=True)
    canvas.setTitle(cover.petition_title)

    def page_finished(_page_number: int) -> None:
        # The page just finished: the canvas's document is not public API, but
        # its page list is what the callback is for.
        page = cast(Any, canvas)._doc.Pages[-1]
        commands = page.stream.encode("latin-1") if isinstance(page.stream, str) else page.stream
        page.Contents = pdfdoc.PDFStream(
            pdfdoc.PDFDictionary({"Filter": pdfdoc.PDFName("FlateDecode")}), zlib.compress(commands, 6)
        )
        page.stream = None

    canvas.setPageCallBack(page_finished)
    _cover_draw(canvas, font, cover)
    with csv_path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        next(reader)  # the header
        _rows_draw(canvas, _font(LIST_FONT, _LIST_FONT_FILES), reader, cover)
    pages = canvas.getPageNumber() - 1
    canvas.save()
    return pages


def _cover_draw(canvas: Canvas, font: str, cover: Cover) -> None:
    y = PAGE_HEIGHT - MARGIN - 20
    canvas.setFont(font, 18)
    canvas.drawString(MARGIN, y, cover.petition_title[:70])
    y -= 30
    canvas.setFont(font, 11)
    lines = [
        _("Hand-over pack %(number)d, made %(date)s") % {
            "number": cover.pack_number, "date": cover.made_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
        _("Confirmed signatures: %(count)d") % {"count": cover.signature_count},
        "",
        _("To:"),
        *[f"    {recipient}" for recipient in cover.recipients],
        "",
        _("Final digest of the SHA-256 chain over the rows:"),
    ]
    for line in lines:
        canvas.drawString(MARGIN, y, line)
        y -= 16
    canvas.setFont(font, 10)
    canvas.drawString(MARGIN + 20, y, cover.final_digest)
    y -= 16
    canvas.setFont(font, 9)
    canvas.drawString(
        MARGIN, y, _("Check the CSV of this list with: python manage.py handover_verify FILE.csv")
    )
    y -= 12
    canvas.drawString(
        MARGIN, y,
        _("%(mark)s A name in a script this PDF cannot print, transliterated; the CSV has it as written.")
        % {"mark": TRANSLITERATED},
    )
    y -= 26
    canvas.setFont(font, 11)
    canvas.drawString(MARGIN, y, _("Signatures by country:"))
    y -= 16
    canvas.setFont(font, 9)
    for name, count in cover.count_by_country:
        if y < MARGIN:
            canvas.showPage()
            canvas.setFont(font, 9)
            y = PAGE_HEIGHT - MARGIN
        canvas.drawString(MARGIN + 20, y, name[:60])
        canvas.drawRightString(MARGIN + 360, y, f"{count:,}")
        y -= 12
    canvas.showPage()


class _Printable:
    """Names as the list font can print them."""

    def __init__(self, font: str) -> None:
        registered = pdfmetrics.getFont(font)
        assert isinstance(registered, TTFont)  # registered by _font
        self.covered = frozenset(registered.face.charToGlyph)

    def name(self, name: str) -> str:
        if name.isascii():
            return name
        if all(
            ord(char) in self.covered and unicodedata.bidirectional(char) not in ("R", "AL") for char in name
        ):
            return name
        return f"{anyascii(name)}{TRANSLITERATED}"


def _rows_draw(canvas: Canvas, font: str, rows: Iterable[list[str]], cover: Cover) -> None:
    printable = _Printable(font)
    rows_per_list = int((PAGE_HEIGHT - 2 * MARGIN - 14) // ROW_HEIGHT)
    page_rows: list[list[str]] = []
    for row in rows:
        page_rows.append(row)
        if len(page_rows) == 2 * rows_per_list:
            _page_draw(canvas, font, page_rows, rows_per_list, cover, printable)
            page_rows = []
    if page_rows:
        _page_draw(canvas, font, page_rows, rows_per_list, cover, printable)


def _page_draw(
    canvas: Canvas, font: str, rows: list[list[str]], rows_per_list: int, cover: Cover, printable: _Printable
) -> None:
    canvas.setFont(font, 7)
    canvas.drawString(
        MARGIN, PAGE_HEIGHT - MARGIN + 8,
        f"{cover.petition_title[:60]} · {cover.final_digest[:16]}… · {canvas.getPageNumber()}",
    )
    for list_number in range(2):
        listed = rows[list_number * rows_per_list : (list_number + 1) * rows_per_list]
        if not listed:
            break
        text = canvas.beginText(MARGIN + list_number * COLUMN_WIDTH, PAGE_HEIGHT - MARGIN - 10)
        text.setFont(font, FONT_SIZE, ROW_HEIGHT)
        for number, name, code, _country, signed_on, collected, *_chain in listed:
            name = printable.name(name)[:NAME_CHARACTERS]
            text.textLine(f"{number:>7} {name:<{NAME_CHARACTERS}} {code} {signed_on} {collected}")
        canvas.drawText(text)
    canvas.showPage()
