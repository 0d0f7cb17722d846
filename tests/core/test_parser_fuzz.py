"""Every upload parser, fed generated hostile files (malformed CSV and XLSX, wrong encodings, huge cells, formula
cells, NUL bytes, quotes left open, random bytes), answers with a clear error (TableError, or a report whose
errors are RowErrors) or a valid result, never another exception; and an import that fails writes nothing.

Seeded and bounded (derandomize, a fixed number of examples) so it runs the same on every machine, in seconds.
"""

from __future__ import annotations

import io
import zoneinfo
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from channels.adapters import spreadsheet as order_file
from core import spreadsheets
from core.spreadsheets import RowError, TableError
from inventory import imports, mapping_import, supplier_stock
from inventory.models import Listing, Product, Source
from settlement import payout_formats
from settlement import payout_formats_alipay as alipay
from settlement import payout_formats_shopify as shopify
from settlement import payout_formats_wechat as wechat
from suppliers import tracking_upload

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None)
FUZZ_DB = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Header words the parsers know, so generated files get past the header often enough to reach the rows.
KNOWN = sorted(
    {
        *order_file.CHINESE_HEADERS,
        *order_file.CHINESE_HEADERS.values(),
        *imports.COLUMNS,
        *mapping_import.COLUMNS,
        *supplier_stock.COLUMNS,
        *tracking_upload.COLUMNS,
        *shopify.TRANSACTION_COLUMNS,
        *shopify.PAYOUT_COLUMNS,
        *alipay.COLUMNS,
        *wechat.COLUMNS,
    }
)
NASTY = [
    "",
    " ",
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    '@HYPERLINK("http://x")',
    "a\x00b",
    '"',
    'he said "hi"',
    "line\nbreak",
    "\r",
    "１２３",
    "1e309",
    "NaN",
    "-0",
    "(3.10)",
    "¥12.00",
    "2026-02-30",
    "99999999999999999999999",
    "\ufeff",
    "\u202e\u0000",
    "订单号",
    "x" * (spreadsheets.MAX_CELL_CHARS + 1),
]
cells = st.one_of(st.sampled_from(KNOWN), st.sampled_from(NASTY), st.text(max_size=20))
grids = st.lists(st.lists(cells, min_size=0, max_size=8), min_size=0, max_size=8)


def csv_text(grid: list[list[str]], delimiter: str, quote_all: bool) -> str:
    out = io.StringIO()
    for row in grid:
        line = [f'"{cell}"' if quote_all else cell for cell in row]
        out.write(delimiter.join(line) + "\r\n")
    return out.getvalue()


@st.composite
def csv_files(draw) -> tuple[bytes, str]:
    text = csv_text(draw(grids), draw(st.sampled_from([",", ";", "\t"])), draw(st.booleans()))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030", "latin-1", "cp1252"]))
    content = text.encode(encoding, errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=max(len(content), 1))))
    if cut is not None:
        content = content[:cut]  # cut mid-quote, mid-character
    return content, draw(st.sampled_from(["f.csv", "f.txt", "f.xlsx", "f.xls", "f"]))


def xlsx_of(grid: list[list[str]]) -> bytes:
    book = Workbook()
    for row in grid:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@st.composite
def xlsx_files(draw) -> tuple[bytes, str]:
    content = bytearray(xlsx_of(draw(grids)))
    damage = draw(st.sampled_from(["none", "truncate", "flip"]))
    if damage == "truncate":
        content = content[: draw(st.integers(min_value=0, max_value=len(content)))]
    elif damage == "flip":
        for at in draw(st.lists(st.integers(min_value=0, max_value=len(content) - 1), min_size=1, max_size=8)):
            content[at] ^= 0xFF
    return bytes(content), draw(st.sampled_from(["f.xlsx", "f.csv"]))


files = st.one_of(
    csv_files(),
    xlsx_files(),
    st.tuples(st.binary(max_size=300), st.sampled_from(["f.csv", "f.xlsx", "f.xls"])),
    st.tuples(st.binary(max_size=64).map(lambda head: b"PK\x03\x04" + head), st.just("f.xlsx")),
)


def clear(errors: list) -> None:
    assert all(isinstance(error, RowError) and isinstance(error.reason, str) and error.reason for error in errors)


# ---------------------------------------------------------------- pure parsers (no database)


def _read_table(content: bytes, filename: str) -> None:
    try:
        header, rows = spreadsheets.read_table(content=content, filename=filename)
    except TableError as exc:
        assert str(exc)
        return
    assert isinstance(header, list)
    assert all(number >= 2 and len(row) <= spreadsheets.MAX_COLUMNS for number, row in rows)


def _order_file(content: bytes, filename: str) -> None:
    result = order_file.parse_order_file(content=content, filename=filename, tz=TZ)
    clear(result.errors)
    assert not (result.orders and result.errors)


def _payouts(content: bytes, filename: str) -> None:
    mapping = {"occurred_at": "date", "amount": "amount", "reference": "sku", "currency": "currency"}
    for source in payout_formats.FILE_SOURCES:
        parsed = payout_formats.parse_payouts(
            source=source, content=content, file_name=filename, tz=TZ, mapping=mapping, default_currency="CNY"
        )
        clear(parsed.errors)
        assert not (parsed.rows and parsed.errors)
    payout_formats.detect_source(content=content, file_name=filename)


def _tracking_read(content: bytes, filename: str) -> None:
    read = tracking_upload.read_upload(content, filename)
    if isinstance(read, tracking_upload.UploadReport):
        clear(read.errors)


PURE: dict[str, Callable[[bytes, str], None]] = {
    "read_table": _read_table,
    "order file": _order_file,
    "payout files": _payouts,
    "tracking read": _tracking_read,
}


@pytest.mark.parametrize("parser", list(PURE))
@FUZZ
@given(file=files)
def test_a_parser_answers_any_file_with_a_clear_error_or_a_result(parser, file):
    content, filename = file
    PURE[parser](content, filename)


# ---------------------------------------------------------------- importers (all or nothing, in the database)


def _counts() -> tuple[int, int, int]:
    return Product.objects.count(), Source.objects.count(), Listing.objects.count()


@pytest.fixture
def supplier(in_a, make_supplier):
    return make_supplier(in_a)


@FUZZ_DB
@given(file=files, which=st.sampled_from(["products", "mappings", "stock", "tracking"]))
def test_an_importer_answers_any_file_clearly_and_a_refused_one_writes_nothing(operator, supplier, file, which):
    # (the fixtures are made once for all the examples, which run in the test's one transaction)
    content, filename = file
    before = _counts()
    if which == "products":
        report = imports.products_import(content=content, filename=filename, actor=operator)
    elif which == "mappings":
        report = mapping_import.mappings_import(content=content, filename=filename, actor=operator)
    elif which == "stock":
        report = supplier_stock.stock_upload(supplier=supplier, content=content, filename=filename, actor=operator)
    else:
        report = tracking_upload.tracking_upload(supplier=supplier, content=content, filename=filename, actor=operator)
    clear(report.errors)
    if not report.ok:
        assert _counts() == before


def test_a_product_file_with_one_bad_row_at_the_end_writes_nothing(in_a, operator):
    # given a file whose rows are all good but the last, whose quote is never closed
    good = "".join(f"FZ-{n},Tee {n}\r\n" for n in range(50))
    content = f'sku,name\r\n{good}FZ-50,"Tee 50\r\n'.encode()

    # when it is imported
    report = imports.products_import(content=content, filename="p.csv", actor=operator)

    # then it is refused at the row where the quote opens, and no product exists
    assert [error.reason for error in report.errors] == [
        'Unterminated quote on row 52: a value there opens a quote (") that is never closed.'
    ]
    assert not Product.objects.exists()
