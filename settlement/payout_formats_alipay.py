"""Alipay account statements (支付宝账务明细), the CSV the merchant console exports.

The file is GBK (GB18030) text: '#' lines first (#支付宝账务明细查询, #账号：[…], #起始日期：[…] 终止日期：[…],
#----账务明细列表----), then the header row (账务流水号, 业务流水号, 商户订单号, 商品名称, 发生时间, 对方账号,
收入金额（+元）, 支出金额（-元）, 账户余额（元）, 交易渠道, 业务类型, 备注; newer exports add 业务描述 and more),
the rows (values padded with tabs so Excel keeps long numbers as text, often a trailing comma), then '#'
lines again (#----账务明细列表结束----, #支出合计：N笔，共X元, #收入合计：N笔，共X元, #导出时间：[…]).

One row is one movement of the Alipay balance: reference = 账务流水号, order_number = 商户订单号, time in
China time whatever the tenant's zone. amount = 收入 − 支出, except for a fee row (业务类型 收费/服务费/手续费,
or 备注 saying 服务费/手续费), which is kind "fee" with amount 0 and fee = what was charged (negative when a
fee is given back): the fee belongs to the order named on the row without changing what the order received.
The footer's counts and sums are checked against the rows; a file whose rows do not add up (cut short,
edited) is refused.
"""

from __future__ import annotations

import datetime as dt
import re
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
    columns_of,
    describe,
    empty,
    parse_amount,
    parse_moment,
    text,
    text_records,
)

SOURCE = "alipay"
CURRENCY = "CNY"
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")
TITLE = "支付宝账务明细"

REFERENCE, BUSINESS, ORDER, PRODUCT, TIME, COUNTERPARTY = (
    "账务流水号",
    "业务流水号",
    "商户订单号",
    "商品名称",
    "发生时间",
    "对方账号",
)
INCOME, EXPENSE, BALANCE, CHANNEL, TYPE, NOTE = (
    "收入金额（+元）",
    "支出金额（-元）",
    "账户余额（元）",
    "交易渠道",
    "业务类型",
    "备注",
)
DESCRIPTION = "业务描述"
COLUMNS = (
    REFERENCE,
    BUSINESS,
    ORDER,
    PRODUCT,
    TIME,
    COUNTERPARTY,
    INCOME,
    EXPENSE,
    BALANCE,
    CHANNEL,
    TYPE,
    NOTE,
    DESCRIPTION,
)
REQUIRED = (REFERENCE, TIME, INCOME, EXPENSE)

_ACCOUNT = re.compile(r"账号[:：]\s*\[([^\]]*)\]")
_STARTS = re.compile(r"起始日期[:：]\s*\[([^\]]*)\]")
_ENDS = re.compile(r"终止日期[:：]\s*\[([^\]]*)\]")
_EXPORTED = re.compile(r"导出时间[:：]\s*\[([^\]]*)\]")
_TOTAL = re.compile(r"(收入|支出)合计[:：]\s*(\d+)\s*笔\s*[，,]?\s*共?\s*(-?[\d,]+(?:\.\d+)?)\s*元")
_LIST_END = "列表结束"
# 业务类型 of a buyer's payment; others (转账, 交易分账, 充值 …) are "other" unless they are refunds, fees or
# withdrawals.
_CHARGE_TYPES = frozenset({"在线支付", "交易付款", "交易收款", "交易"})


def looks_like(text_head: str) -> bool:
    return TITLE in text_head or any(line.lstrip().startswith(REFERENCE) for line in text_head.splitlines())


def parse(*, content: bytes) -> ParsedPayouts:
    report = Report(SOURCE)
    if empty(content):
        report.error(0, "", _("The file is empty."))
        return report.result(currency=CURRENCY)
    try:
        records = text_records(
            content, not_text=_("The file is not GBK text: is this an Alipay account statement (支付宝账务明细)?")
        )
    except TableError as exc:
        report.error(0, "", str(exc))
        return report.result(currency=CURRENCY)

    layout = _layout(report, records)
    if layout.header is None:
        report.error(
            0,
            "",
            _(
                "No header row (账务流水号, 发生时间, …) was found: is this an Alipay account statement (支付宝账务明细)?"
            ),
        )
        return report.result(currency=CURRENCY)
    header, header_row, foot_lines = layout.header, layout.header_row, layout.foot_lines
    missing = [name for name in REQUIRED if name not in header]
    for name in missing:
        report.error(header_row, name, _("The column “%(name)s” is missing.") % {"name": name})
    report.summary = _summary(layout.head_lines, foot_lines)
    if missing:
        return report.result(currency=CURRENCY)

    sums = {"收入": [0, Decimal(0)], "支出": [0, Decimal(0)]}
    amounts_read = True
    for number, cells in layout.data:
        moved = _row(report, number, cells, header)
        if moved is None:
            amounts_read = False
            continue
        income, expense = moved
        for side, value in (("收入", income), ("支出", expense)):
            if value:
                sums[side][0] += 1
                sums[side][1] += value
    if amounts_read:
        _check_totals(report, foot_lines, sums)
    return report.result(currency=CURRENCY)


@dataclass
class _Layout:
    """The parts of the file: '#' lines before the header, the header, the rows, '#' lines after them."""

    header: dict[str, int] | None = None
    header_row: int = 0
    head_lines: list[str] = field(default_factory=list)
    data: list[tuple[int, list[str]]] = field(default_factory=list)
    foot_lines: list[tuple[int, str]] = field(default_factory=list)


def _layout(report: Report, records: list[list[str]]) -> _Layout:
    layout = _Layout()
    for number, cells in enumerate(records, start=1):
        first = cells[0].strip() if cells else ""
        if first.startswith("#"):
            line = ",".join(cells).rstrip(", \t")
            if layout.header is None:
                layout.head_lines.append(line)
            else:
                layout.foot_lines.append((number, line))
        elif all(not value.strip() for value in cells):
            continue
        elif layout.header is None:
            if REFERENCE in (value.strip() for value in cells):
                layout.header, layout.header_row = columns_of(cells, COLUMNS), number
        elif layout.foot_lines:
            report.error(number, "", _("A row after the end of the list (#…账务明细列表结束…): was the file edited?"))
        else:
            layout.data.append((number, cells))
    return layout


def _row(report: Report, number: int, cells: Sequence[str], header: dict[str, int]) -> tuple[Decimal, Decimal] | None:
    """Adds the row's PayoutRow; returns its (income, expense) for the totals, None when they are unreadable."""
    errors = len(report.errors)
    reference = text(cells, header[REFERENCE])
    if not reference:
        report.error(number, REFERENCE, _("A value is required."))
    occurred = report.read(number, TIME, parse_moment, cell(cells, header[TIME]), tz=CHINA)
    income = report.read(number, INCOME, parse_amount, cell(cells, header[INCOME]), CURRENCY, blank_is_zero=True)
    expense = report.read(number, EXPENSE, parse_amount, cell(cells, header[EXPENSE]), CURRENCY, blank_is_zero=True)
    if income is None or expense is None:
        return None
    expense = abs(expense)  # some exports write it as "-12.00", most as "12.00"
    if len(report.errors) > errors:
        return income, expense
    business_type, note = text(cells, header.get(TYPE)), text(cells, header.get(NOTE))
    kind = _kind(business_type, note, text(cells, header.get(DESCRIPTION)))
    if kind == "fee":
        amount, fee = Decimal(0), expense - income
    else:
        amount, fee = income - expense, Decimal(0)
    report.add(
        PayoutRow(
            kind=kind,
            occurred_at=occurred,
            currency=CURRENCY,
            amount=amount,
            fee=fee,
            reference=reference,
            order_number=text(cells, header.get(ORDER)),
            description=describe(business_type, text(cells, header.get(PRODUCT)), note),
            row=number,
            extra={
                "business_reference": text(cells, header.get(BUSINESS)),
                "counterparty": text(cells, header.get(COUNTERPARTY)),
                "balance": text(cells, header.get(BALANCE)),
                "channel": text(cells, header.get(CHANNEL)),
            },
        )
    )
    return income, expense


def _kind(business_type: str, note: str, description: str) -> str:
    """业务类型 decides; when it says nothing we know, 备注 and 业务描述 may."""
    if business_type in _CHARGE_TYPES:
        return "charge"
    kind = _kind_of(business_type)
    return _kind_of(f"{note} {description}") if kind == "other" else kind


def _kind_of(words: str) -> str:
    if "退款" in words:
        return "refund"
    if any(word in words for word in ("收费", "服务费", "手续费", "退费")):
        return "fee"
    if "提现" in words:
        return "transfer"
    return "other"


def _summary(head_lines: list[str], foot_lines: list[tuple[int, str]]) -> dict:
    summary: dict = {}
    head = "\n".join(head_lines)
    if match := _ACCOUNT.search(head):
        summary["account"] = match.group(1).strip()
    for key, pattern, lines in (("starts", _STARTS, head), ("ends", _ENDS, head)):
        if (match := pattern.search(lines)) and (moment := _moment(match.group(1))):
            summary[key] = moment
    for _number, line in foot_lines:
        if (match := _EXPORTED.search(line)) and (moment := _moment(match.group(1))):
            summary["exported_at"] = moment
        if match := _TOTAL.search(line):
            side = "income" if match.group(1) == "收入" else "expense"
            summary[f"{side}_count"] = int(match.group(2))
            summary[f"{side}_total"] = abs(Decimal(match.group(3).replace(",", "")))
    return summary


def _moment(value: str) -> dt.datetime | None:
    try:
        return parse_moment(value.strip(), tz=CHINA)
    except ValueError:
        return None


def _check_totals(report: Report, foot_lines: list[tuple[int, str]], sums: dict[str, list]) -> None:
    footer = {number: line for number, line in foot_lines if _TOTAL.search(line)}
    if not any(_LIST_END in line for _number, line in foot_lines) or len(footer) < 2:
        report.error(
            0,
            "",
            _(
                "The file ends without Alipay's totals (#收入合计 and #支出合计): it may be truncated; "
                "export it from Alipay again."
            ),
        )
        return
    for number, line in footer.items():
        match = _TOTAL.search(line)
        assert match is not None
        side = match.group(1)
        said_count, said_total = int(match.group(2)), abs(Decimal(match.group(3).replace(",", "")))
        count, total = sums[side]
        if (count, total) != (said_count, said_total):
            report.error(
                number,
                "",
                _(
                    "The file's totals do not match its rows — truncated? The footer says %(side)s %(said_count)d "
                    "笔, %(said_total)s 元; the rows add up to %(count)d 笔, %(total)s 元."
                )
                % {
                    "side": f"{side}合计",
                    "said_count": said_count,
                    "said_total": said_total,
                    "count": count,
                    "total": total,
                },
            )
