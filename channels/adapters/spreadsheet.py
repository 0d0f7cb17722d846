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

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from core import spreadsheets
from core.countries import COUNTRIES
from core.money import parse_currency, parse_money
from core.spreadsheets import Cell, RowError, TableError
from orders.canonical import Address, ChannelOrder, ChannelOrderLine, NormalisationError

# The reader's limits on a whole file, named here for callers of parse_order_file.
MAX_BYTES, MAX_ROWS = spreadsheets.MAX_BYTES, spreadsheets.MAX_ROWS
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

_COUNTRY_MISTAKES = {"UK": "GB"}  # the usual slip: the ISO code of the United Kingdom is GB

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_QUANTITY = re.compile(r"\d+")
_OTHER_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
# Excel TRUE/FALSE cells read as Python writes them (the order template has no yes/no column).
_BOOLEANS = ("True", "False")


@dataclass(frozen=True)
class ImportResult:
    """Orders or errors, never both: ``orders`` is filled only when ``errors`` is empty."""

    orders: list[ChannelOrder]
    errors: list[RowError]
    rows: int  # data rows read (empty rows not counted)

    def __post_init__(self) -> None:
        if self.orders and self.errors:
            raise ValueError("an import with errors must not carry orders")


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


def template_csv() -> bytes:
    """The import template as CSV: the header and one example order of two lines, UTF-8 with a BOM for Excel."""
    return spreadsheets.template_csv(columns=TEMPLATE_COLUMNS, rows=_example_rows())


def template_xlsx() -> bytes:
    """The import template as an Excel workbook: the same content as ``template_csv``, header in bold."""
    # Other columns are text, so Excel keeps leading zeros of postal codes and phone numbers.
    number_formats = {"placed_at": "yyyy-mm-dd hh:mm", "quantity": "General"}
    number_formats.update(dict.fromkeys(_MONEY_COLUMNS, "0.00"))
    return spreadsheets.template_xlsx(
        columns=TEMPLATE_COLUMNS, rows=_example_rows(), sheet_title="orders", number_formats=number_formats
    )


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
    try:
        header, rows = spreadsheets.read_table(
            content=content, filename=filename, column_name=_column_name, booleans=_BOOLEANS
        )
    except TableError as exc:
        return _refused(str(exc))
    columns, errors = _read_header(header)
    if errors:
        return ImportResult(orders=[], errors=errors, rows=len(rows))
    if not rows:
        return _refused("The file has a header but no order rows.")
    return _Validation(columns=columns, tz=tz, total=len(rows), progress=progress).run(rows)


def _refused(reason: str) -> ImportResult:
    return ImportResult(orders=[], errors=[RowError(row=0, column="", reason=reason)], rows=0)


# ------------------------------------------------------------------ the header


# "Order Number", "order-number", "订单号*" all name a column.
_ALIASES: Mapping[str, str] = MappingProxyType(spreadsheets.header_aliases(TEMPLATE_COLUMNS, CHINESE_HEADERS))


def _column_name(cell: Cell) -> str | None:
    if not isinstance(cell, str):
        return None
    return _ALIASES.get(spreadsheets.header_key(cell))


def _read_header(header: Sequence[Cell]) -> tuple[dict[str, int], list[RowError]]:
    """Column name → cell index, and the header's errors (at row 1)."""
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        if spreadsheets.blank(cell):
            continue
        shown = spreadsheets.shown(cell)
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
        extra = [
            cell
            for index, cell in enumerate(cells)
            if index not in self.columns.values() and not spreadsheets.blank(cell)
        ]
        if extra:
            self._error(
                row, "", f'The row has a value ("{spreadsheets.shown(extra[0])}") in a column without a header.'
            )
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
        text = spreadsheets.shown(cell) if isinstance(cell, dt.date) else cell
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
            raise NormalisationError(f'"{spreadsheets.shown(text)}" is not an email address.')
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
            written = spreadsheets.shown(self._text(cells, column))
            held = order.values.get(column)
            if held is None:
                order.values[column] = (values[column], row, written)
            elif held[0] != values[column]:
                self._error(
                    row,
                    column,
                    f'Row {held[1]} of order {spreadsheets.shown(number)} says "{held[2]}", this row "{written}"; '
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
        raise NormalisationError(f'"{spreadsheets.shown(cell)}" is not a plausible order date.')
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
    raise NormalisationError(f'"{spreadsheets.shown(text)}" is not a date and time; write it as YYYY-MM-DD HH:MM.')


def _country(text: str) -> str:
    code = text.upper()
    if code in COUNTRIES:
        return code
    if code in _COUNTRY_MISTAKES:
        raise NormalisationError(f'"{text}" is not an ISO country code; use {_COUNTRY_MISTAKES[code]}.')
    raise NormalisationError(f'"{spreadsheets.shown(text)}" is not a two-letter ISO country code (such as CN or US).')


def _quantity(text: str) -> int:
    if not _QUANTITY.fullmatch(text):
        raise NormalisationError(f'"{spreadsheets.shown(text)}" is not a whole number.')
    quantity = int(text)
    if quantity < 1:
        raise NormalisationError("The quantity must be at least 1.")
    if quantity > _MAX_QUANTITY:
        raise NormalisationError("The quantity is too large.")
    return quantity


def _money(cell: Cell, *, currency: object, column: str) -> Decimal:
    """A non-negative amount in the row's currency; a blank optional amount is zero."""
    text = spreadsheets.shown(cell) if isinstance(cell, dt.date) else cell
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
            raise NormalisationError(f'"{spreadsheets.shown(text)}" is not an amount.') from None
    if amount < 0:
        raise NormalisationError("The amount must not be negative.")
    return amount
