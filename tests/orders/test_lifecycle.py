"""Routing against the database: rules end to end, dispatches, reservations, rejection, cancellation, re-route."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from inventory.models import Listing, Stock
from orders.cancellation import orders_cancelled_on_channel
from orders.lifecycle import orders_ingested
from orders.models import Order, ReturnRecord, RoutingDecision, Transition
from orders.routing.core import Reason, describe
from orders.routing.services import release_holds, reroute_held_for_listings, reroute_orders, route_orders
from suppliers.dispatches import dispatch_accept
from suppliers.models import Dispatch, DispatchEvent, DispatchLine
from tests.conftest import in_tenant
from tests.orders.routing_factories import (
    T,
    activate_rules,
    add_source,
    make_order,
    make_product,
    make_store,
    make_supplier,
    map_listing,
    supplier_rejects,
    supplier_ships,
)

S = Order.Status


@pytest.fixture
def tenant(tenant_a):
    connection.set_tenant(tenant_a)
    return tenant_a


@pytest.fixture
def store(tenant):
    return make_store()


@pytest.fixture
def acme(tenant):
    return make_supplier("Acme")


@pytest.fixture
def bolt(tenant):
    return make_supplier("Bolt")


def reload(obj):
    obj.refresh_from_db()
    return obj


def stock_of(source) -> tuple[int, int]:
    stock = Stock.objects.get(source=source)
    return stock.on_hand, stock.reserved


def lines_of(order) -> list[tuple]:
    """(supplier id, product sku, quantity, gift, reserved) of the order's live dispatch lines."""
    return sorted(
        DispatchLine.objects.filter(order=order, dispatch__status__in=["pending", "accepted", "shipped"]).values_list(
            "dispatch__supplier_id", "product__sku", "quantity", "is_gift", "reserved"
        ),
        key=lambda row: (row[0] or 0, row[1], row[3]),
    )


def current_decision(order) -> RoutingDecision:
    return RoutingDecision.objects.get(order=order, is_current=True)


def hold_codes(order) -> list[str]:
    return [reason["code"] for reason in current_decision(order).hold_reasons]


# ---------------------------------------------------------------------------
# Routing a new order


def test_a_new_order_is_auto_mapped_routed_reserved_and_recorded(store, acme, bolt):
    mug = make_product("MUG")
    first = add_source(mug, acme, stock=10)
    add_source(mug, bolt, stock=10)
    order = make_order(store, ("MUG", 2))

    summary = route_orders(order_ids=[order.pk], trigger="ingest")

    assert (summary.routed, summary.held, summary.dispatches_created, summary.skipped) == (1, 0, 1, 0)
    order = reload(order)
    assert order.status == S.ROUTED
    assert order.auto_routed is True
    assert order.routed_at is not None
    assert Listing.objects.get(listing_sku="MUG").auto_mapped is True
    assert lines_of(order) == [(acme.pk, "MUG", 2, False, 2)]
    dispatch = Dispatch.objects.get(lines__order=order)
    assert dispatch.status == Dispatch.Status.PENDING
    assert dispatch.number == f"D{dispatch.pk:08d}"
    assert stock_of(first) == (10, 2)
    transition = Transition.objects.get(order=order)
    assert (transition.from_state, transition.to_state, transition.actor_label) == ("new", "routed", "routing")


def test_every_decision_is_explained_line_by_line_and_source_by_source(store, acme, bolt):
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme, stock=0)
    add_source(mug, bolt)
    add_source(tee, None, stock=5)
    order = make_order(store, ("MUG", 1), ("TEE", 1), ("NOPE", 1))

    route_orders(order_ids=[order.pk], trigger="ingest")

    decision = current_decision(order)
    assert decision.held and decision.trigger == "ingest"
    assert len(decision.lines) == 3
    for line in decision.lines:
        assert line["reasons"], line
        for considered in line["considered"]:
            assert considered["reasons"], considered
            for reason in considered["reasons"]:
                assert describe(Reason(reason["code"], reason["params"]))
    mug_line = next(line for line in decision.lines if line["listing_sku"] == "MUG")
    assert [c["reasons"][0]["code"] for c in mug_line["considered"]] == ["no_stock", "chosen"]
    assert hold_codes(order) == ["unmapped_sku"]


def test_an_order_in_another_state_is_skipped(store, acme):
    add_source(make_product("MUG"), acme)
    order = make_order(store, ("MUG", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")

    again = route_orders(order_ids=[order.pk], trigger="ingest")

    assert (again.routed, again.skipped, again.dispatches_created) == (0, 1, 0)
    assert Dispatch.objects.filter(lines__order=order).distinct().count() == 1


# ---------------------------------------------------------------------------
# Hold rules


@pytest.mark.parametrize(
    ("params", "overrides", "code"),
    [
        ({"total_above": "50.00"}, {}, "hold_total_above"),
        ({"address_incomplete": True}, {"line1": ""}, "hold_address_incomplete"),
        ({"note_contains": ["urgent"]}, {"note": "Please, URGENT"}, "hold_note_contains"),
        ({"channels": ["spreadsheet"]}, {}, "hold_channel"),
        ({"tags": ["vip"]}, {"tags": ("vip", "b2b")}, "hold_tag"),
    ],
)
def test_each_hold_rule_holds_with_its_reason_and_reserves_nothing(store, acme, params, overrides, code):
    source = add_source(make_product("MUG"), acme, stock=10)
    activate_rules(("hold", params))
    order = make_order(store, ("MUG", 6), **overrides)

    summary = route_orders(order_ids=[order.pk], trigger="ingest")

    assert (summary.routed, summary.held, summary.dispatches_created) == (0, 1, 0)
    order = reload(order)
    assert order.status == S.HELD
    assert order.auto_routed is False
    assert hold_codes(order) == [code]
    assert stock_of(source) == (10, 0)
    assert not DispatchLine.objects.filter(order=order).exists()
    assert Transition.objects.get(order=order).to_state == "held"


def test_hold_by_store_and_a_disabled_rule_does_nothing(store, acme):
    add_source(make_product("MUG"), acme)
    other = make_store()
    activate_rules(("hold", {"store_ids": [store.pk]}), ("hold", {"total_above": "1.00"}, False))
    held, passed = make_order(store, ("MUG", 1)), make_order(other, ("MUG", 1))

    route_orders(order_ids=[held.pk, passed.pk], trigger="ingest")

    assert reload(held).status == S.HELD
    assert hold_codes(held) == ["hold_store"]
    assert reload(passed).status == S.ROUTED


def test_release_routes_held_orders_without_counting_them_as_auto_routed(tenant, store, acme, make_user):
    source = add_source(make_product("MUG"), acme, stock=10)
    activate_rules(("hold", {"total_above": "5.00"}))
    order = make_order(store, ("MUG", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    reviewer = make_user(tenant, "operator")

    summary = release_holds(order_ids=[order.pk], actor=reviewer)

    assert (summary.routed, summary.dispatches_created) == (1, 1)
    order = reload(order)
    assert (order.status, order.auto_routed) == (S.ROUTED, False)
    assert stock_of(source) == (10, 1)
    assert current_decision(order).trigger == "release"
    released = Transition.objects.get(order=order, to_state="routed")
    assert (released.actor, released.actor_label) == (reviewer, reviewer.email)


def test_unmapped_sku_holds_then_mapping_it_routes_the_held_order(store, acme):
    mug = make_product("MUG-RED")
    add_source(mug, acme, stock=3)
    order = make_order(store, ("RED-MUG-LISTING", 2))

    route_orders(order_ids=[order.pk], trigger="ingest")
    assert reload(order).status == S.HELD
    assert hold_codes(order) == ["unmapped_sku"]
    assert release_holds(order_ids=[order.pk], actor=None).held == 1  # a person cannot release what has no product

    map_listing("RED-MUG-LISTING", (mug, 1))
    summary = reroute_held_for_listings(listing_skus=["RED-MUG-LISTING"])

    assert (summary.routed, summary.dispatches_created) == (1, 1)
    order = reload(order)
    assert (order.status, order.auto_routed) == (S.ROUTED, False)
    assert lines_of(order) == [(acme.pk, "MUG-RED", 2, False, 2)]
    assert current_decision(order).trigger == "mapping"


# ---------------------------------------------------------------------------
# Gifts, bundles, sourcing


def test_gift_line_is_added_at_zero_price_and_dispatched_like_any_other(store, acme, bolt):
    mug, spoon = make_product("MUG"), make_product("SPOON")
    add_source(mug, acme)
    spoon_source = add_source(spoon, bolt, stock=10)
    activate_rules(("gift", {"product_id": mug.pk, "min_quantity": 2, "gift_product_id": spoon.pk, "gift_quantity": 1}))
    order = make_order(store, ("MUG", 4))

    route_orders(order_ids=[order.pk], trigger="ingest")

    assert lines_of(order) == [(acme.pk, "MUG", 4, False, 0), (bolt.pk, "SPOON", 2, True, 2)]
    gift = DispatchLine.objects.get(order=order, is_gift=True)
    assert gift.order_line is None
    assert stock_of(spoon_source) == (10, 2)
    gift_decision = next(line for line in current_decision(order).lines if line["is_gift"])
    assert gift_decision["reasons"][0]["code"] == "gift_added"


def test_bundle_expands_into_its_products(store, acme, bolt):
    mug, spoon = make_product("MUG"), make_product("SPOON")
    add_source(mug, acme)
    add_source(spoon, bolt)
    map_listing("GIFT-BOX", (mug, 2), (spoon, 1))
    order = make_order(store, ("GIFT-BOX", 3))

    summary = route_orders(order_ids=[order.pk], trigger="ingest")

    assert summary.dispatches_created == 2
    assert lines_of(order) == [(acme.pk, "MUG", 6, False, 0), (bolt.pk, "SPOON", 3, False, 0)]
    assert {line.order_line_id for line in DispatchLine.objects.filter(order=order)} == {order.lines.get().pk}


def test_region_filter_skips_a_source_that_does_not_serve_the_address(store, acme, bolt):
    mug = make_product("MUG")
    add_source(mug, acme, regions=[{"country": "CN"}])
    add_source(mug, bolt, regions=[{"country": "US", "province": "CA"}])
    order = make_order(store, ("MUG", 1))

    route_orders(order_ids=[order.pk], trigger="ingest")

    assert lines_of(order)[0][0] == bolt.pk
    considered = current_decision(order).lines[0]["considered"]
    assert considered[0]["reasons"][0]["code"] == "region_not_served"


def test_stock_filter_skips_a_source_without_enough(store, acme, bolt):
    mug = make_product("MUG")
    short = add_source(mug, acme, stock=1)
    plenty = add_source(mug, bolt, stock=5)
    order = make_order(store, ("MUG", 2))

    route_orders(order_ids=[order.pk], trigger="ingest")

    assert lines_of(order) == [(bolt.pk, "MUG", 2, False, 2)]
    assert stock_of(short) == (1, 0)
    assert stock_of(plenty) == (5, 2)


def test_cheapest_strategy_picks_the_lowest_cost(store, acme, bolt):
    mug = make_product("MUG")
    add_source(mug, acme, cost="7.00")
    add_source(mug, bolt, cost="4.50")
    activate_rules(("sourcing", {"strategy": "cheapest"}))
    order = make_order(store, ("MUG", 1))

    route_orders(order_ids=[order.pk], trigger="ingest")

    line = DispatchLine.objects.get(order=order)
    assert (line.dispatch.supplier_id, line.unit_cost, line.cost_currency) == (bolt.pk, Decimal("4.5000"), "USD")
    considered = {c["supplier_id"]: c["reasons"][0]["code"] for c in current_decision(order).lines[0]["considered"]}
    assert considered == {acme.pk: "costlier", bolt.pk: "chosen"}


@pytest.mark.parametrize(("policy", "expected"), [("split", 2), ("whole", 1)])
def test_split_policy_splits_across_suppliers_or_keeps_the_order_whole(store, acme, bolt, policy, expected):
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme)
    add_source(mug, bolt)
    add_source(tee, bolt)
    activate_rules(("split", {"policy": policy}))
    order = make_order(store, ("MUG", 1), ("TEE", 1))

    summary = route_orders(order_ids=[order.pk], trigger="ingest")

    assert summary.dispatches_created == expected
    suppliers = {row[0] for row in lines_of(order)}
    assert suppliers == ({acme.pk, bolt.pk} if policy == "split" else {bolt.pk})


# ---------------------------------------------------------------------------
# Merge window


def test_orders_of_one_buyer_and_address_within_the_window_share_a_dispatch(store, acme, bolt):
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme)
    add_source(tee, bolt)
    activate_rules(("merge", {"window_hours": 24}))
    first = make_order(store, ("MUG", 1), ("TEE", 1))
    second = make_order(store, ("MUG", 2), placed_at=T + dt.timedelta(hours=2))
    stranger = make_order(store, ("MUG", 1), email="bob@example.com")

    with time_machine.travel(T, tick=False):
        route_orders(order_ids=[first.pk], trigger="ingest")
    with time_machine.travel(T + dt.timedelta(hours=3), tick=False):
        summary = route_orders(order_ids=[second.pk, stranger.pk], trigger="ingest")

    assert summary.dispatches_created == 1  # the stranger's; the second order joined the first's
    acme_dispatch = Dispatch.objects.get(lines__order=first, supplier=acme)
    assert set(acme_dispatch.lines.values_list("order_id", flat=True)) == {first.pk, second.pk}
    assert acme_dispatch.merge_key
    assert Dispatch.objects.filter(lines__order=stranger).get() != acme_dispatch


def test_an_order_outside_the_merge_window_gets_its_own_dispatch(store, acme):
    add_source(make_product("MUG"), acme)
    activate_rules(("merge", {"window_hours": 24}))
    first = make_order(store, ("MUG", 1))
    later = make_order(store, ("MUG", 1), placed_at=T + dt.timedelta(hours=30))

    with time_machine.travel(T, tick=False):
        route_orders(order_ids=[first.pk], trigger="ingest")
    with time_machine.travel(T + dt.timedelta(hours=30), tick=False):
        summary = route_orders(order_ids=[later.pk], trigger="ingest")

    assert summary.dispatches_created == 1
    assert Dispatch.objects.filter(lines__order__in=[first, later]).distinct().count() == 2


def test_two_orders_of_one_buyer_in_one_batch_share_a_dispatch(store, acme):
    add_source(make_product("MUG"), acme)
    activate_rules(("merge", {"window_hours": 6}))
    orders = [make_order(store, ("MUG", 1)), make_order(store, ("MUG", 3))]

    summary = route_orders(order_ids=[o.pk for o in orders], trigger="ingest")

    assert summary.dispatches_created == 1
    assert Dispatch.objects.get().lines.count() == 2


# ---------------------------------------------------------------------------
# Supplier rejection, accept, ship


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
    assert reload(first).reason == "Out of stock at our end"
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
        (first.pk, "pending", "rejected", "Out of stock at our end"),
        (second.pk, "pending", "rejected", "No"),
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
    supplier_ships(dispatch=mugs, carrier="UPS", tracking_number="1Z999")

    assert stock_of(at_acme) == (3, 0)
    assert reload(order).status == S.PARTIALLY_SHIPPED
    supplier_ships(dispatch=tees)
    assert reload(order).status == S.SHIPPED
    shipped = DispatchEvent.objects.get(dispatch=mugs, to_state="shipped")
    assert "1Z999" in shipped.reason


# ---------------------------------------------------------------------------
# Cancellation on the channel


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


# ---------------------------------------------------------------------------
# Re-route


def test_reroute_is_idempotent(store, acme, bolt):
    mug = make_product("MUG")
    add_source(mug, acme, stock=5)
    add_source(mug, bolt)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    before = (Dispatch.objects.count(), DispatchLine.objects.count(), RoutingDecision.objects.count())

    first = reroute_orders(order_ids=[order.pk])
    second = reroute_orders(order_ids=[order.pk])

    assert (first.dispatches_created, first.unchanged) == (0, 1)
    assert (second.dispatches_created, second.unchanged) == (0, 1)
    assert (Dispatch.objects.count(), DispatchLine.objects.count(), RoutingDecision.objects.count()) == before
    assert Transition.objects.filter(order=order).count() == 1


def test_reroute_after_a_rule_change_moves_pending_lines_once(store, acme, bolt):
    mug = make_product("MUG")
    at_acme = add_source(mug, acme, cost="9.00", stock=5)
    at_bolt = add_source(mug, bolt, cost="3.00", stock=5)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    old = Dispatch.objects.get()
    activate_rules(("sourcing", {"strategy": "cheapest"}))

    moved = reroute_orders(order_ids=[order.pk])
    again = reroute_orders(order_ids=[order.pk])

    assert (moved.dispatches_created, moved.unchanged) == (1, 0)
    assert (again.dispatches_created, again.unchanged) == (0, 1)
    assert reload(old).status == Dispatch.Status.CANCELLED
    assert lines_of(order) == [(bolt.pk, "MUG", 2, False, 2)]
    assert (stock_of(at_acme), stock_of(at_bolt)) == ((5, 0), (5, 2))
    assert RoutingDecision.objects.filter(order=order).count() == 2
    assert reload(order).status == S.ROUTED


def test_reroute_into_a_hold_releases_the_pending_dispatch(store, acme):
    source = add_source(make_product("MUG"), acme, stock=5)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    activate_rules(("hold", {"total_above": "1.00"}))

    summary = reroute_orders(order_ids=[order.pk])

    assert summary.held == 1
    assert reload(order).status == S.HELD
    assert Dispatch.objects.get().status == Dispatch.Status.CANCELLED
    assert stock_of(source) == (5, 0)


# ---------------------------------------------------------------------------
# Batches and tenants


def _batch(store, supplier, count):
    return [make_order(store, ("MUG", 1), ("TEE", 2), email=f"b{i}@example.com") for i in range(count)]


def test_routing_a_batch_costs_the_same_queries_whatever_its_size(store, acme, bolt, django_assert_max_num_queries):
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme, stock=1000)
    add_source(tee, bolt, stock=1000)
    activate_rules(
        ("hold", {"total_above": "10000"}),
        ("gift", {"product_id": mug.pk, "min_quantity": 1, "gift_product_id": tee.pk, "gift_quantity": 1}),
        ("merge", {"window_hours": 2}),
    )
    small, large = _batch(store, acme, 3), _batch(store, acme, 30)
    route_orders(order_ids=[small[0].pk], trigger="ingest")  # listings auto-mapped once, as in steady state

    with django_assert_max_num_queries(30) as few:
        route_orders(order_ids=[o.pk for o in small[1:]], trigger="ingest")
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        summary = route_orders(order_ids=[o.pk for o in large], trigger="ingest")

    assert summary.routed == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_orders_routed_in_one_tenant_create_nothing_in_another(store, acme, tenant_b):
    add_source(make_product("MUG"), acme, stock=3)
    order = make_order(store, ("MUG", 1))

    route_orders(order_ids=[order.pk], trigger="ingest")

    assert Dispatch.objects.count() == 1
    with in_tenant(tenant_b):
        assert Dispatch.objects.count() == 0
        assert DispatchLine.objects.count() == 0
        assert RoutingDecision.objects.count() == 0
        assert Listing.objects.count() == 0
        # The same order id in B's schema is nothing B has.
        assert route_orders(order_ids=[order.pk], trigger="ingest").skipped == 1
