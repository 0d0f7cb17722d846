"""Order import from CSV and XLSX files, for channels without an API (offline shops, marketplaces' exports).

One row is one order line; rows with the same order number make one order and
must agree on the order-level columns. Headers are the English names in
``TEMPLATE_COLUMNS`` or their Simplified Chinese aliases, so a merchant's own
sheet works without renaming.

Every row is checked and every problem is reported with its spreadsheet row
number (the header is row 1), the column and a reason a merchant can act on.
A file with any problem yields no orders at all; ``ImportResult`` refuses to
hold both, so a caller cannot import half a file by mistake.

Nothing here touches the database: the caller upserts the orders.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from channels.canonical import Address, ChannelOrder, ChannelOrderLine, NormalisationError
from erp.money import parse_currency, parse_money

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
# Beyond this a report stops helping: the same mistake repeated down the file.
MAX_ERRORS = 1_000
PROGRESS_EVERY = 500

TEMPLATE_COLUMNS: tuple[str, ...] = (
    "order_number", "placed_at", "currency", "buyer_name", "buyer_email", "buyer_phone", "country",
    "province", "city", "district", "address1", "address2", "postal_code", "sku", "title", "quantity",
    "unit_price", "line_discount", "order_discount", "shipping", "tax", "note",
)  # fmt: skip

# The header a Chinese merchant's own sheet is likely to use for each column.
CHINESE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "order_number": "订单号",
        "placed_at": "下单时间",
        "currency": "币种",
        "buyer_name": "买家姓名",
        "buyer_email": "买家邮箱",
        "buyer_phone": "买家电话",
        "country": "国家",
        "province": "省份",
        "city": "城市",
        "district": "区县",
        "address1": "地址1",
        "address2": "地址2",
        "postal_code": "邮编",
        "sku": "商品编码",
        "title": "商品名称",
        "quantity": "数量",
        "unit_price": "单价",
        "line_discount": "行折扣",
        "order_discount": "订单折扣",
        "shipping": "运费",
        "tax": "税费",
        "note": "备注",
    }
)

REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {"order_number", "placed_at", "currency", "country", "address1", "sku", "quantity", "unit_price"}
)
# Columns that describe the order rather than the line: every row of an order must agree on them.
ORDER_COLUMNS: tuple[str, ...] = (
    "placed_at", "currency", "buyer_name", "buyer_email", "buyer_phone", "country", "province", "city",
    "district", "address1", "address2", "postal_code", "order_discount", "shipping", "tax", "note",
)  # fmt: skip

# The orders table's column widths: longer text is refused rather than cut.
_MAX_LENGTH = {
    "order_number": 64, "buyer_name": 200, "buyer_email": 254, "buyer_phone": 64, "province": 100,
    "city": 100, "district": 100, "address1": 300, "address2": 300, "postal_code": 32, "sku": 120,
    "title": 300,
}  # fmt: skip
_MONEY_COLUMNS = ("unit_price", "line_discount", "order_discount", "shipping", "tax")
_WIDEST_CURRENCY = "CLF"  # 4 decimals
_MAX_QUANTITY = 2_147_483_647  # the database's integer column
_EARLIEST_YEAR, _LATEST_YEAR = 1970, 2100

# ISO 3166-1 alpha-2, plus XK (Kosovo), which carriers and marketplaces use.
COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
    FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK
    YE YT ZA ZM ZW
    """.split()
)
_COUNTRY_MISTAKES = {"UK": "GB"}  # the usual slip: the ISO code of the United Kingdom is GB

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_QUANTITY = re.compile(r"\d+")
_OTHER_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_DELIMITERS = (",", ";", "\t")
_SHOWN = 40  # characters of a bad value quoted back in a reason

Cell = str | dt.datetime | dt.date


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number: the header is 1, a file-level problem is 0
    column: str  # the English column name ("" for the whole row or file)
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """Orders or errors, never both: ``orders`` is filled only when ``errors`` is empty."""

    orders: list[ChannelOrder]
    errors: list[RowError]
    rows: int  # data rows read (empty rows not counted)

    def __post_init__(self) -> None:
        if self.orders and self.errors:
            raise ValueError("an import with errors must not carry orders")


class _FileError(Exception):
    """The file as a whole cannot be read; the message is for a person."""


# ------------------------------------------------------------------ templates


def _example_rows() -> list[dict[str, object]]:
    order = {
        "order_number": "10001", "placed_at": dt.datetime(2026, 11, 1, 10, 30), "currency": "CNY",
        "buyer_name": "王小明", "buyer_email": "xiaoming@example.com", "buyer_phone": "13800000000",
        "country": "CN", "province": "浙江省", "city": "杭州市", "district": "西湖区", "address1": "文三路 90 号",
        "address2": "3 幢 501 室", "postal_code": "310000", "order_discount": Decimal("10.00"),
        "shipping": Decimal("8.00"), "tax": Decimal("0.00"), "note": "请尽快发货",
    }  # fmt: skip
    return [
        {**order, "sku": "TEE-M", "title": "T恤 M 码", "quantity": 2, "unit_price": Decimal("59.00"),
         "line_discount": Decimal("0.00")},
        {**order, "sku": "MUG-01", "title": "马克杯", "quantity": 1, "unit_price": Decimal("35.50"),
         "line_discount": Decimal("5.00")},
    ]  # fmt: skip


def _template_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def template_csv() -> bytes:
    """The import template as CSV: the header and one example order of two lines.

    UTF-8 with a byte order mark, because without it Excel reads UTF-8 as the
    system's legacy code page and shows Chinese as mojibake.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TEMPLATE_COLUMNS)
    for example in _example_rows():
        writer.writerow([_template_text(example[column]) for column in TEMPLATE_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The import template as an Excel workbook: the same content as ``template_csv``, header in bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "orders"
    sheet.append(list(TEMPLATE_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for example in _example_rows():
        sheet.append([example[column] for column in TEMPLATE_COLUMNS])
    for index, column in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column) + 2)
        for cell in sheet[letter][1:]:
            if column == "placed_at":
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif column in _MONEY_COLUMNS:
                cell.number_format = "0.00"
            elif column != "quantity":
                # Text, so Excel keeps leading zeros of postal codes and phone numbers.
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ parsing


def parse_order_file(
    *,
    content: bytes,
    filename: str,
    tz: dt.tzinfo,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Read a CSV or XLSX order file and turn it into canonical orders, or into a list of row errors.

    The format is told by the file's first bytes (an .xlsx is a zip) and then
    its name. CSV may be UTF-8 (with or without a byte order mark), UTF-16 with
    a byte order mark (Excel's "Unicode text"), or GB18030/GBK; its delimiter
    is a comma, semicolon or tab, whichever makes sense of the header. Times
    without an offset are in ``tz`` (the tenant's time zone); all are returned
    in UTC. ``progress(done_rows, total_rows)`` is called every
    ``PROGRESS_EVERY`` rows and once at the end. Files over ``MAX_BYTES`` or
    ``MAX_ROWS`` data rows are refused whole; at most ``MAX_ERRORS`` errors are
    listed, then one more saying how many were left out.

    Never raises for bad content: unreadable files, a wrong header and bad rows
    all come back as ``RowError``s (row 0 for the file as a whole, row 1 for the
    header), and then ``orders`` is empty.
    """
    if len(content) > MAX_BYTES:
        return _refused(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    try:
        header, rows = _read_table(content=content, filename=filename)
    except _FileError as exc:
        return _refused(str(exc))
    columns, errors = _read_header(header)
    if errors:
        return ImportResult(orders=[], errors=errors, rows=len(rows))
    if not rows:
        return _refused("The file has a header but no order rows.")
    return _Validation(columns=columns, tz=tz, total=len(rows), progress=progress).run(rows)


def _refused(reason: str) -> ImportResult:
    return ImportResult(orders=[], errors=[RowError(row=0, column="", reason=reason)], rows=0)


# ------------------------------------------------------------------ reading the table


def _read_table(*, content: bytes, filename: str) -> tuple[list[Cell], list[tuple[int, list[Cell]]]]:
    """The header's cells and the non-empty data rows as (row number, cells); raises _FileError."""
    suffix = Path(filename).suffix.lower()
    if content.startswith(_ZIP_MAGIC):
        records = _xlsx_records(content)
    elif content.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise _FileError("Old Excel .xls files cannot be read; save the sheet as .xlsx or .csv and upload that.")
    elif suffix in (".xlsx", ".xlsm"):
        raise _FileError("The file is named .xlsx but is not an Excel workbook; save it from Excel again.")
    else:
        records = _csv_records(content)
    header: list[Cell] | None = None
    rows: list[tuple[int, list[Cell]]] = []
    number = 0
    try:
        # After a csv.Error, number is the last row read: the broken one is the next.
        for number, cells in enumerate(records, start=1):
            if header is None:
                header = cells
            elif all(_blank(cell) for cell in cells):
                continue
            elif len(rows) == MAX_ROWS:
                raise _FileError(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
            else:
                rows.append((number, cells))
    except csv.Error as exc:
        raise _FileError(f"Row {number + 1} could not be read ({exc}); check its quotes.") from None
    if header is None or all(_blank(cell) for cell in header):
        raise _FileError("The file is empty: row 1 must be the header (download the template to see it).")
    return header, rows


def _blank(cell: Cell) -> bool:
    return isinstance(cell, str) and not cell.strip()


def _csv_records(content: bytes) -> Iterator[list[Cell]]:
    text = _decode(content)
    delimiter = _sniff_delimiter(text)
    # Strings only, so a cell is never anything but text here.
    return iter(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _decode(content: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (which covers GBK and GB2312)."""
    if content.startswith(b"\xef\xbb\xbf"):
        candidates = ("utf-8-sig",)
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
    raise _FileError("The file encoding was not recognised; save it as CSV UTF-8 (or GBK) and upload it again.")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most known column names (a comma when none does)."""
    first_line = text.partition("\n")[0]
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if _column_name(cell) is not None)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _xlsx_records(content: bytes) -> Iterator[list[Cell]]:
    """The first worksheet's rows as cell lists; reading stops early at the row limit."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails on damaged files with anything from zip to XML errors
        raise _FileError("The file could not be read as an Excel workbook (.xlsx); save it from Excel again.") from exc
    return _xlsx_rows(workbook)


def _xlsx_rows(workbook) -> Iterator[list[Cell]]:
    try:
        if not workbook.worksheets:
            return
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell_from_excel(value) for value in values]
    except Exception as exc:  # as above: a damaged sheet shows up as any error while reading
        raise _FileError("The workbook is damaged and could not be read; save it from Excel again.") from exc
    finally:
        workbook.close()


def _cell_from_excel(value: object) -> Cell:
    """An Excel cell as text, or as a datetime/date for date cells."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 13800000000.0 is a phone number, 2.0 a quantity
        # Excel shows 15 significant digits and stores sums like 0.1+0.2 as
        # 0.30000000000000004; reading what the person saw keeps prices exact.
        return format(Decimal(format(value, ".15g")), "f")
    return value.isoformat() if isinstance(value, dt.time) else str(value)


# ------------------------------------------------------------------ the header


def _header_key(text: str) -> str:
    # "Order Number", "order-number", "订单号*" all name a column; "*" marks required columns in many templates.
    key = text.replace("\ufeff", "").strip().rstrip("*＊").strip().casefold()
    return re.sub(r"[\s\-]+", "_", key)


_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{_header_key(column): column for column in TEMPLATE_COLUMNS},
        **{_header_key(chinese): column for column, chinese in CHINESE_HEADERS.items()},
    }
)


def _column_name(cell: Cell) -> str | None:
    if not isinstance(cell, str):
        return None
    return _ALIASES.get(_header_key(cell))


def _read_header(header: Sequence[Cell]) -> tuple[dict[str, int], list[RowError]]:
    """Column name → cell index, and the header's errors (at row 1)."""
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        if _blank(cell):
            continue
        shown = _shown(cell)
        name = _column_name(cell)
        if name is None:
            errors.append(RowError(row=1, column=shown, reason=f'"{shown}" is not a column of the order template.'))
        elif name in columns:
            errors.append(RowError(row=1, column=name, reason=f'The column "{name}" appears more than once.'))
        else:
            columns[name] = index
    errors.extend(
        RowError(row=1, column=name, reason=f'The required column "{name}" ({CHINESE_HEADERS[name]}) is missing.')
        for name in TEMPLATE_COLUMNS
        if name in REQUIRED_COLUMNS and name not in columns
    )
    return columns, errors


def _shown(cell: Cell) -> str:
    text = cell.isoformat() if isinstance(cell, dt.date) else str(cell).strip()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


# ------------------------------------------------------------------ the rows


@dataclass
class _Order:
    number: str
    # column → (value, row it came from, text as written): the first valid value of each order-level column
    values: dict[str, tuple[object, int, str]] = field(default_factory=dict)
    # None marks a bad row, so positions (and external ids) still follow the rows.
    lines: list[ChannelOrderLine | None] = field(default_factory=list)


class _Validation:
    """One pass over the rows: parse every cell, group rows into orders, collect every error."""

    def __init__(
        self, *, columns: dict[str, int], tz: dt.tzinfo, total: int, progress: Callable[[int, int], None] | None
    ):
        self.columns = columns
        self.tz = tz
        self.total = total
        self.progress = progress
        self.errors: list[RowError] = []
        self.unlisted = 0
        self.orders: dict[str, _Order] = {}

    def run(self, rows: list[tuple[int, list[Cell]]]) -> ImportResult:
        for done, (number, cells) in enumerate(rows, start=1):
            self._row(number, cells)
            if self.progress is not None and done % PROGRESS_EVERY == 0 and done != self.total:
                self.progress(done, self.total)
        orders = [self._order(order) for order in self.orders.values()]
        if self.progress is not None:
            self.progress(self.total, self.total)
        if self.errors or self.unlisted:
            errors = sorted(self.errors, key=_error_order)
            if self.unlisted:
                errors.append(
                    RowError(
                        row=0,
                        column="",
                        reason=f"{self.unlisted:,} more errors are not listed; fix the ones above and import again.",
                    )
                )
            return ImportResult(orders=[], errors=errors, rows=self.total)
        return ImportResult(orders=[order for order in orders if order is not None], errors=[], rows=self.total)

    def _error(self, row: int, column: str, reason: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row=row, column=column, reason=reason))
        else:
            self.unlisted += 1

    def _text(self, cells: list[Cell], column: str) -> Cell:
        index = self.columns.get(column)
        if index is None or index >= len(cells):
            return ""
        cell = cells[index]
        return cell.strip() if isinstance(cell, str) else cell

    def _row(self, row: int, cells: list[Cell]) -> None:
        extra = [cell for index, cell in enumerate(cells) if index not in self.columns.values() and not _blank(cell)]
        if extra:
            self._error(row, "", f'The row has a value ("{_shown(extra[0])}") in a column without a header.')
        values: dict[str, object] = {}
        for column in TEMPLATE_COLUMNS:
            if column in _MONEY_COLUMNS:
                continue  # needs the currency; below
            try:
                values[column] = self._parse(column, self._text(cells, column))
            except NormalisationError as exc:
                self._error(row, column, str(exc))
        currency = values.get("currency")
        for column in _MONEY_COLUMNS:
            try:
                values[column] = _money(self._text(cells, column), currency=currency, column=column)
            except NormalisationError as exc:
                self._error(row, column, str(exc))
        self._check_line_discount(row, values)
        self._add_to_order(row, cells, values)

    def _parse(self, column: str, cell: Cell) -> object:
        if column == "placed_at":
            return _placed_at(cell, tz=self.tz)
        text = _shown(cell) if isinstance(cell, dt.date) else cell
        if column in REQUIRED_COLUMNS and not text:
            raise NormalisationError("A value is required.")
        limit = _MAX_LENGTH.get(column)
        if limit is not None and len(text) > limit:
            raise NormalisationError(f"The text is longer than {limit} characters.")
        if column == "currency":
            try:
                return parse_currency(text)
            except ValueError as exc:
                raise NormalisationError(f"{exc}.") from None
        if column == "country":
            return _country(text)
        if column == "buyer_email" and text and not _EMAIL.fullmatch(text):
            raise NormalisationError(f'"{_shown(text)}" is not an email address.')
        if column == "quantity":
            return _quantity(text)
        return text

    def _check_line_discount(self, row: int, values: dict[str, object]) -> None:
        quantity, price, discount = values.get("quantity"), values.get("unit_price"), values.get("line_discount")
        if isinstance(quantity, int) and isinstance(price, Decimal) and isinstance(discount, Decimal):
            gross = price * quantity
            if discount > gross:
                self._error(row, "line_discount", f"The line discount is more than quantity × unit price ({gross}).")
                del values["line_discount"]

    def _add_to_order(self, row: int, cells: list[Cell], values: dict[str, object]) -> None:
        number = values.get("order_number")
        if not isinstance(number, str):
            return  # reported already; without a number the row belongs to no order
        order = self.orders.get(number)
        if order is None:
            order = self.orders[number] = _Order(number=number)
        for column in ORDER_COLUMNS:
            if column not in values:
                continue
            written = _shown(self._text(cells, column))
            held = order.values.get(column)
            if held is None:
                order.values[column] = (values[column], row, written)
            elif held[0] != values[column]:
                self._error(
                    row,
                    column,
                    f'Row {held[1]} of order {_shown(number)} says "{held[2]}", this row "{written}"; '
                    "the rows of one order must agree.",
                )
        if all(column in values for column in ("sku", "title", "quantity", "unit_price", "line_discount")):
            order.lines.append(
                ChannelOrderLine(
                    external_id=f"{number}:{len(order.lines) + 1}",
                    listing_sku=values["sku"],
                    title=values["title"],
                    quantity=values["quantity"],
                    unit_price=values["unit_price"],
                    line_discount=values["line_discount"],
                )
            )
        else:
            order.lines.append(None)

    def _order(self, order: _Order) -> ChannelOrder | None:
        """The canonical order, or None (with its errors recorded) when it cannot be built."""
        if None in order.lines or any(column not in order.values for column in ORDER_COLUMNS):
            return None  # its rows' errors are reported already
        lines = [line for line in order.lines if line is not None]
        value = {column: held[0] for column, held in order.values.items()}
        subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        line_discounts = sum((line.line_discount for line in lines), Decimal(0))
        order_discount: Decimal = value["order_discount"]
        if order_discount > subtotal - line_discounts:
            _, row, _ = order.values["order_discount"]
            self._error(
                row,
                "order_discount",
                f"The order discount is more than the order's goods after line discounts "
                f"({subtotal - line_discounts}).",
            )
            return None
        discount_total = line_discounts + order_discount
        shipping: Decimal = value["shipping"]
        tax: Decimal = value["tax"]
        placed_at: dt.datetime = value["placed_at"]
        return ChannelOrder(
            external_id=order.number,
            order_number=order.number,
            currency=value["currency"],
            placed_at=placed_at,
            updated_at=placed_at,
            lines=tuple(lines),
            subtotal=subtotal,
            discount_total=discount_total,
            shipping_total=shipping,
            tax_total=tax,
            total=subtotal - discount_total + shipping + tax,
            buyer_name=value["buyer_name"],
            buyer_email=value["buyer_email"],
            buyer_phone=value["buyer_phone"],
            shipping_address=Address(
                name=value["buyer_name"],
                country=value["country"],
                province=value["province"],
                city=value["city"],
                district=value["district"],
                line1=value["address1"],
                line2=value["address2"],
                postal_code=value["postal_code"],
                phone=value["buyer_phone"],
            ),
            financial_status="paid",
            fulfillment_status="",
            note=value["note"],
        )


def _error_order(error: RowError) -> tuple[int, int]:
    position = TEMPLATE_COLUMNS.index(error.column) if error.column in TEMPLATE_COLUMNS else -1
    return error.row, position


# ------------------------------------------------------------------ cells


def _placed_at(cell: Cell, *, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(cell, dt.datetime):
        moment = cell
    elif isinstance(cell, dt.date):
        moment = dt.datetime.combine(cell, dt.time())
    elif not cell:
        raise NormalisationError("A value is required.")
    else:
        moment = _parse_time_text(cell)
    if moment.tzinfo is None:
        # A spreadsheet's clock time is the merchant's own, so the tenant's zone.
        moment = moment.replace(tzinfo=tz)
    moment = moment.astimezone(dt.UTC)
    if not _EARLIEST_YEAR <= moment.year < _LATEST_YEAR:
        raise NormalisationError(f'"{_shown(cell)}" is not a plausible order date.')
    return moment


def _parse_time_text(text: str) -> dt.datetime:
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        pass
    for pattern in _OTHER_TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise NormalisationError(f'"{_shown(text)}" is not a date and time; write it as YYYY-MM-DD HH:MM.')


def _country(text: str) -> str:
    code = text.upper()
    if code in COUNTRIES:
        return code
    if code in _COUNTRY_MISTAKES:
        raise NormalisationError(f'"{text}" is not an ISO country code; use {_COUNTRY_MISTAKES[code]}.')
    raise NormalisationError(f'"{_shown(text)}" is not a two-letter ISO country code (such as CN or US).')


def _quantity(text: str) -> int:
    if not _QUANTITY.fullmatch(text):
        raise NormalisationError(f'"{_shown(text)}" is not a whole number.')
    quantity = int(text)
    if quantity < 1:
        raise NormalisationError("The quantity must be at least 1.")
    if quantity > _MAX_QUANTITY:
        raise NormalisationError("The quantity is too large.")
    return quantity


def _money(cell: Cell, *, currency: object, column: str) -> Decimal:
    """A non-negative amount in the row's currency; a blank optional amount is zero."""
    text = _shown(cell) if isinstance(cell, dt.date) else cell
    if not text:
        if column in REQUIRED_COLUMNS:
            raise NormalisationError("A value is required.")
        return Decimal(0)
    if isinstance(currency, str):
        try:
            amount = parse_money(text, currency)
        except ValueError as exc:
            raise NormalisationError(f"{exc}.") from None
    else:
        # The row's currency is wrong (reported on its own); still report junk
        # here so one pass finds every mistake, checking against the widest
        # minor unit ISO 4217 has.
        try:
            amount = parse_money(text, _WIDEST_CURRENCY)
        except ValueError:
            raise NormalisationError(f'"{_shown(text)}" is not an amount.') from None
    if amount < 0:
        raise NormalisationError("The amount must not be negative.")
    return amount
