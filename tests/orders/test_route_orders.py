"""Routing new orders against the database: rules end to end, dispatches, reservations, the decision explained."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Listing
from orders.models import Order, Transition
from orders.routing.core import Reason, describe
from orders.routing.services import release_holds, reroute_held_for_listings, route_orders
from suppliers.models import Dispatch, DispatchLine
from tests.orders.routing_factories import (
    T,
    activate_rules,
    add_source,
    make_order,
    make_product,
    make_store,
    map_listing,
)
from tests.orders.routing_reads import current_decision, hold_codes, lines_of, reload, stock_of

S = Order.Status


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


def test_release_routes_held_orders_without_counting_them_as_auto_routed(in_a, store, acme, make_user):
    source = add_source(make_product("MUG"), acme, stock=10)
    activate_rules(("hold", {"total_above": "5.00"}))
    order = make_order(store, ("MUG", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    reviewer = make_user(in_a, "operator")

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


def _past_dispatches(supplier, *, rejected: int, shipped_on_time: int) -> None:
    """Dispatches routed last week: some rejected, some shipped by their deadline (the supplier's record)."""
    now = timezone.now()
    for n in range(rejected + shipped_on_time):
        dispatch = Dispatch.objects.create(number=f"PAST-{supplier.pk}-{n}", supplier=supplier)
        if n < rejected:
            Dispatch.objects.filter(pk=dispatch.pk).update(status=Dispatch.Status.REJECTED)
        else:
            Dispatch.objects.filter(pk=dispatch.pk).update(
                status=Dispatch.Status.SHIPPED, ship_by=now, shipped_at=now - dt.timedelta(hours=1)
            )


def _record_queries(queries) -> list[str]:
    """The suppliers' records query (suppliers.scorecard): dispatches counted per supplier."""
    return [q["sql"] for q in queries if "suppliers_dispatch" in q["sql"] and "GROUP BY" in q["sql"]]


def test_best_record_routes_to_the_supplier_with_the_better_record_and_reads_records_only_for_it(store, acme, bolt):
    # given: acme comes first on the path but rejected most of its dispatches; bolt shipped on time
    mug = make_product("MUG")
    add_source(mug, acme)
    add_source(mug, bolt)
    _past_dispatches(acme, rejected=3, shipped_on_time=1)
    _past_dispatches(bolt, rejected=0, shipped_on_time=4)
    activate_rules(("sourcing", {"strategy": "best_record"}))
    first = make_order(store, ("MUG", 1), external_id="BR-1")

    # when
    with CaptureQueriesContext(connection) as queries:
        route_orders(order_ids=[first.pk], trigger="ingest")

    # then: the records decided, and were read
    assert DispatchLine.objects.get(order=first).dispatch.supplier_id == bolt.pk
    assert len(_record_queries(queries.captured_queries)) == 1

    # and: a strategy that does not read records does not sum every dispatch of the last months per chunk
    activate_rules(("sourcing", {"strategy": "path_order"}))
    second = make_order(store, ("MUG", 1), external_id="BR-2", email="bob@example.com")
    with CaptureQueriesContext(connection) as queries:
        route_orders(order_ids=[second.pk], trigger="ingest")
    assert DispatchLine.objects.get(order=second).dispatch.supplier_id == acme.pk
    assert _record_queries(queries.captured_queries) == []


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
