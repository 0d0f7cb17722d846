"""Reading and writing the spreadsheets merchants upload and download, whatever the sheet holds.

The shared half of every import: tell CSV from XLSX by the first bytes, decode
CSV written by Excel in any of the encodings Chinese and Western merchants
meet (UTF-8 with or without a byte order mark, UTF-16, GB18030/GBK), find the
delimiter, read the header and the non-empty rows with their spreadsheet row
numbers, and write a template as CSV (with a BOM, for Excel) or XLSX. What a
column means and how a row is validated stays with each import.

Every upload is bounded here, before the work it would cause: its size, what an
XLSX unpacks to (from the zip's central directory, without unpacking it), how
far any one member is compressed, its rows (blank ones count: a bomb is mostly
blank rows), its columns and the length of one cell. A file past a limit is
refused with a TableError naming the limit, in well under a second and without
holding more than one row (or 1 MB of text) at a time.

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
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MAX_BYTES = 20 * 1024 * 1024  # the uploaded file itself
MAX_ROWS = 50_000  # data rows; every record after the header counts, blank ones too
MAX_COLUMNS = 256  # cells in one row (the templates have a few dozen; Excel allows 16,384)
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_RECORD_CHARS = 1024 * 1024  # the text of one CSV record: no real row comes near, a runaway quote does
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # what an XLSX's members unpack to, all together
MAX_RATIO = 100  # a worksheet compresses 5-15 times; a member packed far tighter than this is a bomb
MAX_MEMBERS = 1_000  # files inside one XLSX (a workbook has a dozen or so)
_RATIO_FLOOR = 1024 * 1024  # members smaller than this unpack to too little to matter, whatever their ratio
_SCAN_CHUNK = 1024 * 1024
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
    TableError for a file that cannot be read at all (too large, unpacking to
    too much, old .xls, damaged workbook, unknown encoding, broken or
    unterminated quotes, no header, too many rows or columns, a cell too long).
    The limits are checked before the rows are read, or as they stream past:
    nothing past a limit is ever held in memory.
    """
    header: list[Cell] | None = None
    rows: list[tuple[int, list[Cell]]] = []
    for number, cells in table_records(content=content, filename=filename, column_name=column_name, booleans=booleans):
        if header is None:
            header = cells
        elif not all(blank(cell) for cell in cells):
            rows.append((number, cells))
    if header is None or all(blank(cell) for cell in header):
        raise TableError(_("The file is empty: row 1 must be the header (download the template to see it)."))
    return header, rows


def check_upload(*, content: bytes, filename: str) -> None:
    """Refuse at once (TableError) a file that read_table would refuse for its size, what it unpacks to, its
    rows, columns, cells or quotes, without keeping its rows: for a caller that keeps the file for a worker.
    A workbook's cells are not read (check_workbook streams its XML without parsing it), so a few limits
    (rows implied by numbering gaps, a lone cell far to the right) are left to read_table in the worker."""
    if content.startswith(_ZIP_MAGIC) and len(content) <= MAX_BYTES:
        check_workbook(content)
        return
    for _record in table_records(content=content, filename=filename):
        pass


def table_records(
    *,
    content: bytes,
    filename: str,
    column_name: Callable[[Cell], str | None] | None = None,
    booleans: tuple[str, str] = YES_NO,
) -> Iterator[tuple[int, list[Cell]]]:
    """Every record of the file (blank ones too) as (spreadsheet row number, cells), within the limits: a
    TableError as soon as one is passed (see read_table)."""
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
    return bounded(records)


def bounded(records: Iterable[list[Cell]]) -> Iterator[tuple[int, list[Cell]]]:
    """``records`` numbered from 1, refusing the file (TableError) at the first record past MAX_ROWS + 1 (the
    header), the first with more than MAX_COLUMNS cells or with a cell longer than MAX_CELL_CHARS."""
    for number, cells in enumerate(records, start=1):
        if number > MAX_ROWS + 1:
            raise TableError(
                _("The file has more than %(rows)s rows; split it into smaller files.") % {"rows": f"{MAX_ROWS:,}"}
            )
        if len(cells) > MAX_COLUMNS:
            raise TableError(
                _("Row %(row)d has more than %(columns)d columns; a sheet may have at most %(columns)d.")
                % {"row": number, "columns": MAX_COLUMNS}
            )
        for cell in cells:
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise TableError(
                    _("Row %(row)d has a value longer than %(chars)s characters, the most a cell may hold.")
                    % {"row": number, "chars": f"{MAX_CELL_CHARS:,}"}
                )
        yield number, cells


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
    return text_rows(text, delimiter=delimiter)


class _RecordTooLong(Exception):
    pass


_LINE_END = re.compile(r"\r\n|\r|\n")


class _Lines:
    """The text's lines for csv.reader, one at a time, each at most MAX_RECORD_CHARS long; raises
    _RecordTooLong when the record being read has taken more than that (a quote left open swallows the
    rest of the file into one cell). Lines end at \\n, \\r\\n or \\r, as in a file opened with newline="";
    the text is sliced, never copied whole."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0
        self.record_chars = 0
        self.record_lines = 0
        self.record_text: list[str] = []
        self.ended = False

    def start_record(self) -> None:
        self.record_chars = self.record_lines = 0
        self.record_text = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        start = self._at
        if start >= len(self._text):
            self.ended = True
            raise StopIteration
        limit = min(start + MAX_RECORD_CHARS + 1, len(self._text))
        found = _LINE_END.search(self._text, start, limit)
        self._at = found.end() if found is not None else limit
        self.record_chars += self._at - start
        self.record_lines += 1
        if self.record_chars > MAX_RECORD_CHARS:
            raise _RecordTooLong
        line = self._text[start : self._at]
        self.record_text.append(line)
        return line


def text_rows(text: str, *, delimiter: str = ",") -> Iterator[list[Cell]]:
    """The CSV records of ``text``, each read within MAX_RECORD_CHARS. Raises TableError for a record whose
    quotes cannot be read, and names the row of a quote that is never closed (Python's csv module would
    silently read the rest of the file into that one cell)."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    number = 0
    while True:
        lines.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            if lines.record_lines > 1:
                raise _unterminated(number + 1) from None
            raise TableError(
                _("Row %(row)d is longer than %(mb)d MB; no row of a spreadsheet is that long.")
                % {"row": number + 1, "mb": MAX_RECORD_CHARS // (1024 * 1024)}
            ) from None
        except csv.Error as exc:
            raise TableError(
                _("Row %(row)d could not be read (%(error)s); check its quotes.") % {"row": number + 1, "error": exc}
            ) from None
        number += 1
        # Only a record still inside quotes asks for a line past the end; the strict reader confirms it.
        if lines.ended and _quote_left_open("".join(lines.record_text), delimiter):
            raise _unterminated(number)
        yield cells


def _unterminated(row: int) -> TableError:
    return TableError(
        _('Unterminated quote on row %(row)d: a value there opens a quote (") that is never closed.') % {"row": row}
    )


def _quote_left_open(record: str, delimiter: str) -> bool:
    """Whether ``record`` (the last of a file) ends inside a quoted value: the strict reader says so."""
    try:
        for _cells in csv.reader(io.StringIO(record, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def sniff_delimiter(text: str, *, column_name: Callable[[Cell], str | None] | None = None) -> str:
    """The delimiter that splits the header into the most known column names (a comma when none does)."""
    end = _LINE_END.search(text, 0, MAX_RECORD_CHARS)
    first_line = text[: end.start()] if end is not None else text[:MAX_RECORD_CHARS]
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error:  # the reader itself says what is wrong with the line
            cells = []
        known = sum(1 for cell in cells if column_name is not None and column_name(cell) is not None)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _xlsx_records(content: bytes, *, booleans: tuple[str, str] = YES_NO) -> Iterator[list[Cell]]:
    """The first worksheet's rows as cell lists, once the workbook has passed check_workbook."""
    check_workbook(content)
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
        sheet = workbook.worksheets[0]
        # The <dimension> a file states may be wrong either way: too large pads every row and adds blank rows
        # up to it, too small drops rows. Without it each row is as wide as its last cell, and missing rows
        # come as empty lists (which count toward MAX_ROWS all the same).
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True):
            if len(values) > MAX_COLUMNS:
                yield list(values)  # bounded() refuses it; its cells are never converted
                return
            yield [cell_from_excel(value, booleans=booleans) for value in values]
    except TableError:
        raise
    except Exception as exc:  # as above: a damaged sheet shows up as any error while reading
        raise TableError(_("The workbook is damaged and could not be read; save it from Excel again.")) from exc
    finally:
        workbook.close()


def check_workbook(content: bytes) -> None:
    """Refuse (TableError) an XLSX that would unpack to too much, before anything is unpacked: too many
    members, more than MAX_UNZIPPED_BYTES in all (the sizes the zip's central directory states, which is
    all Python's zipfile ever unpacks), a large member compressed more than MAX_RATIO times; then stream
    each worksheet's XML, without parsing it, for more than MAX_ROWS + 1 rows or a row of more than
    MAX_COLUMNS cells. A file that is no readable zip passes: openpyxl says it is damaged."""
    if (_member_count(content) or 0) > MAX_MEMBERS:
        raise TableError(_("The workbook holds more than %(n)s files; save it from Excel again.") % {"n": MAX_MEMBERS})
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES:
                raise TableError(
                    _("The workbook unpacks to more than %(mb)d MB; split it into smaller files.")
                    % {"mb": MAX_UNZIPPED_BYTES // (1024 * 1024)}
                )
            for member in members:
                if member.file_size > _RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                    raise TableError(
                        _(
                            "The workbook is compressed more than %(ratio)d times, which no spreadsheet is; "
                            "save it from Excel again."
                        )
                        % {"ratio": MAX_RATIO}
                    )
            for member in members:
                if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                    _scan_sheet(archive, member)
    except TableError:
        raise
    except Exception:  # a damaged zip: openpyxl, which reads it next, reports it
        return


def _member_count(content: bytes) -> int | None:
    """The number of files the zip's end record says it holds (0xFFFF for a ZIP64 one), before zipfile
    makes an object for each of them; None when there is no end record."""
    tail = content[-(65_536 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")


_PREFIX_RE = re.compile(rb"<(\w+:)?worksheet[\s>]")


def _scan_sheet(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Count a worksheet's <row> and <c> tags as its XML streams past, stopping at the first limit passed."""
    rows = cells = 0
    tags: tuple[re.Pattern[bytes], tuple[bytes, ...]] | None = None
    carry = b""
    with archive.open(member) as source:
        while chunk := source.read(_SCAN_CHUNK):
            text = carry + chunk
            if tags is None:
                found = _PREFIX_RE.search(text)
                prefix = (found.group(1) or b"") if found else b""
                row_tag = re.compile(b"<" + re.escape(prefix) + rb"row[\s>/]")
                tags = row_tag, tuple(b"<" + prefix + b"c" + end for end in (b" ", b">", b"/", b"\n", b"\r", b"\t"))
            row_tag, cell_tags = tags
            # A tag cut at the chunk's end is carried to the next chunk whole: nothing is counted twice.
            cut = text.find(b"<", max(len(text) - 64, 0)) if len(chunk) == _SCAN_CHUNK else -1
            text, carry = (text[:cut], text[cut:]) if cut >= 0 else (text, b"")
            for index, piece in enumerate(row_tag.split(text)):
                if index:
                    rows, cells = rows + 1, 0
                cells += sum(piece.count(tag) for tag in cell_tags)
                if cells > MAX_COLUMNS:
                    raise TableError(
                        _("Row %(row)d has more than %(columns)d columns; a sheet may have at most %(columns)d.")
                        % {"row": rows, "columns": MAX_COLUMNS}
                    )
            if rows > MAX_ROWS + 1:
                raise TableError(
                    _("The file has more than %(rows)s rows; split it into smaller files.") % {"rows": f"{MAX_ROWS:,}"}
                )


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
