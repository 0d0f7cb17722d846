"""core.exports: CSV with a BOM and XLSX in write-only mode, opened back; formula injection neutralised; progress."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from core import exports as exports_module
from core.exports import (
    ExportTable,
    money_number_format,
    safe_cell,
    sheet_title,
    stream_csv_response,
    write_csv,
    write_xlsx,
)

INJECTIONS = ['=HYPERLINK("http://evil.test","click")', "+1", "@SUM(A1:A2)", "\t=1", "\r=1", "-2+3"]


def _table(rows, *, currency: str = "CNY", title: str = "对账单 ST-1") -> ExportTable:
    rows = list(rows)
    return ExportTable(
        title=title,
        columns=["Date", "Product", "Qty", "Amount", "Note"],
        count=len(rows),
        rows=iter(rows),
        currency=currency,
    )


ROWS = [
    (dt.date(2026, 10, 4), "青花瓷杯 Mug", 2, Decimal("10.50"), "ok"),
    (dt.date(2026, 10, 5), "Plate", 1, Decimal("-3.10"), "-3.10"),
    (None, "Bowl", None, Decimal("1E+2"), None),
]


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


# ---------------------------------------------------------------- safe_cell


@pytest.mark.parametrize("text", INJECTIONS)
def test_text_that_starts_a_formula_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", [Decimal("-3.10"), -3, 0, 2.5, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 8, 0), None, "plain", "a=1"]
)
def test_numbers_dates_and_harmless_text_stay_as_they_are(value):
    assert safe_cell(value) == value
    assert type(safe_cell(value)) is type(value)


def test_any_other_object_becomes_its_neutralised_text():
    class Odd:
        def __str__(self) -> str:
            return "=1+1"

    assert safe_cell(Odd()) == "'=1+1"


# ---------------------------------------------------------------- CSV


def test_csv_has_a_bom_keeps_chinese_and_prints_decimals_plainly():
    out = io.BytesIO()

    written = write_csv(_table(ROWS), out)

    assert written == 3
    rows = _csv_rows(out.getvalue())
    assert rows[0] == ["Date", "Product", "Qty", "Amount", "Note"]
    assert rows[1] == ["2026-10-04", "青花瓷杯 Mug", "2", "10.50", "ok"]
    # A Decimal stays a number; the same text in a text column is neutralised.
    assert rows[2] == ["2026-10-05", "Plate", "1", "-3.10", "'-3.10"]
    assert rows[3] == ["", "Bowl", "", "100", ""]
    assert out.getvalue().count(b"\r\n") == 4


def test_csv_neutralises_every_injection_and_the_header():
    table = ExportTable(title="t", columns=["=cmd", "Note"], count=len(INJECTIONS), rows=[(1, t) for t in INJECTIONS])
    out = io.BytesIO()

    write_csv(table, out)

    rows = _csv_rows(out.getvalue())
    assert rows[0] == ["'=cmd", "Note"]
    assert [row[1] for row in rows[1:]] == ["'" + t for t in INJECTIONS]


def test_csv_writes_an_aware_datetime_in_the_time_zone_current_when_the_table_was_made():
    moment = dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC)
    with timezone.override("Asia/Shanghai"):
        table = ExportTable(title="t", columns=["At"], count=1, rows=[(moment,)])
    out = io.BytesIO()

    write_csv(table, out)

    assert _csv_rows(out.getvalue())[1] == ["2026-11-01 00:30:00"]


def test_csv_leaves_the_callers_file_open():
    out = io.BytesIO()
    write_csv(_table(ROWS), out)
    assert not out.closed
    out.write(b"")


def test_progress_is_called_every_n_rows_and_at_the_end():
    rows = [(None, f"p{i}", i, Decimal(i), "") for i in range(7)]
    seen: list[int] = []
    write_csv(_table(rows), io.BytesIO(), seen.append, every=3)
    assert seen == [3, 6, 7]

    seen.clear()
    write_xlsx(_table(rows), io.BytesIO(), seen.append, every=3)
    assert seen == [3, 6, 7]


def test_stream_csv_response_sends_the_same_bytes_with_a_utf8_file_name():
    out = io.BytesIO()
    write_csv(_table(ROWS), out)

    response = stream_csv_response(_table(ROWS), "对账单-ST-1.csv")

    assert b"".join(response.streaming_content) == out.getvalue()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert (
        disposition.startswith("attachment;") and "filename*=utf-8''%E5%AF%B9%E8%B4%A6%E5%8D%95-ST-1.csv" in disposition
    )


# ---------------------------------------------------------------- XLSX


def _sheet(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def test_xlsx_header_is_bold_and_frozen_and_values_keep_their_types():
    out = io.BytesIO()

    written = write_xlsx(_table(ROWS), out)

    assert written == 3
    sheet = _sheet(out.getvalue())
    assert sheet.title == "对账单 ST-1"
    assert [c.value for c in sheet[1]] == ["Date", "Product", "Qty", "Amount", "Note"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    date, product, qty, amount, _note = sheet[2]
    assert date.is_date and date.value.date() == dt.date(2026, 10, 4) and date.number_format == "yyyy-mm-dd"
    assert product.value == "青花瓷杯 Mug"
    assert qty.value == 2 and qty.data_type == "n"
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("10.50")
    assert amount.number_format == "#,##0.00##"
    # A Decimal −3.10 is a number; the text "-3.10" is neutralised text.
    assert sheet["D3"].value == -3.1 and sheet["D3"].data_type == "n"
    assert sheet["E3"].value == "'-3.10" and sheet["E3"].data_type == "s"
    assert sheet["A4"].value is None and sheet["D4"].value == 100


def test_xlsx_comes_back_with_every_injection_as_text():
    table = ExportTable(title="t", columns=["Note"], count=len(INJECTIONS), rows=[(t,) for t in INJECTIONS])
    out = io.BytesIO()

    write_xlsx(table, out)

    sheet = _sheet(out.getvalue())
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # Without lxml, XML reads a carriage return back as a line feed; the apostrophe is there all the same.
    assert [c.value.replace("\r", "\n") for c in cells] == ["'" + t.replace("\r", "\n") for t in INJECTIONS]
    assert {c.data_type for c in cells} == {"s"}


def test_xlsx_number_format_follows_the_currency_and_none_without_one():
    rows = [(None, "x", 1, Decimal("1500"), "")]
    jpy, plain = io.BytesIO(), io.BytesIO()
    write_xlsx(_table(rows, currency="JPY"), jpy)
    write_xlsx(_table(rows, currency=""), plain)
    assert _sheet(jpy.getvalue())["D2"].number_format == "#,##0"
    assert _sheet(plain.getvalue())["D2"].number_format == "General"
    assert money_number_format("KWD") == "#,##0.000#"


def test_xlsx_drops_control_characters_xml_cannot_hold_and_writes_local_datetimes():
    moment = dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC)
    with timezone.override("Asia/Shanghai"):
        table = ExportTable(title="a/b:c*d?[e]", columns=["Note", "At"], count=1, rows=[("bell\x07 ok", moment)])
    out = io.BytesIO()

    write_xlsx(table, out)

    sheet = _sheet(out.getvalue())
    assert sheet["A2"].value == "bell ok"
    assert sheet["B2"].value == dt.datetime(2026, 11, 1, 0, 30)
    assert sheet.title == "a b c d  e"


def test_sheet_title_is_cut_to_what_excel_allows():
    assert sheet_title("x" * 40) == "x" * 31
    assert sheet_title("///") == "Sheet"


def test_xlsx_of_many_rows_is_written_by_the_write_only_workbook(monkeypatch):
    made = []
    real = exports_module.Workbook

    def spy(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(exports_module, "Workbook", spy)
    rows = [(dt.date(2026, 10, 1), f"p{i}", i, Decimal("1.25"), "") for i in range(3000)]
    out = io.BytesIO()

    assert write_xlsx(_table(rows), out) == 3000

    assert made == [{"write_only": True}]
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).active
    assert sum(Decimal(str(r[3])) for r in sheet.iter_rows(min_row=2, values_only=True)) == Decimal("3750")
