"""Catalog tasks: a large product or listing-mapping import, or a supplier's large stock file, run by a worker in
its tenant."""

from __future__ import annotations

from core.tasks import tenant_task
from inventory.imports_jobs import CATALOG_IMPORT_TASK, catalog_import_run
from inventory.supplier_stock import UPLOAD_TASK, stock_upload_job_run


# Sent by inventory.imports_jobs.catalog_import_submit for a file too large to import while the person waits.
@tenant_task(name=CATALOG_IMPORT_TASK, queue="long")
def run_catalog_import(import_id: int) -> str | None:
    job = catalog_import_run(import_id=import_id)
    return job.status if job is not None else None


# Sent by inventory.supplier_stock.stock_upload_submit for a stock file too large to check while the supplier waits.
@tenant_task(name=UPLOAD_TASK, queue="long")
def run_stock_upload(job_id: int) -> str | None:
    job = stock_upload_job_run(job_id=job_id)
    return job.status if job is not None else None
