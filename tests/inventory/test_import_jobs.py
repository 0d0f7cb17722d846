"""Large catalog imports (products, listing mappings) run in a worker: progress while they run, then what changed
or every error; all or nothing, idempotent, the file kept in the tenant's media folder only while the task runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import Workbook

from inventory import imports_jobs
from inventory.imports_jobs import INLINE_ROWS
from inventory.models import CatalogImport, Listing, Product, Source
from tests.conftest import in_tenant

LARGE = INLINE_ROWS + 1
HEADER = "sku,name,source_position,supplier_code,cost_price,currency,on_hand\r\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def products_csv(rows: int = LARGE, *, bad_row: int | None = None) -> bytes:
    """``rows`` products, each with one source at SUP-HZ; ``bad_row`` (a spreadsheet row number) gets a cost
    that is not a number."""
    lines = [HEADER]
    for n in range(rows):
        cost = "abc" if bad_row == n + 2 else "18.50"
        lines.append(f"BIG-{n:05d},大件货品 {n},1,SUP-HZ,{cost},CNY,5\r\n")
    return "".join(lines).encode()


def post(client, url: str, content: bytes, name: str = "products.csv"):
    return client.post(url, {"file": SimpleUploadedFile(name, content)})


def test_a_small_file_is_still_imported_while_the_person_waits(console, suppliers):
    response = post(console, "/products/import/", products_csv(INLINE_ROWS))

    assert response.status_code == 302 and response.url == "/products/"
    assert Product.objects.count() == INLINE_ROWS
    assert not CatalogImport.objects.exists()


def test_a_large_product_file_runs_in_a_worker_and_its_page_says_what_changed(console, suppliers, run_enqueued, media):
    # when: the operator uploads more than INLINE_ROWS rows
    with run_enqueued():
        response = post(console, "/products/import/", products_csv())
        job = CatalogImport.objects.get()
        assert response.status_code == 302 and response.url == f"/products/imports/{job.pk}/"

        # then, before the worker takes it: the file waits in the tenant's folder, nothing is imported yet,
        # and the page says so and refreshes itself
        kept = media / job.file_path
        assert job.file_path.startswith(f"{connection.schema_name}/imports/") and kept.is_file()
        assert kept.name != "products.csv" and kept.suffix == ".csv"
        waiting = console.get(response.url)
        body = waiting.content.decode()
        assert waiting.status_code == 200 and job.status == CatalogImport.Status.PENDING
        assert '<meta http-equiv="refresh"' in body and "Waiting for a worker" in body
        assert not Product.objects.exists()

    # and once the worker has run it: everything imported, the counts on the page, the file gone
    job.refresh_from_db()
    assert job.status == CatalogImport.Status.SUCCEEDED and job.finished_at is not None
    assert (job.rows_total, job.report["products_created"], job.report["sources_created"]) == (LARGE, LARGE, LARGE)
    assert Product.objects.count() == LARGE and Source.objects.filter(supplier=suppliers["SUP-HZ"]).count() == LARGE
    assert not kept.exists()
    done = console.get(f"/products/imports/{job.pk}/").content.decode()
    assert "http-equiv" not in done
    assert f"{LARGE} rows imported." in done
    assert (
        f'<th scope="row">Products</th><td class="num">{LARGE}</td><td class="num">0</td><td class="num">0</td>' in done
    )


def test_the_same_large_file_twice_changes_nothing(console, suppliers, run_enqueued):
    content = products_csv()
    with run_enqueued():
        post(console, "/products/import/", content)
    updated = dict(Product.objects.values_list("sku", "updated"))

    with run_enqueued():
        post(console, "/products/import/", content)

    second = CatalogImport.objects.order_by("-pk").first()
    assert second.status == CatalogImport.Status.SUCCEEDED
    report = second.report
    assert (report["products_created"], report["products_updated"], report["products_unchanged"]) == (0, 0, LARGE)
    assert (report["sources_created"], report["sources_updated"], report["sources_unchanged"]) == (0, 0, LARGE)
    assert report["stock_set"] == 0
    assert dict(Product.objects.values_list("sku", "updated")) == updated
    page = console.get(f"/products/imports/{second.pk}/").content.decode()
    assert f'<td class="num">0</td><td class="num">0</td><td class="num">{LARGE}</td>' in page


def test_progress_is_visible_while_the_import_runs(console, suppliers, run_enqueued, monkeypatch):
    # given: a spy that opens the import's page each time the importer reports progress, as a browser would
    real = imports_jobs._IMPORTERS[CatalogImport.Kind.PRODUCTS]
    pages: list[tuple[str, int, int, str]] = []

    def importer_with_spy(*, progress, **kwargs):
        def spy(phase: str, done: int, total: int) -> None:
            progress(phase, done, total)
            job = CatalogImport.objects.get()
            pages.append((phase, done, total, console.get(f"/products/imports/{job.pk}/").content.decode()))

        return real(progress=spy, **kwargs)

    monkeypatch.setitem(imports_jobs._IMPORTERS, CatalogImport.Kind.PRODUCTS, importer_with_spy)

    with run_enqueued():
        post(console, "/products/import/", products_csv())

    checking = [page for phase, done, total, page in pages if phase == "checking" and done == 1000]
    assert checking, [p[:3] for p in pages]
    assert f"Checking every row: 1000 of {LARGE}…" in checking[0]
    assert 'aria-valuenow="39"' in checking[0]  # 80 % of the bar is the check: 1000 / 2001 of it
    assert "Importing" in checking[0] and '<meta http-equiv="refresh"' in checking[0]
    writing = [page for phase, _done, _total, page in pages if phase == "writing"]
    assert writing and "writing the changes" in writing[0]
    assert CatalogImport.objects.get().status == CatalogImport.Status.SUCCEEDED


def test_one_bad_row_in_a_large_file_imports_nothing_and_is_reported(console, suppliers, run_enqueued, media):
    with run_enqueued():
        post(console, "/products/import/", products_csv(bad_row=1500))

    job = CatalogImport.objects.get()
    assert job.status == CatalogImport.Status.REJECTED
    assert job.report["error_count"] == 1
    assert [(e["row"], e["column"]) for e in job.report["errors"]] == [(1500, "cost_price")]
    assert not Product.objects.exists() and not Source.objects.exists()
    assert not (media / job.file_path).exists()
    page = console.get(f"/products/imports/{job.pk}/").content.decode()
    assert "Nothing was imported: 1 problem was found." in page
    assert '<td class="num">1500</td><td>cost_price</td>' in page
    assert "http-equiv" not in page


def test_a_large_xlsx_file_goes_to_the_worker_too(console, suppliers, run_enqueued):
    book = Workbook()
    sheet = book.active
    sheet.append(["sku", "name"])
    for n in range(LARGE):
        sheet.append([f"X-{n:05d}", f"Excel {n}"])
    buffer = io.BytesIO()
    book.save(buffer)

    with run_enqueued():
        response = post(console, "/products/import/", buffer.getvalue(), name="products.xlsx")
        assert response.status_code == 302 and response.url.startswith("/products/imports/")

    job = CatalogImport.objects.get()
    assert job.file_path.endswith(".xlsx")
    assert (job.status, job.report["products_created"]) == (CatalogImport.Status.SUCCEEDED, LARGE)


def test_a_large_mapping_file_runs_in_a_worker(console, make_product, run_enqueued):
    tee, mug = make_product("TEE"), make_product("MUG")
    Listing.objects.create(listing_sku="SHOP-00000")  # already there, unmapped: updated
    rows = ["listing_sku,product_sku,quantity\r\n"]
    rows += [f"SHOP-{n:05d},{'TEE' if n % 2 else 'MUG'},1\r\n" for n in range(LARGE)]
    rows.append("SKIPPED-1,,\r\n")

    with run_enqueued():
        response = post(console, "/products/listings/import/", "".join(rows).encode(), name="mappings.csv")
        job = CatalogImport.objects.get()
        assert response.url == f"/products/imports/{job.pk}/" and job.kind == CatalogImport.Kind.MAPPINGS

    job.refresh_from_db()
    assert job.status == CatalogImport.Status.SUCCEEDED
    report = job.report
    assert (report["listings_created"], report["listings_updated"], report["listings_skipped"]) == (LARGE - 1, 1, 1)
    assert Listing.objects.get(listing_sku="SHOP-00001").components.get().product == tee
    assert Listing.objects.get(listing_sku="SHOP-00002").components.get().product == mug
    page = console.get(f"/products/imports/{job.pk}/").content.decode()
    assert f'<th scope="row">Listing SKUs</th><td class="num">{LARGE - 1}</td><td class="num">1</td>' in page
    assert "1 listing SKU was skipped" in page and "/products/listings/import/" in page


def test_a_file_gone_before_the_worker_ran_is_reported_not_imported(console, suppliers, run_enqueued, media):
    with run_enqueued():
        post(console, "/products/import/", products_csv())
        job = CatalogImport.objects.get()
        (media / job.file_path).unlink()

    job.refresh_from_db()
    assert job.status == CatalogImport.Status.REJECTED
    assert "no longer available" in job.report["errors"][0]["reason"]
    assert not Product.objects.exists()


def test_a_finished_import_run_again_changes_nothing(console, suppliers, run_enqueued):
    with run_enqueued():
        post(console, "/products/import/", products_csv())
    job = CatalogImport.objects.get()
    finished_at = job.finished_at

    again = imports_jobs.catalog_import_run(import_id=job.pk)

    assert again.finished_at == finished_at and again.status == CatalogImport.Status.SUCCEEDED
    assert Product.objects.count() == LARGE


def test_the_import_page_lists_recent_large_imports(console, suppliers, run_enqueued):
    with run_enqueued():
        post(console, "/products/import/", products_csv(), name="春季货品.csv")
    job = CatalogImport.objects.get()

    page = console.get("/products/import/").content.decode()

    assert f'href="/products/imports/{job.pk}/">春季货品.csv</a>' in page
    assert "春季货品.csv" not in console.get("/products/listings/import/").content.decode()


def test_tenant_b_cannot_open_tenant_a_import(
    console, suppliers, run_enqueued, tenant_a, tenant_b, make_user, client_for
):
    with run_enqueued():
        post(console, "/products/import/", products_csv())
    job = CatalogImport.objects.get()
    other = client_for(tenant_b, make_user(tenant_b, "operator"))

    assert other.get(f"/products/imports/{job.pk}/").status_code == 404
    assert console.get(f"/products/imports/{job.pk}/").status_code == 200
    with in_tenant(tenant_b):
        assert not CatalogImport.objects.exists()


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_import_or_see_an_import(
    role, console, suppliers, run_enqueued, tenant_a, make_user, make_supplier, client_for
):
    with run_enqueued():
        post(console, "/products/import/", products_csv())
    job = CatalogImport.objects.get()
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = client_for(tenant_a, make_user(tenant_a, role, supplier=supplier))

    assert client.get(f"/products/imports/{job.pk}/").status_code == 403
    with run_enqueued():
        assert post(client, "/products/import/", products_csv()).status_code == 403
        assert (
            post(client, "/products/listings/import/", b"listing_sku,product_sku\r\nL,BIG-00001\r\n").status_code == 403
        )

    connection.set_tenant(tenant_a)
    assert CatalogImport.objects.count() == 1 and not Listing.objects.exists()


def test_a_large_product_file_sent_to_the_api_answers_202_and_its_job_tells_the_result(
    api, suppliers, run_enqueued, tenant_a, tenant_b, make_user, api_for
):
    # when: a large file is posted to the API
    with run_enqueued():
        response = post(api, "/api/v1/products/import/", products_csv())
        job = CatalogImport.objects.get()

        # then it is queued, not imported while the client waits
        assert response.status_code == 202
        assert response.json() == {"job": job.pk, "kind": "products", "status": "pending", "finished": False,
                                   "report": None}  # fmt: skip
        assert not Product.objects.exists()

    # and once the worker ran it, the job's address tells the counts
    done = api.get(f"/api/v1/products/import/jobs/{job.pk}/").json()
    assert done["status"] == "succeeded" and done["finished"] and done["report"]["ok"]
    assert Product.objects.count() == LARGE
    # another tenant's and another role's tokens see nothing of it
    assert (
        api_for(tenant_b, make_user(tenant_b, "operator")).get(f"/api/v1/products/import/jobs/{job.pk}/").status_code
        == 404
    )
    assert (
        api_for(tenant_a, make_user(tenant_a, "finance")).get(f"/api/v1/products/import/jobs/{job.pk}/").status_code
        == 403
    )
