"""WeChat Pay trade bills (微信支付账单), the ALL type of the downloadbill API and of the merchant platform.

UTF-8 text (the platform's download has a byte order mark): the header row (交易时间, 公众账号ID, 商户号,
特约商户号, 设备号, 微信订单号, 商户订单号, 用户标识, 交易类型, 交易状态, 付款银行, 货币种类, 应结订单金额,
代金券金额, 微信退款单号, 商户退款单号, 退款金额, 充值券退款金额, 退款类型, 退款状态, 商品名称, 商户数据包,
手续费, 费率, 订单金额, 申请退款金额, 费率备注), the rows with every value prefixed by a backtick (so Excel keeps
long numbers as text), then a summary header (总交易单数, 应结订单总金额, 退款总金额, 充值券退款总金额,
手续费总金额, 订单总金额, 申请退款总金额) and one summary row, checked against the rows.

交易状态 SUCCESS is a charge: amount 应结订单金额, fee 手续费, reference 微信订单号. REFUND is a refund: amount
−退款金额, fee 手续费 as written (negative: the fee given back), reference 微信退款单号 (the 微信订单号 is kept
in ``extra``). REVOKED (a payment cancelled before it settled) and anything else is "other" with amount 0:
no money moved. Times are China time whatever the tenant's zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from channels.payouts import PayoutRow
from core.spreadsheets import TableError
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
    text_records,
    with_places,
)

SOURCE = "wechat"
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")

TIME, APP, MERCHANT, SUB_MERCHANT, DEVICE = "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号"
TRANSACTION, ORDER, USER, TRADE_TYPE, STATUS = "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态"
BANK, CURRENCY, SETTLED, COUPON = "付款银行", "货币种类", "应结订单金额", "代金券金额"
REFUND_ID, MERCHANT_REFUND_ID, REFUNDED, COUPON_REFUNDED = "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额"
REFUND_TYPE, REFUND_STATUS, PRODUCT, ATTACH = "退款类型", "退款状态", "商品名称", "商户数据包"
FEE, RATE, ORDER_AMOUNT, REFUND_REQUESTED, RATE_NOTE = "手续费", "费率", "订单金额", "申请退款金额", "费率备注"
COLUMNS = (
    TIME, APP, MERCHANT, SUB_MERCHANT, DEVICE, TRANSACTION, ORDER, USER, TRADE_TYPE, STATUS, BANK, CURRENCY,
    SETTLED, COUPON, REFUND_ID, MERCHANT_REFUND_ID, REFUNDED, COUPON_REFUNDED, REFUND_TYPE, REFUND_STATUS,
    PRODUCT, ATTACH, FEE, RATE, ORDER_AMOUNT, REFUND_REQUESTED, RATE_NOTE,
)  # fmt: skip
REQUIRED = (TIME, TRANSACTION, ORDER, STATUS, CURRENCY, SETTLED, REFUND_ID, REFUNDED, FEE)
# The summary's columns: what each says the rows add up to (None: how many rows). Older bills name them
# differently (总交易单, 总交易额, 总退款金额).
SUMMARY_SUMS: dict[str, str | None] = {
    "总交易单数": None,
    "总交易单": None,
    "应结订单总金额": SETTLED,
    "总交易额": SETTLED,
    "退款总金额": REFUNDED,
    "总退款金额": REFUNDED,
    "充值券退款总金额": COUPON_REFUNDED,
    "手续费总金额": FEE,
    "订单总金额": ORDER_AMOUNT,
    "申请退款总金额": REFUND_REQUESTED,
}
SUMMARY_KEYS = {
    None: "count",
    SETTLED: "settled_total",
    REFUNDED: "refund_total",
    COUPON_REFUNDED: "coupon_refund_total",
    FEE: "fee_total",
    ORDER_AMOUNT: "order_total",
    REFUND_REQUESTED: "refund_requested_total",
}


def looks_like(text_head: str) -> bool:
    """The header within the first lines (some downloads start with a title line or two)."""
    lines = [line for line in text_head.splitlines()[:10] if line.strip()]
    return any(TIME in line and TRANSACTION in line for line in lines[:3])


def _value(raw: str) -> str:
    """A bill value without its leading backtick and padding."""
    value = raw.strip()
    return value[1:].strip() if value.startswith("`") else value


def parse(*, content: bytes) -> ParsedPayouts:
    report = Report(SOURCE)
    if empty(content):
        report.error(0, "", _("The file is empty."))
        return report.result()
    try:
        records = text_records(
            content, not_text=_("The file is not UTF-8 text: is this a WeChat Pay bill (微信支付账单)?")
        )
    except TableError as exc:
        report.error(0, "", str(exc))
        return report.result()

    layout = _layout(report, records)
    header = layout.header

    if header is None:
        report.error(
            0, "", _("No header row (交易时间, 微信订单号, …) was found: is this a WeChat Pay bill (微信支付账单)?")
        )
        return report.result()
    missing = [name for name in REQUIRED if name not in header]
    for name in missing:
        report.error(layout.header_row, name, _("The column “%(name)s” is missing.") % {"name": name})
    if missing:
        return report.result()

    sums: dict[str | None, Decimal] = dict.fromkeys(SUMMARY_KEYS, Decimal(0))
    amounts_read = True
    for number, cells in layout.data:
        row_sums = _row(report, number, cells, header)
        if row_sums is None:
            amounts_read = False
            continue
        for column, value in row_sums.items():
            sums[column] += value
        sums[None] += 1
    _check_summary(
        report, layout.summary_header, layout.summary_values, sums, check=amounts_read, currency=_currency(report)
    )
    return report.result()


@dataclass
class _Layout:
    """The parts of the bill: the header, the rows, the summary's header and values."""

    header: dict[str, int] | None = None
    header_row: int = 0
    data: list[tuple[int, list[str]]] = field(default_factory=list)
    summary_header: tuple[int, list[str]] | None = None
    summary_values: tuple[int, list[str]] | None = None


def _layout(report: Report, records: list[list[str]]) -> _Layout:
    layout = _Layout()
    summary_keys = {column_key(name) for name in SUMMARY_SUMS}
    for number, raw_cells in enumerate(records, start=1):
        cells = [_value(value) for value in raw_cells]
        if not any(cells):
            continue
        if layout.header is None:
            if TIME in cells and TRANSACTION in cells:  # else a title line some downloads start with
                layout.header, layout.header_row = columns_of(cells, COLUMNS), number
        elif layout.summary_header is None:
            if column_key(cells[0]) in summary_keys:
                layout.summary_header = (number, cells)
            else:
                layout.data.append((number, cells))
        elif layout.summary_values is None:
            layout.summary_values = (number, cells)
        else:
            report.error(number, "", _("A row after the bill's summary: was the file edited?"))
    return layout


def _row(report: Report, number: int, cells: Sequence[str], header: dict[str, int]) -> dict[str, Decimal] | None:
    """Adds the row's PayoutRow; returns its amounts by column for the summary, None when one is unreadable."""
    errors = len(report.errors)
    occurred = report.read(number, TIME, parse_moment, cell(cells, header[TIME]), tz=CHINA)
    currency = report.read(number, CURRENCY, parse_code, cell(cells, header[CURRENCY]))
    amounts: dict[str, Decimal] = {}
    for column in (SETTLED, REFUNDED, COUPON_REFUNDED, FEE, ORDER_AMOUNT, REFUND_REQUESTED):
        if column in header:
            value = report.read(
                number, column, parse_amount, cell(cells, header[column]), _places(column, currency), blank_is_zero=True
            )
            if value is None:
                return None
            amounts[column] = value
    if len(report.errors) > errors:
        return amounts
    status = text(cells, header[STATUS]).upper()
    transaction, refund_id = text(cells, header[TRANSACTION]), text(cells, header[REFUND_ID])
    if status == "REFUND":
        kind, amount, fee, reference = "refund", -abs(amounts[REFUNDED]), amounts[FEE], refund_id
        column = REFUND_ID
    elif status == "SUCCESS":
        kind, amount, fee, reference = "charge", amounts[SETTLED], amounts[FEE], transaction
        column = TRANSACTION
    elif not status:
        report.error(number, STATUS, _("A value is required."))
        return amounts
    else:  # REVOKED: paid, then cancelled before it settled
        kind, amount, fee = "other", Decimal(0), Decimal(0)
        reference, column = f"{transaction}:{status.lower()}" if transaction else "", TRANSACTION
    if not reference or reference == "0":
        report.error(number, column, _("A value is required."))
        return amounts
    refund_status = text(cells, header.get(REFUND_STATUS))
    report.add(
        PayoutRow(
            kind=kind,
            occurred_at=occurred,
            currency=currency,
            amount=amount,
            fee=fee,
            reference=reference,
            order_number=text(cells, header[ORDER]),
            description=describe(
                status if status != "SUCCESS" else "",
                text(cells, header.get(PRODUCT)),
                refund_status if refund_status != "SUCCESS" else "",
            ),
            row=number,
            extra={
                "transaction": transaction,
                "merchant_refund": text(cells, header.get(MERCHANT_REFUND_ID)),
                "trade_type": text(cells, header.get(TRADE_TYPE)),
                "refund_status": refund_status,
                "rate": text(cells, header.get(RATE)),
                "order_amount": str(amounts.get(ORDER_AMOUNT, "")),
            },
        )
    )
    return amounts


def _check_summary(
    report: Report,
    summary_header: tuple[int, list[str]] | None,
    summary_values: tuple[int, list[str]] | None,
    sums: dict[str | None, Decimal],
    *,
    check: bool,
    currency: str | None,
) -> None:
    if summary_header is None or summary_values is None:
        report.error(
            0,
            "",
            _(
                "The bill ends without its summary (总交易单数, …): it may be truncated; download it from WeChat Pay again."
            ),
        )
        return
    number, values = summary_values
    keys = {column_key(name): name for name in SUMMARY_SUMS}
    for index, name in enumerate(summary_header[1]):
        known = keys.get(column_key(name))
        if known is None or index >= len(values):
            continue
        column = SUMMARY_SUMS[known]
        said = _said(values[index], _places(column, currency))
        if said is None:
            report.error(number, known, _("“%(value)s” is not an amount.") % {"value": values[index]})
            continue
        report.summary[SUMMARY_KEYS[column]] = int(said) if column is None else with_places(said, currency or "CNY")
        if check and said != sums[column]:
            report.error(
                number,
                known,
                _(
                    "The bill's summary does not match its rows — truncated? %(name)s says %(said)s; the rows add up to %(sum)s."
                )
                % {"name": known, "said": said, "sum": sums[column] if column else int(sums[column])},
            )


def _places(column: str | None, currency: str | None) -> str | None:
    """The currency whose decimals an amount column must keep: the fee may be a fraction of a fen (it is written
    with 5 decimals, and kept to PayoutItem's 4); everything else is money in the bill's currency."""
    return None if column in (FEE, None) else currency


def _currency(report: Report) -> str | None:
    """The bill's currency (its rows'), for reading the summary's amounts; None when the rows disagree."""
    currencies = {row.currency for row in report.rows}
    return currencies.pop() if len(currencies) == 1 else None


def _said(value: str, currency: str | None) -> Decimal | None:
    try:
        return parse_amount(value, currency)
    except ValueError:
        return None
