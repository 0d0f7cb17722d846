"""Statement exports: CSV, XLSX and PDF opened back and checked against the page; export jobs with progress; who
may fetch a file (finance any of the tenant's, a supplier only its own, nobody of another tenant)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.html import escape
from openpyxl import load_workbook
from pypdf import PdfReader

from core import exports as core_exports
from core.money import format_money
from settlement import exports
from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import ExportFile, Period, Statement, StatementLine
from settlement.periods import period_for
from settlement.statement_states import statement_issue
from suppliers.models import DispatchLine
from tests.conftest import in_tenant
from tests.inventory.factories import ProductFactory
from tests.settlement.factories import UTC, make_return
from tests.suppliers.factories import SupplierFactory

CHINESE_SUPPLIER = "景德镇青花瓷器厂"
CHINESE_PRODUCT = "青花瓷杯"
INJECTIONS = ['=HYPERLINK("http://evil.test","click")', "+1", "@SUM(A1:A2)", "\t=1", "-2+3"]
AMOUNT = 8  # the Amount column of a statement file


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def jdz(in_a):
    return SupplierFactory(name=CHINESE_SUPPLIER)


def _ship(shop, supplier, *, at, cost: str, quantity: int = 1, product_name: str = "") -> DispatchLine:
    line = shop.ship(supplier, at=at, cost=cost, quantity=quantity)
    if product_name:
        DispatchLine.objects.filter(pk=line.pk).update(product=ProductFactory(name=product_name))
        line.refresh_from_db()
    return line


@pytest.fixture
def closed(shop, jdz, bolt, october, finance) -> Period:
    """October closed. The Chinese supplier's CNY statement: six shipped lines (five products named to inject a
    formula, one in Chinese) on 3 October 17:00 UTC (the 4th in Shanghai), a return and an approved penalty."""
    at = dt.datetime(2026, 10, 3, 17, 0, tzinfo=UTC)
    lines = [
        _ship(shop, jdz, at=at, cost=f"{n + 2}.10", quantity=n + 1, product_name=name)
        for n, name in enumerate([*INJECTIONS, CHINESE_PRODUCT])
    ]
    make_return(lines[1], at=dt.datetime(2026, 10, 20, 3, 0, tzinfo=UTC))
    adjustment_create(period=october, supplier=jdz, currency="CNY", amount="-3.10", reason="late shipment",
                      kind="penalty", approve=True, actor=finance)  # fmt: skip
    _ship(shop, bolt, at=at, cost="9.00")
    period_close(period=october, actor=finance)
    return october


@pytest.fixture
def statement(closed, jdz) -> Statement:
    return Statement.objects.select_related("period", "supplier").get(period=closed, supplier=jdz)


@pytest.fixture
def issued(statement, finance) -> Statement:
    statement_issue(statement=statement, actor=finance)
    statement.refresh_from_db()
    return statement


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def jdz_user(in_a, jdz, make_user):
    return make_user(in_a, "supplier", supplier=jdz)


@pytest.fixture
def portal(in_a, jdz_user, client_for):
    return client_for(in_a, jdz_user)


def _post_export(client, statement: Statement, file_format: str):
    return client.post("/settlement/exports/", {"kind": "statement", "statement": statement.pk, "format": file_format})


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _page_total(client, statement: Statement) -> str:
    """The statement's total as its finance page shows it."""
    page = client.get(f"/settlement/statements/{statement.pk}/").content.decode()
    shown = format_money(statement.total, statement.currency)
    assert escape(shown) in page
    return shown


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _job(statement: Statement, user, file_format: str = "csv", **kwargs) -> ExportFile:
    return exports.export_start(
        kind="statement", file_format=file_format, params={}, user=user, statement=statement, **kwargs
    )


def _count() -> int:
    return ExportFile.objects.count()


# ---------------------------------------------------------------- what a statement file holds


def test_statement_table_has_every_line_with_order_dispatch_sku_and_the_local_date(statement):
    table = exports.statement_table(statement)
    rows = list(table.rows)

    assert table.count == len(rows) == 8 and table.currency == "CNY"
    assert table.title == f"Statement {statement.number}"
    shipped = [r for r in rows if r.kind == "Shipped"]
    assert len(shipped) == 6
    first = shipped[0]
    line = StatementLine.objects.filter(statement=statement, kind="shipped").order_by("id").first().dispatch_line
    assert (first.order, first.dispatch, first.sku) == (
        line.order.order_number,
        line.dispatch.number,
        line.product.sku,
    )
    assert first.date == dt.date(2026, 10, 4)  # 17:00 UTC on the 3rd is the 4th in Shanghai
    assert first.unit_cost == Decimal("2.10") and str(first.amount) == "2.10"
    (returned,) = [r for r in rows if r.kind == "Return"]
    assert returned.date == dt.date(2026, 10, 20) and returned.amount == Decimal("-3.10")
    (penalty,) = [r for r in rows if r.kind == "Penalty"]
    assert penalty.amount == Decimal("-3.10") and penalty.description == "late shipment" and penalty.order == ""
    assert sum(r.amount for r in rows) == statement.total


def test_finance_downloads_a_small_statement_as_csv_at_once(statement, browser):
    response = _post_export(browser, statement, "csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="Statement-{statement.number}.csv"'
    rows = _csv(_content(response))
    assert rows[0] == ["Date", "Kind", "Order", "Dispatch", "SKU", "Product", "Quantity", "Unit cost", "Amount",
                       "Description"]  # fmt: skip
    products = [row[5] for row in rows[1:]]
    assert CHINESE_PRODUCT in products
    assert {"'" + text for text in INJECTIONS} <= set(products)
    total = sum(Decimal(row[AMOUNT]) for row in rows[1:])
    assert format_money(total, "CNY") == _page_total(browser, statement)
    assert total == statement.total
    assert not ExportFile.objects.exists()  # small: no job


def test_finance_downloads_xlsx_whose_amounts_add_up_to_the_total_on_the_page(statement, browser):
    response = _post_export(browser, statement, "xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 8
    amounts = [row[AMOUNT] for row in rows]
    assert {cell.data_type for cell in amounts} == {"n"}
    assert {cell.number_format for cell in amounts} == {"#,##0.00##"}
    total = sum(Decimal(str(cell.value)) for cell in amounts).quantize(Decimal("0.01"))
    assert format_money(total, "CNY") == _page_total(browser, statement)
    products = {row[5].value for row in rows}
    assert CHINESE_PRODUCT in products
    # XML reads "\t=1" back as it was; every injection comes back as text starting with an apostrophe.
    assert {"'" + text for text in INJECTIONS} <= products
    assert all(row[5].data_type == "s" for row in rows if row[5].value is not None)
    assert rows[0][0].is_date and rows[0][0].value.date() == dt.date(2026, 10, 4)


def _pdf_text(content: bytes) -> list[str]:
    """Each page's text; pypdf puts NULs or spaces between an embedded CID font's glyphs: compared without."""
    return ["".join(page.extract_text().replace("\x00", "").split()) for page in PdfReader(io.BytesIO(content)).pages]


def _squeezed(text: str) -> str:
    return "".join(text.split())


def test_statement_pdf_prints_tenant_supplier_period_lines_and_totals(statement, browser, in_a):
    response = _post_export(browser, statement, "pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    (text,) = _pdf_text(response.content)
    for expected in (in_a.name, CHINESE_SUPPLIER, "2026-10", statement.number, "Draft",
                     "Shipped (6 lines)", "Return (1 line)", "Penalty (1 line)", "Page 1 of 1"):  # fmt: skip
        assert _squeezed(expected) in text, expected
    assert _squeezed(format_money(statement.total, "CNY")) in text
    assert "lateshipment" in text


def test_a_long_statement_pdf_repeats_headings_and_numbers_its_pages(in_a, jdz, finance):
    # An open month's statement written directly: 150 lines, one with a description that wraps.
    statement = Statement.objects.create(
        period=period_for(month=dt.date(2026, 11, 1)), supplier=jdz, currency="CNY", number="ST-LONG-CNY",
        total=Decimal("150.00"),
    )  # fmt: skip
    StatementLine.objects.bulk_create(
        StatementLine(statement=statement, kind="adjustment", amount=Decimal("1.00"),
                      description=f"第{n}行 " + ("long words " * 20 if n == 5 else "line"))
        for n in range(150)
    )  # fmt: skip
    out = io.BytesIO()

    printed = exports.statement_pdf(exports.statement_print(statement), out)

    assert printed == 150
    pages = _pdf_text(out.getvalue())
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Page{number}of{len(pages)}" in text
        assert "Description" in text and "Unitcost" in text
        if number > 1:
            assert "ST-LONG-CNY" in text and CHINESE_SUPPLIER in text
    assert "第149行" in pages[-1] and "150.00CNY" in pages[-1]
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert all(page.mediabox.width > page.mediabox.height for page in reader.pages)  # landscape


# ---------------------------------------------------------------- export jobs


def test_api_export_runs_as_a_task_with_progress_and_downloads(statement, in_a, finance, api_for, run_enqueued,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.setattr(core_exports, "PROGRESS_EVERY", 3)
    saved: list[int] = []
    real_saved = exports._saved
    monkeypatch.setattr(exports, "_saved", lambda pk, **values: saved.append(values.get("done_rows")) or real_saved(pk, **values))  # fmt: skip
    api = api_for(in_a, finance)

    with run_enqueued() as sent:
        response = api.post("/api/v1/settlement/exports/", {"kind": "statement", "format": "xlsx",
                                                            "statement": statement.pk}, content_type="application/json")  # fmt: skip
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "running" and body["download_url"] is None and body["total_rows"] == 8
        assert body["url"].endswith(f"/api/v1/settlement/exports/{body['id']}/")
    assert len(sent) == 1

    export = ExportFile.objects.get(pk=body["id"])
    assert export.status == "done" and export.done_rows == export.total_rows == 8
    assert export.supplier_id == statement.supplier_id and export.requested_by == finance
    assert saved[:4] == [0, 3, 6, 8]  # progress saved as rows were written
    assert Path(export.path).parts[:2] == ("exports", in_a.schema_name)
    status = api.get(body["url"]).json()
    assert status["status"] == "done" and status["percent"] == 100 and status["size"] > 0
    download = api.get(status["download_url"])
    assert download.status_code == 200
    assert "filename*=" not in download["Content-Disposition"]
    assert f'filename="Statement-{statement.number}.xlsx"' in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(_content(download))).active
    total = sum(Decimal(str(row[AMOUNT])) for row in sheet.iter_rows(min_row=2, values_only=True))
    assert total == statement.total
    listing = api.get("/api/v1/settlement/exports/").json()
    assert [item["id"] for item in listing] == [export.pk]


def test_a_long_statement_from_its_page_becomes_a_job_with_a_progress_page(statement, browser, run_enqueued,
                                                                           monkeypatch):  # fmt: skip
    monkeypatch.setattr(exports, "INLINE_MAX_LINES", 5)

    with run_enqueued() as sent:
        response = _post_export(browser, statement, "pdf")
        export = ExportFile.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/settlement/exports/{export.pk}/"
        waiting = browser.get(response["Location"]).content.decode()
        assert 'http-equiv="refresh"' in waiting and "Waiting for a worker" in waiting
        assert 'http-equiv="refresh"' in browser.get("/settlement/exports/").content.decode()
    assert len(sent) == 1

    done = browser.get(f"/settlement/exports/{export.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in done and f"/settlement/exports/{export.pk}/download/" in done
    listing = browser.get("/settlement/exports/").content.decode()
    assert f"Statement-{statement.number}.pdf" in listing and 'http-equiv="refresh"' not in listing
    download = browser.get(f"/settlement/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert CHINESE_SUPPLIER in "".join(_pdf_text(_content(download)))


def test_the_statement_pages_offer_the_three_formats(issued, browser, portal):
    finance_page = browser.get(f"/settlement/statements/{issued.pk}/").content.decode()
    portal_page = portal.get(f"/portal/statements/{issued.pk}/").content.decode()
    for page, action in ((finance_page, "/settlement/exports/"),
                         (portal_page, f"/portal/statements/{issued.pk}/export/")):  # fmt: skip
        assert f'action="{action}"' in page
        for file_format in ("csv", "xlsx", "pdf"):
            assert f'name="format" value="{file_format}"' in page


def test_a_failed_export_says_why_for_a_person_and_leaves_no_file(statement, finance, run_enqueued, monkeypatch,
                                                                  _media):  # fmt: skip
    def broken(table, fileobj, progress=None, **kwargs):
        fileobj.write(b"half a file")
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(exports, "write_csv", broken)

    with run_enqueued():
        export = _job(statement, finance)

    export.refresh_from_db()
    assert export.status == "failed" and export.finished is not None
    assert "could not be written" in export.error
    assert "secret" not in export.error and "Traceback" not in export.error
    assert not any(p.is_file() for p in Path(_media).rglob("*"))
    with pytest.raises(Exception, match="not ready"):
        exports.export_file_response(export)


def test_running_an_export_again_leaves_a_finished_one_alone(statement, finance, run_enqueued, _media):
    with run_enqueued():
        export = _job(statement, finance)
    export.refresh_from_db()
    before = (export.status, export.finished, (Path(_media) / export.path).read_bytes())

    again = exports.export_run(export_id=export.pk)

    assert (again.status, again.finished, (Path(_media) / export.path).read_bytes()) == before
    assert exports.export_run(export_id=export.pk + 1000) is None


def test_export_start_refuses_what_it_cannot_make_and_records_nothing(statement, finance, monkeypatch, run_enqueued):
    with run_enqueued() as sent:
        with pytest.raises(ValidationError, match="Unknown export"):
            exports.export_start(kind="payroll", file_format="csv", params={}, user=finance)
        with pytest.raises(ValidationError, match="CSV, XLSX, PDF"):
            _job(statement, finance, "docx")
        with pytest.raises(ValidationError, match="does not exist"):
            exports.export_start(kind="statement", file_format="csv", params={"statement": 0}, user=finance)
        monkeypatch.setattr(exports, "PDF_MAX_LINES", 5)
        with pytest.raises(ValidationError, match="at most 5 lines; this has 8"):
            _job(statement, finance, "pdf")
        with pytest.raises(ValidationError, match="does not exist"):
            _job(statement, finance, supplier=SupplierFactory())
    assert not sent
    assert _count() == 0


def test_the_api_refuses_a_missing_statement_and_an_unknown_format_with_400(statement, in_a, finance, api_for):
    api = api_for(in_a, finance)

    missing = api.post("/api/v1/settlement/exports/", {"format": "csv", "statement": 999999},
                       content_type="application/json")  # fmt: skip
    bad_format = api.post("/api/v1/settlement/exports/", {"format": "docx", "statement": statement.pk},
                          content_type="application/json")  # fmt: skip

    assert missing.status_code == 400 and "statement" in missing.json()
    assert bad_format.status_code == 400 and "format" in bad_format.json()
    assert _count() == 0


def test_a_bad_format_from_the_page_is_refused_with_a_message(statement, browser):
    response = _post_export(browser, statement, "docx")

    assert response.status_code == 302 and response["Location"] == f"/settlement/statements/{statement.pk}/"
    assert "CSV, XLSX, PDF" in browser.get(response["Location"]).content.decode()
    assert _count() == 0


# ---------------------------------------------------------------- the supplier portal


def test_a_supplier_downloads_its_own_statement_at_once_or_through_a_job(issued, portal, run_enqueued, monkeypatch):
    small = portal.post(f"/portal/statements/{issued.pk}/export/", {"format": "csv"})
    assert small.status_code == 200
    assert sum(Decimal(row[AMOUNT]) for row in _csv(_content(small))[1:]) == issued.total

    monkeypatch.setattr(exports, "INLINE_MAX_LINES", 1)
    with run_enqueued():
        response = portal.post(f"/portal/statements/{issued.pk}/export/", {"format": "xlsx"})
    export = ExportFile.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/portal/statements/exports/{export.pk}/"
    progress = portal.get(response["Location"]).content.decode()
    assert f"/portal/statements/exports/{export.pk}/download/" in progress
    download = portal.get(f"/portal/statements/exports/{export.pk}/download/")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(_content(download))).active
    assert sum(Decimal(str(r[AMOUNT])) for r in sheet.iter_rows(min_row=2, values_only=True)) == issued.total


def test_a_supplier_cannot_fetch_another_suppliers_export_nor_one_of_a_draft(issued, bolt, finance, portal,
                                                                            run_enqueued):  # fmt: skip
    with run_enqueued():
        theirs = _job(Statement.objects.get(supplier=bolt), finance)  # Bolt's statement is a draft
        mine = _job(issued, finance)

    for export_id in (theirs.pk, 999999):
        assert portal.get(f"/portal/statements/exports/{export_id}/").status_code == 404
        assert portal.get(f"/portal/statements/exports/{export_id}/download/").status_code == 404
    assert portal.get(f"/portal/statements/exports/{mine.pk}/download/").status_code == 200


def test_a_supplier_cannot_export_another_suppliers_statement_or_a_draft(closed, bolt, jdz, portal, finance):
    theirs = Statement.objects.get(supplier=bolt)
    statement_issue(statement=theirs, actor=finance)
    own_draft = Statement.objects.get(supplier=jdz)  # not issued

    for statement in (theirs, own_draft):
        response = portal.post(f"/portal/statements/{statement.pk}/export/", {"format": "csv"})
        assert response.status_code == 404
    assert _count() == 0


def test_a_supplier_sees_no_draft_export_even_of_its_own_statement(statement, finance, portal, run_enqueued):
    with run_enqueued():
        export = _job(statement, finance)  # a draft: the supplier does not see the statement yet

    assert portal.get(f"/portal/statements/exports/{export.pk}/download/").status_code == 404


# ---------------------------------------------------------------- who may fetch what


def test_finance_may_fetch_any_export_of_the_tenant(statement, in_a, make_user, client_for, finance, run_enqueued):
    with run_enqueued():
        export = _job(statement, finance)
    colleague = client_for(in_a, make_user(in_a, "finance"))
    owner = client_for(in_a, make_user(in_a, "owner"))

    for client in (colleague, owner):
        assert client.get(f"/settlement/exports/{export.pk}/").status_code == 200
        assert client.get(f"/settlement/exports/{export.pk}/download/").status_code == 200
    # The list shows one's own exports only.
    assert f"/settlement/exports/{export.pk}/" not in colleague.get("/settlement/exports/").content.decode()


def test_operator_and_supplier_users_cannot_use_finance_exports(statement, in_a, operator, jdz_user, client_for,
                                                                api_for, finance, run_enqueued):  # fmt: skip
    with run_enqueued():
        export = _job(statement, finance)
    finance_urls = ["/settlement/exports/", f"/settlement/exports/{export.pk}/",
                    f"/settlement/exports/{export.pk}/download/"]  # fmt: skip
    api_urls = ["/api/v1/settlement/exports/", f"/api/v1/settlement/exports/{export.pk}/",
                f"/api/v1/settlement/exports/{export.pk}/download/"]  # fmt: skip

    for user in (operator, jdz_user):
        client, api = client_for(in_a, user), api_for(in_a, user)
        for url in finance_urls:
            assert client.get(url).status_code == 403, (user, url)
        for url in api_urls:
            assert api.get(url).status_code == 403, (user, url)
        assert _post_export(client, statement, "csv").status_code == 403
        assert api.post("/api/v1/settlement/exports/", {"format": "csv", "statement": statement.pk}).status_code == 403
    # The operator has no portal: sent to their own console, never a file.
    response = client_for(in_a, operator).get(f"/portal/statements/exports/{export.pk}/download/")
    assert response.status_code == 302 and "/portal/" not in response["Location"]
    assert _count() == 1


def test_tenant_b_cannot_fetch_tenant_as_export(statement, finance, tenant_b, make_user, client_for, api_for,
                                                run_enqueued):  # fmt: skip
    with run_enqueued():
        export = _job(statement, finance)
    b_finance = make_user(tenant_b, "finance")
    client, api = client_for(tenant_b, b_finance), api_for(tenant_b, b_finance)

    assert client.get(f"/settlement/exports/{export.pk}/").status_code == 404
    assert client.get(f"/settlement/exports/{export.pk}/download/").status_code == 404
    assert api.get(f"/api/v1/settlement/exports/{export.pk}/").status_code == 404
    assert api.get(f"/api/v1/settlement/exports/{export.pk}/download/").status_code == 404
    assert export.file_name not in client.get("/settlement/exports/").content.decode()
    with in_tenant(tenant_b):
        assert not ExportFile.objects.exists()


def test_a_file_outside_the_tenants_folder_is_never_served(statement, finance, browser, run_enqueued, tenant_b,
                                                           _media):  # fmt: skip
    with run_enqueued():
        export = _job(statement, finance)
    elsewhere = Path(_media) / "exports" / tenant_b.schema_name / "theirs.csv"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(b"tenant B's file")

    for path in (f"exports/{tenant_b.schema_name}/theirs.csv", f"exports/{statement.period.pk}/../../x.csv"):
        ExportFile.objects.filter(pk=export.pk).update(path=path)
        assert browser.get(f"/settlement/exports/{export.pk}/download/").status_code == 404


def test_the_exports_list_does_not_query_per_export(statement, finance, browser, django_assert_max_num_queries):
    for file_format in ("csv", "xlsx", "pdf", "csv", "xlsx"):
        _job(statement, finance, file_format)

    with django_assert_max_num_queries(10):
        page = browser.get("/settlement/exports/")

    assert page.status_code == 200 and page.content.decode().count('<tr id="export-') == 5
    assert 'http-equiv="refresh"' in page.content.decode()  # they wait for a worker


def test_the_worker_writes_the_file_in_the_language_it_was_asked_in(statement, finance, run_enqueued, _media):
    with translation.override("zh-hans"), run_enqueued():
        export = _job(statement, finance)
    with run_enqueued():
        english = _job(statement, finance)
    export.refresh_from_db()
    english.refresh_from_db()

    chinese_header = (Path(_media) / export.path).read_bytes().decode("utf-8-sig").splitlines()[0]
    english_header = (Path(_media) / english.path).read_bytes().decode("utf-8-sig").splitlines()[0]
    assert export.params["language"] == "zh-hans" and english.params["language"] == "en"
    assert chinese_header != english_header
    assert re.search(r"[\u4e00-\u9fff]", chinese_header), chinese_header
    assert not re.search(r"[\u4e00-\u9fff]", english_header), english_header
