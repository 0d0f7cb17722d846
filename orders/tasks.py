"""Celery tasks of the orders app: thin wrappers that take ids and call a lifecycle service.

Each chunk of orders is routed in its own transaction, so a worker killed
mid-task loses at most one chunk's work, and the re-run skips what is done
(routed orders are no longer new). Routing is sent as one task per chunk
(``enqueue_after_ingest``, ``enqueue_routing``), so that several worker
processes, on as many cores and hosts as there are, route one ingest at once:
orders.routing.batch keeps concurrent chunks from overselling stock or
missing a merge, and takes its locks in one order so that they cannot deadlock. The routing jobs and the simulation have
their tasks beside their services (orders.routing.jobs, orders.routing.simulation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.bulk import chunked
from core.tasks import enqueue, tenant_task
from orders.lifecycle import dispatch_changed as follow_dispatch
from orders.lifecycle import orders_ingested
from orders.models import Order
from orders.routing.batch import RouteSummary
from orders.routing.jobs import reroute_after_mapping, run_routing_job
from orders.routing.services import route_orders as route
from orders.routing.simulation import simulate_ruleset

ROUTE_CHUNK = 1000
# A lost database connection (failover, restart, pg_terminate_backend) rolls back the chunk under way; the task
# tries again on a new connection, skipping the chunks already routed. Without it those orders would stay new.
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 8,
}

# Declared beside their services; named here so that the worker's autodiscovery (which reads tasks.py) finds them.
ROUTING_TASKS = (reroute_after_mapping, run_routing_job, simulate_ruleset)


def _actor(actor_id: int | None):
    return None if actor_id is None else get_user_model().objects.filter(pk=actor_id).first()


def _counts(summary: RouteSummary) -> dict:
    return {
        "routed": summary.routed,
        "held": summary.held,
        "dispatches_created": summary.dispatches_created,
        "skipped": summary.skipped,
    }


@tenant_task(name="orders.route_orders", **DATABASE_RETRY)
def route_orders(order_ids: list[int], trigger: str = "manual", actor_id: int | None = None) -> dict:
    """Route new and held orders, one transaction per chunk; returns the summed counts."""
    actor = _actor(actor_id)
    total = RouteSummary()
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        total.add(route(order_ids=chunk, trigger=trigger, actor=actor))
    return _counts(total)


@tenant_task(name="orders.after_ingest", **DATABASE_RETRY)
def after_ingest(order_ids: list[int]) -> dict:
    """What follows an ingest: cancellations handled, new orders routed (trigger "ingest")."""
    return _after_ingest(order_ids)


def _after_ingest(order_ids: list[int]) -> dict:
    total = RouteSummary()
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        total.add(orders_ingested(order_ids=chunk))
    return _counts(total)


# A new order's routing task is lost when the worker running it dies for good (the broker gives it back only after
# its visibility timeout, hours) or when it failed past its retries: the sweep routes such orders again.
STALE_NEW_SECONDS = 10 * 60
SWEEP_LIMIT = 5000


@tenant_task(name="orders.sweep_unrouted", **DATABASE_RETRY)
def sweep_unrouted(older_than_seconds: int = STALE_NEW_SECONDS) -> dict:
    """Periodic: what follows an ingest, again, for orders still new ``older_than_seconds`` after they came in.

    Safe at any time, also beside the lost task coming back: routed orders are skipped, rows are locked.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    stale = Order.objects.filter(status=Order.Status.NEW, created__lte=cutoff).order_by("pk")
    return _after_ingest(list(stale.values_list("pk", flat=True)[:SWEEP_LIMIT]))


# Sent by name from suppliers (a layer below) after a supplier rejected or shipped: suppliers.dispatches.DISPATCH_CHANGED.
@tenant_task(name="orders.dispatch_changed")
def dispatch_changed(dispatch_id: int, actor_id: int | None = None) -> dict:
    """Follow a supplier's rejection or shipment through the orders and the stock (safe to run twice)."""
    return _counts(follow_dispatch(dispatch_id=dispatch_id, actor=_actor(actor_id)))


# Sent by name from suppliers after many dispatches shipped at once: suppliers.dispatches.DISPATCHES_CHANGED.
@tenant_task(name="orders.dispatches_changed")
def dispatches_changed(dispatch_ids: list[int], actor_id: int | None = None) -> dict:
    """``dispatch_changed`` for each dispatch, one transaction each (safe to run twice, like it)."""
    actor = _actor(actor_id)
    total = RouteSummary()
    for dispatch_id in dispatch_ids:
        total.add(follow_dispatch(dispatch_id=dispatch_id, actor=actor))
    return _counts(total)


def enqueue_routing(*, order_ids: Iterable[int], trigger: str = "manual", actor=None) -> None:
    """Route orders in the background once the current transaction commits, a task per chunk."""
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        enqueue(route_orders, chunk, trigger, getattr(actor, "pk", None))


def enqueue_after_ingest(*, order_ids: Iterable[int]) -> None:
    """Called by ingest with the ids it created or changed; a task per chunk, sent after its transaction commits."""
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        enqueue(after_ingest, chunk)
