"""The payout file readers: each format from a fixture with its real layout (the Alipay one in GBK bytes), the
files' own totals checked, every kind of error named with its row, format detection, and text kept as text.
Pure parsing: no database."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from settlement.payout_formats import (
    MAPPING_FIELDS,
    MAX_ERRORS,
    REQUIRED_MAPPING,
    ParsedPayouts,
    detect_source,
    generic_header,
    parse_payouts,
)
from settlement.payout_formats_common import CellError, parse_amount, parse_moment

FIXTURES = Path(__file__).parent / "fixtures" / "payouts"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
MAPPING = {
    "occurred_at": "Date",
    "order_number": "Order No.",
    "reference": "Transaction ID",
    "kind": "Type",
    "amount": "Amount",
    "fee": "Fee",
    "currency": "Currency",
    "description": "Memo",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(source: str, content: bytes, *, file_name: str = "payouts.csv", tz=SHANGHAI, **kwargs) -> ParsedPayouts:
    return parse_payouts(source=source, content=content, file_name=file_name, tz=tz, **kwargs)


def generic(content: bytes, *, mapping=None, default_currency: str = "", file_name: str = "bank.csv") -> ParsedPayouts:
    return parse("generic", content, file_name=file_name, mapping=MAPPING if mapping is None else mapping,
                 default_currency=default_currency)  # fmt: skip


def errors_of(result: ParsedPayouts) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in result.errors]


def assert_refused(result: ParsedPayouts, *needles: str) -> None:
    """Nothing to import, and each needle is in some error's reason."""
    assert result.errors
    assert result.rows == []
    reasons = " | ".join(error.reason for error in result.errors)
    for needle in needles:
        assert needle in reasons, reasons


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------ Shopify


def test_shopify_payment_transactions_are_read_with_their_real_layout():
    # given the payment transactions export of a New York store
    content = fixture("shopify_payment_transactions.csv")

    # when it is read for a tenant in Shanghai
    result = parse("shopify_csv", content, file_name="payment_transactions_export_1.csv")

    # then every row is a movement in the file's own offset, as Shopify signs it
    assert result.errors == []
    assert result.currency == "USD"
    assert result.summary["layout"] == "transactions"
    assert [(r.kind, r.order_number, r.amount, r.fee, r.payout_reference, r.row) for r in result.rows] == [
        ("charge", "#1003", Decimal("89.00"), Decimal("2.88"), "", 2),
        ("refund", "#1001", Decimal("-20.00"), Decimal("0.00"), "118771564779", 3),
        ("chargeback", "#1002", Decimal("-45.50"), Decimal("15.00"), "118771564779", 4),
        ("adjustment", "", Decimal("-1.25"), Decimal("0.00"), "118771564779", 5),
        ("charge", "#1002", Decimal("45.50"), Decimal("1.62"), "118770012234", 6),
        ("charge", "#1001", Decimal("1234.50"), Decimal("36.10"), "118769903312", 7),
    ]
    assert result.rows[0].occurred_at == dt.datetime(2026, 10, 31, 1, 14, 5, tzinfo=UTC)  # 21:14:05 -0400
    assert result.rows[0].net == Decimal("86.12")
    assert result.rows[4].extra["presentment_currency"] == "EUR"
    assert all(isinstance(r.amount, Decimal) and isinstance(r.fee, Decimal) for r in result.rows)
    references = [r.reference for r in result.rows]
    assert len(set(references)) == len(references)
    assert all(reference.startswith("shopify:") for reference in references)


def test_a_shopify_row_keeps_its_reference_when_exported_again_after_its_payout():
    # given the pending charge #1003, and a later export where it has been paid out and the rows moved
    first = parse("shopify_csv", fixture("shopify_payment_transactions.csv"))
    lines = fixture("shopify_payment_transactions.csv").decode().splitlines()
    later = lines[0], lines[1].replace(",pending,2026-11-04,,", ",paid,2026-11-04,118790000001,")
    header, paid_row = later

    # when the later export (the paid row last, after an older one) is read
    again = parse("shopify_csv", csv_bytes(header, lines[6], paid_row))

    # then the same transaction has the same reference, and its payout is now known
    assert again.errors == []
    assert again.rows[1].reference == first.rows[0].reference
    assert again.rows[1].payout_reference == "118790000001"
    assert again.rows[0].reference == first.rows[5].reference


def test_two_identical_shopify_rows_are_two_transactions():
    lines = fixture("shopify_payment_transactions.csv").decode().splitlines()

    result = parse("shopify_csv", csv_bytes(lines[0], lines[1], lines[1]))

    assert result.errors == []
    assert result.rows[0].reference != result.rows[1].reference


def test_shopify_payouts_are_transfers_out_of_the_balance():
    # given the payouts export: scheduled, paid twice, and one failed
    result = parse("shopify_csv", fixture("shopify_payouts.csv"), file_name="payouts_export.csv")

    # then each payout that moved money is a transfer of −Total, with no order and no fee; the failed one is left out
    assert result.errors == []
    assert result.summary["layout"] == "payouts"
    assert result.summary["skipped"] == 1
    assert [(r.kind, r.amount, r.fee, r.order_number) for r in result.rows] == [
        ("transfer", Decimal("-64.87"), Decimal("0.00"), ""),
        ("transfer", Decimal("-43.88"), Decimal("0.00"), ""),
        ("transfer", Decimal("-1198.40"), Decimal("0.00"), ""),
    ]
    # a payout date is midnight of the tenant's day
    assert result.rows[0].occurred_at == dt.datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
    assert result.rows[0].extra["Charges"] == "89.00"
    assert len({r.reference for r in result.rows}) == 3


def test_a_shopify_file_without_a_required_column_is_refused():
    content = csv_bytes("Transaction Date,Type,Order,Amount,Fee,Net", "2026-10-30 21:14:05 -0400,charge,#1,1.00,0,1.00")

    result = parse("shopify_csv", content)

    assert_refused(result, "“Currency” is missing")
    assert errors_of(result) == [(1, "Currency")]


def test_a_file_that_is_not_a_shopify_export_is_refused():
    result = parse("shopify_csv", fixture("generic_payouts.csv"))

    assert_refused(result, "not a Shopify Payments export")


def test_every_bad_shopify_row_is_reported():
    lines = fixture("shopify_payment_transactions.csv").decode().splitlines()
    bad_date = lines[2].replace("2026-10-29 09:02:41 -0400", "29/10/2026")
    bad_amount = lines[3].replace(",-45.50,", ",-45.5O,")
    bad_currency = lines[4].replace(",USD", ",US")

    result = parse("shopify_csv", csv_bytes(lines[0], lines[1], bad_date, bad_amount, bad_currency))

    assert_refused(result, "“29/10/2026” is not a date", "“-45.5O” is not an amount", '"US" is not an ISO 4217')
    assert errors_of(result) == [(3, "Transaction Date"), (4, "Amount"), (5, "Currency")]


# ------------------------------------------------------------------ Alipay


def test_the_alipay_fixture_is_gbk_bytes():
    content = fixture("alipay_account_statement.csv")

    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert content.decode("gbk").startswith("#支付宝账务明细查询")


def test_an_alipay_statement_is_read_with_its_real_layout():
    # given an Alipay account statement (GBK, '#' lines, tab-padded values, trailing commas), read for a UTC tenant
    result = parse("alipay", fixture("alipay_account_statement.csv"), tz=ZoneInfo("UTC"))

    # then each row is a movement of the balance, at China time
    assert result.errors == []
    assert result.currency == "CNY"
    assert [(r.kind, r.order_number, r.amount, r.fee, r.row) for r in result.rows] == [
        ("charge", "RL-1001", Decimal("199.00"), Decimal("0.00"), 6),
        ("transfer", "", Decimal("-28.65"), Decimal("0.00"), 7),
        ("refund", "RL-1001", Decimal("-59.00"), Decimal("0.00"), 8),
        ("fee", "RL-1002", Decimal("0.00"), Decimal("0.95"), 9),  # the fee is the order's, not money it received
        ("charge", "RL-1002", Decimal("159.00"), Decimal("0.00"), 10),
        ("other", "", Decimal("20.00"), Decimal("0.00"), 11),
    ]
    first = result.rows[0]
    assert first.reference == "20261031200040011100450087654321"  # no tab left
    assert first.occurred_at == dt.datetime(2026, 10, 31, 15, 59, 58, tzinfo=UTC)  # 23:59:58 in Shanghai
    assert first.currency == "CNY"
    assert "蓝牙耳机" in first.description
    assert first.extra["business_reference"] == "2026103122001456781234567801"
    assert result.rows[3].net == Decimal("-0.95")
    # and the file's own header and footer
    assert result.summary["account"] == "20880123456789010156"
    assert result.summary["starts"] == dt.datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert result.summary["ends"] == dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert result.summary["exported_at"] == dt.datetime(2026, 11, 2, 2, 15, 31, tzinfo=UTC)
    assert (result.summary["income_count"], result.summary["income_total"]) == (3, Decimal("378.00"))
    assert (result.summary["expense_count"], result.summary["expense_total"]) == (3, Decimal("88.60"))


def test_an_alipay_statement_saved_again_as_utf8_is_read_the_same():
    original = fixture("alipay_account_statement.csv")
    resaved = original.decode("gbk").encode("utf-8-sig")

    assert parse("alipay", resaved).rows == parse("alipay", original).rows


def _alipay_lines() -> list[str]:
    return fixture("alipay_account_statement.csv").decode("gbk").split("\r\n")


def _alipay(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode("gbk")


def test_an_alipay_statement_missing_a_row_is_refused_by_its_totals():
    # given the statement with its refund row cut out
    lines = _alipay_lines()
    del lines[7]

    result = parse("alipay", _alipay(lines))

    # then the footer's 支出合计 does not match, and the footer line is named
    assert_refused(result, "totals do not match its rows — truncated?", "支出合计 3 笔, 88.60 元", "2 笔, 29.60 元")
    assert errors_of(result) == [(12, "")]


def test_an_alipay_statement_with_an_edited_amount_is_refused_by_its_totals():
    lines = _alipay_lines()
    lines[5] = lines[5].replace(",199.00,", ",198.00,")

    result = parse("alipay", _alipay(lines))

    assert_refused(result, "收入合计 3 笔, 378.00 元", "3 笔, 377.00 元")


def test_an_alipay_statement_cut_before_its_footer_is_refused():
    lines = _alipay_lines()[:9]

    result = parse("alipay", _alipay(lines))

    assert_refused(result, "without Alipay's totals", "truncated")


def test_a_file_that_is_not_gbk_is_refused_as_not_an_alipay_statement():
    content = fixture("alipay_account_statement.csv") + b"\x80\xff\x80\r\n"

    result = parse("alipay", content)

    assert_refused(result, "not GBK text: is this an Alipay account statement")


def test_a_file_without_the_alipay_header_is_refused():
    result = parse("alipay", fixture("generic_payouts.csv"))

    assert_refused(result, "No header row (账务流水号")


def test_an_alipay_statement_without_a_required_column_is_refused():
    lines = _alipay_lines()
    lines[4] = lines[4].replace("发生时间", "时间")

    result = parse("alipay", _alipay(lines))

    assert_refused(result, "“发生时间” is missing")
    assert errors_of(result) == [(5, "发生时间")]


def test_every_bad_alipay_row_is_reported_with_its_line():
    lines = _alipay_lines()
    lines[5] = lines[5].replace(",199.00,", ",19g.00,")
    lines[9] = lines[9].replace("2026-10-20 12:00:00", "2026-13-20 12:00:00")

    result = parse("alipay", _alipay(lines))

    assert_refused(result, "“19g.00” is not an amount", "“2026-13-20 12:00:00” is not a date")
    assert errors_of(result) == [(6, "收入金额（+元）"), (10, "发生时间")]


# ------------------------------------------------------------------ WeChat Pay


def test_a_wechat_bill_is_read_with_its_real_layout():
    # given an ALL bill (BOM, backtick-prefixed values, summary at the end), read for a UTC tenant
    result = parse("wechat", fixture("wechat_bill_all.csv"), tz=ZoneInfo("UTC"))

    # then payments are charges with their fee, refunds are negative with the fee given back, a revoked one moved nothing
    assert result.errors == []
    assert result.currency == "CNY"
    assert [(r.kind, r.reference, r.order_number, r.amount, r.fee, r.row) for r in result.rows] == [
        ("charge", "4200002718202610318843210001", "RL-2001", Decimal("120.00"), Decimal("0.72"), 2),
        ("charge", "4200002718202610308843210002", "RL-2002", Decimal("90.00"), Decimal("0.54"), 3),
        ("refund", "50300903402026110112345678901", "RL-2001", Decimal("-30.00"), Decimal("-0.18"), 4),
        ("other", "4200002718202610298843210003:revoked", "RL-2003", Decimal("0.00"), Decimal("0.00"), 5),
    ]
    assert result.rows[0].occurred_at == dt.datetime(2026, 10, 31, 15, 10, 5, tzinfo=UTC)  # China time
    assert result.rows[2].extra["transaction"] == "4200002718202610318843210001"
    assert result.rows[2].extra["merchant_refund"] == "RF-2001-1"
    assert result.summary == {
        "count": 4,
        "settled_total": Decimal("210.00"),
        "refund_total": Decimal("30.00"),
        "coupon_refund_total": Decimal("0.00"),
        "fee_total": Decimal("1.08"),
        "order_total": Decimal("235.00"),
        "refund_requested_total": Decimal("30.00"),
    }
    assert str(result.summary["fee_total"]) == "1.08"  # written "1.08000"


def test_a_wechat_bill_from_the_api_without_a_bom_is_read_the_same():
    content = fixture("wechat_bill_all.csv")

    assert parse("wechat", content.removeprefix(b"\xef\xbb\xbf")).rows == parse("wechat", content).rows


def _wechat_lines() -> list[str]:
    return fixture("wechat_bill_all.csv").decode("utf-8-sig").split("\r\n")


def _wechat(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode("utf-8")


def test_a_wechat_bill_missing_a_row_is_refused_by_its_summary():
    lines = _wechat_lines()
    del lines[3]  # the refund

    result = parse("wechat", _wechat(lines))

    assert_refused(result, "summary does not match its rows — truncated?", "总交易单数 says 4", "退款总金额 says 30.00")
    assert (6, "总交易单数") in errors_of(result)  # the summary's values


def test_a_wechat_bill_without_its_summary_is_refused():
    lines = _wechat_lines()[:4]

    result = parse("wechat", _wechat(lines))

    assert_refused(result, "without its summary", "truncated")


def test_a_wechat_bill_without_a_required_column_is_refused():
    lines = _wechat_lines()
    lines[0] = lines[0].replace("应结订单金额", "结算金额")

    result = parse("wechat", _wechat(lines))

    assert_refused(result, "“应结订单金额” is missing")


def test_every_bad_wechat_row_is_reported():
    lines = _wechat_lines()
    lines[1] = lines[1].replace("`120.00,`0.00,", "`12O.00,`0.00,", 1)
    lines[2] = lines[2].replace("`CNY", "`RMB")

    result = parse("wechat", _wechat(lines))

    assert_refused(result, "“12O.00” is not an amount", "use CNY")
    assert errors_of(result) == [(2, "应结订单金额"), (3, "货币种类")]


def test_a_file_that_is_not_a_wechat_bill_is_refused():
    result = parse("wechat", fixture("shopify_payouts.csv"))

    assert_refused(result, "is this a WeChat Pay bill")


# ------------------------------------------------------------------ generic CSV and XLSX


def test_a_generic_csv_is_read_through_its_mapping():
    # given a bank's CSV: amounts and dates as people write them, types in English and Chinese, blank rows at the end
    result = generic(fixture("generic_payouts.csv"), default_currency="cny")

    # then
    assert result.errors == []
    assert [(r.kind, r.order_number, r.reference, r.currency, r.amount, r.fee, r.row) for r in result.rows] == [
        ("charge", "A-1001", "T-9001", "USD", Decimal("1234.50"), Decimal("12.35"), 2),
        ("refund", "A-1002", "T-9002", "CNY", Decimal("-3.10"), Decimal("0.00"), 3),
        ("refund", "A-1003", "T-9003", "CNY", Decimal("-3.10"), Decimal("0.00"), 4),  # (3.10): by its sign
        ("fee", "A-1004", result.rows[3].reference, "CNY", Decimal("0.00"), Decimal("12.00"), 5),
        ("transfer", "", "T-9005", "CNY", Decimal("-500.00"), Decimal("0.00"), 6),
        ("charge", "A-1006", "T-9006", "CNY", Decimal("88.00"), Decimal("0.53"), 7),  # the default currency
    ]
    assert result.rows[3].reference.startswith("row:")  # no reference in the file: a digest of the row
    assert [r.occurred_at for r in result.rows[:3]] == [
        dt.datetime(2026, 11, 2, 16, 0, tzinfo=UTC),  # 2026-11-03, midnight in Shanghai
        dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC),  # 2026/11/03 10:00 in Shanghai
        dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC),  # ISO with its own offset
    ]
    assert result.rows[0].description == "first order"


def test_generic_references_from_digests_are_stable():
    content = fixture("generic_payouts.csv")

    first = generic(content, default_currency="CNY")
    again = generic(content, default_currency="CNY")

    assert [r.reference for r in first.rows] == [r.reference for r in again.rows]


def test_a_reference_the_file_gives_twice_is_told_apart():
    # given a sale and its fee under one transaction id, and the sale listed twice
    content = csv_bytes(
        "Date,Transaction ID,Type,Amount,Currency",
        "2026-11-03,T-1,sale,10.00,CNY",
        "2026-11-03,T-1,fee,0.06,CNY",
        "2026-11-03,T-1,sale,10.00,CNY",
    )
    mapping = {"occurred_at": "Date", "reference": "Transaction ID", "kind": "Type", "amount": "Amount",
               "currency": "Currency"}  # fmt: skip

    # when
    result = generic(content, mapping=mapping)

    # then no movement is lost as "already imported", and the same file gives the same references again
    assert [r.reference for r in result.rows] == ["T-1", "T-1:fee", "T-1:charge"]
    assert [r.reference for r in generic(content, mapping=mapping).rows] == ["T-1", "T-1:fee", "T-1:charge"]


def _workbook(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_generic_xlsx_is_read_with_excel_dates_and_numbers():
    # given a workbook with date cells, a serial date typed as a number, and float amounts
    content = _workbook(
        [
            ["日期", "订单号", "流水号", "类型", "金额", "币种"],
            [dt.datetime(2026, 11, 3, 10, 0), "R-1", "W-1", "收款", 0.1 + 0.2, "CNY"],
            [46329.5, "R-2", "W-2", "退款", 12, "CNY"],
            [dt.date(2026, 11, 5), "R-3", "W-3", "提现", -1234.5, "CNY"],
            [None, None, None, None, None, None],
        ]
    )
    mapping = {
        "occurred_at": "日期",
        "order_number": "订单号",
        "reference": "流水号",
        "kind": "类型",
        "amount": "金额",
        "currency": "币种",
    }

    # when
    result = generic(content, mapping=mapping, file_name="账单.xlsx")

    # then amounts are exact Decimals, refunds and transfers are money out
    assert result.errors == []
    assert [(r.kind, r.amount, r.row) for r in result.rows] == [
        ("charge", Decimal("0.30"), 2),
        ("refund", Decimal("-12.00"), 3),
        ("transfer", Decimal("-1234.50"), 4),
    ]
    assert result.rows[0].occurred_at == dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert result.rows[1].occurred_at == dt.datetime(2026, 11, 3, 4, 0, tzinfo=UTC)  # serial 46329.5 = 3 Nov 12:00
    assert result.rows[2].occurred_at == dt.datetime(2026, 11, 4, 16, 0, tzinfo=UTC)


def test_every_kind_of_bad_generic_row_is_reported_with_its_row():
    # given one good row and a bad one of each kind
    content = csv_bytes(
        "Date,Order No.,Transaction ID,Type,Amount,Fee,Currency,Memo",
        "2026-11-03,A-1,T-1,charge,10.00,,CNY,",
        "2026-11-03,A-2,T-2,charge,ten,,CNY,",
        "03/11/2026,A-3,T-3,charge,10.00,,CNY,",
        "2026-11-03,A-4,T-4,charge,10.005,,CNY,",
        "2026-11-03,A-5,T-5,charge,10.00,,XYZ,",
        "2026-11-03,A-6,T-6,charge,,,CNY,",
        "2026-11-03,A-7,T-7,charge,10.00,0.1x,CNY,",
        f"2026-11-03,{'A' * 65},T-8,charge,10.00,,CNY,",
    )

    # when
    result = generic(content)

    # then every problem is listed, in row order, and nothing can be imported
    assert_refused(
        result,
        "“ten” is not an amount",
        "“03/11/2026” is not a date",
        "“10.005” has more decimals than CNY has",
        '"XYZ" is not an ISO 4217 currency code',
        "An amount is required",
        "“0.1x” is not an amount",
        "longer than 64 characters",
    )
    assert errors_of(result) == [
        (3, "Amount"),
        (4, "Date"),
        (5, "Amount"),
        (6, "Currency"),
        (7, "Amount"),
        (8, "Fee"),
        (9, "order_number"),
    ]


def test_a_mapping_naming_a_column_the_file_lacks_is_refused():
    result = generic(fixture("generic_payouts.csv"), mapping={**MAPPING, "amount": "Betrag"})

    assert_refused(result, "The column “Betrag” (the amount) is not in the file's header.")
    assert errors_of(result) == [(1, "Betrag")]


def test_an_incomplete_mapping_is_refused():
    result = generic(fixture("generic_payouts.csv"), mapping={"occurred_at": "Date", "kind": "Type", "fee": ""})

    assert_refused(
        result,
        "does not say which column holds the amount",
        "needs the column of the order number or of the transaction reference",
    )


def test_a_mapping_matches_headers_loosely():
    mapping = {**MAPPING, "occurred_at": " date ", "order_number": "order no."}

    result = generic(fixture("generic_payouts.csv"), mapping=mapping, default_currency="CNY")

    assert result.errors == []


def test_a_generic_file_needs_a_currency_column_or_a_default_currency():
    without_column = {key: value for key, value in MAPPING.items() if key != "currency"}

    assert_refused(generic(fixture("generic_payouts.csv"), mapping=without_column), "no currency column")
    assert generic(fixture("generic_payouts.csv"), mapping=without_column, default_currency="USD").errors == []
    # a blank currency cell without a default is the row's problem
    result = generic(fixture("generic_payouts.csv"))
    assert_refused(result, "A currency is required")
    assert errors_of(result) == [(7, "Currency")]


def test_a_bad_default_currency_is_refused():
    assert_refused(generic(fixture("generic_payouts.csv"), default_currency="RMB"), "use CNY")


def test_errors_are_capped_with_a_line_saying_how_many_more():
    lines = ["Date,Transaction ID,Amount,Currency"] + [f"2026-11-03,T-{n},bad,CNY" for n in range(1_200)]

    result = generic(csv_bytes(*lines), mapping={"occurred_at": "Date", "reference": "Transaction ID", "amount": "Amount",
                                                  "currency": "Currency"})  # fmt: skip

    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1].row == 0
    assert "200 more problems are not listed" in result.errors[-1].reason


def test_formula_looking_text_is_kept_as_text():
    # given cells a spreadsheet would take for formulas
    content = csv_bytes(
        "Date,Order No.,Transaction ID,Type,Amount,Fee,Currency,Memo",
        '2026-11-03,"=HYPERLINK(""http://x.test"",""1"")",+8613800000000,charge,10.00,,CNY,@SUM(A1:A9)',
        "2026-11-03,-A-2,\tT-2,charge,10.00,,CNY,=1+2",
    )

    # when
    result = generic(content)

    # then they come back exactly as written (the exports neutralise them), never evaluated
    assert result.errors == []
    first, second = result.rows
    assert first.order_number == '=HYPERLINK("http://x.test","1")'
    assert first.reference == "+8613800000000"
    assert first.description == "@SUM(A1:A9)"
    assert (second.order_number, second.reference, second.description) == ("-A-2", "T-2", "=1+2")


def test_a_formula_is_not_an_amount():
    content = csv_bytes("Date,Transaction ID,Amount,Currency", "2026-11-03,T-1,=1+2,CNY")

    result = generic(content, mapping={"occurred_at": "Date", "reference": "Transaction ID", "amount": "Amount",
                                       "currency": "Currency"})  # fmt: skip

    assert_refused(result, "“=1+2” is not an amount")


@pytest.mark.parametrize("source", ["shopify_csv", "alipay", "wechat", "generic"])
@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n"])
def test_an_empty_file_is_refused(source, content):
    result = parse(source, content, mapping=MAPPING)

    assert_refused(result, "empty")
    assert errors_of(result) == [(0, "")]


def test_an_old_xls_file_is_refused():
    result = generic(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, file_name="payouts.xls")

    assert_refused(result, ".xls files cannot be read")


def test_a_source_that_is_not_a_file_format_is_a_programming_error():
    with pytest.raises(ValueError, match="not a payout file format"):
        parse("shopify_api", fixture("shopify_payouts.csv"))


def test_the_mapping_fields_are_the_interface():
    assert MAPPING_FIELDS == ("occurred_at", "order_number", "reference", "kind", "amount", "fee", "currency",
                              "description")  # fmt: skip
    assert REQUIRED_MAPPING == ("occurred_at", "amount")


# ------------------------------------------------------------------ detection and the header


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("shopify_payment_transactions.csv", "shopify_csv"),
        ("shopify_payouts.csv", "shopify_csv"),
        ("alipay_account_statement.csv", "alipay"),
        ("wechat_bill_all.csv", "wechat"),
        ("generic_payouts.csv", "generic"),
    ],
)
def test_each_fixture_is_recognised(name, source):
    assert detect_source(content=fixture(name), file_name=name) == source


def test_a_wechat_bill_with_a_title_line_is_recognised_and_read():
    content = "\ufeff微信支付交易账单\r\n".encode() + fixture("wechat_bill_all.csv").removeprefix(b"\xef\xbb\xbf")

    assert detect_source(content=content, file_name="bill.csv") == "wechat"
    assert [r.row for r in parse("wechat", content).rows] == [3, 4, 5, 6]


def test_a_workbook_is_recognised_by_its_header():
    shopify = fixture("shopify_payouts.csv").decode().splitlines()
    as_workbook = _workbook([line.split(",") for line in shopify])
    other = _workbook([["Datum", "Betrag"], ["2026-11-03", 1]])

    assert detect_source(content=as_workbook, file_name="payouts.xlsx") == "shopify_csv"
    assert detect_source(content=other, file_name="x.xlsx") == "generic"


def test_a_shopify_export_saved_as_a_workbook_is_read():
    lines = fixture("shopify_payouts.csv").decode().splitlines()

    result = parse("shopify_csv", _workbook([line.split(",") for line in lines]), file_name="payouts.xlsx")

    assert result.errors == []
    assert [r.amount for r in result.rows] == [Decimal("-64.87"), Decimal("-43.88"), Decimal("-1198.40")]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   \n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0",
        b"one column\n1\n",
    ],
)
def test_what_is_not_a_payout_file_is_not_recognised(content):
    assert detect_source(content=content, file_name="upload.bin") is None


def test_the_generic_header_lists_the_columns():
    assert generic_header(content=fixture("generic_payouts.csv"), file_name="bank.csv") == [
        "Date", "Order No.", "Transaction ID", "Type", "Amount", "Fee", "Currency", "Memo",
    ]  # fmt: skip
    workbook = _workbook([["日期", None, "金额"], ["2026-11-03", None, 1]])
    assert generic_header(content=workbook, file_name="bank.xlsx") == ["日期", "金额"]


@pytest.mark.parametrize(
    ("content", "file_name", "message"),
    [
        (b"", "bank.csv", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0", "bank.xls", ".xls files cannot be read"),
        (b"not a zip", "bank.xlsx", "is not an Excel workbook"),
        (b"PK\x03\x04 damaged", "bank.xlsx", "could not be read as an Excel workbook"),
    ],
)
def test_an_unreadable_file_has_no_header(content, file_name, message):
    with pytest.raises(ValidationError, match=message):
        generic_header(content=content, file_name=file_name)


# ------------------------------------------------------------------ cells


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("1,234.50", "USD", Decimal("1234.50")),
        ("¥12.00", "CNY", Decimal("12.00")),
        ("￥12", "CNY", Decimal("12.00")),
        ("-3.10", "CNY", Decimal("-3.10")),
        ("(3.10)", "CNY", Decimal("-3.10")),
        ("−2.00", "EUR", Decimal("-2.00")),
        ("US$5", "USD", Decimal("5.00")),
        ("-$5.25", "USD", Decimal("-5.25")),
        ("$-5.25", "USD", Decimal("-5.25")),
        ("CNY 8.8", "CNY", Decimal("8.80")),
        ("12.00元", "CNY", Decimal("12.00")),
        ("0.00000", "CNY", Decimal("0.00")),
        ("-0.00", "CNY", Decimal("0.00")),
        ("1500", "JPY", Decimal("1500")),
        ("0.0060", None, Decimal("0.0060")),
    ],
)
def test_amounts_as_people_write_them(text, currency, amount):
    value = parse_amount(text, currency)

    assert value == amount
    assert str(value) == str(amount)


@pytest.mark.parametrize("text", ["ten", "1,23.40", "1.2.3", "=1+2", "1e3", "--1", "NaN", "", "-", "EUR 5", "5 CNY"])
def test_what_is_not_an_amount(text):
    with pytest.raises(CellError):
        parse_amount(text, "USD")


def test_an_amount_may_not_have_more_decimals_than_its_currency():
    with pytest.raises(CellError, match="more decimals than JPY has"):
        parse_amount("12.5", "JPY")
    with pytest.raises(CellError, match="more than 4 decimals"):
        parse_amount("0.00001")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-03", dt.datetime(2026, 11, 2, 16, 0, tzinfo=UTC)),
        ("2026/11/03 10:00", dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC)),
        ("2026/6/12", dt.datetime(2026, 6, 11, 16, 0, tzinfo=UTC)),
        ("2026-11-03T10:00:00Z", dt.datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
        ("2026-11-03 10:00:00 UTC", dt.datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
        ("2026-10-03 10:12:31 +0200", dt.datetime(2026, 10, 3, 8, 12, 31, tzinfo=UTC)),
        ("2026年11月03日 10:00:00", dt.datetime(2026, 11, 3, 2, 0, tzinfo=UTC)),
    ],
)
def test_dates_as_files_write_them(text, moment):
    assert parse_moment(text, tz=SHANGHAI) == moment


@pytest.mark.parametrize("text", ["03/11/2026", "yesterday", "2026-02-30", "1899-01-01", "46329.5"])
def test_what_is_not_a_date(text):
    with pytest.raises(CellError):
        parse_moment(text, tz=SHANGHAI)  # a serial number is a date only in a workbook
