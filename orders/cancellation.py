"""Cancellation: the buyer cancelled on the channel. What has not shipped is intercepted, what shipped
becomes a return for settlement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from inventory.stock import stock_reserve
from orders.models import Order, ReturnRecord
from orders.states import orders_lock, orders_transition
from suppliers.dispatches import OPEN, StoredLine, dispatch_lines_of_orders, dispatches_intercept, dispatches_lock_by_id
from suppliers.models import Dispatch

S = Order.Status
D = Dispatch.Status


@dataclass
class CancelSummary:
    cancelled: int = 0
    intercepted_dispatches: int = 0  # dispatches cancelled before shipping
    returns: int = 0  # ReturnRecords made for lines that had shipped
    skipped: int = 0  # cancelled already, or unknown


@transaction.atomic
def orders_cancelled_on_channel(
    *, order_ids: Iterable[int], reason: str = "Cancelled on the channel."
) -> CancelSummary:
    """The buyer cancelled on the channel. Idempotent.

    What has not shipped is intercepted: open dispatches are cancelled (the
    supplier sees them cancelled) and their stock released; from a dispatch
    merged with other orders only this order's lines are taken off. What had
    shipped becomes one ReturnRecord per order line (quantity and net amount)
    for settlement. The order ends cancelled; an order cancelled already is skipped.
    """
    requested = set(order_ids)
    orders = [o for o in orders_lock(order_ids=requested, with_lines=True) if o.status != S.CANCELLED]
    summary = CancelSummary(skipped=len(requested) - len(orders))
    if not orders:
        return summary
    ids = [o.pk for o in orders]
    stored = dispatch_lines_of_orders(order_ids=ids)
    locked = dispatches_lock_by_id(ids=sorted({line.dispatch_id for line in stored if line.status in OPEN}))
    # A supplier may have shipped (or rejected) since the lines were read: the locked status is the truth.
    stored = [
        line._replace(status=locked[line.dispatch_id].status) if line.dispatch_id in locked else line for line in stored
    ]
    open_lines = [line for line in stored if line.status in OPEN]
    summary.intercepted_dispatches, given_back = dispatches_intercept(
        open_lines=open_lines, locked=locked, order_ids=ids, reason=reason
    )
    stock_reserve(deltas={source_id: -units for source_id, units in given_back.items()})
    summary.returns = _returns(orders, stored, reason=reason)
    orders_transition(orders=orders, to=S.CANCELLED, actor_label="channel", reasons={o.pk: reason for o in orders})
    summary.cancelled = len(orders)
    return summary


def _returns(orders: list[Order], stored: list[StoredLine], *, reason: str) -> int:
    """A ReturnRecord per order line that shipped (its quantity and net amount); none twice."""
    shipped_by_line: dict[int, int] = {}
    for line in stored:
        if line.status == D.SHIPPED and line.order_line_id is not None:
            shipped_by_line.setdefault(line.order_line_id, line.pk)
    returns = [
        ReturnRecord(
            order_id=order.pk,
            order_line_id=line.pk,
            dispatch_line_id=shipped_by_line[line.pk],
            listing_sku=line.listing_sku,
            quantity=line.quantity,
            amount=line.net_amount,
            currency=order.currency,
            reason=reason[:300],
        )
        for order in orders
        for line in order.lines.all()
        if line.pk in shipped_by_line
    ]
    return len(ReturnRecord.objects.bulk_create(returns, ignore_conflicts=True))
