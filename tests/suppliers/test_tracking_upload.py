"""The tracking upload service: the whole file checked first, all of it shipped or nothing, every problem by
row, column and reason; another supplier's dispatch reads like none; a handful of queries for any length."""

from __future__ import annotations

import io

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from core.spreadsheets import template_csv, template_xlsx
from suppliers.models import Dispatch, DispatchEvent, Parcel, ParcelLine
from suppliers.shipping import ParcelSpec, dispatch_ship
from suppliers.tracking_upload import tracking_upload
from tests.suppliers.fixtures.dispatches import make_dispatch, make_dispatches

D = Dispatch.Status
SF = ["SF1234567890123", "SF1234567890124", "SF1234567890125", "SF1234567890126"]
UPS = "1Z999AA10123456784"  # UPS's published sample number
HEAD = ["dispatch", "carrier", "tracking_number"]
SPLIT = ["dispatch", "carrier", "tracking_number", "sku", "quantity"]


def csv_file(columns, *rows) -> bytes:
    return template_csv(columns=columns, rows=[dict(zip(columns, row, strict=False)) for row in rows])


def upload(supplier, content: bytes, filename: str = "tracking.csv"):
    return tracking_upload(supplier=supplier, content=content, filename=filename)


def problems(report) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in report.errors]


def nothing_shipped():
    assert not Parcel.objects.exists()
    assert not Dispatch.objects.filter(status=D.SHIPPED).exists()
    assert not DispatchEvent.objects.filter(to_state=D.SHIPPED).exists()


# ------------------------------------------------------------------ what ships


def test_one_row_per_dispatch_ships_each_in_one_parcel(acme, django_capture_on_commit_callbacks):
    first, second = make_dispatches(acme, 2, ("MUG", 2), ("TEE", 1))
    Dispatch.objects.filter(pk=second.pk).update(status=D.ACCEPTED)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        report = upload(acme, csv_file(HEAD, (first.number, "顺丰", SF[0]), (second.number.lower(), "UPS", UPS)))

    assert report.ok, report.errors
    assert (report.rows, report.dispatches, report.parcels) == (2, [first.number, second.number], 2)
    assert set(Dispatch.objects.values_list("status", flat=True)) == {D.SHIPPED}
    assert Dispatch.objects.filter(shipped_at__isnull=True).count() == 0
    parcel = Parcel.objects.get(dispatch=first)
    assert (parcel.carrier, parcel.tracking_number) == ("sf", SF[0]) and SF[0] in parcel.tracking_url
    assert sorted(ParcelLine.objects.filter(parcel=parcel).values_list("quantity", flat=True)) == [1, 2]
    assert DispatchEvent.objects.filter(to_state=D.SHIPPED).count() == 2
    # The order lifecycle follows the dispatches after the commit: one task for the batch, by name.
    assert [callback.args[0] for callback in sent] == ["orders.dispatches_changed"]
    assert [sorted(callback.keywords["args"][0]) for callback in sent] == [sorted([first.pk, second.pk])]


def test_sku_rows_split_a_dispatch_over_parcels(acme):
    dispatch = make_dispatch(acme, ("MUG", 3), ("TEE", 1))

    report = upload(
        acme,
        csv_file(
            SPLIT,
            (dispatch.number, "SF", SF[0], "MUG", "2"),
            (dispatch.number, "SF", SF[0], "TEE", "1"),  # same number: the same parcel, another SKU
            (dispatch.number, "中通", "75312345678901", "MUG", "1"),
        ),
    )

    assert report.ok, report.errors
    held = {
        (parcel_line.parcel.tracking_number, parcel_line.dispatch_line.product.sku): parcel_line.quantity
        for parcel_line in ParcelLine.objects.select_related("parcel", "dispatch_line__product")
    }
    assert held == {(SF[0], "MUG"): 2, (SF[0], "TEE"): 1, ("75312345678901", "MUG"): 1}


def test_a_row_without_sku_holds_the_rest(acme):
    dispatch = make_dispatch(acme, ("MUG", 3), ("TEE", 1))

    report = upload(
        acme, csv_file(SPLIT, (dispatch.number, "SF", SF[0], "MUG", "1"), (dispatch.number, "SF", SF[1], "", ""))
    )

    assert report.ok, report.errors
    held = set(ParcelLine.objects.values_list("parcel__tracking_number", "dispatch_line__product__sku", "quantity"))
    assert held == {(SF[0], "MUG", 1), (SF[1], "MUG", 2), (SF[1], "TEE", 1)}


def test_chinese_headers_and_other_names_are_read(acme):
    dispatch = make_dispatch(acme, ("MUG", 2))
    content = csv_file(
        ["发货单号", "快递公司", "物流单号", "商品编码", "数量"], (dispatch.number, "顺丰速运", SF[0], "MUG", "2")
    )

    report = upload(acme, content)

    assert report.ok, report.errors
    assert Parcel.objects.get().tracking_number == SF[0]


def test_xlsx_with_numbers_as_numbers(acme):
    dispatch = make_dispatch(acme, ("MUG", 2))
    workbook = Workbook()
    workbook.active.append(["Dispatch", "Carrier", "Tracking Number", "SKU", "Qty"])
    workbook.active.append([dispatch.number, "ZTO", 75312345678901, "MUG", 2.0])  # Excel's numbers
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = upload(acme, buffer.getvalue(), "tracking.xlsx")

    assert report.ok, report.errors
    assert Parcel.objects.get().tracking_number == "75312345678901"


def test_utf8_with_bom_and_gbk_csv_are_read(acme):
    first, second = make_dispatches(acme, 2, ("MUG", 1))
    text = f"发货单号,快递公司,快递单号\r\n{first.number},顺丰,{SF[0]}\r\n"

    assert upload(acme, ("\ufeff" + text).encode("utf-8")).ok
    assert upload(acme, text.replace(first.number, second.number).replace(SF[0], SF[1]).encode("gbk")).ok
    assert Parcel.objects.count() == 2


def test_undecodable_csv_says_to_save_as_utf8(acme):
    report = upload(acme, b"dispatch,carrier,tracking_number\r\nD1,\xff\xfe\xfa\x80,1\r\n")

    assert not report.ok
    assert "UTF-8" in report.errors[0].reason
    nothing_shipped()


def test_blank_rows_and_unfilled_template_rows_are_skipped(acme):
    shipped, waiting = make_dispatches(acme, 2, ("MUG", 1))
    content = csv_file(HEAD, (shipped.number, "SF", SF[0]), ("", "", ""), (waiting.number, "", ""))

    report = upload(acme, content)

    assert report.ok and report.rows == 2 and report.skipped == 1
    assert Dispatch.objects.get(pk=waiting.pk).status == D.PENDING


def test_other_carrier_ships_with_a_warning(acme):
    dispatch = make_dispatch(acme, ("MUG", 1))

    report = upload(acme, csv_file(HEAD, (dispatch.number, "其他", "LOCAL-123456")))

    assert report.ok
    assert [(w.row, w.column) for w in report.warnings] == [(2, "carrier")]
    assert Parcel.objects.get().tracking_url == ""


# ------------------------------------------------------------------ every failure ships nothing


def test_every_failure_is_reported_by_row_and_column_and_nothing_ships(acme, bolt):
    good, not_shippable, used_on, unknown_carrier, bad_number, split = make_dispatches(acme, 6, ("MUG", 2))
    theirs = make_dispatch(bolt, ("MUG", 1))
    Dispatch.objects.filter(pk=not_shippable.pk).update(status=D.REJECTED)
    dispatch_ship(dispatch=used_on, parcels=[ParcelSpec("sf", SF[3])])
    content = csv_file(
        SPLIT,
        (good.number, "SF", SF[0], "", ""),  # 2: fine on its own
        ("D99999999", "SF", SF[1], "", ""),  # 3: no such dispatch
        (theirs.number, "SF", SF[2], "", ""),  # 4: another supplier's: reads the same
        (not_shippable.number, "SF", "SF1234567890127", "", ""),  # 5: rejected
        (unknown_carrier.number, "Pigeon Post", "PP1", "", ""),  # 6: unknown carrier
        (bad_number.number, "UPS", "1Z999AA10123456785", "", ""),  # 7: bad check digit
        (split.number, "SF", SF[3], "MUG", "2"),  # 8: number used on another dispatch
        (split.number, "SF", SF[0], "MUG", "x"),  # 9: number twice in the file; bad quantity
        ("", "SF", "SF1234567890128", "", ""),  # 10: dispatch missing
    )

    report = upload(acme, content)

    assert not report.ok
    assert problems(report) == [
        (3, "dispatch"),
        (4, "dispatch"),
        (5, "dispatch"),
        (6, "carrier"),
        (7, "tracking_number"),
        (8, "tracking_number"),
        (9, "tracking_number"),
        (9, "quantity"),
        (10, "dispatch"),
    ]
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert reasons[(3, "dispatch")] == reasons[(4, "dispatch")].replace(theirs.number, "D99999999")
    assert "rejected" in reasons[(5, "dispatch")]
    assert "check digit" in reasons[(7, "tracking_number")]
    assert "row 2" in reasons[(9, "tracking_number")]
    assert Parcel.objects.count() == 1  # the one shipped before
    assert Dispatch.objects.filter(status=D.SHIPPED).count() == 1


def test_missing_column_is_a_header_problem(acme):
    report = upload(acme, csv_file(["dispatch", "tracking_number", "colour"], ("D00000001", SF[0], "red")))

    assert problems(report) == [(1, "colour"), (1, "carrier")]
    assert "快递公司" in report.errors[1].reason
    nothing_shipped()


def test_sku_column_needs_quantity(acme):
    report = upload(acme, csv_file(["dispatch", "carrier", "tracking_number", "sku"], ("D1", "SF", SF[0], "MUG")))

    assert problems(report) == [(1, "quantity")]


def test_several_rows_without_sku_are_refused_with_the_reason(acme):
    dispatch = make_dispatch(acme, ("MUG", 2))

    report = upload(acme, csv_file(HEAD, (dispatch.number, "SF", SF[0]), (dispatch.number, "SF", SF[1])))

    assert problems(report) == [(2, "sku")]
    assert "2 parcels" in report.errors[0].reason and "SKU" in report.errors[0].reason
    nothing_shipped()


def test_sku_not_on_the_dispatch(acme):
    dispatch = make_dispatch(acme, ("MUG", 2))

    report = upload(
        acme, csv_file(SPLIT, (dispatch.number, "SF", SF[0], "MUG", "2"), (dispatch.number, "SF", SF[1], "HAT", "1"))
    )

    assert problems(report) == [(3, "sku")]
    assert "HAT" in report.errors[0].reason and "MUG" in report.errors[0].reason
    nothing_shipped()


def test_quantities_must_cover_the_lines_exactly(acme):
    short, over = make_dispatches(acme, 2, ("MUG", 3))
    content = csv_file(
        SPLIT,
        (short.number, "SF", SF[0], "MUG", "1"),
        (short.number, "SF", SF[1], "MUG", "1"),  # one MUG in no parcel
        (over.number, "SF", SF[2], "MUG", "2"),
        (over.number, "SF", SF[3], "MUG", "2"),  # four of three
    )

    report = upload(acme, content)

    assert problems(report) == [(2, "quantity"), (5, "quantity")]
    assert "1 unit(s) of SKU MUG" in report.errors[0].reason
    nothing_shipped()


def test_a_file_too_large_or_too_long_is_refused_before_reading(acme, monkeypatch):
    monkeypatch.setattr("suppliers.tracking_upload.MAX_ROWS", 2)
    dispatches = make_dispatches(acme, 3, ("MUG", 1))

    long = upload(acme, csv_file(HEAD, *((d.number, "SF", SF[i]) for i, d in enumerate(dispatches))))
    monkeypatch.setattr("suppliers.tracking_upload.MAX_BYTES", 10)
    large = upload(acme, csv_file(HEAD, (dispatches[0].number, "SF", SF[0])))

    assert "at most 2 rows" in long.errors[0].reason
    assert "larger than" in large.errors[0].reason
    nothing_shipped()


def test_garbage_is_refused_clearly(acme):
    assert "not an Excel workbook" in upload(acme, b"nope", "x.xlsx").errors[0].reason
    assert "empty" in upload(acme, b"", "x.csv").errors[0].reason
    assert "no rows" in upload(acme, csv_file(HEAD)).errors[0].reason


# ------------------------------------------------------------------ bulk


def test_a_long_file_takes_a_handful_of_queries(acme, django_capture_on_commit_callbacks):
    dispatches = make_dispatches(acme, 300, ("MUG", 2), ("TEE", 1))
    rows = [
        {"dispatch": d.number, "carrier": "SF", "tracking_number": f"SF{1000000000000 + i}"}
        for i, d in enumerate(dispatches)
    ]
    content = template_xlsx(columns=HEAD, rows=rows, sheet_title="t")

    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as queries:
        report = upload(acme, content, "big.xlsx")

    assert report.ok and len(report.dispatches) == 300
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]
    assert Parcel.objects.count() == 300 and ParcelLine.objects.count() == 600


def test_dispatches_are_locked_in_id_order_whatever_the_order_of_the_rows(
    acme, monkeypatch, django_capture_on_commit_callbacks
):
    first, second, third = make_dispatches(acme, 3, ("MUG", 1))
    monkeypatch.setattr("suppliers.tracking_upload._QUERY_CHUNK", 1)  # one lock statement per dispatch
    rows = [(d.number, "SF", number) for d, number in zip((third, first, second), SF, strict=False)]

    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as queries:
        report = upload(acme, csv_file(HEAD, *rows))

    assert report.ok
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] and '"number" IN' in q["sql"]]
    assert [[d.number for d in (first, second, third) if d.number in sql] for sql in locks] == [
        [first.number], [second.number], [third.number]
    ]  # fmt: skip
