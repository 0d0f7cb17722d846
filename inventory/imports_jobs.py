"""Large catalog imports (products and source paths, listing mappings) run in a worker, with a progress page.

The order import's pattern (channels.imports): a small file is imported while the person waits; a larger one
is kept under the tenant's media folder under a random name (core.uploads), recorded as a ``CatalogImport``
and imported by a task (inventory/tasks.py) that carries the tenant. Progress lives in the tenant's cache
while it runs, because the import writes in one transaction that the page cannot see into; the finished
import keeps the importer's report (counts, or every error by row and column) on its row, and the file is
removed. The import itself is the same all-or-nothing, idempotent function either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _

from core.spreadsheets import TableError, check_upload
from core.tasks import enqueue_named
from core.uploads import rough_row_count, upload_job_run, upload_keep
from inventory import imports, mapping_import
from inventory.models import CatalogImport
from tenants.accounts.selectors import user_can_enter

logger = logging.getLogger(__name__)

# Files with more data rows than this are imported by a worker; smaller ones while the person waits.
INLINE_ROWS = 2_000
# The task (inventory/tasks.py) that runs a queued import.
CATALOG_IMPORT_TASK = "inventory.catalog_import"

Report = imports.ImportReport | mapping_import.MappingImportReport
_IMPORTERS: dict[str, Callable[..., Report]] = {
    CatalogImport.Kind.PRODUCTS: imports.products_import,
    CatalogImport.Kind.MAPPINGS: mapping_import.mappings_import,
}


def _progress_key(import_id: int) -> str:
    return f"catalog-import-progress:{import_id}"  # the cache's key function adds the tenant


@dataclass(frozen=True)
class Submission:
    """What an upload turned into: a report (imported, or refused, at once) or an import queued for a worker."""

    report: Report | None = None
    job: CatalogImport | None = None


def catalog_import_submit(*, kind: str, content: bytes, filename: str, actor=None) -> Submission:
    """Import a file of up to INLINE_ROWS data rows at once; keep a larger one and queue it for a worker.

    The queued task is sent after the surrounding transaction commits. The caller has checked the upload's
    size; a file past the limits every upload has (core.spreadsheets.check_upload: what it unpacks to, rows
    counting blank ones, columns, cell length, quotes) is refused at once, never queued; the importer checks
    everything else.
    """
    importer = _IMPORTERS[kind]
    try:
        check_upload(content=content, filename=filename)
    except TableError:
        # The importer refuses it in its own words, as quickly: the same check comes first in read_table.
        return Submission(report=importer(content=content, filename=filename, actor=actor))
    rows = rough_row_count(content, stop_after=INLINE_ROWS)
    if rows <= INLINE_ROWS:
        return Submission(report=importer(content=content, filename=filename, actor=actor))
    job = CatalogImport.objects.create(
        kind=kind,
        filename=Path(filename).name[:255],
        file_path=upload_keep(content=content, filename=filename),
        language=translation.get_language() or "",
        created_by=actor,
    )
    enqueue_named(CATALOG_IMPORT_TASK, job.pk)
    return Submission(job=job)


def _require_console(user) -> None:
    if not user_can_enter(user, "console"):
        raise PermissionDenied


def catalog_import_get_for(*, user, pk: int) -> CatalogImport:
    """An import of the current tenant for a console user: PermissionDenied for anyone else, Http404 when the
    tenant has no such import (another tenant's imports live in its own schema)."""
    _require_console(user)
    return get_object_or_404(CatalogImport.objects.select_related("created_by"), pk=pk)


def catalog_imports_recent(*, user, kind: str, limit: int = 5) -> list[CatalogImport]:
    """The tenant's latest imports of one kind, newest first, for the import page."""
    _require_console(user)
    return list(CatalogImport.objects.filter(kind=kind)[:limit])


def catalog_import_progress(*, job: CatalogImport) -> dict:
    """Where an import stands, for its page: phase, rows checked of the total, percent, finished."""
    live = cache.get(_progress_key(job.pk)) if not job.finished else None
    phase, done, total = live or (job.status if job.finished else "waiting", 0, 0)
    if job.finished:
        percent = 100
    elif phase == "checking" and total:
        percent = int(80 * done / total)  # checking every row is most of the work
    elif phase == "writing" and total:
        percent = 80 + int(20 * done / total)
    else:
        percent = 0
    return {"phase": phase, "done": done, "total": total, "percent": min(percent, 100), "finished": job.finished}


def catalog_import_summary(*, job: CatalogImport) -> dict:
    """A queued import as the API tells it: id, kind, status, finished, and once finished the importer's report
    (counts, or every error by row and column; nothing was written unless it is ``ok``)."""
    return {
        "job": job.pk,
        "kind": job.kind,
        "status": job.status,
        "finished": job.finished,
        "report": job.report if job.finished else None,
    }


def catalog_import_run(*, import_id: int) -> CatalogImport | None:
    """Import a queued file all or nothing, saving progress as it goes, then keep the report and remove the file
    (core.uploads.upload_job_run: safe to run twice). None when the import does not exist."""

    def work(job: CatalogImport, content: bytes, progress) -> dict:
        return _IMPORTERS[job.kind](
            content=content,
            filename=job.filename,
            actor=job.created_by,
            progress=lambda phase, done, total: progress((phase, done, total)),
        ).as_dict()

    return upload_job_run(
        jobs=CatalogImport.objects.select_related("created_by"),
        job_id=import_id,
        progress_key=_progress_key(import_id),
        reading=("reading", 0, 0),
        work=work,
        failed=_("The import failed unexpectedly; nothing was imported. Please try again."),
    )


__all__ = [
    "CATALOG_IMPORT_TASK",
    "INLINE_ROWS",
    "Submission",
    "catalog_import_get_for",
    "catalog_import_progress",
    "catalog_import_run",
    "catalog_import_summary",
    "catalog_imports_recent",
]
