"""A supplier's large stock file runs in a worker (inventory.supplier_stock.stock_upload_submit): the file waits in
the tenant's media folder, a task checks and writes it all or nothing, and its page (/portal/stock/?job=<id>) shows
progress, then the result or every error by row. Only the supplier that sent it sees it; small files are still
saved while the supplier waits; the API answers 202 and its job endpoint the result."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inventory.models import Product, Source, Stock, StockUploadJob
from inventory.supplier_stock import INLINE_ROWS, stock_upload, stock_upload_job_run, stock_upload_submit
from tenants.models import Tenant
from tests.conftest import in_tenant, require_test_database
from tests.orders.routing_factories import make_supplier

LARGE = INLINE_ROWS + 1


@pytest.fixture(autouse=True)
def media(request, tmp_path) -> Path:
    """A media folder of the test's own, except for the real worker, which reads the project's."""
    if request.node.get_closest_marker("worker"):
        return Path(settings.MEDIA_ROOT)
    request.getfixturevalue("settings").MEDIA_ROOT = tmp_path
    return tmp_path


def catalog(supplier, rows: int = LARGE, prefix: str = "STK") -> None:
    """``rows`` products, each sourced at ``supplier`` (in bulk: the upload is what these tests are about)."""
    products = Product.objects.bulk_create(Product(sku=f"{prefix}-{n:05d}", name=f"库存货品 {n}") for n in range(rows))
    Source.objects.bulk_create(
        Source(product=p, position=1, supplier=supplier, cost_price=Decimal("5.00"), currency="CNY") for p in products
    )


def stock_csv(rows: int = LARGE, *, bad_row: int | None = None, prefix: str = "STK") -> bytes:
    lines = ["sku,name,available\r\n"]
    for n in range(rows):
        available = "many" if bad_row == n + 2 else str(n % 50)
        lines.append(f"{prefix}-{n:05d},库存货品 {n},{available}\r\n")
    return "".join(lines).encode()


def levels() -> dict[str, tuple[int, int]]:
    return {sku: (on_hand, reserved) for sku, on_hand, reserved in Stock.objects.values_list(
        "source__product__sku", "on_hand", "reserved"
    )}  # fmt: skip


@pytest.fixture
def acme(in_a):
    supplier = make_supplier("Acme")
    catalog(supplier)
    return supplier


@pytest.fixture
def acme_user(in_a, make_user, acme):
    return make_user(in_a, "supplier", supplier=acme, email="desk@acme.test")


@pytest.fixture
def portal_client(client_for, in_a, acme_user):
    return client_for(in_a, acme_user)


def upload(client, content: bytes, name: str = "stock.csv"):
    return client.post("/portal/stock/upload/", {"file": SimpleUploadedFile(name, content)})


def test_a_small_stock_file_is_still_saved_while_the_supplier_waits(portal_client, acme):
    response = upload(portal_client, stock_csv(INLINE_ROWS))

    assert response.status_code == 302 and response.url == "/portal/stock/"
    assert Stock.objects.count() == INLINE_ROWS
    assert not StockUploadJob.objects.exists()


def test_a_large_stock_file_runs_in_a_worker_and_its_page_shows_the_result(portal_client, acme, run_enqueued, media):
    # when: the supplier uploads more than INLINE_ROWS rows
    with run_enqueued():
        response = upload(portal_client, stock_csv())
        job = StockUploadJob.objects.get()
        assert response.status_code == 302 and response.url == f"/portal/stock/?job={job.pk}"

        # then, before the worker takes it: the file waits in the tenant's folder, nothing is saved yet, and the
        # page says so and refreshes itself
        kept = media / job.file_path
        assert job.file_path.startswith(f"{connection.schema_name}/stock/") and kept.is_file()
        assert kept.name != "stock.csv" and job.supplier == acme
        body = portal_client.get(response.url).content.decode()
        assert '<meta http-equiv="refresh"' in body and "Waiting for a worker" in body and 'data-percent="0"' in body
        assert not Stock.objects.exists()

    # and once the worker has run it: every row saved, the counts on the page, the file gone
    job.refresh_from_db()
    assert job.status == StockUploadJob.Status.SUCCEEDED and job.finished_at is not None
    assert (job.rows_total, job.report["created"], job.report["updated"]) == (LARGE, LARGE, 0)
    assert Stock.objects.count() == LARGE and levels()["STK-00049"] == (49, 0)
    assert set(Stock.objects.values_list("updated_by", flat=True)) == {"desk@acme.test"}
    assert not kept.exists()
    done = portal_client.get(f"/portal/stock/?job={job.pk}").content.decode()
    assert "http-equiv" not in done and f"Stock of {LARGE} products saved." in done


def test_the_worker_saves_exactly_what_an_inline_upload_does(acme, acme_user, run_enqueued):
    content = stock_csv()
    with run_enqueued():
        submission = stock_upload_submit(supplier=acme, content=content, filename="stock.csv", actor=acme_user)
    assert submission.job is not None and submission.report is None
    by_worker = levels()

    Stock.objects.all().delete()
    inline = stock_upload(supplier=acme, content=content, filename="stock.csv", actor=acme_user)

    assert inline.ok and (inline.rows, inline.created) == (LARGE, LARGE)
    assert levels() == by_worker and len(by_worker) == LARGE
    submission.job.refresh_from_db()
    assert submission.job.report == inline.as_dict()


def test_a_bad_large_file_saves_nothing_and_the_job_says_which_row_and_why(portal_client, acme, run_enqueued):
    with run_enqueued():
        response = upload(portal_client, stock_csv(bad_row=1800))

    job = StockUploadJob.objects.get()
    assert job.status == StockUploadJob.Status.REJECTED and not Stock.objects.exists()
    assert [(e["row"], e["column"]) for e in job.report["errors"]] == [(1800, "available")]
    assert "many" in job.report["errors"][0]["reason"]
    page = portal_client.get(response.url).content.decode()
    assert "Nothing was imported: 1 problem was found." in page and '<td class="num">1800</td>' in page


def test_running_the_task_twice_saves_once(acme, acme_user, run_enqueued):
    with run_enqueued():
        submission = stock_upload_submit(supplier=acme, content=stock_csv(), filename="s.csv", actor=acme_user)
    first = submission.job.pk
    Stock.objects.filter(source__product__sku="STK-00001").update(reserved=1, on_hand=2)  # an order meanwhile

    again = stock_upload_job_run(job_id=first)

    assert again.status == StockUploadJob.Status.SUCCEEDED
    assert levels()["STK-00001"] == (2, 1)  # the finished job did not run again
    assert stock_upload_job_run(job_id=999_999) is None


def test_another_supplier_cannot_see_the_job(portal_client, acme, run_enqueued, in_a, make_user, client_for):
    with run_enqueued():
        response = upload(portal_client, stock_csv())
    bolt_user = make_user(in_a, "supplier", supplier=make_supplier("Bolt"))

    other = client_for(in_a, bolt_user).get(response.url)

    assert portal_client.get(response.url).status_code == 200
    assert other.status_code == 404
    assert "STK-" not in other.content.decode()


def test_merchant_staff_and_tenant_b_cannot_see_the_job(
    portal_client, acme, run_enqueued, in_a, operator, make_user, client_for, tenant_b
):
    with run_enqueued():
        response = upload(portal_client, stock_csv())
    job = StockUploadJob.objects.get()
    with in_tenant(tenant_b):
        b_supplier = make_supplier("Beta goods")
    b_user = make_user(tenant_b, "supplier", supplier=b_supplier)

    # merchant staff are sent to their own console from the portal, without the job
    for staff, home in ((operator, "/dashboard/"), (make_user(in_a, "finance"), "/settlement/")):
        sent_away = client_for(in_a, staff).get(response.url)
        assert sent_away.status_code == 302 and sent_away["Location"] == home
    anonymous = client_for(in_a).get(response.url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert client_for(tenant_b, b_user).get(response.url).status_code == 404
    with in_tenant(tenant_b):
        assert not StockUploadJob.objects.filter(pk=job.pk).exists()
    assert portal_client.get("/portal/stock/?job=abc").status_code == 404


def test_merchant_staff_cannot_send_a_stock_file(acme, in_a, operator, client_for):
    response = upload(client_for(in_a, operator), stock_csv())

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert not StockUploadJob.objects.exists() and not Stock.objects.exists()


def test_a_bomb_is_refused_in_the_request_and_never_queued(portal_client, acme):
    content = b"sku,name,available\r\n" + b",,\r\n" * 200_000  # blank rows count toward the row limit

    response = upload(portal_client, content)

    assert response.status_code == 400
    assert response.context["report"].errors[0].row == 0
    assert not StockUploadJob.objects.exists() and not Stock.objects.exists()


def test_the_api_answers_202_and_its_job_endpoint_the_result(acme, acme_user, api_for, in_a, make_user, run_enqueued):
    client = api_for(in_a, acme_user)
    with run_enqueued():
        response = client.post("/api/v1/portal/stock/upload/", {"file": SimpleUploadedFile("s.csv", stock_csv())})
    job = StockUploadJob.objects.get()
    assert response.status_code == 202
    assert response.json()["job"] == job.pk and response.json()["page"].endswith(f"/portal/stock/?job={job.pk}")
    assert Stock.objects.count() == LARGE

    # the job's address: the result for the supplier, nothing for another supplier or the console
    url = f"/api/v1/portal/stock/upload/jobs/{job.pk}/"
    own = client.get(url)
    assert own.status_code == 200 and own.json()["status"] == "succeeded" and own.json()["report"]["created"] == LARGE
    assert api_for(in_a, make_user(in_a, "supplier", supplier=make_supplier("Bolt"))).get(url).status_code == 404
    assert api_for(in_a, make_user(in_a, "operator")).get(url).status_code == 403


# ---------------------------------------------------------------- a real worker


@pytest.mark.worker
def test_a_large_stock_file_is_saved_by_a_real_worker(celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        require_test_database()
    media = Path(settings.MEDIA_ROOT)
    log_start = len(celery_worker.log_text())
    with django_db_blocker.unblock(), in_tenant(Tenant.objects.get(slug="alpha")):
        supplier = make_supplier("Worker stock")
        catalog(supplier, prefix="WSTK")
        job = None
        try:
            job = stock_upload_submit(
                supplier=supplier, content=stock_csv(prefix="WSTK"), filename="库存.csv", actor=None
            ).job
            assert job is not None and job.file_path.startswith("t_alpha/stock/")

            done = celery_worker.wait_for(
                lambda: StockUploadJob.objects.filter(pk=job.pk, finished_at__isnull=False).first(), timeout=60
            )
            assert done.status == StockUploadJob.Status.SUCCEEDED, done.report
            assert Stock.objects.filter(source__supplier=supplier).count() == LARGE
            assert not (media / done.file_path).exists()
            log = celery_worker.log_text()[log_start:]
            assert "inventory.stock_upload" in log and "Traceback" not in log
        finally:
            if job is not None:
                (media / job.file_path).unlink(missing_ok=True)
            StockUploadJob.objects.filter(supplier=supplier).delete()
            Stock.objects.filter(source__supplier=supplier).delete()
            Source.objects.filter(supplier=supplier).delete()
            Product.objects.filter(sku__startswith="WSTK-").delete()
            supplier.delete()
