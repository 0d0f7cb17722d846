"""A supplier's shipment and rejection followed through a real Celery worker (orders.dispatch_changed).

The supplier's action commits in suppliers; the order lifecycle (a layer above)
runs in the worker, in the tenant's schema, from the task sent by name.
"""

from __future__ import annotations

import pytest

from inventory.models import Listing, Product, Source, Stock
from orders.models import Order, RoutingDecision
from orders.routing.services import route_orders
from suppliers.actions import dispatch_reject
from suppliers.dispatches import DISPATCH_CHANGED
from suppliers.models import Dispatch, DispatchLine, Supplier
from suppliers.shipping import ParcelSpec, dispatch_ship
from tenants.models import Tenant
from tests.conftest import in_tenant, require_test_database
from tests.orders.routing_factories import add_source, make_order, make_product, make_store, make_supplier

pytestmark = pytest.mark.worker


def _stock(source: Source) -> tuple[int, int]:
    stock = Stock.objects.get(source=source)
    return stock.on_hand, stock.reserved


def _clean_up(store, suppliers) -> None:
    orders = Order.objects.filter(store=store)
    Dispatch.objects.filter(lines__order__in=orders).delete()
    RoutingDecision.objects.filter(order__in=orders).delete()
    orders.delete()
    store.delete()
    Listing.objects.filter(components__product__sources__supplier__in=suppliers).delete()  # the auto-mapping
    Product.objects.filter(sources__supplier__in=suppliers).delete()
    Supplier.objects.filter(pk__in=[s.pk for s in suppliers]).delete()


def test_shipment_and_rejection_are_followed_on_a_real_worker(celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        require_test_database()
    log_start = len(celery_worker.log_text())
    with django_db_blocker.unblock(), in_tenant(Tenant.objects.get(slug="alpha")):
        # given: two committed orders of one product, routed to Acme (Bolt is the next source)
        store = make_store(name="Worker shop")
        acme, bolt = make_supplier("Acme"), make_supplier("Bolt")
        mug = make_product("WORKER-MUG")
        at_acme = add_source(mug, acme, stock=10)
        at_bolt = add_source(mug, bolt, stock=10)
        shipped_order = make_order(store, ("WORKER-MUG", 2))
        rejected_order = make_order(store, ("WORKER-MUG", 3))
        try:
            route_orders(order_ids=[shipped_order.pk, rejected_order.pk], trigger="ingest")
            to_ship = Dispatch.objects.get(lines__order=shipped_order)
            to_reject = Dispatch.objects.get(lines__order=rejected_order)
            assert _stock(at_acme) == (10, 5)

            # when: the supplier ships one and rejects the other (each commits and sends DISPATCH_CHANGED)
            dispatch_ship(dispatch=to_ship, parcels=[ParcelSpec("UPS", "1Z999AA10123456784")])
            dispatch_reject(dispatch=to_reject, reason_code="out_of_stock")

            # then: the worker consumed the shipped units, gave back the rejected ones and routed them to Bolt
            def followed():
                order = Order.objects.get(pk=rejected_order.pk)
                moved = DispatchLine.objects.filter(order=order, source=at_bolt).exists()
                return Order.objects.get(pk=shipped_order.pk).status == "shipped" and moved

            celery_worker.wait_for(followed, timeout=30)
            assert _stock(at_acme) == (8, 0)
            assert _stock(at_bolt) == (10, 3)
            assert Order.objects.get(pk=rejected_order.pk).status == "routed"
            assert RoutingDecision.objects.get(order=rejected_order, is_current=True).trigger == "rejection"
            log = celery_worker.log_text()[log_start:]
            assert DISPATCH_CHANGED in log
            assert "Traceback" not in log
        finally:
            _clean_up(store, [acme, bolt])
