"""The exports list (/settlement/exports/): filters by kind, format and status combined with a sort, pages that keep
the filters, running exports with their progress and failed ones with their message, a download of exactly the
listed exports; each finance user sees their own by default and the tenant's when asked, a supplier's user none
(their files are behind the portal, their supplier's only), tenant B nothing of tenant A, in Chinese too."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from settlement import exports_views
from settlement.models import ExportFile
from tests.conftest import in_tenant
from tests.settlement.factories import UTC

S = ExportFile.Status


def _export(user, name, *, kind="margins", fmt="csv", status=S.DONE, rows=10, done=10, error="", minute=0, **kw):
    return ExportFile.objects.create(
        kind=kind, file_format=fmt, status=status, requested_by=user, file_name=name, total_rows=rows,
        done_rows=done, error=error, created=dt.datetime(2026, 11, 2, 9, minute, tzinfo=UTC), **kw,
    )  # fmt: skip


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def browser(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def colleague(in_a, make_user):
    return make_user(in_a, "finance")


@pytest.fixture
def files(finance, colleague):
    return {
        "small": _export(finance, "Margins-small.csv", rows=3, minute=1),
        "big": _export(finance, "Margins-big.csv", rows=900, minute=2),
        "xlsx": _export(finance, "Margins-book.xlsx", fmt="xlsx", rows=50, minute=3),
        "rec": _export(finance, "Reconciliation-Oct.csv", kind="reconciliation", rows=70, minute=4),
        "running": _export(finance, "Margins-running.csv", status=S.RUNNING, rows=400, done=100, minute=5),
        "failed": _export(
            finance, "=HYPERLINK(x).csv", status=S.FAILED, error="The file could not be written.", minute=6
        ),
        "theirs": _export(colleague, "Margins-colleague.csv", rows=5, minute=7),
    }


def test_filtered_by_kind_format_and_status_sorted_by_rows(browser, files):
    query = {"kind": "margins", "format": "csv", "status": "done", "sort": "-rows"}

    page = browser.get("/settlement/exports/", query).content.decode()

    assert page.index("Margins-big.csv") < page.index("Margins-small.csv")
    for other in ("Margins-book.xlsx", "Reconciliation-Oct.csv", "Margins-running.csv", "HYPERLINK", "colleague"):
        assert other not in page
    assert '<option value="margins" selected>' in page and '<option value="done" selected>' in page
    # another column's sort keeps the filters, and so does the download
    assert "kind=margins&amp;format=csv&amp;status=done&amp;sort=created" in page
    assert "kind=margins&amp;format=csv&amp;status=done&amp;sort=-rows&amp;export=csv" in page


def test_the_download_holds_exactly_the_listed_exports_with_formulas_neutralised(browser, files):
    rows = _csv(browser.get("/settlement/exports/", {"format": "csv", "sort": "created", "export": "csv"}))

    assert rows[0][:4] == ["File", "Kind", "Format", "Status"]
    assert [row[0] for row in rows[1:]] == [
        "Margins-small.csv", "Margins-big.csv", "Reconciliation-Oct.csv", "Margins-running.csv", "'=HYPERLINK(x).csv",
    ]  # fmt: skip
    assert rows[-1][3] == "Failed" and rows[-1][-1] == "The file could not be written."
    book = browser.get("/settlement/exports/", {"kind": "reconciliation", "export": "xlsx"})
    sheet = list(load_workbook(io.BytesIO(b"".join(book.streaming_content))).active.iter_rows(values_only=True))
    assert [(row[0], row[1], row[6]) for row in sheet[1:]] == [("Reconciliation-Oct.csv", "Reconciliation", 70)]


def test_running_exports_show_progress_and_failed_ones_their_message(browser, files):
    page = browser.get("/settlement/exports/").content.decode()

    assert 'http-equiv="refresh"' in page  # it refreshes itself while one runs
    assert '<progress max="400" value="100"' in page and "100 of 400 rows written" in page
    assert "The file could not be written." in page
    quiet = browser.get("/settlement/exports/", {"status": "done"}).content.decode()
    assert 'http-equiv="refresh"' not in quiet


def test_pages_keep_the_filters(browser, finance, monkeypatch):
    monkeypatch.setattr(exports_views, "EXPORTS_PAGE_SIZE", 2)
    for minute in range(5):
        _export(finance, f"Margins-{minute}.csv", minute=minute)
    _export(finance, "Book.xlsx", fmt="xlsx", minute=9)

    first = browser.get("/settlement/exports/", {"format": "csv", "sort": "created"}).content.decode()
    assert "format=csv&amp;sort=created&amp;page=2" in first
    second = browser.get("/settlement/exports/", {"format": "csv", "sort": "created", "page": 2}).content.decode()
    assert "Margins-2.csv" in second and "Margins-3.csv" in second
    assert "Margins-0.csv" not in second and "Book.xlsx" not in second


def test_each_finance_user_sees_their_own_unless_they_ask_for_everyones(browser, files, in_a, colleague,
                                                                        client_for):  # fmt: skip
    assert "Margins-colleague.csv" not in browser.get("/settlement/exports/").content.decode()
    everyone = browser.get("/settlement/exports/", {"who": "all"}).content.decode()
    assert "Margins-colleague.csv" in everyone and "Margins-big.csv" in everyone

    theirs = client_for(in_a, colleague).get("/settlement/exports/").content.decode()
    assert "Margins-colleague.csv" in theirs and "Margins-big.csv" not in theirs


def test_empty_states_say_what_to_do_next(browser, finance):
    empty = browser.get("/settlement/exports/").content.decode()
    assert "No exports yet." in empty and 'href="/settlement/reconciliation/"' in empty
    _export(finance, "Margins.csv")
    filtered = browser.get("/settlement/exports/", {"format": "pdf"}).content.decode()
    assert "No export matches these filters." in filtered and 'href="/settlement/exports/"' in filtered


def test_other_roles_are_refused_and_a_supplier_fetches_only_its_own(files, in_a, make_user, client_for, acme, bolt):
    mine = _export(None, "acme.csv", kind="statement", supplier=acme)
    other = _export(None, "bolt.csv", kind="statement", supplier=bolt)
    supplier = client_for(in_a, make_user(in_a, "supplier", supplier=acme))
    operator = client_for(in_a, make_user(in_a, "operator"))

    for client in (supplier, operator):
        for query in ({}, {"who": "all"}, {"who": "all", "export": "csv"}):
            assert client.get("/settlement/exports/", query).status_code == 403
    assert supplier.get(f"/portal/statements/exports/{mine.pk}/").status_code == 200
    assert supplier.get(f"/portal/statements/exports/{other.pk}/").status_code == 404


def test_tenant_b_lists_none_of_tenant_as_exports(files, tenant_b, make_user, client_for):
    b = client_for(tenant_b, make_user(tenant_b, "finance"))

    page = b.get("/settlement/exports/", {"who": "all"}).content.decode()
    rows = _csv(b.get("/settlement/exports/", {"who": "all", "export": "csv"}))

    assert "Margins-big.csv" not in page and "No exports yet." in page
    assert rows[1:] == []
    with in_tenant(tenant_b):
        assert not ExportFile.objects.exists()


def test_the_page_is_in_chinese(browser, files):
    with translation.override("en"):  # the middleware leaves the request's language active: put it back
        page = browser.get("/settlement/exports/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<h1>导出记录</h1>" in page
