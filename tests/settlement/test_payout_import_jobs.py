"""Large payout files run in a worker (settlement.payouts.payout_file_submit): the file waits in the tenant's media
folder, a task imports it all or nothing, and its page shows progress, then the result or every error by row.
Small files are still imported while the person waits; the job's page is finance's only, and tenant B's host
knows nothing of tenant A's jobs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from settlement.models import PayoutImport, PayoutImportJob, PayoutItem
from settlement.payouts import INLINE_ROWS, payout_file_import, payout_file_submit, payout_import_job_run
from tenants.models import Tenant
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant, require_test_database
from tests.orders.factories import OrderFactory

LARGE = INLINE_ROWS + 1
PLACED = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.UTC)
HEADER = (
    "Transaction Date,Type,Order,Card Brand,Card Source,Payout Status,Payout Date,Payout ID,Available On,Amount,"
    "Fee,Net,Checkout,Payment Method Name,Presentment Amount,Presentment Currency,Currency\r\n"
)


def shopify_csv(rows: int = LARGE, *, bad_row: int | None = None) -> bytes:
    """Shopify Payments transactions: one charge per row; the first ten name orders RL-1000…RL-1009, the rest
    orders Relay does not have. ``bad_row`` (a spreadsheet row number) gets an amount that is not a number."""
    lines = [HEADER]
    for n in range(rows):
        amount = "abc" if bad_row == n + 2 else f"{10 + n % 90}.00"
        order = f"#RL-{1000 + n}"
        lines.append(
            f"2026-10-30 21:14:05 -0400,charge,{order},visa,online,paid,2026-11-04,118771564779,2026-11-04,"
            f"{amount},0.30,,#chk{n},card,{amount},USD,USD\r\n"
        )
    return "".join(lines).encode()


@pytest.fixture(autouse=True)
def media(request, tmp_path) -> Path:
    """A media folder of the test's own, except for the real worker, which reads the project's."""
    if request.node.get_closest_marker("worker"):
        return Path(settings.MEDIA_ROOT)
    request.getfixturevalue("settings").MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def shop(in_a):
    store = StoreFactory(name="Shopify 旗舰店")
    for n in range(10):
        OrderFactory(store=store, external_id=f"X-{n}", order_number=f"RL-{1000 + n}", placed_at=PLACED)
    return store


@pytest.fixture
def books(in_a, finance, client_for):
    return client_for(in_a, finance)


def post(client, store, content: bytes, name: str = "payment_transactions.csv"):
    return client.post(
        "/settlement/payouts/", {"store": store.pk, "source": "shopify_csv", "file": SimpleUploadedFile(name, content)}
    )


def items_of(payout_import: PayoutImport) -> set[tuple]:
    return set(payout_import.items.values_list("reference", "kind", "amount", "fee", "net", "order_id", "row"))


def test_a_small_payout_file_is_still_imported_while_the_person_waits(books, shop):
    response = post(books, shop, shopify_csv(INLINE_ROWS))

    imported = PayoutImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settlement/payouts/{imported.pk}/"
    assert imported.items_count == INLINE_ROWS
    assert not PayoutImportJob.objects.exists()


def test_a_large_payout_file_runs_in_a_worker_and_its_page_shows_the_result(books, shop, finance, run_enqueued, media):
    # when: finance uploads more than INLINE_ROWS rows
    with run_enqueued():
        response = post(books, shop, shopify_csv())
        job = PayoutImportJob.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/settlement/payouts/?job={job.pk}"

        # then, before the worker takes it: the file waits in the tenant's folder under a random name, nothing is
        # imported, and the page says so and refreshes itself
        kept = media / job.file_path
        assert job.file_path.startswith(f"{connection.schema_name}/payouts/") and kept.is_file()
        assert kept.name != "payment_transactions.csv" and kept.suffix == ".csv"
        waiting = books.get(response["Location"])
        body = waiting.content.decode()
        assert waiting.status_code == 200 and job.status == PayoutImportJob.Status.PENDING
        assert '<meta http-equiv="refresh"' in body and "Waiting for a worker" in body and 'data-percent="0"' in body
        assert not PayoutImport.objects.exists() and not PayoutItem.objects.exists()
        assert f'href="/settlement/payouts/?job={job.pk}"' in books.get("/settlement/payouts/").content.decode()

    # and once the worker has run it: every row imported as one import, matched to orders, the file gone
    job.refresh_from_db()
    imported = PayoutImport.objects.get()
    assert job.status == PayoutImportJob.Status.SUCCEEDED and job.finished_at is not None
    assert job.payout_import == imported and job.rows_total == LARGE
    assert (job.report["imported"], job.report["matched"], job.report["skipped"]) == (LARGE, 10, 0)
    assert imported.items_count == LARGE and imported.imported_by == finance
    assert not kept.exists()
    done = books.get(f"/settlement/payouts/?job={job.pk}").content.decode()
    assert "http-equiv" not in done
    assert f"Imported {LARGE} transactions (10 matched to orders, 0 already imported before)." in done
    assert f'href="/settlement/payouts/{imported.pk}/"' in done
    assert f"?job={job.pk}" not in books.get("/settlement/payouts/").content.decode()


def test_the_worker_imports_exactly_what_an_inline_import_does(books, shop, finance, run_enqueued):
    content = shopify_csv()
    with run_enqueued():
        submission = payout_file_submit(
            store=shop, source="shopify_csv", content=content, file_name="big.csv", user=finance
        )
    assert submission.job is not None and submission.report is None
    by_worker = items_of(PayoutImport.objects.get())

    PayoutImport.objects.all().delete()  # its items go with it
    inline = payout_file_import(store=shop, source="shopify_csv", content=content, file_name="big.csv", user=finance)

    assert inline.ok and inline.imported == LARGE
    assert items_of(inline.payout_import) == by_worker and len(by_worker) == LARGE


def test_a_bad_large_file_imports_nothing_and_the_job_says_which_row_and_why(books, shop, run_enqueued):
    with run_enqueued():
        response = post(books, shop, shopify_csv(bad_row=1500))

    job = PayoutImportJob.objects.get()
    assert job.status == PayoutImportJob.Status.REJECTED and job.payout_import is None
    assert not PayoutImport.objects.exists() and not PayoutItem.objects.exists()
    rows = {error["row"] for error in job.report["errors"]}
    assert rows == {1500} and job.report["error_count"] == 1
    page = books.get(response["Location"]).content.decode()
    assert "Nothing was imported: 1 problem was found." in page
    assert '<td class="num">1500</td>' in page and job.report["errors"][0]["reason"] in page


def test_the_same_large_file_again_changes_nothing(books, shop, run_enqueued):
    content = shopify_csv()
    with run_enqueued():
        post(books, shop, content)
    first = PayoutImport.objects.get()

    again = post(books, shop, content, name="again.csv")

    # a file this store imported already is answered at once: no second job, no second import
    assert again.status_code == 302 and again["Location"] == f"/settlement/payouts/{first.pk}/"
    assert PayoutImportJob.objects.count() == 1 and PayoutImport.objects.count() == 1
    assert PayoutItem.objects.count() == LARGE


def test_running_the_task_twice_imports_once(books, shop, finance, run_enqueued):
    with run_enqueued():
        submission = payout_file_submit(
            store=shop, source="shopify_csv", content=shopify_csv(), file_name="big.csv", user=finance
        )
    finished = submission.job.pk
    again = payout_import_job_run(job_id=finished)

    assert again.status == PayoutImportJob.Status.SUCCEEDED
    assert PayoutImport.objects.count() == 1 and PayoutItem.objects.count() == LARGE
    assert payout_import_job_run(job_id=999_999) is None


def test_a_worker_cut_off_midway_runs_the_job_again(books, shop, finance):
    # given: a job a worker claimed and died on (running, not finished, its transaction rolled back); the test's
    # transaction never commits, so the task is never sent
    submission = payout_file_submit(
        store=shop, source="shopify_csv", content=shopify_csv(), file_name="big.csv", user=finance
    )
    PayoutImportJob.objects.filter(pk=submission.job.pk).update(status=PayoutImportJob.Status.RUNNING)

    job = payout_import_job_run(job_id=submission.job.pk)

    assert job.status == PayoutImportJob.Status.SUCCEEDED and PayoutItem.objects.count() == LARGE


def test_only_finance_sees_a_job_page(books, shop, run_enqueued, client_for, in_a, make_user, make_supplier, operator):
    with run_enqueued():
        response = post(books, shop, shopify_csv())
    url = response["Location"]
    supplier_user = make_user(in_a, "supplier", supplier=make_supplier(in_a))

    assert books.get(url).status_code == 200
    assert client_for(in_a, operator).get(url).status_code == 403
    assert client_for(in_a, supplier_user).get(url).status_code in (403, 404)
    anonymous = client_for(in_a).get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert books.get("/settlement/payouts/?job=abc").status_code == 404
    assert books.get("/settlement/payouts/?job=999999").status_code == 404


def test_operators_and_suppliers_cannot_send_a_large_file(shop, client_for, in_a, operator):
    response = post(client_for(in_a, operator), shop, shopify_csv())

    assert response.status_code == 403
    assert not PayoutImportJob.objects.exists() and not PayoutImport.objects.exists()


def test_tenant_b_does_not_see_tenant_as_job(books, shop, run_enqueued, tenant_b, make_user, client_for):
    with run_enqueued():
        response = post(books, shop, shopify_csv())
    job = PayoutImportJob.objects.get()
    finance_b = make_user(tenant_b, "finance")

    other = client_for(tenant_b, finance_b).get(response["Location"])

    assert other.status_code == 404
    with in_tenant(tenant_b):
        assert not PayoutImportJob.objects.filter(pk=job.pk).exists()


def test_a_bomb_is_refused_in_the_request_and_never_queued(books, shop):
    blank_rows = b"," * 10 + b"\r\n"
    content = HEADER.encode() + blank_rows * 200_000  # blank rows count toward the row limit

    response = post(books, shop, content)

    assert response.status_code == 400
    assert not PayoutImportJob.objects.exists() and not PayoutImport.objects.exists()


# ---------------------------------------------------------------- a real worker


@pytest.mark.worker
def test_a_large_payout_file_is_imported_by_a_real_worker(celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        require_test_database()
    media = Path(settings.MEDIA_ROOT)  # the worker's too: the same settings, unchanged here
    log_start = len(celery_worker.log_text())
    with django_db_blocker.unblock(), in_tenant(Tenant.objects.get(slug="alpha")):
        store = StoreFactory(name="Worker payouts")
        job = None
        try:
            # when: a large file is submitted (no transaction is open: the task is sent at once)
            job = payout_file_submit(
                store=store, source="shopify_csv", content=shopify_csv(), file_name="大文件.csv", user=None
            ).job
            assert job is not None and job.file_path.startswith("t_alpha/payouts/")

            # then: the worker imports every row in the tenant's schema and removes the file
            done = celery_worker.wait_for(
                lambda: PayoutImportJob.objects.filter(pk=job.pk, finished_at__isnull=False).first(), timeout=60
            )
            assert done.status == PayoutImportJob.Status.SUCCEEDED, done.report
            assert done.report["imported"] == LARGE and PayoutItem.objects.filter(store=store).count() == LARGE
            assert not (media / done.file_path).exists()
            log = celery_worker.log_text()[log_start:]
            assert "settlement.payout_import" in log and "Traceback" not in log
        finally:
            if job is not None:
                (media / job.file_path).unlink(missing_ok=True)
            PayoutImportJob.objects.filter(store=store).delete()
            PayoutImport.objects.filter(store=store).delete()
            store.delete()


def test_a_large_payout_file_sent_to_the_api_answers_202_and_its_job_tells_the_result(
    shop, finance, api_for, run_enqueued, tenant_a, tenant_b, make_user
):
    client = api_for(tenant_a, finance)
    upload = SimpleUploadedFile("payment_transactions.csv", shopify_csv())
    with run_enqueued():
        response = client.post(
            "/api/v1/settlement/payouts/", {"store": shop.pk, "source": "shopify_csv", "file": upload}
        )
        job = PayoutImportJob.objects.get()
        assert response.status_code == 202 and response.json()["job"] == job.pk
        assert response.json()["status"] == "pending" and not PayoutImport.objects.exists()

    done = client.get(f"/api/v1/settlement/payouts/jobs/{job.pk}/").json()
    assert done["status"] == "succeeded" and done["payout_import"] == PayoutImport.objects.get().pk
    assert done["report"]["imported"] == LARGE
    assert (
        api_for(tenant_b, make_user(tenant_b, "finance")).get(f"/api/v1/settlement/payouts/jobs/{job.pk}/").status_code
        == 404
    )
    assert (
        api_for(tenant_a, make_user(tenant_a, "operator")).get(f"/api/v1/settlement/payouts/jobs/{job.pk}/").status_code
        == 403
    )
