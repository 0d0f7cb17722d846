"""Catalog tasks: a large product or listing-mapping import, run by a worker in its tenant."""

from __future__ import annotations

from core.tasks import tenant_task
from inventory.imports_jobs import CATALOG_IMPORT_TASK, catalog_import_run


# Sent by inventory.imports_jobs.catalog_import_submit for a file too large to import while the person waits.
@tenant_task(name=CATALOG_IMPORT_TASK, queue="long")
def run_catalog_import(import_id: int) -> str | None:
    job = catalog_import_run(import_id=import_id)
    return job.status if job is not None else None
