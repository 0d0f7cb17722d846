"""Orders the channel cancelled: intercepted before shipping, a return record per line after it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from orders.cancellation import orders_cancelled_on_channel
from orders.lifecycle import orders_ingested
from orders.models import Order, ReturnRecord, Transition
from orders.routing.services import route_orders
from suppliers.models import Dispatch, DispatchEvent
from tests.orders.routing_factories import (
    T,
    activate_rules,
    add_source,
    make_order,
    make_product,
    supplier_ships,
)
from tests.orders.routing_reads import reload, stock_of

S = Order.Status


def test_cancelled_before_shipping_intercepts_the_dispatch_and_releases_stock(store, acme):
    source = add_source(make_product("MUG"), acme, stock=5)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    dispatch = Dispatch.objects.get()

    summary = orders_cancelled_on_channel(order_ids=[order.pk])

    assert (summary.cancelled, summary.intercepted_dispatches, summary.returns) == (1, 1, 0)
    assert reload(dispatch).status == Dispatch.Status.CANCELLED
    assert stock_of(source) == (5, 0)
    assert reload(order).status == S.CANCELLED
    assert DispatchEvent.objects.filter(dispatch=dispatch, to_state="cancelled", actor_label="channel").exists()

    again = orders_cancelled_on_channel(order_ids=[order.pk])
    assert (again.cancelled, again.skipped) == (0, 1)
    assert Transition.objects.filter(order=order).count() == 2  # routed, cancelled
    assert DispatchEvent.objects.filter(dispatch=dispatch).count() == 1  # cancelled once


def test_cancelled_after_shipping_becomes_a_return_record_per_line(store, acme):
    source = add_source(make_product("MUG"), acme, stock=5)
    add_source(make_product("TEE"), acme)
    order = make_order(store, ("MUG", 2, "12.50"), ("TEE", 1, "20.00"))
    route_orders(order_ids=[order.pk], trigger="ingest")
    supplier_ships(dispatch=Dispatch.objects.get())

    summary = orders_cancelled_on_channel(order_ids=[order.pk])

    assert (summary.cancelled, summary.returns, summary.intercepted_dispatches) == (1, 2, 0)
    returns = sorted(ReturnRecord.objects.filter(order=order).values_list("listing_sku", "quantity", "amount"))
    assert returns == [("MUG", 2, Decimal("25.000")), ("TEE", 1, Decimal("20.000"))]
    assert reload(order).status == S.CANCELLED
    assert Dispatch.objects.get().status == Dispatch.Status.SHIPPED
    assert stock_of(source) == (3, 0)
    orders_cancelled_on_channel(order_ids=[order.pk])
    assert ReturnRecord.objects.filter(order=order).count() == 2


def test_cancelling_one_order_of_a_merged_dispatch_keeps_the_other(store, acme):
    source = add_source(make_product("MUG"), acme, stock=9)
    activate_rules(("merge", {"window_hours": 24}))
    keep, drop = make_order(store, ("MUG", 1)), make_order(store, ("MUG", 2))
    route_orders(order_ids=[keep.pk, drop.pk], trigger="ingest")

    orders_cancelled_on_channel(order_ids=[drop.pk])

    dispatch = Dispatch.objects.get()
    assert dispatch.status == Dispatch.Status.PENDING
    assert list(dispatch.lines.values_list("order_id", flat=True)) == [keep.pk]
    assert stock_of(source) == (9, 1)


def test_orders_ingested_routes_new_orders_and_cancels_what_the_channel_cancelled(store, acme):
    source = add_source(make_product("MUG"), acme, stock=5)
    routed = make_order(store, ("MUG", 1), external_id="X-1")
    route_orders(order_ids=[routed.pk], trigger="ingest")
    fresh = make_order(store, ("MUG", 1))
    cancelled = make_order(store, ("MUG", 1), external_id="X-1", cancelled_at=T, updated_at=T + dt.timedelta(minutes=1))
    assert cancelled.pk == routed.pk

    summary = orders_ingested(order_ids=[routed.pk, fresh.pk])

    assert summary.routed == 1
    assert reload(fresh).status == S.ROUTED
    assert reload(routed).status == S.CANCELLED
    assert stock_of(source) == (5, 1)
