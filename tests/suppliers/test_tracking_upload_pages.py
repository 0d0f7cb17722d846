"""The tracking upload page and API: templates, the report table, large files in a worker with a progress
page that refreshes itself, and who may upload, download or watch a job."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

import suppliers.tasks  # noqa: F401  run_enqueued finds tasks sent by name in the registry: load ours
from core.spreadsheets import template_csv
from suppliers.models import Dispatch, Parcel
from suppliers.services import supplier_set_active
from suppliers.tracking_upload_jobs import tracking_upload_job
from tests.conftest import in_tenant
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.fixtures.dispatches import make_dispatch, make_dispatches

D = Dispatch.Status
HEAD = ["dispatch", "carrier", "tracking_number"]
URL = "/portal/tracking/upload/"
API = "/api/v1/portal/tracking/upload/"


def sheet(*rows, name: str = "tracking.csv") -> io.BytesIO:
    content = template_csv(columns=HEAD, rows=[dict(zip(HEAD, row, strict=True)) for row in rows])
    file = io.BytesIO(content)
    file.name = name
    return file


def sf(n: int) -> str:
    return f"SF{1234567890000 + n}"


# ------------------------------------------------------------------ page


def test_page_lists_columns_and_templates_list_own_open_dispatches(portal, acme):
    mine = make_dispatch(acme, ("MUG", 1))
    theirs = make_dispatch(SupplierFactory(label="Rival"), ("MUG", 1))

    page = portal.get(URL)
    csv_text = portal.get("/portal/tracking/template.csv").content.decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(portal.get("/portal/tracking/template.xlsx").content))
    cells = [[cell.value for cell in row] for row in workbook.active.iter_rows()]

    assert page.status_code == 200 and "快递公司" in page.content.decode()
    assert csv_text.splitlines()[0] == "dispatch,carrier,tracking_number,sku,quantity"
    assert mine.number in csv_text and theirs.number not in csv_text
    assert cells[1][0] == mine.number and all(theirs.number not in str(row) for row in cells)
    assert portal.get("/portal/tracking/template.pdf").status_code == 404


def test_template_speaks_chinese_in_chinese(portal, acme):
    make_dispatch(acme, ("MUG", 1))
    portal.cookies["django_language"] = "zh-hans"

    first_line = portal.get("/portal/tracking/template.csv").content.decode("utf-8-sig").splitlines()[0]

    assert first_line == "发货单号,快递公司,快递单号,商品编码,数量"


def test_small_upload_ships_at_once(portal, acme, django_capture_on_commit_callbacks):
    dispatch = make_dispatch(acme, ("MUG", 1))

    with django_capture_on_commit_callbacks(execute=False):
        done = portal.post(URL, {"file": sheet((dispatch.number, "SF", sf(1)))})

    assert done.status_code == 302
    assert Parcel.objects.get().dispatch_id == dispatch.pk


def test_refused_upload_shows_the_report_table(portal, acme):
    dispatch = make_dispatch(acme, ("MUG", 1))

    page = portal.post(URL, {"file": sheet((dispatch.number, "SF", "nope"), ("D99999999", "SF", sf(2)))})

    html = page.content.decode()
    assert page.status_code == 200
    assert [(e.row, e.column) for e in page.context["report"].errors] == [(2, "tracking_number"), (3, "dispatch")]
    assert "Nothing was shipped" in html and "D99999999" in html
    assert not Parcel.objects.exists()


def test_large_upload_runs_in_a_worker_with_a_progress_page(portal, acme, monkeypatch, run_enqueued):
    monkeypatch.setattr("suppliers.tracking_upload_jobs.INLINE_ROWS", 2)
    dispatches = make_dispatches(acme, 3, ("MUG", 1))

    with run_enqueued():
        queued = portal.post(URL, {"file": sheet(*((d.number, "SF", sf(i)) for i, d in enumerate(dispatches)))})
        waiting = portal.get(queued["Location"])
        assert waiting.context["job"]["state"] == "queued"
        assert '<meta http-equiv="refresh"' in waiting.content.decode()
        assert not Parcel.objects.exists()
    finished = portal.get(queued["Location"])

    assert finished.context["job"]["state"] == "done" and finished.context["job"]["percent"] == 100
    assert '<meta http-equiv="refresh"' not in finished.content.decode()
    assert "3 dispatches shipped in 3 parcels." in finished.content.decode()
    assert Dispatch.objects.filter(status=D.SHIPPED).count() == 3


def test_large_refused_upload_reports_from_the_worker(portal, acme, monkeypatch, run_enqueued):
    monkeypatch.setattr("suppliers.tracking_upload_jobs.INLINE_ROWS", 1)
    dispatch = make_dispatch(acme, ("MUG", 1))

    with run_enqueued():
        queued = portal.post(URL, {"file": sheet((dispatch.number, "SF", sf(1)), ("D99999999", "SF", sf(2)))})
    finished = portal.get(queued["Location"])

    assert finished.context["job"]["state"] == "rejected"
    assert "D99999999" in finished.content.decode()
    assert not Parcel.objects.exists()


def test_a_queued_upload_ships_nothing_once_the_supplier_is_deactivated(portal, acme, monkeypatch, run_enqueued):
    monkeypatch.setattr("suppliers.tracking_upload_jobs.INLINE_ROWS", 1)
    first, second = make_dispatches(acme, 2, ("MUG", 1))

    with run_enqueued():
        queued = portal.post(URL, {"file": sheet((first.number, "SF", sf(1)), (second.number, "SF", sf(2)))})
        supplier_set_active(supplier=acme, active=False)  # while the job waits for a worker
    job = tracking_upload_job(supplier=acme, job_id=queued["Location"].rstrip("/").rsplit("/", 1)[-1])

    assert job["state"] == "rejected" and "deactivated" in job["report"]["errors"][0]["reason"]
    assert not Parcel.objects.exists()
    assert set(Dispatch.objects.values_list("status", flat=True)) == {D.PENDING}


def test_oversized_file_is_refused_on_the_form(portal, monkeypatch):
    monkeypatch.setattr("suppliers.tracking_upload.MAX_BYTES", 10)

    page = portal.post(URL, {"file": sheet(("D1", "SF", sf(1)))})

    assert "larger than" in str(page.context["form"].errors["file"])


# ------------------------------------------------------------------ API


def test_api_upload_ships_or_reports(portal_api, acme, django_capture_on_commit_callbacks):
    first, second = make_dispatches(acme, 2, ("MUG", 1))

    with django_capture_on_commit_callbacks(execute=False):
        shipped = portal_api.post(API, {"file": sheet((first.number, "顺丰", sf(1)))})
    refused = portal_api.post(API, {"file": sheet((second.number, "SF", sf(1)))})  # number already used

    assert shipped.status_code == 200 and shipped.json()["dispatches"] == [first.number]
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"row": 2, "column": "tracking_number", "reason": refused.json()["errors"][0]["reason"]}
    ]
    assert "already used" in refused.json()["errors"][0]["reason"]


def test_api_large_upload_returns_a_job_to_poll(portal_api, acme, monkeypatch, run_enqueued):
    monkeypatch.setattr("suppliers.tracking_upload_jobs.INLINE_ROWS", 1)
    dispatches = make_dispatches(acme, 2, ("MUG", 1))

    with run_enqueued():
        queued = portal_api.post(API, {"file": sheet(*((d.number, "SF", sf(i)) for i, d in enumerate(dispatches)))})
    polled = portal_api.get(queued.json()["url"])

    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    assert polled.status_code == 200 and polled.json()["state"] == "done"
    assert polled.json()["report"]["shipped"] == 2


# ------------------------------------------------------------------ isolation


def test_a_row_naming_another_suppliers_dispatch_ships_nothing(portal_api, portal, acme):
    mine = make_dispatch(acme, ("MUG", 1))
    theirs = make_dispatch(SupplierFactory(label="Rival"), ("MUG", 1))

    page = portal.post(URL, {"file": sheet((mine.number, "SF", sf(1)), (theirs.number, "SF", sf(2)))})
    api = portal_api.post(API, {"file": sheet((mine.number, "SF", sf(1)), (theirs.number, "SF", sf(2)))})

    assert [(e.row, e.column) for e in page.context["report"].errors] == [(3, "dispatch")]
    assert api.status_code == 400 and api.json()["errors"][0]["row"] == 3
    assert not Parcel.objects.exists()
    assert set(Dispatch.objects.values_list("status", flat=True)) == {D.PENDING}


def test_another_suppliers_job_is_not_found(
    in_a, acme, portal, make_user, client_for, api_for, monkeypatch, run_enqueued
):
    monkeypatch.setattr("suppliers.tracking_upload_jobs.INLINE_ROWS", 1)
    dispatches = make_dispatches(acme, 2, ("MUG", 1))
    with run_enqueued():
        queued = portal.post(URL, {"file": sheet(*((d.number, "SF", sf(i)) for i, d in enumerate(dispatches)))})
    job_id = queued["Location"].rstrip("/").rsplit("/", 1)[-1]
    rival_user = make_user(in_a, "supplier", supplier=SupplierFactory(label="Rival"))

    assert client_for(in_a, rival_user).get(f"{URL}{job_id}/").status_code == 404
    assert api_for(in_a, rival_user).get(f"{API}{job_id}/").status_code == 404
    assert tracking_upload_job(supplier=acme, job_id=job_id) is not None


@pytest.mark.parametrize("role", ["operator", "finance", "owner"])
def test_console_and_finance_users_are_refused(role, in_a, acme, make_user, client_for, api_for):
    dispatch = make_dispatch(acme, ("MUG", 1))
    user = make_user(in_a, role)
    portal, api = client_for(in_a, user), api_for(in_a, user)

    for response in (
        portal.get(URL),
        portal.post(URL, {"file": sheet((dispatch.number, "SF", sf(1)))}),
        portal.get("/portal/tracking/template.csv"),
        portal.get(f"{URL}0123abcd/"),
    ):
        assert response.status_code in (302, 403)
        assert not response.get("Location", "").startswith("/portal/")
    assert api.post(API, {"file": sheet((dispatch.number, "SF", sf(1)))}).status_code == 403
    assert api.get(f"{API}0123abcd/").status_code == 403
    assert not Parcel.objects.exists()


def test_another_tenants_supplier_finds_none_of_these_dispatches(
    in_a, acme, tenant_b, make_user, make_supplier, client_for
):
    dispatch = make_dispatch(acme, ("MUG", 1))
    user_b = make_user(tenant_b, "supplier", supplier=make_supplier(tenant_b))

    client_b = client_for(tenant_b, user_b)
    page = client_b.post(URL, {"file": sheet((dispatch.number, "SF", sf(1)))})
    # Their session cookie means nothing on tenant A's host.
    elsewhere = client_b.get(URL, HTTP_HOST=in_a.get_primary_domain().domain)

    assert [(e.row, e.column) for e in page.context["report"].errors] == [(2, "dispatch")]
    assert elsewhere.status_code == 302 and "login" in elsewhere["Location"]
    with in_tenant(in_a):
        assert Dispatch.objects.get(pk=dispatch.pk).status == D.PENDING
        assert not Parcel.objects.exists()
