"""Reading and writing the spreadsheets merchants upload and download, whatever the sheet holds.

The shared half of every import: tell CSV from XLSX by the first bytes, decode
CSV written by Excel in any of the encodings Chinese and Western merchants
meet (UTF-8 with or without a byte order mark, UTF-16, GB18030/GBK), find the
delimiter, read the header and the non-empty rows with their spreadsheet row
numbers, and write a template as CSV (with a BOM, for Excel) or XLSX. What a
column means and how a row is validated stays with each import.

Used by the order import (channels.adapters.spreadsheet), the product
import (inventory.imports), the supplier's stock upload
(inventory.supplier_stock) and the tracking upload (suppliers.tracking_upload).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
SHOWN = 40  # characters of a bad value quoted back in a reason

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_DELIMITERS = (",", ";", "\t")

Cell = str | dt.datetime | dt.date
# How an Excel TRUE/FALSE cell reads as text.
YES_NO: tuple[str, str] = ("yes", "no")


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number: the header is 1, a file-level problem is 0
    column: str  # the template's column name ("" for the whole row or file)
    reason: str


class TableError(Exception):
    """The file as a whole cannot be read; the message is for a person."""


@dataclass
class SheetReport:
    """What an all-or-nothing upload did, or why it did nothing: ``errors`` non-empty means nothing was written.

    ``error_count`` counts every problem found, ``errors`` lists the first
    ones (``listed_errors``). Each upload adds what it did.
    """

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data


def listed_errors(errors: Sequence[RowError], *, total: int | None = None, limit: int = 1_000) -> list[RowError]:
    """The first ``limit`` of ``errors``, then a file-level line (row 0) saying how many more of ``total`` (all
    the problems found, default ``len(errors)``) are not listed."""
    total = len(errors) if total is None else total
    shown = list(errors[:limit])
    if total > len(shown):
        shown.append(
            RowError(
                0,
                "",
                _("%(n)s more problems are not listed; fix the ones above and upload again.")
                % {"n": f"{total - len(shown):,}"},
            )
        )
    return shown


# ------------------------------------------------------------------ reading


def read_table(
    *,
    content: bytes,
    filename: str,
    column_name: Callable[[Cell], str | None] | None = None,
    booleans: tuple[str, str] = YES_NO,
) -> tuple[list[Cell], list[tuple[int, list[Cell]]]]:
    """The header's cells and the non-empty data rows as (spreadsheet row number, cells).

    ``column_name(cell)`` says whether a header cell names a known column; it
    picks the CSV delimiter that recognises the most columns. ``booleans`` is
    the (true, false) text of Excel TRUE/FALSE cells. Raises
    TableError for a file that cannot be read at all (too large, old .xls,
    damaged workbook, unknown encoding, broken quotes, no header, too many rows).
    """
    if len(content) > MAX_BYTES:
        raise TableError(
            _("The file is larger than %(mb)d MB; split it into smaller files.") % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    suffix = Path(filename).suffix.lower()
    if content.startswith(_ZIP_MAGIC):
        records = _xlsx_records(content, booleans=booleans)
    elif content.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise TableError(_("Old Excel .xls files cannot be read; save the sheet as .xlsx or .csv and upload that."))
    elif suffix in (".xlsx", ".xlsm"):
        raise TableError(_("The file is named .xlsx but is not an Excel workbook; save it from Excel again."))
    else:
        records = csv_records(content, column_name=column_name)
    header: list[Cell] | None = None
    rows: list[tuple[int, list[Cell]]] = []
    number = 0
    try:
        # After a csv.Error, number is the last row read: the broken one is the next.
        for number, cells in enumerate(records, start=1):
            if header is None:
                header = cells
            elif all(blank(cell) for cell in cells):
                continue
            elif len(rows) == MAX_ROWS:
                raise TableError(
                    _("The file has more than %(rows)s rows; split it into smaller files.") % {"rows": f"{MAX_ROWS:,}"}
                )
            else:
                rows.append((number, cells))
    except csv.Error as exc:
        raise TableError(
            _("Row %(row)d could not be read (%(error)s); check its quotes.") % {"row": number + 1, "error": exc}
        ) from None
    if header is None or all(blank(cell) for cell in header):
        raise TableError(_("The file is empty: row 1 must be the header (download the template to see it)."))
    return header, rows


def blank(cell: Cell) -> bool:
    return isinstance(cell, str) and not cell.strip()


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (which covers GBK and GB2312)."""
    if content.startswith(b"\xef\xbb\xbf"):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        # UTF-8 first: Chinese text in GB18030 is almost never valid UTF-8, while
        # UTF-8 text often happens to decode as (wrong) GB18030.
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(_("The file encoding was not recognised; save it as CSV UTF-8 (or GBK) and upload it again."))


def csv_records(content: bytes, *, column_name: Callable[[Cell], str | None] | None = None) -> Iterator[list[Cell]]:
    text = decode(content)
    delimiter = sniff_delimiter(text, column_name=column_name)
    # Strings only, so a cell is never anything but text here.
    return iter(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def sniff_delimiter(text: str, *, column_name: Callable[[Cell], str | None] | None = None) -> str:
    """The delimiter that splits the header into the most known column names (a comma when none does)."""
    first_line = text.partition("\n")[0]
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if column_name is not None and column_name(cell) is not None)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _xlsx_records(content: bytes, *, booleans: tuple[str, str] = YES_NO) -> Iterator[list[Cell]]:
    """The first worksheet's rows as cell lists."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails on damaged files with anything from zip to XML errors
        raise TableError(
            _("The file could not be read as an Excel workbook (.xlsx); save it from Excel again.")
        ) from exc
    return _xlsx_rows(workbook, booleans=booleans)


def _xlsx_rows(workbook, *, booleans: tuple[str, str] = YES_NO) -> Iterator[list[Cell]]:
    try:
        if not workbook.worksheets:
            return
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [cell_from_excel(value, booleans=booleans) for value in values]
    except Exception as exc:  # as above: a damaged sheet shows up as any error while reading
        raise TableError(_("The workbook is damaged and could not be read; save it from Excel again.")) from exc
    finally:
        workbook.close()


def cell_from_excel(value: object, *, booleans: tuple[str, str] = YES_NO) -> Cell:
    """An Excel cell as text, or as a datetime/date for date cells; TRUE/FALSE read as ``booleans``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, bool):
        return booleans[0] if value else booleans[1]
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 13800000000.0 is a phone number, 2.0 a quantity
        # Excel shows 15 significant digits and stores sums like 0.1+0.2 as
        # 0.30000000000000004; reading what the person saw keeps prices exact.
        return format(Decimal(format(value, ".15g")), "f")
    return value.isoformat() if isinstance(value, dt.time) else str(value)


# ------------------------------------------------------------------ the header


def header_key(text: str) -> str:
    """ "Supplier Code", "supplier-code", "供应商编码*" all name a column; "*" marks required columns in many templates."""
    key = text.replace("\ufeff", "").strip().rstrip("*＊").strip().casefold()
    return re.sub(r"[\s\-]+", "_", key)


def header_aliases(columns: Sequence[str], translations: Mapping[str, str]) -> dict[str, str]:
    """header_key → column name, for the English names and their translated headers."""
    return {
        **{header_key(column): column for column in columns},
        **{header_key(other): column for column, other in translations.items()},
    }


def read_header(
    header: Sequence[Cell], *, column_name: Callable[[Cell], str | None], required: Mapping[str, str]
) -> tuple[dict[str, int], list[RowError]]:
    """Column name → cell index, and what is wrong with the header (at row 1): a cell that names no
    column, a column given twice, a required column missing. ``required`` maps each required column to
    its other header (its Chinese name), which the message names too."""
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        if blank(cell):
            continue
        text = shown(cell)
        name = column_name(cell)
        if name is None:
            errors.append(RowError(1, text, _("“%(value)s” is not a column of the template.") % {"value": text}))
        elif name in columns:
            errors.append(RowError(1, name, _("The column “%(name)s” appears more than once.") % {"name": name}))
        else:
            columns[name] = index
    errors.extend(
        RowError(1, name, _("The required column “%(name)s” (%(other)s) is missing.") % {"name": name, "other": other})
        for name, other in required.items()
        if name not in columns
    )
    return columns, errors


def cell_text(cells: Sequence[Cell], index: int | None) -> str:
    """The cell at ``index`` of a row as trimmed text ("" past the row's end or for a column not in the file)."""
    if index is None or index >= len(cells):
        return ""
    cell = cells[index]
    return cell.strip() if isinstance(cell, str) else shown(cell)


def shown(cell: Cell) -> str:
    """A cell as text quoted back to a person, cut to ``SHOWN`` characters."""
    text = cell.isoformat() if isinstance(cell, dt.date) else str(cell).strip()
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


# ------------------------------------------------------------------ templates


def template_csv(*, columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> bytes:
    """A template as CSV: the header and example rows.

    UTF-8 with a byte order mark, because without it Excel reads UTF-8 as the
    system's legacy code page and shows Chinese as mojibake.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_template_text(row.get(column, "")) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(
    *,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, object]],
    sheet_title: str,
    number_formats: Mapping[str, str] | None = None,
) -> bytes:
    """A template as an Excel workbook, header in bold and frozen.

    Columns without a number format are text ("@"), so Excel keeps leading
    zeros and does not turn codes into numbers or dates.
    """
    number_formats = number_formats or {}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(column, "") for column in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column) + 2)
        for cell in sheet[letter][1:]:
            cell.number_format = number_formats.get(column, "@")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _template_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
