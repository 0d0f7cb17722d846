"""What follows a supplier's answer: a rejection falls through the source path, a shipment consumes the stock."""

from __future__ import annotations

from orders.models import Order, Transition
from orders.routing.services import route_orders
from suppliers.actions import dispatch_accept
from suppliers.models import Dispatch, DispatchEvent, DispatchLine
from tests.orders.routing_factories import (
    add_source,
    make_order,
    make_product,
    supplier_rejects,
    supplier_ships,
)
from tests.orders.routing_reads import current_decision, hold_codes, lines_of, reload, stock_of

S = Order.Status


def test_rejection_falls_through_the_path_and_holds_when_none_is_left(store, acme, bolt):
    mug = make_product("MUG")
    at_acme = add_source(mug, acme, stock=5)
    at_bolt = add_source(mug, bolt, stock=5)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    first = Dispatch.objects.get(lines__order=order)

    summary = supplier_rejects(dispatch=first, reason="Out of stock at our end")

    assert (summary.routed, summary.dispatches_created) == (1, 1)
    assert reload(first).status == Dispatch.Status.REJECTED
    assert reload(first).reason == "Other: Out of stock at our end"
    assert stock_of(at_acme) == (5, 0)
    assert stock_of(at_bolt) == (5, 2)
    assert lines_of(order) == [(bolt.pk, "MUG", 2, False, 2)]
    decision = current_decision(order)
    assert decision.trigger == "rejection"
    assert decision.lines[0]["considered"][0]["reasons"][0]["code"] == "rejected_before"
    assert reload(order).status == S.ROUTED

    second = Dispatch.objects.get(lines__order=order, status="pending")
    summary = supplier_rejects(dispatch=second, reason="No")

    assert summary.held == 1
    order = reload(order)
    assert order.status == S.HELD
    assert hold_codes(order) == ["no_source_left"]
    assert stock_of(at_bolt) == (5, 0)
    assert lines_of(order) == []
    timeline = list(Transition.objects.filter(order=order).values_list("from_state", "to_state"))
    assert timeline == [("new", "routed"), ("routed", "held")]
    rejections = DispatchEvent.objects.filter(dispatch__in=[first, second]).order_by("at", "id")
    assert list(rejections.values_list("dispatch", "from_state", "to_state", "reason")) == [
        (first.pk, "pending", "rejected", "Other: Out of stock at our end"),
        (second.pk, "pending", "rejected", "Other: No"),
    ]


def test_rejection_of_one_dispatch_leaves_the_accepted_one_alone(store, acme, bolt):
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme)
    add_source(mug, bolt)
    add_source(tee, bolt, stock=4)
    order = make_order(store, ("MUG", 1), ("TEE", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    tee_dispatch = Dispatch.objects.get(supplier=bolt)
    dispatch_accept(dispatch=tee_dispatch)

    supplier_rejects(dispatch=Dispatch.objects.get(supplier=acme), reason="No")

    assert reload(tee_dispatch).status == Dispatch.Status.ACCEPTED
    assert lines_of(order) == [(bolt.pk, "MUG", 1, False, 0), (bolt.pk, "TEE", 1, False, 1)]
    # The remainder joins no accepted dispatch: the mug goes out on a new pending one.
    mug_line = DispatchLine.objects.get(order=order, product__sku="MUG", dispatch__status="pending")
    assert mug_line.dispatch_id != tee_dispatch.pk


def test_shipping_consumes_the_reservation_and_moves_the_order(store, acme, bolt):
    mug, tee = make_product("MUG"), make_product("TEE")
    at_acme = add_source(mug, acme, stock=5)
    add_source(tee, bolt)
    order = make_order(store, ("MUG", 2), ("TEE", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    mugs, tees = Dispatch.objects.get(supplier=acme), Dispatch.objects.get(supplier=bolt)

    dispatch_accept(dispatch=mugs)
    supplier_ships(dispatch=mugs, carrier="UPS", tracking_number="1Z999AA10123456784")

    assert stock_of(at_acme) == (3, 0)
    assert reload(order).status == S.PARTIALLY_SHIPPED
    supplier_ships(dispatch=tees)
    assert reload(order).status == S.SHIPPED
    shipped = DispatchEvent.objects.get(dispatch=mugs, to_state="shipped")
    assert "1Z999" in shipped.reason
