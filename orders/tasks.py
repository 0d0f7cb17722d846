"""Celery tasks of the orders app: thin wrappers that take ids and call a lifecycle service.

Each chunk of orders is routed in its own transaction, so a worker killed
mid-task loses at most one chunk's work, and the re-run skips what is done
(routed orders are no longer new). The routing jobs and the simulation have
their tasks beside their services (orders.routing.jobs, orders.routing.simulation).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from core.bulk import chunked
from core.tasks import enqueue, tenant_task
from orders.lifecycle import dispatch_changed as follow_dispatch
from orders.lifecycle import orders_ingested
from orders.routing.batch import RouteSummary
from orders.routing.jobs import reroute_after_mapping, run_routing_job
from orders.routing.services import route_orders as route
from orders.routing.simulation import simulate_ruleset

ROUTE_CHUNK = 1000

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


@tenant_task(name="orders.route_orders")
def route_orders(order_ids: list[int], trigger: str = "manual", actor_id: int | None = None) -> dict:
    """Route new and held orders, one transaction per chunk; returns the summed counts."""
    actor = _actor(actor_id)
    total = RouteSummary()
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        total.add(route(order_ids=chunk, trigger=trigger, actor=actor))
    return _counts(total)


@tenant_task(name="orders.after_ingest")
def after_ingest(order_ids: list[int]) -> dict:
    """What follows an ingest: cancellations handled, new orders routed (trigger "ingest")."""
    total = RouteSummary()
    for chunk in chunked(sorted(set(order_ids)), ROUTE_CHUNK):
        total.add(orders_ingested(order_ids=chunk))
    return _counts(total)


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
    """Route orders in the background once the current transaction commits."""
    ids = sorted(set(order_ids))
    if ids:
        enqueue(route_orders, ids, trigger, getattr(actor, "pk", None))


def enqueue_after_ingest(*, order_ids: Iterable[int]) -> None:
    """Called by ingest with the ids it created or changed; runs after its transaction commits."""
    ids = sorted(set(order_ids))
    if ids:
        enqueue(after_ingest, ids)
