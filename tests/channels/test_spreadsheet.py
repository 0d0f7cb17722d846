"""Spreadsheet order files: CSV (UTF-8, GB18030, any delimiter) and XLSX into canonical orders, or an exact error report."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from channels.adapters.spreadsheet import (
    MAX_BYTES,
    MAX_ROWS,
    TEMPLATE_COLUMNS,
    ImportResult,
    RowError,
    parse_order_file,
    template_csv,
    template_xlsx,
)
from orders.canonical import Address, ChannelOrder, ChannelOrderLine
from tests.channels.helpers import FIXTURES as CHANNEL_FIXTURES

FIXTURES = CHANNEL_FIXTURES / "spreadsheet"
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = Decimal
HEADER = ",".join(TEMPLATE_COLUMNS)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def row(number="B-1", **overrides) -> str:
    values = {
        "order_number": number, "placed_at": "2026-11-01 10:00", "currency": "CNY", "buyer_name": "王小明",
        "buyer_email": "", "buyer_phone": "13800000000", "country": "CN", "province": "浙江省", "city": "杭州市",
        "district": "西湖区", "address1": "文三路 90 号", "address2": "", "postal_code": "310000", "sku": "TEE-M",
        "title": "T恤", "quantity": "1", "unit_price": "10.00", "line_discount": "0", "order_discount": "0",
        "shipping": "0", "tax": "0", "note": "",
    }  # fmt: skip
    values.update(overrides)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([values[column] for column in TEMPLATE_COLUMNS])
    return buffer.getvalue()


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def parse(content: bytes, filename: str = "orders.csv", **kwargs) -> ImportResult:
    return parse_order_file(content=content, filename=filename, tz=SHANGHAI, **kwargs)


# ------------------------------------------------------------------ valid files


def test_a_utf8_csv_becomes_canonical_orders_with_lines_grouped_and_totals_exact():
    # given a UTF-8 file with two orders, the first one's two lines not adjacent
    content = (FIXTURES / "orders_utf8.csv").read_bytes()

    # when it is parsed in the tenant's zone
    result = parse(content)

    # then there are two orders in first-seen order, lines in row order, amounts to the cent
    assert result.errors == []
    assert result.rows == 3
    first, second = result.orders
    assert first == ChannelOrder(
        external_id="S-1001",
        order_number="S-1001",
        currency="USD",
        placed_at=utc(2026, 11, 1, 2, 0),
        updated_at=utc(2026, 11, 1, 2, 0),
        lines=(
            ChannelOrderLine(
                external_id="S-1001:1",
                listing_sku="TEE-M",
                title="T-shirt M",
                quantity=2,
                unit_price=D("19.99"),
                line_discount=D("1.00"),
            ),
            ChannelOrderLine(
                external_id="S-1001:2",
                listing_sku="ESPRESSO",
                title="Espresso machine, steel",
                quantity=1,
                unit_price=D("1234.50"),
                line_discount=D("0.00"),
            ),
        ),
        subtotal=D("1274.48"),
        discount_total=D("4.00"),
        shipping_total=D("5.00"),
        tax_total=D("1.50"),
        total=D("1276.98"),
        buyer_name="Ada Lovelace",
        buyer_email="ada@example.com",
        buyer_phone="+1 555 0100",
        shipping_address=Address(
            name="Ada Lovelace",
            country="US",
            province="CA",
            city="San Francisco",
            line1="1 Market St",
            line2="Suite 5",
            postal_code="94105",
            phone="+1 555 0100",
        ),
        financial_status="paid",
        fulfillment_status="",
        note="Leave at the door",
    )
    assert (second.external_id, second.placed_at, second.total) == ("S-1002", utc(2026, 11, 2, 7, 15), D("19.99"))
    assert (second.discount_total, second.shipping_total, second.tax_total) == (D("0.00"), D("0.00"), D("0.00"))
    assert [line.external_id for line in second.lines] == ["S-1002:1"]


def test_a_utf8_csv_with_a_byte_order_mark_reads_the_same():
    # given the same file as Excel's "CSV UTF-8" saves it, with a BOM
    plain = (FIXTURES / "orders_utf8.csv").read_bytes()

    # when both are parsed
    with_bom = parse(b"\xef\xbb\xbf" + plain)

    # then the BOM does not spoil the first header and the orders are the same
    assert with_bom.errors == []
    assert with_bom.orders == parse(plain).orders


def test_a_gb18030_file_with_chinese_headers_and_address_is_read():
    # given a file saved by Chinese Excel: GB18030, Chinese headers, "cny" and "CNY", a ¥ price
    content = (FIXTURES / "orders_gb18030.csv").read_bytes()

    # when it is parsed
    result = parse(content)

    # then it is one order of two lines with the address intact
    assert result.errors == []
    (order,) = result.orders
    assert (order.external_id, order.currency, order.placed_at) == ("CN-0001", "CNY", utc(2026, 11, 1, 2, 0))
    assert order.shipping_address == Address(
        name="王小明",
        country="CN",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        line1="文三路 90 号",
        line2="3 幢 501 室",
        postal_code="310000",
        phone="13800000000",
    )
    assert [(line.title, line.quantity, line.unit_price) for line in order.lines] == [
        ("纯棉T恤 M 码", 2, D("59.00")),
        ("马克杯", 1, D("35.50")),
    ]
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        D("153.50"),
        D("15.00"),
        D("8.00"),
        D("146.50"),
    )
    assert order.note == "请尽快发货"


def test_a_semicolon_delimited_file_is_read():
    # given a European Excel export, delimited by semicolons, with a comma inside a title
    content = (FIXTURES / "orders_semicolon.csv").read_bytes()

    # when it is parsed in Berlin time
    result = parse_order_file(content=content, filename="orders.csv", tz=ZoneInfo("Europe/Berlin"))

    # then the order is whole and its time is converted from CET
    assert result.errors == []
    (order,) = result.orders
    assert order.placed_at == utc(2026, 11, 3, 17, 45, 30)
    assert order.lines[0].title == "Becher, groß"
    assert (order.subtotal, order.shipping_total, order.total) == (D("38.70"), D("4.90"), D("43.60"))


def test_a_tab_delimited_utf16_file_from_excel_unicode_text_is_read():
    # given Excel's "Unicode Text" export: UTF-16 with a BOM, tab-delimited
    content = "\n".join([HEADER.replace(",", "\t"), row("T-1").replace(",", "\t")]).encode("utf-16")

    # when it is parsed
    result = parse(content, "orders.txt")

    # then the order is read
    assert result.errors == []
    assert [order.external_id for order in result.orders] == ["T-1"]


def test_the_csv_template_is_excel_ready_and_imports_as_one_order():
    # given the CSV template
    content = template_csv()

    # when it is parsed
    result = parse(content, "template.csv")

    # then it starts with a BOM and is one valid order of two lines
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").splitlines()[0] == HEADER
    assert result.errors == []
    assert [len(order.lines) for order in result.orders] == [2]


def test_an_xlsx_filled_in_from_the_template_round_trips_with_exact_amounts():
    # given the XLSX template with Excel-typed cells added: a datetime, float prices, an int phone
    workbook = load_workbook(io.BytesIO(template_xlsx()))
    sheet = workbook.active
    assert [cell.value for cell in sheet[1]] == list(TEMPLATE_COLUMNS)
    assert all(cell.font.b for cell in sheet[1])
    values = {
        "order_number": 20002, "placed_at": dt.datetime(2026, 11, 5, 23, 30), "currency": "CNY",
        "buyer_name": "李雷", "buyer_email": None, "buyer_phone": 13900000000, "country": "CN",
        "province": "广东省", "city": "深圳市", "district": "南山区", "address1": "科技园 1 号",
        "address2": None, "postal_code": "518000", "sku": "CABLE", "title": "数据线", "quantity": 3.0,
        "unit_price": 12.3, "line_discount": 0.1 + 0.2, "order_discount": None, "shipping": 6,
        "tax": None, "note": None,
    }  # fmt: skip
    sheet.append([values[column] for column in TEMPLATE_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)

    # when the workbook is parsed
    result = parse(buffer.getvalue(), "orders.xlsx")

    # then the template's order and the new one are read, floats as the decimals a person sees
    assert result.errors == []
    assert [order.external_id for order in result.orders] == ["10001", "20002"]
    added = result.orders[1]
    assert added.placed_at == utc(2026, 11, 5, 15, 30)
    assert added.buyer_phone == "13900000000"
    assert added.lines == (
        ChannelOrderLine(
            external_id="20002:1",
            listing_sku="CABLE",
            title="数据线",
            quantity=3,
            unit_price=D("12.30"),
            line_discount=D("0.30"),
        ),
    )
    assert (added.subtotal, added.discount_total, added.shipping_total, added.total) == (
        D("36.90"),
        D("0.30"),
        D("6.00"),
        D("42.60"),
    )


def test_a_workbook_is_recognised_by_its_content_whatever_its_name():
    # given the XLSX template uploaded under a .csv name
    content = template_xlsx()

    # when it is parsed
    result = parse(content, "orders.csv")

    # then it is read as a workbook
    assert result.errors == []
    assert len(result.orders) == 1


def test_chinese_and_english_headers_may_be_mixed_in_any_order_and_optional_columns_left_out():
    # given a sheet with only the required columns, some in Chinese, some marked "*", in its own order
    header = "数量,Order Number,商品编码*,单价,placed_at,币种,国家,地址1"
    content = csv_file("2,M-1,TEE,9.90,2026-11-01 08:00,CNY,CN,文三路 90 号", header=header)

    # when it is parsed
    result = parse(content)

    # then optional columns take their defaults
    assert result.errors == []
    (order,) = result.orders
    assert (order.lines[0].listing_sku, order.lines[0].quantity, order.total) == ("TEE", 2, D("19.80"))
    assert (order.shipping_total, order.tax_total, order.buyer_name) == (D("0"), D("0"), "")


def test_duplicate_skus_in_one_order_are_separate_lines_with_stable_ids():
    # given an order listing the same SKU twice
    content = csv_file(row("D-1", sku="TEE"), row("D-1", sku="TEE", unit_price="0.00", title="赠品"))

    # when it is parsed
    result = parse(content)

    # then both lines are kept, numbered by their place in the order
    assert result.errors == []
    assert [(line.external_id, line.unit_price) for line in result.orders[0].lines] == [
        ("D-1:1", D("10.00")),
        ("D-1:2", D("0.00")),
    ]


def test_empty_rows_are_skipped_but_still_counted_in_row_numbers():
    # given a blank line and a row of empty cells between orders, and a bad row after them
    content = csv_file(row("E-1"), "", ",,,,", row("E-2", quantity="0"))

    # when it is parsed
    result = parse(content)

    # then the empty rows are not data, and the bad row is reported as spreadsheet row 5
    assert result.rows == 2
    assert result.errors == [RowError(row=5, column="quantity", reason="The quantity must be at least 1.")]


def test_yen_and_dinar_amounts_use_their_own_decimals():
    # given a yen order and a dinar order
    content = csv_file(
        row("J-1", currency="JPY", unit_price="1,200", shipping="500"),
        row("K-1", currency="KWD", unit_price="1.250", shipping="0.500"),
    )

    # when it is parsed
    result = parse(content)

    # then each total has its currency's exponent
    assert result.errors == []
    assert [str(order.total) for order in result.orders] == ["1700", "1.750"]


def test_progress_is_reported_every_500_rows_and_at_the_end():
    # given 1,200 rows
    content = csv_file(*(row(f"P-{n}") for n in range(1200)))
    calls = []

    # when the file is parsed with a progress callback
    result = parse(content, progress=lambda done, total: calls.append((done, total)))

    # then progress came at 500, 1,000 and the end
    assert len(result.orders) == 1200
    assert calls == [(500, 1200), (1000, 1200), (1200, 1200)]


# ------------------------------------------------------------------ bad rows


def test_every_bad_row_is_reported_with_row_column_and_reason_and_nothing_is_imported():
    # given one good row and a row for each kind of mistake
    content = csv_file(
        row("B-1"),
        row("B-2", sku=""),
        row("B-3", quantity="abc"),
        row("B-4", unit_price="-1"),
        row("B-5", currency="RMB"),
        row("B-6", placed_at="2026-13-01 10:00"),
        row("B-1", currency="EUR"),
        row("B-7", buyer_email="not-an-email", country="UK"),
        row("B-8", unit_price="12.345", line_discount="abc"),
        row("B-9", quantity="2", unit_price="5.00", line_discount="10.01"),
    )

    # when it is parsed
    result = parse(content)

    # then every problem is listed in row and column order, and there are no orders
    assert result.errors == [
        RowError(row=3, column="sku", reason="A value is required."),
        RowError(row=4, column="quantity", reason='"abc" is not a whole number.'),
        RowError(row=5, column="unit_price", reason="The amount must not be negative."),
        RowError(row=6, column="currency", reason='"RMB" is not an ISO 4217 currency code; use CNY.'),
        RowError(
            row=7,
            column="placed_at",
            reason='"2026-13-01 10:00" is not a date and time; write it as YYYY-MM-DD HH:MM.',
        ),
        RowError(
            row=8,
            column="currency",
            reason='Row 2 of order B-1 says "CNY", this row "EUR"; the rows of one order must agree.',
        ),
        RowError(row=9, column="buyer_email", reason='"not-an-email" is not an email address.'),
        RowError(row=9, column="country", reason='"UK" is not an ISO country code; use GB.'),
        RowError(row=10, column="unit_price", reason='"12.345" has more decimals than CNY allows (2).'),
        RowError(row=10, column="line_discount", reason='"abc" is not an amount.'),
        RowError(
            row=11, column="line_discount", reason="The line discount is more than quantity × unit price (10.00)."
        ),
    ]
    assert result.orders == []
    assert result.rows == 10


def test_an_order_discount_larger_than_the_goods_is_reported_on_its_row():
    # given an order of 2 × 10.00 with a 5.00 line discount and a 15.01 order discount
    content = csv_file(
        row("O-1", line_discount="5.00", order_discount="15.01"),
        row("O-1", sku="MUG", order_discount="15.01"),
    )

    # when it is parsed
    result = parse(content)

    # then the discount is refused where it was first written
    assert result.errors == [
        RowError(
            row=2,
            column="order_discount",
            reason="The order discount is more than the order's goods after line discounts (15.00).",
        )
    ]
    assert result.orders == []


def test_order_level_columns_are_compared_by_value_not_by_spelling():
    # given two rows of one order writing the same time and amount differently
    content = csv_file(
        row("V-1", placed_at="2026-11-01 10:00", shipping="5"),
        row("V-1", placed_at="2026/11/01 10:00:00", shipping="5.00", sku="MUG"),
    )

    # when it is parsed
    result = parse(content)

    # then they agree
    assert result.errors == []
    assert result.orders[0].shipping_total == D("5.00")


def test_a_value_in_a_column_without_a_header_is_reported():
    # given a row longer than the header
    content = csv_file(row("X-1") + ",stray")

    # when it is parsed
    result = parse(content)

    # then the stray value is an error on that row
    assert result.errors == [
        RowError(row=2, column="", reason='The row has a value ("stray") in a column without a header.')
    ]


def test_bad_cells_in_a_workbook_are_reported_like_csv_ones():
    # given a workbook with a text quantity and a time-only placed_at
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(TEMPLATE_COLUMNS))
    good = [dict(zip(TEMPLATE_COLUMNS, row("W-1").split(","), strict=True))[c] for c in TEMPLATE_COLUMNS]
    sheet.append(good)
    bad = list(good)
    bad[TEMPLATE_COLUMNS.index("quantity")] = "two"
    bad[TEMPLATE_COLUMNS.index("placed_at")] = 45962.5  # an Excel serial number in a cell not formatted as a date
    sheet.append(bad)
    buffer = io.BytesIO()
    workbook.save(buffer)

    # when it is parsed
    result = parse(buffer.getvalue(), "orders.xlsx")

    # then both are reported on spreadsheet row 3
    assert result.errors == [
        RowError(row=3, column="placed_at", reason='"45962.5" is not a date and time; write it as YYYY-MM-DD HH:MM.'),
        RowError(row=3, column="quantity", reason='"two" is not a whole number.'),
    ]


# ------------------------------------------------------------------ bad headers and files


def test_a_header_missing_a_required_column_is_reported_at_row_1():
    # given a header without sku
    header = HEADER.replace("sku,", "")
    content = csv_file(",".join(row("H-1").split(",")[:13] + row("H-1").split(",")[14:]), header=header)

    # when it is parsed
    result = parse(content)

    # then one error names the column, and no row is looked at
    assert result.errors == [RowError(row=1, column="sku", reason='The required column "sku" (商品编码) is missing.')]
    assert result.orders == []


def test_unknown_and_repeated_header_columns_are_reported_at_row_1():
    # given a header with an unknown column and sku written twice (in English and Chinese)
    content = csv_file(row("H-2") + ",X,TEE", header=HEADER + ",colour,商品编码")

    # when it is parsed
    result = parse(content)

    # then both are named
    assert result.errors == [
        RowError(row=1, column="colour", reason='"colour" is not a column of the order template.'),
        RowError(row=1, column="sku", reason='The column "sku" appears more than once.'),
    ]


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (
            b"order_number\n\xff\xfe\x80\x80\xff",
            "orders.csv",
            "The file encoding was not recognised; save it as CSV UTF-8 (or GBK) and upload it again.",
        ),
        (b"", "orders.csv", "The file is empty: row 1 must be the header (download the template to see it)."),
        (HEADER.encode() + b"\n\n", "orders.csv", "The file has a header but no order rows."),
        (
            b"order_number,placed_at\n",
            "orders.xlsx",
            "The file is named .xlsx but is not an Excel workbook; save it from Excel again.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "orders.xls",
            "Old Excel .xls files cannot be read; save the sheet as .xlsx or .csv and upload that.",
        ),
        (
            b"PK\x03\x04not really a zip",
            "orders.xlsx",
            "The file could not be read as an Excel workbook (.xlsx); save it from Excel again.",
        ),
        (b"x" * (MAX_BYTES + 1), "orders.csv", "The file is larger than 20 MB; split it into smaller files."),
    ],
)
def test_a_file_that_cannot_be_read_is_one_error_at_row_0(content, filename, reason):
    # given an unreadable file

    # when it is parsed
    result = parse(content, filename)

    # then there is one file-level error and nothing else
    assert result == ImportResult(orders=[], errors=[RowError(row=0, column="", reason=reason)], rows=0)


def test_a_file_over_the_row_limit_is_refused_before_validation():
    # given one data row more than allowed
    line = row("R-1")
    content = (HEADER + "\n" + (line + "\n") * (MAX_ROWS + 1)).encode()

    # when it is parsed
    result = parse(content)

    # then the limit is the only error
    assert result.errors == [
        RowError(row=0, column="", reason="The file has more than 50,000 rows; split it into smaller files.")
    ]


def test_an_import_result_cannot_carry_orders_and_errors_together():
    # given a parsed order and an error
    (order,) = parse(csv_file(row("G-1"))).orders

    # when / then a result holding both is refused
    with pytest.raises(ValueError, match="must not carry orders"):
        ImportResult(orders=[order], errors=[RowError(row=2, column="sku", reason="x")], rows=1)
