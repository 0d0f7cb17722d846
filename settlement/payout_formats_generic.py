"""Any other payout report, CSV or XLSX, read through a column mapping saved per store.

The mapping names, for each field of a payout row, the header of the column that holds it ({"occurred_at":
"Date", "amount": "Amount", "order_number": "Order", …}); a blank entry means the file has no such column.
The date and the amount are required, and an order number or a reference.

- Amounts as people write them: "1,234.50", "¥12.00", "-3.10", "(3.10)"; Excel numbers as Excel shows them.
- Dates: ISO, "2026/11/03 10:00", "2026-11-03", Excel date cells and Excel serial numbers; a time without a
  zone is the tenant's.
- The type in English or Chinese (charge/sale/收款, refund/退款, fee/手续费, payout/提现, chargeback/拒付,
  adjustment/调整); without one (or with a word we do not know) the sign decides: + charge, − refund. A refund,
  chargeback or transfer is money out whatever sign the file gives it; a fee row is amount 0 with the fee
  (what was kept, positive), as Alipay's fee rows are read. A fee column is taken as what was kept,
  whatever its sign (files write it both ways), so a generic file cannot say a fee was given back.
- The currency from a currency column, else the store's default currency (one of them is required).
- A row without a reference gets a digest of what it says (see Report.stable_reference), so re-importing the
  same row is harmless.
Text is kept as written: a cell that looks like a formula ("=…", "+…", "@…") is text here; exports
neutralise it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _

from channels.payouts import PayoutRow
from core import spreadsheets
from core.spreadsheets import Cell, TableError
from settlement.payout_formats_common import (
    CellError,
    ParsedPayouts,
    Report,
    cell,
    column_key,
    describe,
    empty,
    parse_amount,
    parse_code,
    parse_moment,
    text,
)

SOURCE = "generic"
MAPPING_FIELDS = ("occurred_at", "order_number", "reference", "kind", "amount", "fee", "currency", "description")
REQUIRED_MAPPING = ("occurred_at", "amount")  # plus order_number or reference

# Whole words (case-insensitive, "_" and "-" read as spaces) naming a kind.
_WORDS = {
    "charge": (
        "charge", "sale", "sales", "payment", "paid", "capture", "captured", "income", "order", "receipt",
        "收款", "收入", "支付", "付款", "销售", "货款", "在线支付", "交易付款", "交易收款", "交易",
    ),
    "refund": ("refund", "refunded", "return", "returned", "退款", "退货", "交易退款"),
    "chargeback": ("chargeback", "dispute", "拒付", "争议", "退单"),
    "fee": ("fee", "fees", "commission", "service fee", "processing fee", "手续费", "服务费", "佣金", "费用", "收费"),
    "transfer": ("payout", "transfer", "withdrawal", "bank transfer", "deposit", "提现", "转账", "打款", "结算"),
    "adjustment": ("adjustment", "调整"),
    "other": ("other", "其他"),
}  # fmt: skip
_KIND_OF_WORD = {word.casefold(): kind for kind, words in _WORDS.items() for word in words}
# Chinese phrases are often longer ("交易退款-部分"): these parts decide, in this order.
_KIND_PARTS = (("退款", "refund"), ("拒付", "chargeback"), ("手续费", "fee"), ("服务费", "fee"), ("提现", "transfer"))
_MONEY_OUT = frozenset({"refund", "chargeback", "transfer"})


def field_labels() -> dict[str, str]:
    """Each mapping field as a person calls it (for the mapping step and for messages)."""
    return {
        "occurred_at": _("date"),
        "order_number": _("order number"),
        "reference": _("transaction reference"),
        "kind": _("type"),
        "amount": _("amount"),
        "fee": _("fee"),
        "currency": _("currency"),
        "description": _("description"),
    }


def header_names(*, content: bytes, file_name: str) -> list[str]:
    """The header row's column names, blank ones left out. Raises TableError."""
    if empty(content) and Path(file_name).suffix.lower() not in (".xlsx", ".xlsm"):
        raise TableError(_("The file is empty."))
    header, _rows = spreadsheets.read_table(content=content, filename=file_name)
    return [_header_text(value) for value in header if not spreadsheets.blank(value)]


def _header_text(value: Cell) -> str:
    """A header cell as its full text (a date cell as ISO), so the mapping saves exactly what the file says."""
    return value.replace("\ufeff", "").strip() if isinstance(value, str) else spreadsheets.shown(value)


def parse(
    *,
    content: bytes,
    file_name: str,
    tz: dt.tzinfo,
    mapping: Mapping[str, str] | None,
    default_currency: str = "",
) -> ParsedPayouts:
    report = Report(SOURCE)
    if empty(content) and Path(file_name).suffix.lower() not in (".xlsx", ".xlsm"):
        report.error(0, "", _("The file is empty."))
        return report.result()
    try:
        header, rows = spreadsheets.read_table(content=content, filename=file_name)
    except TableError as exc:
        report.error(0, "", str(exc))
        return report.result()
    columns, headers = _columns(report, header, mapping or {})
    default = _default_currency(report, columns, default_currency)
    if report.errors:
        return report.result()
    workbook = content.startswith(b"PK")
    for number, cells in rows:
        _row(report, number, cells, columns, headers, tz=tz, default_currency=default, workbook=workbook)
    return report.result()


def _columns(
    report: Report, header: Sequence[Cell], mapping: Mapping[str, str]
) -> tuple[dict[str, int], dict[str, str]]:
    """Field → column index and field → the file's header for it, noting what is wrong with the mapping
    (row 0) or missing from the file (row 1)."""
    labels = field_labels()
    names = [_header_text(value) for value in header]
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    for field_name, wanted in mapping.items():
        if field_name not in MAPPING_FIELDS:
            report.error(0, "", _("“%(field)s” is not a field of a payout row.") % {"field": field_name})
            continue
        if not isinstance(wanted, str) or not wanted.strip():
            continue
        index = _find(names, wanted.strip())
        if index is None:
            report.error(
                1,
                wanted,
                _("The column “%(column)s” (the %(field)s) is not in the file's header.")
                % {"column": wanted, "field": labels[field_name]},
            )
            columns[field_name] = -1  # known to be mapped: no second "not mapped" message
        else:
            columns[field_name] = index
            headers[field_name] = names[index]
    for field_name in REQUIRED_MAPPING:
        if field_name not in columns:
            report.error(
                0,
                "",
                _("The column mapping does not say which column holds the %(field)s.") % {"field": labels[field_name]},
            )
    if "order_number" not in columns and "reference" not in columns:
        report.error(
            0,
            "",
            _("The column mapping needs the column of the order number or of the transaction reference (or both)."),
        )
    return columns, headers


def _find(names: Sequence[str], wanted: str) -> int | None:
    for index, name in enumerate(names):
        if name.strip() == wanted:
            return index
    key = column_key(wanted)
    for index, name in enumerate(names):
        if name and column_key(name) == key:
            return index
    return None


def _default_currency(report: Report, columns: dict[str, int], default_currency: str) -> str:
    if default_currency.strip():
        try:
            return parse_code(default_currency)
        except CellError as exc:
            report.error(0, "", _("The store's default currency: %(reason)s") % {"reason": exc})
            return ""
    if "currency" not in columns:
        report.error(
            0,
            "",
            _(
                "The file has no currency column and the store has no default currency: map a currency column or set one."
            ),
        )
    return ""


def _row(
    report: Report,
    number: int,
    cells: list[Cell],
    columns: dict[str, int],
    named: dict[str, str],
    *,
    tz: dt.tzinfo,
    default_currency: str,
    workbook: bool,
) -> None:
    def at(field_name: str) -> Cell:
        return cell(cells, columns.get(field_name))

    errors = len(report.errors)
    occurred = report.read(number, named["occurred_at"], parse_moment, at("occurred_at"), tz=tz, serials=workbook)
    currency_text = text(cells, columns.get("currency"))
    if currency_text:
        currency = report.read(number, named["currency"], parse_code, currency_text)
    elif default_currency:
        currency = default_currency
    else:
        currency = None
        report.error(
            number, named.get("currency", ""), _("A currency is required (the store has no default currency).")
        )
    amount = report.read(number, named["amount"], parse_amount, at("amount"), currency)
    fee = report.read(number, named.get("fee", ""), parse_amount, at("fee"), currency, blank_is_zero=True)
    if len(report.errors) > errors:
        return
    word = text(cells, columns.get("kind"))
    named_kind = _kind(word)
    kind = named_kind or ("refund" if amount < 0 else "charge")
    fee = abs(fee)
    if kind == "fee":
        amount, fee = Decimal(0), abs(amount) or fee
    elif kind in _MONEY_OUT:
        amount = -abs(amount)
    order = text(cells, columns.get("order_number"))
    description = text(cells, columns.get("description"))
    reference = text(cells, columns.get("reference")) or report.stable_reference(
        "row:", (occurred.isoformat(), order, kind, amount, fee, currency, description)
    )
    report.add(
        PayoutRow(
            kind=kind,
            occurred_at=occurred,
            currency=currency,
            amount=amount,
            fee=fee,
            reference=reference,
            order_number=order,
            description=describe(word if named_kind is None else "", description),
            row=number,
        )
    )


def _kind(word: str) -> str | None:
    """The kind a type cell names, or None when it names none we know (or is blank)."""
    key = " ".join(word.replace("_", " ").replace("-", " ").split()).casefold()
    if not key:
        return None
    if key in _KIND_OF_WORD:
        return _KIND_OF_WORD[key]
    for part, kind in _KIND_PARTS:
        if part in key:
            return kind
    return None
