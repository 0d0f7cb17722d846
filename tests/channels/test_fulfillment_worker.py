"""The whole loop on a real Celery worker: an order pulled from the sandbox shop is routed, the supplier
ships it, and the shop ends up holding the fulfillment with the supplier's tracking — every step after the
supplier's click is a task the worker runs (orders.dispatch_changed, channels.push_fulfillments,
channels.push_fulfillment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels.models import FulfillmentPush, SyncRun
from channels.sandbox.generator import SandboxShop
from channels.tasks import sync_store
from core.tasks import enqueue
from erp.celery import app
from inventory.models import Listing, Product
from orders.models import Order
from suppliers.models import Dispatch, Supplier
from suppliers.shipping import ParcelSpec, dispatch_ship
from tests.channels.sandbox_helpers import running
from tests.conftest import Worker, in_tenant, require_test_database, worker_process
from tests.orders.routing_factories import add_source, make_supplier, map_listing

TOKEN = "sandbox-push-worker-token"
NUMBER = "SF7700000000001"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker on the test database and Redis, for this module only (see test_sync_worker)."""
    with django_db_blocker.unblock():
        require_test_database()
        app.control.purge()
    with worker_process(tmp_path_factory.mktemp("push-worker")) as running_worker:
        yield running_worker


@pytest.mark.worker
def test_a_shipped_parcel_reaches_the_sandbox_shop_through_the_worker(committed, worker):
    shop = SandboxShop(seed=43, rate_per_minute=0)
    (on_shop,) = shop.generate(1)
    skus = sorted({line["sku"] for line in on_shop["line_items"]})
    with running(shop, token=TOKEN) as base_url:
        store = committed.store(channel="sandbox", base_url=base_url, credentials={"access_token": TOKEN})
        try:
            # given the shop's products are sourced at a supplier, and the order is pulled and routed by the worker
            with in_tenant(committed.tenant):
                supplier = make_supplier("Push worker")
                for sku in skus:
                    product = Product.objects.create(sku=f"PW-{sku}", name=sku)
                    map_listing(sku, (product, 1))
                    add_source(product, supplier, stock=100)
                enqueue(sync_store, store.pk, SyncRun.Kind.MANUAL)

            def routed():
                with in_tenant(committed.tenant):
                    return Dispatch.objects.filter(lines__order__store=store).distinct().first()

            dispatch = worker.wait_for(routed, timeout=60)

            # when the supplier ships it (the rest happens after the commit, on the worker)
            with in_tenant(committed.tenant):
                dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("sf", NUMBER)])

            def pushed():
                with in_tenant(committed.tenant):
                    return FulfillmentPush.objects.filter(store=store).exclude(status="pending").first()

            push = worker.wait_for(pushed, timeout=60)

            # then the shop holds the fulfillment with the tracking, and Relay says so
            assert (push.status, push.attempts, push.message) == ("pushed", 1, ""), push.message
            (fulfillment,) = shop.get_order(on_shop["id"])["fulfillments"]
            assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("SF Express", NUMBER)
            assert fulfillment["tracking_url"].endswith(NUMBER)
            assert shop.get_order(on_shop["id"])["fulfillment_status"] == "fulfilled"
            assert push.external_id == str(fulfillment["id"])
            with in_tenant(committed.tenant):
                assert Order.objects.get(store=store).status == Order.Status.SHIPPED
        finally:
            with in_tenant(committed.tenant):
                Dispatch.objects.filter(lines__order__store=store).delete()
                Listing.objects.filter(listing_sku__in=skus).delete()
                Product.objects.filter(sku__in=[f"PW-{sku}" for sku in skus]).delete()
                Supplier.objects.filter(name__startswith="Push worker").delete()
