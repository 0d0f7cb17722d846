"""Settlement's tasks."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from channels.models import Store
from core.tasks import tenant_task
from settlement.closing import CLOSE_TASK, period_close_run
from settlement.exports import EXPORT_TASK, export_run
from settlement.payouts import FETCH_TASK, IMPORT_TASK, payout_fetch_run, payout_import_job_run


# Sent by settlement.closing.period_close_start once the period is claimed (closing); safe to run again. A lost
# database connection rolls the close back and leaves the period closing: the task resumes it on a new connection.
@tenant_task(
    name=CLOSE_TASK,
    queue="long",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=6,
)
def close_period(period_id: int, actor_id: int | None = None) -> dict:
    actor = None if actor_id is None else get_user_model().objects.filter(pk=actor_id).first()
    return period_close_run(period_id=period_id, actor=actor)


# Sent by settlement.payouts.payout_fetch_start: read a store's Shopify Payments payouts into imports.
@tenant_task(name=FETCH_TASK, queue="long")
def fetch_payouts(store_id: int, actor_id: int | None = None, since: str | None = None) -> dict:
    actor = None if actor_id is None else get_user_model().objects.filter(pk=actor_id).first()
    store = Store.objects.get(pk=store_id)
    return payout_fetch_run(store=store, user=actor, since=dt.date.fromisoformat(since) if since else None)


# Sent by settlement.exports.export_start after commit; safe to run again (a finished export is left alone).
@tenant_task(name=EXPORT_TASK, queue="long")
def write_export(export_id: int) -> str:
    export = export_run(export_id=export_id)
    return "gone" if export is None else export.status


# Sent by settlement.payouts.payout_file_submit for a payout file too large to import while the person waits;
# safe to run again (a finished job is left alone, and the same file is imported once).
@tenant_task(name=IMPORT_TASK, queue="long")
def run_payout_import(job_id: int) -> str | None:
    job = payout_import_job_run(job_id=job_id)
    return job.status if job is not None else None
