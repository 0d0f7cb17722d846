"""The order's life after ingest, where other apps hand work back to it.

- ``orders_ingested``: after an ingest committed, cancel what the channel
  cancelled and route what is new.
- ``dispatch_changed``: after a supplier rejected or shipped a dispatch
  (suppliers.dispatches sends it as a task after its commit): give back or
  consume the stock the dispatch held, route rejected lines on, and move the
  orders it carries to shipped or partly shipped, then have the channels
  push the tracking (PUSH_FULFILLMENTS).

Both are safe to run twice: a dispatch's lines hold their reservation until
it is given back or consumed once, routing skips what it routed already, and
an order's shipping state is computed from its dispatches, not counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from core.tasks import enqueue_named
from inventory.stock import stock_consume, stock_reserve
from orders.cancellation import orders_cancelled_on_channel
from orders.models import Order
from orders.phrases import DISPATCH_SHIPPED
from orders.routing.batch import RouteSummary, route_batch
from orders.routing.services import route_orders
from orders.states import orders_lock, orders_transition
from suppliers.dispatches import (
    OPEN,
    dispatch_lines_unreserve,
    dispatch_order_ids,
    dispatch_statuses_of_orders,
    dispatches_lock_by_id,
)
from suppliers.models import Dispatch

S = Order.Status
D = Dispatch.Status

# channels/tasks.py: push a shipped dispatch's parcels to its orders' channels (safe to send twice).
PUSH_FULFILLMENTS = "channels.push_fulfillments"


def orders_ingested(*, order_ids: Iterable[int]) -> RouteSummary:
    """After an ingest committed: cancel what the channel cancelled, route what is new (trigger "ingest").

    Two transactions (unless the caller holds one): the cancellations give back stock, and a transaction
    holding stock must not then wait for the merge groups and dispatches that a routing batch locks before
    its stock. Safe to run twice: cancelled orders are skipped, routed ones are no longer new.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return RouteSummary()
    with transaction.atomic():
        cancelled = list(
            Order.objects.filter(pk__in=ids, cancelled_at__isnull=False)
            .exclude(status=S.CANCELLED)
            .values_list("pk", flat=True)
        )
        if cancelled:
            orders_cancelled_on_channel(order_ids=cancelled)
    new = list(Order.objects.filter(pk__in=ids, status=S.NEW, cancelled_at__isnull=True).values_list("pk", flat=True))
    if not new:
        return RouteSummary(skipped=len(ids))
    summary = route_orders(order_ids=new, trigger="ingest")
    summary.skipped += len(ids) - len(new)
    return summary


def _shipping_state(order: Order, statuses: list[str]) -> str:
    if order.status == S.HELD:
        return S.HELD  # what is left still needs a person; the timeline shows what shipped
    open_left = any(status in OPEN for status in statuses)
    return S.PARTIALLY_SHIPPED if open_left else S.SHIPPED


@transaction.atomic
def dispatch_changed(*, dispatch_id: int, actor=None) -> RouteSummary:
    """Follow a supplier's rejection or shipment through the orders and the stock. Safe to run twice.

    Rejected: the stock its lines held is given back and each line goes to the
    next usable source on its path (the rejected source is excluded for those
    orders from now on); an order whose lines have none left is held with
    ``no_source_left``. Hold rules are not applied again.
    Shipped: the reservations are consumed (on hand and reserved both drop)
    and each order it carries becomes shipped, or partly shipped while other
    dispatches are open. Any other state: nothing to do.
    """
    orders = orders_lock(order_ids=dispatch_order_ids(dispatch_id=dispatch_id))
    dispatch = dispatches_lock_by_id(ids=[dispatch_id]).get(dispatch_id)
    if dispatch is None or dispatch.status not in (D.REJECTED, D.SHIPPED):
        return RouteSummary(skipped=len(orders))
    units = dispatch_lines_unreserve(dispatch_id=dispatch_id)
    if dispatch.status == D.REJECTED:
        summary = route_batch(
            order_ids=[order.pk for order in orders],
            trigger="rejection",
            actor=actor,
            ignore_holds=True,
            statuses=(S.ROUTED, S.PARTIALLY_SHIPPED),
        )
        # Given back after routing, not before: routing locks merge groups and dispatches before stock, and so
        # must this transaction, or it could hold stock a routing batch waits for while waiting for that batch.
        # The orders' rejected sources are excluded from their routing, so it would not have used these units.
        stock_reserve(deltas={source_id: -count for source_id, count in units.items()})
        return summary
    stock_consume(units=units)
    statuses = dispatch_statuses_of_orders(order_ids=[order.pk for order in orders])
    moves: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        to = _shipping_state(order, statuses[order.pk])
        if order.status not in (to, S.CANCELLED):
            moves[to].append(order)
    for to, group in sorted(moves.items()):
        orders_transition(
            orders=group,
            to=to,
            actor=actor,
            actor_label="supplier",
            reasons={order.pk: DISPATCH_SHIPPED % {"number": dispatch.number} for order in group},
        )
    # The channels (a layer above) tell each order's store what shipped, after this commits.
    enqueue_named(PUSH_FULFILLMENTS, dispatch_id)
    return RouteSummary(order_ids=[order.pk for order in orders])
