"""Uploaded files a worker imports later: kept in the tenant's media folder under a random name, removed after.

The order import (channels.imports) started this pattern; the catalog imports (inventory.imports_jobs) share it
through here. Paths are relative to MEDIA_ROOT and start with the tenant's schema, so a file never mixes tenants
and a worker on another host with the same media volume finds it.

``upload_job_run`` is what a worker does with a kept file, whatever imports it: claim the job, read the file,
import it all or nothing with progress, keep the report, remove the file; safe to run twice.

``rough_row_count`` tells a small file (imported while the person waits) from a large one (sent to a worker)
without parsing it: an upper bound of the data rows, counted in the raw bytes.
"""

from __future__ import annotations

import io
import logging
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.spreadsheets import RowError, SheetReport

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = frozenset({".csv", ".txt", ".xlsx", ".xlsm"})
_ZIP_MAGIC = b"PK\x03\x04"
_READ_CHUNK = 1024 * 1024


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def upload_keep(*, content: bytes, filename: str, folder: str = "imports") -> str:
    """Write ``content`` to ``<MEDIA_ROOT>/<schema>/<folder>/<random><suffix>``; return that path relative to
    MEDIA_ROOT. The suffix is the upload's own when it is a spreadsheet's, else ``.csv``; the name is random so
    nothing the person typed reaches the file system."""
    suffix = Path(filename).suffix.lower()
    suffix = suffix if suffix in ALLOWED_SUFFIXES else ".csv"
    relative = Path(connection.schema_name) / folder / f"{uuid.uuid4().hex}{suffix}"
    path = _media_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(relative)


def _resolve(relative: str) -> Path | None:
    """The kept file's absolute path; None for a path outside the current tenant's folder."""
    root = (_media_root() / connection.schema_name).resolve()
    path = (_media_root() / relative).resolve()
    return path if path.is_relative_to(root) else None


def upload_read(relative: str) -> bytes | None:
    """The kept file's bytes; None when it is gone (or is not the current tenant's)."""
    path = _resolve(relative) if relative else None
    if path is None or not path.is_file():
        return None
    return path.read_bytes()


def upload_remove(relative: str) -> None:
    """Remove the kept file; nothing happens when it is already gone (safe to call twice)."""
    path = _resolve(relative) if relative else None
    if path is not None:
        path.unlink(missing_ok=True)


def rough_row_count(content: bytes, *, stop_after: int | None = None) -> int:
    """An upper bound of the data rows (header excluded) of a CSV or XLSX file, without parsing it.

    CSV: its non-blank lines (a quoted value spanning lines counts more than once). XLSX: the ``<row`` elements
    of its largest worksheet. A file that is not a readable workbook counts 0: the importer, run at once,
    says what is wrong with it. With ``stop_after``, counting a worksheet stops once it has more rows than
    that (the caller only asks "more than N?", and a crafted workbook may inflate to gigabytes).
    """
    if not content.startswith(_ZIP_MAGIC):
        lines = sum(1 for line in content.splitlines() if line.strip(b" \t,;\r\xef\xbb\xbf"))
        return max(lines - 1, 0)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
            counts = [_count_rows(archive, name, stop_after) for name in sheets]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
        return 0
    return max(max(counts, default=0) - 1, 0)


def _count_rows(archive: zipfile.ZipFile, name: str, stop_after: int | None) -> int:
    count, tail = 0, b""
    with archive.open(name) as sheet:
        while chunk := sheet.read(_READ_CHUNK):
            text = tail + chunk
            count += text.count(b"<row ") + text.count(b"<row>") + text.count(b":row ")
            # A tag cut between two chunks is whole in the next text; four bytes never hold a whole one.
            tail = text[-4:]
            if stop_after is not None and count > stop_after + 1:  # + 1: the header
                break
    return count


# Longer than any import runs (CELERY_TASK_TIME_LIMIT): a job's progress outlives its task.
PROGRESS_SECONDS = 6 * 3600


def refused_report(reason: str) -> dict:
    """A file-level refusal, as a report's dict (``ok`` false, one error on row 0)."""
    return SheetReport(errors=[RowError(0, "", reason)], error_count=1).as_dict()


def upload_job_run(
    *,
    jobs,
    job_id: int,
    progress_key: str,
    reading: object,
    work: Callable[[Any, bytes, Callable[..., None]], dict],
    failed: str,
    finished: Callable[[Any, dict], dict] | None = None,
):
    """Run the queued upload ``job_id`` of the model ``jobs`` (a queryset: its model has ``Status`` with
    pending / running / succeeded / rejected / failed, ``file_path``, ``language``, ``report``, ``rows_total``,
    ``finished_at`` and ``finished``) and return it; None when it does not exist.

    ``work(job, content, progress)`` imports the file all or nothing and returns its report as a dict (with
    ``ok`` and ``rows``); ``progress(value)`` keeps ``value`` under ``progress_key`` for the job's page; ``reading`` is the value
    that says the file is being read (the first one).
    ``failed`` is the report's sentence when ``work`` raises; ``finished(job, report)`` gives more fields to
    save with the result. Safe to run twice: a finished job is returned as it is; one cut off by a dead worker
    runs again (its transaction was rolled back, and every import is idempotent). The report is written in the
    uploader's language.
    """
    model = jobs.model
    claimed = jobs.filter(pk=job_id, status=model.Status.PENDING).update(status=model.Status.RUNNING)
    job = jobs.filter(pk=job_id).first()
    if job is None:
        logger.warning("upload job unknown", extra={"job": job_id, "kind": model._meta.label})
        return None
    if not claimed and job.finished:
        return job

    def progress(value) -> None:
        cache.set(progress_key, value, timeout=PROGRESS_SECONDS)

    progress(reading)
    with translation.override(job.language or None):
        try:
            content = upload_read(job.file_path)
            if content is None:
                report = refused_report(_("The uploaded file is no longer available; upload it again."))
            else:
                report = work(job, content, progress)
            status = model.Status.SUCCEEDED if report["ok"] else model.Status.REJECTED
        except Exception:
            logger.exception("upload job failed", extra={"job": job_id, "kind": model._meta.label})
            report, status = refused_report(failed), model.Status.FAILED
    more = finished(job, report) if finished else {}
    # Compare-and-set: a second delivery that ran alongside must not overwrite the first one's result.
    model.objects.filter(pk=job.pk, finished_at__isnull=True).update(
        status=status, report=report, rows_total=report.get("rows") or job.rows_total, finished_at=timezone.now(),
        **more,
    )  # fmt: skip
    upload_remove(job.file_path)
    cache.delete(progress_key)
    job.refresh_from_db()
    return job
