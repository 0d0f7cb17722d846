"""Routing from several workers at once, on real connections: scarce stock is never oversold, no order twice."""

from __future__ import annotations

from inventory.models import Stock
from orders.models import Order, RoutingDecision
from orders.routing.services import route_orders
from suppliers.models import Dispatch, DispatchLine
from tenants.models import Tenant
from tests.conftest import in_tenant
from tests.orders.routing_factories import (
    add_source,
    make_order,
    make_product,
    make_store,
    make_supplier,
    remove_committed,
    route_rotated,
    run_at_once,
    supplier_rejects,
)

WORKERS = 4


def test_parallel_workers_never_reserve_more_than_is_on_hand(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            store = make_store(name="Race")
            scarce = add_source(make_product("RACE-MUG"), make_supplier("Race A"), stock=10)
            backup = add_source(make_product("RACE-MUG-2"), make_supplier("Race B"), stock=3)
            orders = [make_order(store, ("RACE-MUG", 1), email=f"r{i}@example.com") for i in range(24)] + [
                make_order(store, ("RACE-MUG-2", 1), email=f"s{i}@example.com") for i in range(6)
            ]
            ids = [o.pk for o in orders]
        try:
            # Every worker routes every order, each starting at another place: all of them race on all rows.
            errors = run_at_once([k * 7 for k in range(WORKERS)], lambda offset: route_rotated(tenant, ids, offset))

            assert errors == []
            with in_tenant(tenant):
                for source, on_hand in ((scarce, 10), (backup, 3)):
                    stock = Stock.objects.get(source=source)
                    assert (stock.on_hand, stock.reserved) == (on_hand, on_hand)
                    lines = DispatchLine.objects.filter(source=source)
                    assert sum(line.reserved for line in lines) == on_hand
                assert Order.objects.filter(pk__in=ids, status="routed").count() == 13
                assert Order.objects.filter(pk__in=ids, status="held").count() == 17
                # Each order routed once: one current decision, at most one dispatch line.
                assert RoutingDecision.objects.filter(order_id__in=ids).count() == 30
                assert DispatchLine.objects.filter(order_id__in=ids).count() == 13
        finally:
            with in_tenant(tenant):
                remove_committed(store, ["RACE-MUG", "RACE-MUG-2"])


def test_rejections_and_routing_racing_keep_the_books_straight(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            store = make_store(name="Race reject")
            product = make_product("RACE-TEE")
            first = add_source(product, make_supplier("Race C"), stock=8)
            second = add_source(product, make_supplier("Race D"), stock=4)
            early = [make_order(store, ("RACE-TEE", 1), email=f"e{i}@example.com") for i in range(8)]
            route_orders(order_ids=[o.pk for o in early], trigger="ingest")
            dispatches = list(Dispatch.objects.filter(lines__order__in=early).order_by("pk"))
            late = [make_order(store, ("RACE-TEE", 1), email=f"l{i}@example.com") for i in range(6)]
        try:

            def work(kind):
                with in_tenant(tenant):
                    if kind == "route":
                        route_orders(order_ids=[o.pk for o in late], trigger="ingest")
                    else:
                        for dispatch in dispatches[kind::2]:
                            supplier_rejects(dispatch=dispatch, reason="Race")

            errors = run_at_once(["route", 0, 1], work)

            assert errors == []
            with in_tenant(tenant):
                for source, on_hand in ((first, 8), (second, 4)):
                    stock = Stock.objects.get(source=source)
                    live = DispatchLine.objects.filter(source=source, dispatch__status="pending")
                    assert stock.reserved == sum(line.reserved for line in live) <= on_hand
                # 8 rejected from the first source, 4 units at the second for 14 orders.
                assert Stock.objects.get(source=second).reserved == 4
        finally:
            with in_tenant(tenant):
                remove_committed(store, ["RACE-TEE"])
