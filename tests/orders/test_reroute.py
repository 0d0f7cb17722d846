"""Re-routing routed orders, idempotent; batches cost the same queries whatever their size; tenants apart."""

from __future__ import annotations

from inventory.models import Listing
from orders.models import Order, RoutingDecision, Transition
from orders.routing.services import reroute_orders, route_orders
from suppliers.models import Dispatch, DispatchLine
from tests.conftest import in_tenant
from tests.orders.routing_factories import (
    activate_rules,
    add_source,
    make_order,
    make_product,
)
from tests.orders.routing_reads import lines_of, reload, stock_of

S = Order.Status


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
