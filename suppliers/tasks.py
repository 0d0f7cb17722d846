"""Suppliers' tasks."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from core.tasks import enqueue, tenant_task
from suppliers.digest import digest_run_claim, supplier_digest_send
from suppliers.invites import SEND_INVITE_TASK, invite_send
from suppliers.tracking_upload_jobs import TRACKING_UPLOAD_TASK, tracking_upload_job_run


# Sent by suppliers.tracking_upload_jobs.tracking_upload_submit for a file too large to check while the person waits.
@tenant_task(name=TRACKING_UPLOAD_TASK, queue="long")
def run_tracking_upload(job_id: str) -> dict | None:
    return tracking_upload_job_run(job_id=job_id)


# ---------------------------------------------------------------- the merchant's side: invitations, daily digest


@tenant_task(name=SEND_INVITE_TASK, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_supplier_invite(user_id: int, domain: str, use_https: bool) -> bool:
    """E-mail a supplier user the link that sets their password (suppliers.invites.invite_send)."""
    return invite_send(user_id=user_id, domain=domain, use_https=use_https)


@tenant_task(name="suppliers.send_due_digests")
def send_due_digests() -> int:
    """Periodic (erp.tasks' dispatcher, every minute): once a day, a digest task per active supplier."""
    run = digest_run_claim(now=timezone.now(), tz=connection.tenant.tz)
    if run is None:
        return 0
    for supplier_id in run.supplier_ids:
        enqueue(send_supplier_digest, supplier_id, run.day.isoformat(), run.cutoff.isoformat())
    return len(run.supplier_ids)


@tenant_task(name="suppliers.send_digest", autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def send_supplier_digest(supplier_id: int, day: str, cutoff: str) -> bool:
    """One supplier's digest for ``day`` (ISO date), listing the dispatches routed up to ``cutoff`` (ISO datetime)."""
    return supplier_digest_send(
        supplier_id=supplier_id, day=dt.date.fromisoformat(day), cutoff=dt.datetime.fromisoformat(cutoff)
    )
