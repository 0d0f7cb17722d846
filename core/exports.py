"""Files people download: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX (streaming, constant memory),
with every cell neutralised against spreadsheet formula injection.

A report that can be exported describes itself as an ``ExportTable``: a title, its column headers, how many
rows it has (for progress) and the rows (an iterator, read once). Cells are what Python holds: text, ``int``,
``Decimal`` (money, never float), ``date`` and ``datetime``, or ``None`` for an empty cell.

- Text that a spreadsheet would take for a formula (it starts with = + - @, a tab or a carriage return) gets a
  leading apostrophe (``safe_cell``); numbers stay numbers, so a Decimal −3.10 is written as −3.10.
- CSV: UTF-8 with a byte order mark, the csv module's quoting, Decimals printed plainly (``3.10``, never
  ``3.1E+1``), dates ISO.
- XLSX: openpyxl's write-only mode (rows go to the file as they come, memory stays flat), the header bold and
  frozen, Decimals as numbers shown with the table's currency's decimals, dates as dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from django.db import connection
from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django_tenants.utils import get_public_schema_name
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.money import minor_unit

# A writer calls ``progress(done)`` after every PROGRESS_EVERY rows, and once at the end with the total.
PROGRESS_EVERY = 5_000
Progress = Callable[[int], object]

# What Excel, LibreOffice and Google Sheets read as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_STREAM_CHUNK_ROWS = 500


@dataclass
class ExportTable:
    title: str
    columns: Sequence[str]
    count: int
    rows: Iterable[Sequence[object]]
    # The currency of the table's Decimal cells, when they are all in one: XLSX shows its decimals
    # (two for CNY, none for JPY). Empty: Decimals are shown as Excel shows any number.
    currency: str = ""
    # Where and how the rows are read and written: the tenant schema, time zone and language current when the
    # table is made (the request's). A streamed download is written after the request's middleware has put the
    # connection back on the public schema, so its lazy rows would read the wrong schema (or none) without them.
    tz: dt.tzinfo = field(default_factory=timezone.get_current_timezone)
    language: str | None = field(default_factory=translation.get_language)
    tenant: object | None = field(default_factory=lambda: getattr(connection, "tenant", None))


@contextmanager
def made_where_asked(table: ExportTable) -> Iterator[None]:
    """While the block runs: the table's tenant schema on the connection, its time zone and its language; the
    connection's schema as it was afterwards."""
    previous = getattr(connection, "tenant", None)
    tenant = table.tenant
    switch = tenant is not None and getattr(previous, "schema_name", None) != tenant.schema_name
    if switch:
        connection.set_tenant(tenant)
    try:
        with timezone.override(table.tz), translation.override(table.language):
            yield
    finally:
        if switch:
            if previous is None or previous.schema_name == get_public_schema_name():
                connection.set_schema_to_public()
            else:
                connection.set_tenant(previous)


def in_chunks(values: Iterable, size: int) -> Iterator[list]:
    """``values`` in lists of ``size`` (the last one shorter): rows read a chunk at a time, so a download can
    fetch what each chunk needs in one query."""
    chunk: list = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet may hold it without running it: text that would start a formula gets a leading
    apostrophe; numbers, dates and ``None`` are returned as they are, any other object as its text."""
    if value is None or isinstance(value, int | float | Decimal | dt.date):  # datetime is a date
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(moment: dt.datetime) -> dt.datetime:
    """A datetime as a spreadsheet holds it: local wall-clock time (Django's current time zone), no tzinfo."""
    if moment.tzinfo is None:
        return moment
    return timezone.localtime(moment).replace(tzinfo=None)


# ------------------------------------------------------------------ CSV

# How a CSV cell is written, by exact type (one dict lookup per cell: the hot loop of big files).
_CSV_CELL: dict[type, Callable[[object], object]] = {
    type(None): lambda value: "",
    str: safe_cell,
    int: lambda value: value,
    bool: lambda value: value,
    Decimal: lambda value: format(value, "f"),
    dt.date: lambda value: value.isoformat(),
    dt.datetime: lambda value: _local(value).isoformat(sep=" ", timespec="seconds"),
}


def _csv_cell(value: object) -> object:
    convert = _CSV_CELL.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, dt.datetime):
        return _CSV_CELL[dt.datetime](value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return safe_cell(value)


def _csv_row(row: Sequence[object]) -> list[object]:
    return [_csv_cell(value) for value in row]


def write_csv(
    table: ExportTable, fileobj: BinaryIO, progress: Progress | None = None, *, every: int | None = None
) -> int:
    """Write ``table`` to the binary file ``fileobj`` as CSV: UTF-8 with a byte order mark, CRLF line ends, a
    header row, every cell neutralised (``safe_cell``). Returns the number of data rows written; ``progress``
    is called every ``every`` rows (default PROGRESS_EVERY) and at the end. ``fileobj`` is left open."""
    every = every or PROGRESS_EVERY
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([safe_cell(str(column)) for column in table.columns])
        done = 0
        with made_where_asked(table):
            for row in table.rows:
                writer.writerow(_csv_row(row))
                done += 1
                if progress is not None and done % every == 0:
                    progress(done)
        if progress is not None:
            progress(done)
        text.flush()
    finally:
        text.detach()  # the caller's file stays open
    return done


class _Line:
    """A pseudo-file for csv.writer that keeps the last line written."""

    value = ""

    def write(self, text: str) -> None:
        self.value = text


def _csv_chunks(table: ExportTable) -> Iterator[bytes]:
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow([safe_cell(str(column)) for column in table.columns])
    yield ("\ufeff" + line.value).encode()
    rows = iter(table.rows)
    while True:
        chunk: list[str] = []
        # The table's zone only while its rows are written, never across a yield (the server runs between).
        with made_where_asked(table):
            for row in rows:
                writer.writerow(_csv_row(row))
                chunk.append(line.value)
                if len(chunk) >= _STREAM_CHUNK_ROWS:
                    break
        if not chunk:
            return
        yield "".join(chunk).encode()


def stream_csv_response(table: ExportTable, filename: str) -> StreamingHttpResponse:
    """``table`` as a CSV download written while it is sent (for small exports made in the request): the same
    bytes as ``write_csv``, ``filename`` in Content-Disposition (non-ASCII names as RFC 6266 ``filename*``)."""
    response = StreamingHttpResponse(_csv_chunks(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ------------------------------------------------------------------ XLSX


def money_number_format(currency: str) -> str:
    """The Excel number format of amounts in ``currency``: its decimals always, up to four when a value has more
    (a unit cost of 5.125), thousands grouped. "#,##0.00##" for CNY, "#,##0" for JPY."""
    places = minor_unit(currency)
    if places == 0:
        return "#,##0"
    return "#,##0." + "0" * places + "#" * max(0, 4 - places)


def sheet_title(title: str) -> str:
    """``title`` as Excel allows a sheet to be named: at most 31 characters, none of []:*?/\\."""
    cleaned = _SHEET_TITLE_BAD.sub(" ", title).strip() or "Sheet"
    return cleaned[:31]


def _column_width(header: str) -> float:
    return min(60, max(12, len(header) + 4))


class _XlsxRow:
    """Turns a table row into what a write-only sheet appends: plain values where openpyxl needs no style, and
    one reused styled cell per column for Decimals and dates (the writer writes a cell before taking the next
    row, so reusing it is safe and spares an object per cell)."""

    def __init__(self, sheet, *, decimal_format: str | None):
        self.sheet = sheet
        self.decimal_format = decimal_format
        self.styled: dict[tuple[int, str], WriteOnlyCell] = {}

    def _cell(self, index: int, number_format: str, value: object) -> WriteOnlyCell:
        key = (index, number_format)
        cell = self.styled.get(key)
        if cell is None:
            cell = self.styled[key] = WriteOnlyCell(self.sheet)
            cell.number_format = number_format
        cell.value = value
        return cell

    def __call__(self, row: Sequence[object]) -> list[object]:
        out: list[object] = []
        for index, value in enumerate(row):
            kind = type(value)
            if kind is str:
                text = "'" + value if value.startswith(FORMULA_STARTS) else value
                # isprintable() is a C loop; only text it refuses can hold what XML cannot.
                out.append(text if text.isprintable() else ILLEGAL_CHARACTERS_RE.sub("", text))
            elif kind is Decimal:
                out.append(self._cell(index, self.decimal_format, value) if self.decimal_format else value)
            elif value is None or kind is int:
                out.append(value)
            elif kind is dt.date:
                out.append(value)  # openpyxl gives a date its date format itself
            elif isinstance(value, dt.datetime):
                out.append(self._cell(index, _DATETIME_FORMAT, _local(value)))
            elif isinstance(value, dt.date):
                out.append(self._cell(index, _DATE_FORMAT, value))
            else:
                cleaned = safe_cell(value)
                out.append(ILLEGAL_CHARACTERS_RE.sub("", cleaned) if isinstance(cleaned, str) else cleaned)
        return out


def write_xlsx(
    table: ExportTable, fileobj: BinaryIO, progress: Progress | None = None, *, every: int | None = None
) -> int:
    """Write ``table`` to the binary file ``fileobj`` as one XLSX sheet, in openpyxl's write-only mode (memory
    does not grow with the rows): header bold and frozen; Decimals numbers in the table currency's format;
    dates and datetimes real dates; text neutralised (``safe_cell``) and stripped of the control characters
    XML cannot hold. Returns the number of data rows written; ``progress`` as in ``write_csv``."""
    every = every or PROGRESS_EVERY
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title(table.title))
    headers = [str(column) for column in table.columns]
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _column_width(header)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(safe_cell(header))))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    to_row = _XlsxRow(sheet, decimal_format=money_number_format(table.currency) if table.currency else None)
    done = 0
    with made_where_asked(table):
        for row in table.rows:
            sheet.append(to_row(row))
            done += 1
            if progress is not None and done % every == 0:
                progress(done)
    workbook.save(fileobj)
    if progress is not None:
        progress(done)
    return done


__all__ = [
    "FORMULA_STARTS",
    "PROGRESS_EVERY",
    "ExportTable",
    "in_chunks",
    "made_where_asked",
    "money_number_format",
    "safe_cell",
    "sheet_title",
    "stream_csv_response",
    "write_csv",
    "write_xlsx",
]
