"""A supplier's stock reports (inventory.supplier_stock): available = on hand beyond what is reserved, only the
supplier's own products, all rows or none; the spreadsheet upload; routing's in-stock strategy sees the reports."""

from __future__ import annotations

import io
import logging

import pytest
from openpyxl import Workbook

from inventory.models import Stock
from inventory.stock import stock_reserve
from inventory.supplier_stock import StockReportRefused, stock_report, stock_upload
from orders.routing.services import route_orders
from suppliers.models import DispatchLine
from tests.orders.routing_factories import activate_rules, add_source, make_order, make_product, make_supplier

UNKNOWN = "No product you supply has the SKU “{}”."


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


@pytest.fixture
def bolt(in_a):
    return make_supplier("Bolt")


@pytest.fixture
def reporter(in_a, make_user, acme):
    return make_user(in_a, "supplier", supplier=acme, email="stock@acme.test")


def levels(source) -> tuple[int, int] | None:
    stock = Stock.objects.filter(source=source).first()
    return (stock.on_hand, stock.reserved) if stock else None


def everything() -> list[tuple]:
    return list(Stock.objects.order_by("source_id").values_list("source_id", "on_hand", "reserved", "updated_by"))


# ---------------------------------------------------------------------------
# Reports


def test_a_first_report_starts_tracking_and_names_the_reporter(acme, reporter):
    tee = add_source(make_product("TEE"), acme)

    report = stock_report(supplier=acme, rows=[("TEE", 12)], actor=reporter)

    assert (report.rows, report.created, report.updated) == (1, 1, 0)
    stock = Stock.objects.get(source=tee)
    assert (stock.on_hand, stock.reserved, stock.available, stock.updated_by) == (12, 0, 12, "stock@acme.test")


def test_the_log_line_names_the_reporter_by_id_and_never_by_e_mail(acme, reporter, caplog):
    add_source(make_product("TEE"), acme)

    with caplog.at_level(logging.INFO, logger="inventory.supplier_stock"):
        stock_report(supplier=acme, rows=[("TEE", 3)], actor=reporter)

    (record,) = [r for r in caplog.records if r.getMessage() == "stock reported"]
    assert (record.supplier, record.actor) == (acme.pk, reporter.pk)
    assert "stock@acme.test" not in repr(vars(record))


def test_reserved_units_are_kept_whatever_is_reported(acme, reporter):
    mug = add_source(make_product("MUG"), acme, stock=5)
    stock_reserve(deltas={mug.pk: 2})

    stock_report(supplier=acme, rows=[("MUG", 0)], actor=reporter)
    assert levels(mug) == (2, 2)  # nothing more to ship, the two reserved still there

    stock_report(supplier=acme, rows=[(" MUG ", "7")], actor=reporter)
    assert levels(mug) == (9, 2)


def test_a_report_of_many_rows_sets_each_in_one_go(acme, reporter):
    sources = [add_source(make_product(f"SKU-{i}"), acme, stock=1 if i % 2 else None) for i in range(6)]

    report = stock_report(supplier=acme, rows=[(f"SKU-{i}", i * 10) for i in range(6)], actor=reporter)

    assert (report.rows, report.created, report.updated) == (6, 3, 3)
    assert [levels(s) for s in sources] == [(i * 10, 0) for i in range(6)]


def test_another_suppliers_product_is_refused_like_an_unknown_sku_and_nothing_is_written(acme, bolt, reporter):
    add_source(make_product("OURS"), acme, stock=1)
    theirs = add_source(make_product("THEIRS"), bolt, stock=4)
    before = everything()

    with pytest.raises(StockReportRefused) as refused:
        stock_report(supplier=acme, rows=[("OURS", 50), ("THEIRS", 0), ("NOBODY", 1)], actor=reporter)

    assert [(p.row, p.column, p.reason) for p in refused.value.problems] == [
        (2, "sku", UNKNOWN.format("THEIRS")),
        (3, "sku", UNKNOWN.format("NOBODY")),
    ]
    assert refused.value.message_dict["rows"][0] == f"Row 2, sku: {UNKNOWN.format('THEIRS')}"
    assert everything() == before
    assert levels(theirs) == (4, 0)


def test_every_problem_of_a_report_is_listed_by_row_and_nothing_is_written(acme, reporter):
    for sku in ("A", "B", "C"):
        add_source(make_product(sku), acme, stock=3)
    before = everything()

    with pytest.raises(StockReportRefused) as refused:
        stock_report(
            supplier=acme,
            rows=[("A", 5), ("", 1), ("A", 2), ("B", -1), ("C", "many"), ("A ", True), ("B", 10**12)],
            actor=reporter,
        )

    assert [(p.row, p.column) for p in refused.value.problems] == [
        (2, "sku"),
        (3, "sku"),
        (4, "available"),
        (5, "available"),
        (6, "sku"),
        (6, "available"),
        (7, "sku"),
        (7, "available"),
    ]
    assert "Row 1 already reports A." in [p.reason for p in refused.value.problems]
    assert everything() == before


def test_an_empty_report_is_refused(acme, reporter):
    with pytest.raises(StockReportRefused):
        stock_report(supplier=acme, rows=[], actor=reporter)


def test_a_product_the_supplier_sources_twice_is_refused_rather_than_guessed(acme, reporter):
    mug = make_product("MUG")
    add_source(mug, acme, regions=[{"country": "US"}])
    add_source(mug, acme, regions=[{"country": "CN"}])

    with pytest.raises(StockReportRefused, match="through 2 sources"):
        stock_report(supplier=acme, rows=[("MUG", 4)], actor=reporter)
    assert not Stock.objects.exists()


# ---------------------------------------------------------------------------
# Routing sees the reports


def test_in_stock_first_routes_to_the_supplier_that_reported_stock_and_skips_one_reporting_none(
    store, acme, bolt, reporter
):
    mug = make_product("MUG")
    first, second, third = add_source(mug, acme), add_source(mug, bolt), add_source(mug, make_supplier("Cato"))
    activate_rules(("sourcing", {"strategy": "in_stock_first"}))

    # Before any report nothing is confirmed: the path decides.
    before = make_order(store, ("MUG", 1), external_id="before")
    route_orders(order_ids=[before.pk], trigger="ingest")
    assert DispatchLine.objects.get(order=before).source_id == first.pk

    # Bolt reports stock: confirmed stock comes before Acme's unconfirmed, earlier place on the path.
    stock_report(supplier=bolt, rows=[("MUG", 5)], actor="bolt@bolt.test")
    after = make_order(store, ("MUG", 2), external_id="after")
    route_orders(order_ids=[after.pk], trigger="ingest")
    line = DispatchLine.objects.get(order=after)
    assert (line.source_id, line.reserved) == (second.pk, 2)
    assert levels(second) == (5, 2)

    # Bolt has nothing more (its two reserved units stay), Acme reports none: both skipped, Cato gets it.
    stock_report(supplier=bolt, rows=[("MUG", 0)], actor="bolt@bolt.test")
    stock_report(supplier=acme, rows=[("MUG", 0)], actor=reporter)
    assert (levels(first), levels(second)) == ((0, 0), (2, 2))
    last = make_order(store, ("MUG", 1), external_id="last")
    route_orders(order_ids=[last.pk], trigger="ingest")
    assert DispatchLine.objects.get(order=last).source_id == third.pk


# ---------------------------------------------------------------------------
# The spreadsheet upload


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_upload_with_chinese_headers_sets_every_row(acme, reporter):
    tee, mug = add_source(make_product("TEE"), acme), add_source(make_product("MUG"), acme, stock=3)
    content = "商品编码,商品名称,可用库存\nTEE,T恤,8\nMUG,马克杯,0\n".encode("gb18030")

    report = stock_upload(supplier=acme, content=content, filename="库存.csv", actor=reporter)

    assert report.ok, report.errors
    assert (report.rows, report.created, report.updated) == (2, 1, 1)
    assert (levels(tee), levels(mug)) == ((8, 0), (0, 0))


def test_an_xlsx_upload_reads_numbers_as_excel_stores_them(acme, reporter):
    tee = add_source(make_product("TEE"), acme)

    report = stock_upload(
        supplier=acme, content=xlsx([["SKU", "Available"], ["TEE", 15.0]]), filename="stock.xlsx", actor=reporter
    )

    assert report.ok, report.errors
    assert levels(tee) == (15, 0)


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"", "stock.csv", [(0, "", "The file is empty")]),
        (b"sku,available\n", "stock.csv", [(0, "", "no rows")]),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "stock.xls", [(0, "", ".xls files cannot be read")]),
        (b"PK\x03\x04broken", "stock.xlsx", [(0, "", "could not be read as an Excel workbook")]),
        (b"sku,qty\nTEE,1\n", "stock.csv", [(1, "qty", "not a column"), (1, "available", "is missing")]),
        (b"sku,available,available\nTEE,1,2\n", "stock.csv", [(1, "available", "more than once")]),
        (
            b"sku,available\nTEE,5\nTHEIRS,1\nNOBODY,1\nMUG,-2\nMUG,1\n,3\nTEE,1,extra\n",
            "stock.csv",
            [
                (3, "sku", "No product you supply has the SKU “THEIRS”."),
                (4, "sku", "No product you supply has the SKU “NOBODY”."),
                (5, "available", "not a whole number"),
                (6, "sku", "Row 5 already reports MUG."),
                (7, "sku", "A SKU is required."),
                (8, "", "a column without a header"),
                (8, "sku", "Row 2 already reports TEE."),
            ],
        ),
    ],
    ids=["empty", "header-only", "xls", "damaged-xlsx", "unknown-column", "twice", "bad-rows"],
)
def test_a_malformed_upload_applies_nothing_and_names_row_column_and_reason(
    acme, bolt, reporter, content, filename, expected
):
    add_source(make_product("TEE"), acme, stock=1)
    add_source(make_product("MUG"), acme)
    add_source(make_product("THEIRS"), bolt, stock=9)
    before = everything()

    report = stock_upload(supplier=acme, content=content, filename=filename, actor=reporter)

    assert not report.ok
    assert report.error_count == len(expected)
    got = [(e.row, e.column, e.reason) for e in report.errors]
    for (row, column, reason), (want_row, want_column, want_reason) in zip(got, expected, strict=True):
        assert (row, column) == (want_row, want_column), got
        assert want_reason in reason, got
    assert everything() == before
