"""The rows of a CSV export of a petition's signatures, and the file streamed from them.

The file is streamed: rows come from the database through a server-side
cursor in chunks (`.iterator(chunk_size=...)`, a named cursor on PostgreSQL)
and leave as CSV a buffer at a time, so a million signatures export in
constant memory. Every export is recorded (`SignatureExport`) when it starts;
once the last byte has been handed to the server its row count and the SHA-256
of exactly the bytes sent are written to that record, so a file handed over
can be checked later with `sha256sum`. A record left without a digest is an
export whose download did not finish.

The database sends every field as text, timestamps already formatted, so that
Python's work per row is little more than the CSV writer's: parsing a million
timestamps into datetimes and formatting them again took most of an export's
time.

Only staff with `petitions.export_signature` may export; the email column
also needs `petitions.view_signer_email`, and is never ticked by default.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db import NotSupportedError, models
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django_countries import countries

from petitions.models import Petition, Signature

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    # _AsSqlType exists only in django-stubs: what as_sql returns, the SQL and its parameters.
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

# The export's rows: one tuple per signature of its fields as text, in the
# order of the field names that come with it.
ExportRows = QuerySet[Signature, tuple[str, ...]]

# Rows fetched from the database at a time, and the size at which the CSV
# buffer is handed to the web server: both bound the memory an export uses.
CHUNK_ROWS = 2000
FLUSH_BYTES = 64 * 1024
# A spreadsheet would run a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UtcTimestampText(models.Func):
    """A timestamp as the text `2025-03-01T12:03:00Z`: UTC, whole seconds
    (cut, not rounded), formatted by the database. NULL stays NULL."""

    arity = 1
    output_field = models.CharField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        # AT TIME ZONE 'UTC' makes the text independent of the session's time zone.
        template = """to_char((%(expressions)s) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> _AsSqlType:
        # Django stores a timestamp in SQLite as UTC text, "YYYY-MM-DD HH:MM:SS"
        # and perhaps a fraction: its first 19 characters are the whole seconds.
        template = "replace(substr(%(expressions)s, 1, 19), ' ', 'T') || 'Z'"
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> _AsSqlType:
        raise NotSupportedError(f"UtcTimestampText has no SQL for {connection.vendor}")


def _selected_as_text(name: str) -> models.Func | str:
    """What the database should send for the field `name`: text, never NULL."""
    field = Signature._meta.get_field(name)
    selected: models.Func | str
    if isinstance(field, models.DateTimeField):
        selected = UtcTimestampText(name)
    elif isinstance(field, models.CharField):  # EmailField and CountryField too.
        selected = name
    else:
        raise TypeError(f"The export has no text form for {name}, a {type(field).__name__}")
    return Coalesce(selected, models.Value("")) if field.null else selected


def _country_name_renderer() -> Callable[[str], str]:
    # One table per export, in the language active for it: countries.name()
    # translates on every call and would take most of a large export's time.
    names = dict(countries)
    return lambda code: names.get(code, code)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    field: str
    # Called once per export; returns the function that turns the field's
    # text into the column's. None: the text as the database sent it.
    renderer: Callable[[], Callable[[str], str]] | None = None
    personal: bool = False
    default: bool = True


COLUMNS = [
    Column("first_name", "First name", "first_name"),
    Column("last_name", "Last name", "last_name"),
    Column("country", "Country code", "country"),
    Column("country_name", "Country", "country", renderer=_country_name_renderer),
    Column("postcode", "Postcode", "postcode"),
    Column("confirmed_at", "Confirmed at (UTC)", "confirmed_at"),
    Column("created_at", "Signed at (UTC)", "created_at", default=False),
    Column("state", "State", "state", default=False),
    Column("email", "Email address", "email", personal=True, default=False),
    # Where the signature came from (petitions.forms.attribution_read).
    Column("source", "Source", "source", default=False),
    Column("utm_source", "UTM source", "utm_source", default=False),
    Column("utm_medium", "UTM medium", "utm_medium", default=False),
    Column("utm_campaign", "UTM campaign", "utm_campaign", default=False),
    Column("embed_site", "Embedded on", "embed_site", default=False),
    Column("referred_by", "Referral code followed", "referred_by", default=False),
]
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}


def cell_neutralise(text: str) -> str:
    """The text with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def signatures_for_export(
    *, petition: Petition, states: Iterable[str], columns: Iterable[str]
) -> tuple[ExportRows, list[str]]:
    """The rows of the export, as tuples of the columns' fields as text, in a fixed order."""
    fields = list(dict.fromkeys(COLUMNS_BY_KEY[key].field for key in columns))
    rows = (
        Signature.objects.filter(petition=petition, state__in=states)
        .order_by("pk")
        .values_list(*[_selected_as_text(name) for name in fields])
    )
    return rows, fields


def csv_stream(
    *, rows: ExportRows, fields: list[str], columns: Iterable[str], on_complete: Callable[[str, int], None]
) -> Iterator[bytes]:
    """Yield the CSV file in pieces of about FLUSH_BYTES, hashing exactly the
    bytes yielded; after the last piece has been taken, call
    `on_complete(sha256 hex digest, row count)`.

    Every field is quoted, and text a spreadsheet would run as a formula is
    prefixed with an apostrophe. The header row is not counted in row_count.
    """
    chosen = [COLUMNS_BY_KEY[key] for key in columns]
    positions = [fields.index(column.field) for column in chosen]
    # The columns whose text is not the field's own, by their place in the row.
    rendered = [(index, column.renderer()) for index, column in enumerate(chosen) if column.renderer]
    digest = hashlib.sha256()
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def take() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        digest.update(data)
        return data

    writer.writerow([column.header for column in chosen])
    row_count = 0
    # closing(): if the download is abandoned, the database cursor is closed
    # now rather than whenever the iterator is collected.
    # iterator() returns a generator, which closing() needs; the stubs say only Iterator.
    chunked = cast(Generator[tuple[str, ...], None, None], rows.iterator(chunk_size=CHUNK_ROWS))
    with contextlib.closing(chunked) as records:
        for record in records:
            cells = [record[position] for position in positions]
            for index, render in rendered:
                cells[index] = render(cells[index])
            writer.writerow(map(cell_neutralise, cells))
            row_count += 1
            if buffer.tell() >= FLUSH_BYTES:
                yield take()
    tail = take()
    if tail:
        yield tail
    # Reached only when the server asks for more after the last piece, that is
    # when the whole file has been handed over.
    on_complete(digest.hexdigest(), row_count)


