"""Shopify Payments exports: the payment transactions CSV and the payouts CSV (Finance → Payouts → Export).

Payment transactions ("payment_transactions_export_1.csv"): Transaction Date, Type, Order, Card Brand, Card
Source, Payout Status, Payout Date, Payout ID, Available On, Amount, Fee, Net, Checkout, Payment Method Name,
Presentment Amount, Presentment Currency, Currency (newer exports add VAT, Business Entity Name, …; columns are
found by name). Amount is gross and signed, Fee what Shopify kept: as PayoutRow has them. Type charge → charge,
refund → refund, dispute/chargeback → chargeback, adjustment → adjustment, payout → transfer, else other. The
Order is kept as written ("#1001").

The file has no id of its own for a transaction (Checkout is the checkout's: a charge and its refunds share
it), so a row's reference is a digest of what does not change once the transaction exists (its time, type,
order, checkout, amount, fee and currency; not the payout columns, which fill in later): the same row
exported again, in an overlapping or later file, gets the same reference and is imported once.

Payouts ("payouts_export.csv"): Payout Date, Status, Charges, Refunds, Adjustments, Reserved Funds, Fees,
Retried Amount, Total, Currency (plus Bank Reference and others in newer exports). Each paid, in-transit or
scheduled payout is a transfer of −Total (money leaving the Shopify balance for the bank, the sign PayoutRow
gives transfers) on the payout date, with no order and no fee (its fees are the transactions'). Failed and
cancelled payouts moved nothing and are left out (counted in ``summary["skipped"]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from channels.payouts import PayoutRow
from core import spreadsheets
from core.spreadsheets import Cell, TableError
from settlement.payout_formats_common import (
    ParsedPayouts,
    Report,
    cell,
    column_key,
    columns_of,
    describe,
    empty,
    parse_amount,
    parse_code,
    parse_moment,
    text,
)

SOURCE = "shopify_csv"

TRANSACTION_DATE, TYPE, ORDER, CARD_BRAND, CARD_SOURCE = (
    "Transaction Date",
    "Type",
    "Order",
    "Card Brand",
    "Card Source",
)
PAYOUT_STATUS, PAYOUT_DATE, PAYOUT_ID, AVAILABLE_ON = "Payout Status", "Payout Date", "Payout ID", "Available On"
AMOUNT, FEE, NET, CHECKOUT, METHOD = "Amount", "Fee", "Net", "Checkout", "Payment Method Name"
PRESENTMENT_AMOUNT, PRESENTMENT_CURRENCY, CURRENCY = "Presentment Amount", "Presentment Currency", "Currency"
TRANSACTION_COLUMNS = (
    TRANSACTION_DATE, TYPE, ORDER, CARD_BRAND, CARD_SOURCE, PAYOUT_STATUS, PAYOUT_DATE, PAYOUT_ID, AVAILABLE_ON,
    AMOUNT, FEE, NET, CHECKOUT, METHOD, PRESENTMENT_AMOUNT, PRESENTMENT_CURRENCY, CURRENCY,
)  # fmt: skip
TRANSACTION_REQUIRED = (TRANSACTION_DATE, TYPE, AMOUNT, CURRENCY)

STATUS, TOTAL, BANK_REFERENCE = "Status", "Total", "Bank Reference"
PARTS = ("Charges", "Refunds", "Adjustments", "Reserved Funds", "Fees", "Retried Amount")
PAYOUT_COLUMNS = (PAYOUT_DATE, STATUS, *PARTS, TOTAL, CURRENCY, BANK_REFERENCE)
PAYOUT_REQUIRED = (PAYOUT_DATE, TOTAL, CURRENCY)
NOT_PAID = frozenset({"failed", "canceled", "cancelled"})

KINDS = {
    "charge": "charge",
    "refund": "refund",
    "dispute": "chargeback",
    "chargeback": "chargeback",
    "dispute_reversal": "chargeback",
    "chargeback_reversal": "chargeback",
    "adjustment": "adjustment",
    "payout": "transfer",
    "payout_failure": "transfer",
    "payout_cancellation": "transfer",
}

_KNOWN = {column_key(name) for name in (*TRANSACTION_COLUMNS, *PAYOUT_COLUMNS)}


def _column_name(value: Cell) -> str | None:
    return value if isinstance(value, str) and column_key(value) in _KNOWN else None


def layout_of(header: Sequence[Cell]) -> str | None:
    """ "transactions", "payouts" or None, from a header row."""
    keys = {column_key(value) for value in header if isinstance(value, str)}
    if {column_key(name) for name in (TRANSACTION_DATE, TYPE, AMOUNT, NET)} <= keys:
        return "transactions"
    if {column_key(name) for name in (PAYOUT_DATE, "Charges", TOTAL)} <= keys:
        return "payouts"
    return None


def parse(*, content: bytes, file_name: str, tz: dt.tzinfo) -> ParsedPayouts:
    report = Report(SOURCE)
    if empty(content):
        report.error(0, "", _("The file is empty."))
        return report.result()
    try:
        header, rows = spreadsheets.read_table(content=content, filename=file_name, column_name=_column_name)
    except TableError as exc:
        report.error(0, "", str(exc))
        return report.result()
    layout = layout_of(header)
    if layout is None:
        report.error(
            1,
            "",
            _(
                "This is not a Shopify Payments export: its header has neither Transaction Date, Type, Amount and "
                "Net (payment transactions) nor Payout Date, Charges and Total (payouts)."
            ),
        )
        return report.result()
    columns = columns_of(header, TRANSACTION_COLUMNS if layout == "transactions" else PAYOUT_COLUMNS)
    required = TRANSACTION_REQUIRED if layout == "transactions" else PAYOUT_REQUIRED
    missing = [name for name in required if name not in columns]
    for name in missing:
        report.error(1, name, _("The column “%(name)s” is missing.") % {"name": name})
    if missing:
        return report.result()
    report.summary["layout"] = layout
    for number, cells in rows:
        if layout == "transactions":
            _transaction(report, number, cells, columns, tz=tz)
        else:
            _payout(report, number, cells, columns, tz=tz)
    if report.rows:
        report.summary["first"] = min(row.occurred_at for row in report.rows)
        report.summary["last"] = max(row.occurred_at for row in report.rows)
    return report.result()


def _transaction(report: Report, number: int, cells: list[Cell], columns: dict[str, int], *, tz: dt.tzinfo) -> None:
    errors = len(report.errors)
    occurred = report.read(number, TRANSACTION_DATE, parse_moment, cell(cells, columns[TRANSACTION_DATE]), tz=tz)
    currency = report.read(number, CURRENCY, parse_code, cell(cells, columns[CURRENCY]))
    amount = report.read(number, AMOUNT, parse_amount, cell(cells, columns[AMOUNT]), currency)
    fee = report.read(number, FEE, parse_amount, cell(cells, columns.get(FEE)), currency, blank_is_zero=True)
    type_text = text(cells, columns[TYPE])
    if not type_text:
        report.error(number, TYPE, _("A value is required."))
    if len(report.errors) > errors:
        return
    kind = KINDS.get(type_text.casefold().replace(" ", "_"), "other")
    order, checkout = text(cells, columns.get(ORDER)), text(cells, columns.get(CHECKOUT))
    reference = report.stable_reference(
        "shopify:", (occurred.isoformat(), type_text.casefold(), order, checkout, amount, fee, currency)
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
            payout_reference=text(cells, columns.get(PAYOUT_ID)),
            description=describe(
                type_text if kind == "other" else "",
                text(cells, columns.get(METHOD)),
                text(cells, columns.get(CARD_BRAND)),
            ),
            row=number,
            extra={
                "type": type_text,
                "checkout": checkout,
                "payout_status": text(cells, columns.get(PAYOUT_STATUS)),
                "payout_date": text(cells, columns.get(PAYOUT_DATE)),
                "presentment_amount": text(cells, columns.get(PRESENTMENT_AMOUNT)),
                "presentment_currency": text(cells, columns.get(PRESENTMENT_CURRENCY)),
            },
        )
    )


def _payout(report: Report, number: int, cells: list[Cell], columns: dict[str, int], *, tz: dt.tzinfo) -> None:
    errors = len(report.errors)
    occurred = report.read(number, PAYOUT_DATE, parse_moment, cell(cells, columns[PAYOUT_DATE]), tz=tz)
    currency = report.read(number, CURRENCY, parse_code, cell(cells, columns[CURRENCY]))
    total = report.read(number, TOTAL, parse_amount, cell(cells, columns[TOTAL]), currency)
    parts = {
        name: report.read(number, name, parse_amount, cell(cells, columns[name]), currency, blank_is_zero=True)
        for name in PARTS
        if name in columns
    }
    if len(report.errors) > errors:
        return
    status = text(cells, columns.get(STATUS))
    if status.casefold() in NOT_PAID:
        report.summary["skipped"] = report.summary.get("skipped", 0) + 1
        return
    bank_reference = text(cells, columns.get(BANK_REFERENCE))
    report.add(
        PayoutRow(
            kind="transfer",
            occurred_at=occurred,
            currency=currency,
            amount=-total if total else total,
            reference=report.stable_reference(
                "shopify-payout:", (occurred.date().isoformat(), total, currency, bank_reference)
            ),
            payout_reference=bank_reference,
            description=describe(_("Shopify payout"), status),
            row=number,
            extra={"status": status, **{name: str(value) for name, value in parts.items()}},
        )
    )
