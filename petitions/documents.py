"""The hand-over pack as a PDF: a cover page, then every row of its CSV.

Drawn with ReportLab. The PDF is written from the pack's CSV, read a line at
a time, so it shows exactly the rows the chain covers. ReportLab keeps every
page until it saves the file, each as its uncompressed drawing commands; a
million signatures would then hold some 150 MB of them. Each page's commands
are therefore compressed as soon as the page is finished (ReportLab's page
callback), which is what it would do at the end, and a page is a few
kilobytes from then on.

Names are drawn in DejaVu Sans where the system has it (most Latin, Greek,
Cyrillic, Arabic and Hebrew letters), else in the Bitstream Vera font that
ships with ReportLab. ReportLab does not shape Arabic or reorder right-to-left
text, so such names read letter by letter in the PDF; the CSV holds them as
written, and is what the chain covers.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import reportlab
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "HandoverSans"
_FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
)
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 36
ROW_HEIGHT = 10
FONT_SIZE = 7.5
# Two lists side by side on each page: half the pages, half their cost.
COLUMN_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / 2
# Offsets within a list of: number, name, country code, date, online/paper.
CELL_OFFSETS = (0, 34, 160, 180, 224)
NAME_MAX_CHARACTERS = 34


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        path = next(path for path in _FONT_FILES if path.exists())
        pdfmetrics.registerFont(TTFont(FONT, str(path)))
    return FONT


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
        _rows_draw(canvas, font, reader, cover)
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


def _rows_draw(canvas: Canvas, font: str, rows: Iterable[list[str]], cover: Cover) -> None:
    rows_per_list = int((PAGE_HEIGHT - 2 * MARGIN - 14) // ROW_HEIGHT)
    page_rows: list[list[str]] = []
    for row in rows:
        page_rows.append(row)
        if len(page_rows) == 2 * rows_per_list:
            _page_draw(canvas, font, page_rows, rows_per_list, cover)
            page_rows = []
    if page_rows:
        _page_draw(canvas, font, page_rows, rows_per_list, cover)


def _page_draw(canvas: Canvas, font: str, rows: list[list[str]], rows_per_list: int, cover: Cover) -> None:
    canvas.setFont(font, 7)
    canvas.drawString(
        MARGIN, PAGE_HEIGHT - MARGIN + 8,
        f"{cover.petition_title[:60]} · {cover.final_digest[:16]}… · {canvas.getPageNumber()}",
    )
    for list_number in range(2):
        listed = rows[list_number * rows_per_list : (list_number + 1) * rows_per_list]
        if not listed:
            break
        text = canvas.beginText()
        text.setFont(font, FONT_SIZE)
        left = MARGIN + list_number * COLUMN_WIDTH
        text.setTextOrigin(left, PAGE_HEIGHT - MARGIN - 10)
        for number, name, code, _country, signed_on, collected, *_chain in listed:
            cells = (number, name[:NAME_MAX_CHARACTERS], code, signed_on, collected)
            position = 0.0
            for offset, cell in zip(CELL_OFFSETS, cells, strict=True):
                text.moveCursor(offset - position, 0)
                position = offset
                text.textOut(cell)
            text.moveCursor(-position, ROW_HEIGHT)
        canvas.drawText(text)
    canvas.showPage()
