"""Large tracking uploads run in a worker: the job, its progress and its report live in the tenant's cache
for a day (as routing jobs do), and the uploaded bytes with it, so a worker on another host can read them.

``tracking_upload_submit`` checks and ships a small file while the person
waits, and queues a larger one; the task (suppliers/tasks.py) runs
``tracking_upload_job_run``; the page and the API show ``tracking_upload_job``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.tasks import enqueue_named, job_id_new, job_id_valid
from suppliers.models import Supplier
from suppliers.tracking_upload import UploadReport, read_upload, refused, tracking_upload

logger = logging.getLogger(__name__)

INLINE_ROWS = 200  # larger files run in a worker, with a progress bar
KEEP_SECONDS = 24 * 3600
# The task (suppliers/tasks.py) that runs a queued upload.
TRACKING_UPLOAD_TASK = "suppliers.tracking_upload"


def _key(job_id: str) -> str:
    return f"tracking-upload:{job_id}"


def _content_key(job_id: str) -> str:
    return f"tracking-upload-file:{job_id}"


def _save(job: dict) -> dict:
    cache.set(_key(job["id"]), job, timeout=KEEP_SECONDS)
    return job


@dataclass(frozen=True)
class Submission:
    """What an upload turned into: a report (checked, and shipped or refused, at once) or a job in a worker."""

    report: UploadReport | None = None
    job: dict | None = None


def tracking_upload_submit(*, supplier: Supplier, content: bytes, filename: str, actor=None) -> Submission:
    """Run a small file at once; queue a larger one (more than INLINE_ROWS rows) for a worker.

    A file that cannot be read, or whose header is wrong, is refused at once
    whatever its size. The task is sent after the surrounding transaction commits.
    """
    read = read_upload(content, filename)
    if isinstance(read, UploadReport):
        return Submission(report=read)
    _columns, rows = read
    if len(rows) <= INLINE_ROWS:
        return Submission(report=tracking_upload(supplier=supplier, content=content, filename=filename, actor=actor))
    job = {
        "id": job_id_new(),
        "supplier_id": supplier.pk,
        "actor_id": getattr(actor, "pk", None),
        "filename": filename[:200],
        "language": translation.get_language() or "",
        "state": "queued",
        "phase": "queued",
        "rows": len(rows),
        "done": 0,
        "total": 0,
        "report": None,
        "created": timezone.now().isoformat(),
    }
    cache.set(_content_key(job["id"]), content, timeout=KEEP_SECONDS)
    _save(job)
    enqueue_named(TRACKING_UPLOAD_TASK, job["id"])
    return Submission(job=job)


def tracking_upload_job(*, supplier: Supplier, job_id: str) -> dict | None:
    """The job as the page and the API show it, with its percent; None if unknown or another supplier's."""
    if not job_id_valid(str(job_id)):
        return None
    job = cache.get(_key(str(job_id)))
    if job is None or job.get("supplier_id") != supplier.pk:
        return None
    finished = job["state"] in ("done", "rejected", "failed")
    share = job["done"] / job["total"] if job["total"] else 0
    # Checking the dispatches is the first half of the bar, shipping them the second.
    percent = 100 if finished else int(50 * share) + (50 if job["phase"] == "shipping" else 0)
    return {**job, "percent": min(percent, 100), "finished": finished}


def tracking_upload_job_run(*, job_id: str) -> dict | None:
    """Run a queued upload, saving its progress as it goes. Safe to run twice: a finished job is left as it is."""
    job = cache.get(_key(job_id))
    if job is None:
        logger.warning("tracking upload job unknown or expired", extra={"job": job_id})
        return None
    if job["state"] in ("done", "rejected", "failed"):
        return job
    supplier = Supplier.objects.filter(pk=job["supplier_id"]).first()
    content = cache.get(_content_key(job_id))
    actor = get_user_model().objects.filter(pk=job["actor_id"]).first() if job["actor_id"] else None

    def progress(phase: str, done: int, total: int) -> None:
        job.update(state="running", phase=phase, done=done, total=total)
        _save(job)

    progress("reading", 0, 0)
    try:
        if supplier is None or content is None:
            report = refused(_("The uploaded file is no longer available; upload it again."))
        elif not supplier.active:
            # Deactivated while the job waited: its users are shut out of the portal, and so is their upload.
            report = refused(_("Your supplier account is deactivated; nothing was shipped."))
        else:
            with translation.override(job.get("language") or None):
                report = tracking_upload(
                    supplier=supplier, content=content, filename=job["filename"], actor=actor, progress=progress
                )
    except Exception:
        logger.exception("tracking upload failed", extra={"job": job_id})
        report = refused(_("The upload failed unexpectedly; nothing was shipped. Please try again."))
        job["state"] = "failed"
    else:
        job["state"] = "done" if report.ok else "rejected"
    job.update(phase=job["state"], report=report.as_dict())
    cache.delete(_content_key(job_id))
    return _save(job)


__all__ = [
    "INLINE_ROWS",
    "TRACKING_UPLOAD_TASK",
    "Submission",
    "tracking_upload_job",
    "tracking_upload_job_run",
    "tracking_upload_submit",
]
