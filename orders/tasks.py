"""Celery tasks of the orders app: thin wrappers that take ids and call a lifecycle service.

Each chunk of orders is routed in its own transaction, so a worker killed
mid-task loses at most one chunk's work, and the re-run skips what is done
(routed orders are no longer new).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.tasks import enqueue, tenant_task

ROUTE_CHUNK = 1000


def _chunks(ids: Iterable[int], size: int = ROUTE_CHUNK) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _actor(actor_id: int | None):
    if actor_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=actor_id).first()


@tenant_task(name="orders.route_orders")
def route_orders(order_ids: list[int], trigger: str = "manual", actor_id: int | None = None) -> dict:
    """Route new and held orders, one transaction per chunk; returns the summed counts."""
    from orders.lifecycle import RouteSummary
    from orders.lifecycle import route_orders as route

    actor = _actor(actor_id)
    total = RouteSummary()
    for chunk in _chunks(order_ids):
        total.add(route(order_ids=chunk, trigger=trigger, actor=actor))
    return {
        "routed": total.routed,
        "held": total.held,
        "dispatches_created": total.dispatches_created,
        "skipped": total.skipped,
    }


@tenant_task(name="orders.after_ingest")
def after_ingest(order_ids: list[int]) -> dict:
    """What follows an ingest: cancellations handled, new orders routed (trigger "ingest")."""
    from orders.lifecycle import RouteSummary, orders_ingested

    total = RouteSummary()
    for chunk in _chunks(order_ids):
        total.add(orders_ingested(order_ids=chunk))
    return {"routed": total.routed, "held": total.held, "dispatches_created": total.dispatches_created}


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
