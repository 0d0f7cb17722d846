"""Celery tasks of the channels app: thin wrappers that fetch by id and call a service."""

from __future__ import annotations

import datetime as dt
import logging

from channels.adapters.base import ChannelUnavailable
from channels.imports import order_import_run
from channels.services import SYNC_STORE_TASK, store_sync, stores_due_for_sync
from core.tasks import enqueue, tenant_task

logger = logging.getLogger(__name__)


@tenant_task(
    name=SYNC_STORE_TASK,
    queue="long",
    autoretry_for=(ChannelUnavailable,),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    retry_jitter=True,
    max_retries=5,
)
def sync_store(store_id: int, kind: str = "scheduled", window_start: str | None = None, window_end: str | None = None):
    """Run store_sync; it skips (None) a store that may not sync any more, e.g. paused since it was asked for."""
    run = store_sync(
        store_id=store_id,
        kind=kind,
        window_start=dt.datetime.fromisoformat(window_start) if window_start else None,
        window_end=dt.datetime.fromisoformat(window_end) if window_end else None,
    )
    return run.pk if run else None


@tenant_task(name="channels.sync_due_stores")
def sync_due_stores() -> int:
    """Periodic: enqueue the sync of every active store whose interval has passed."""
    due = stores_due_for_sync()
    for store_id in due:
        enqueue(sync_store, store_id, "scheduled")
    return len(due)


@tenant_task(name="channels.import_orders", queue="long")
def import_orders(import_id: int) -> str:
    return order_import_run(import_id=import_id).status
