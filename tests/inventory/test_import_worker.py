"""A large product import run by a real Celery worker (queue "long") in tenant A's schema: the file waits in the
tenant's media folder, the worker imports every row and removes it. The rows are committed (the worker is another
process) and removed afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from inventory.imports_jobs import INLINE_ROWS, catalog_import_submit
from inventory.models import CatalogImport, Product
from tenants.models import Tenant
from tests.conftest import in_tenant, require_test_database

pytestmark = pytest.mark.worker

ROWS = INLINE_ROWS + 1


def test_a_large_product_import_runs_on_a_real_worker(celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        require_test_database()
    media = Path(settings.MEDIA_ROOT)  # the worker's too: the same settings, unchanged here
    log_start = len(celery_worker.log_text())
    content = ("sku,name\r\n" + "".join(f"WRK-{n:05d},工人货品 {n}\r\n" for n in range(ROWS))).encode()
    with django_db_blocker.unblock(), in_tenant(Tenant.objects.get(slug="alpha")):
        job = None
        try:
            # when: a large file is submitted (no transaction is open: the task is sent at once)
            job = catalog_import_submit(kind=CatalogImport.Kind.PRODUCTS, content=content, filename="大文件.csv").job
            assert job is not None and job.file_path.startswith("t_alpha/imports/")

            # then: the worker imports every row in the tenant's schema and removes the file
            done = celery_worker.wait_for(
                lambda: CatalogImport.objects.filter(pk=job.pk, finished_at__isnull=False).first(), timeout=60
            )
            assert done.status == CatalogImport.Status.SUCCEEDED, done.report
            assert (done.rows_total, done.report["products_created"]) == (ROWS, ROWS)
            assert Product.objects.filter(sku__startswith="WRK-").count() == ROWS
            assert not (media / done.file_path).exists()
            log = celery_worker.log_text()[log_start:]
            assert "inventory.catalog_import" in log and "Traceback" not in log
        finally:
            if job is not None:
                (media / job.file_path).unlink(missing_ok=True)
                CatalogImport.objects.filter(pk=job.pk).delete()
            Product.objects.filter(sku__startswith="WRK-").delete()
