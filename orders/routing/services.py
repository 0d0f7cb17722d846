"""Routing services: route new orders, release holds, re-route; each one transaction, set-based (routing.batch)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction

from orders.models import Order, OrderLine
from orders.routing.batch import RouteSummary, route_batch

S = Order.Status


@transaction.atomic
def route_orders(*, order_ids: Sequence[int], trigger: str, actor=None, ignore_holds: bool = False) -> RouteSummary:
    """Route new and held orders into dispatches, in one transaction, set-based.

    Orders in any other state are skipped (counted). Listing SKUs equal to a
    product SKU are mapped first. Each order gets a stored decision; one that
    passes every hold rule gets a dispatch per supplier (or joins a pending
    dispatch of its merge group) with its stock reserved and becomes routed,
    ``auto_routed`` when it came in by ingest; the others are held with their
    reasons. Safe to run twice and against concurrent callers: rows are locked
    and already-routed orders are skipped.
    """
    return route_batch(
        order_ids=order_ids, trigger=trigger, actor=actor, ignore_holds=ignore_holds, statuses=(S.NEW, S.HELD)
    )


@transaction.atomic
def release_holds(*, order_ids: Sequence[int], actor) -> RouteSummary:
    """A person reviewed held orders: route them ignoring the hold rules.

    Unmapped SKUs and lines with no usable source still hold. Released orders
    are never counted as auto-routed.
    """
    return route_batch(order_ids=order_ids, trigger="release", actor=actor, ignore_holds=True, statuses=(S.HELD,))


@transaction.atomic
def reroute_orders(*, order_ids: Sequence[int], actor=None, trigger: str = "reroute") -> RouteSummary:
    """Route orders that have not shipped again under today's rules, catalog and stock. Idempotent.

    Pending dispatch lines the new decision keeps stay as they are; the others
    are released (stock given back; a dispatch left empty is cancelled) and the
    new lines join the order's pending dispatch of that supplier, or a new one:
    never a second dispatch for the same order and supplier. Lines a supplier
    accepted or shipped are not moved. Run twice, the second run changes nothing.
    """
    statuses = (S.NEW, S.HELD, S.ROUTED, S.PARTIALLY_SHIPPED)
    return route_batch(order_ids=order_ids, trigger=trigger, actor=actor, ignore_holds=False, statuses=statuses)


def held_for_listings(*, listing_skus: Iterable[str]) -> list[int]:
    """The held orders that sell any of these listing SKUs, in id order."""
    skus = sorted({sku for sku in listing_skus if sku})
    if not skus:
        return []
    return list(
        OrderLine.objects.filter(listing_sku__in=skus, order__status=S.HELD)
        .values_list("order_id", flat=True)
        .distinct()
        .order_by("order_id")
    )


@transaction.atomic
def reroute_held_for_listings(
    *, listing_skus: Iterable[str], actor=None, order_ids: Sequence[int] | None = None
) -> RouteSummary:
    """After a listing mapping was made or changed: route again the held orders that sell those listing SKUs.

    ``order_ids`` narrows it to a chunk of them (a job routes a chunk per transaction); orders no longer held
    are skipped.
    """
    if order_ids is None:
        order_ids = held_for_listings(listing_skus=listing_skus)
    if not order_ids:
        return RouteSummary()
    return route_batch(order_ids=order_ids, trigger="mapping", actor=actor, ignore_holds=False, statuses=(S.HELD,))
