"""Celery tasks of the channels app: thin wrappers that fetch by id and call a service."""

from __future__ import annotations

import datetime as dt
import logging

from channels.adapters.base import ChannelUnavailable
from channels.fulfillment import (
    MAX_TRIES,
    PUSH_FULFILLMENT_TASK,
    PUSH_FULFILLMENTS_TASK,
    fulfillment_push,
    fulfillments_plan,
    fulfillments_stuck,
)
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
    bind=True,
)
def sync_store(
    self, store_id: int, kind: str = "scheduled", window_start: str | None = None, window_end: str | None = None
):
    """Run store_sync; it skips (None) a store that may not sync any more, e.g. paused since it was asked for.

    The task's id is the sync lock's token, so the same task redelivered after its worker died goes on at once.
    """
    run = store_sync(
        store_id=store_id,
        kind=kind,
        window_start=dt.datetime.fromisoformat(window_start) if window_start else None,
        window_end=dt.datetime.fromisoformat(window_end) if window_end else None,
        task_id=self.request.id,
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


@tenant_task(name=PUSH_FULFILLMENTS_TASK)
def push_fulfillments(dispatch_id: int) -> int:
    """After a dispatch shipped (sent by orders.lifecycle): plan its pushes and send each pending one.

    Safe to run twice: planning adds nothing the second time, and a push that
    is no longer pending is skipped by its own task.
    """
    pending = fulfillments_plan(dispatch_id=dispatch_id)
    for push_id in pending:
        enqueue(push_fulfillment, push_id)
    return len(pending)


@tenant_task(name="channels.sweep_fulfillments")
def sweep_fulfillments() -> int:
    """Periodic: send again the pending pushes whose task was lost (not attempted for a while).

    Safe at any time: an attempt skips a push that is no longer pending or that another worker holds.
    """
    pushes = fulfillments_stuck()
    for push_id in pushes:
        enqueue(push_fulfillment, push_id)
    return len(pushes)


@tenant_task(name=PUSH_FULFILLMENT_TASK, bind=True, max_retries=MAX_TRIES)
def push_fulfillment(self, push_id: int) -> str:
    """One attempt; while the channel is down or rate limiting, try again later, up to MAX_TRIES attempts."""
    outcome = fulfillment_push(push_id=push_id, last_try=self.request.retries + 1 >= MAX_TRIES)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
