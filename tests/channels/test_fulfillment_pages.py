"""Channel updates on the order page and in the order API, their retry button and endpoint, and the
shipped-orders export of a store: who may see and use them, and what a refused action leaves alone."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from django.db import connection
from openpyxl import load_workbook

from channels.fulfillment import fulfillments_plan
from channels.models import FulfillmentPush, Store
from channels.services import store_create, store_sync
from orders.models import Order
from orders.routing.services import route_orders
from suppliers.shipping import ParcelSpec
from tests.channels.factories import StoreFactory
from tests.channels.push_helpers import dispatch_of, routed_order, sf_number, ship, stocked
from tests.channels.sandbox_helpers import TOKEN as SANDBOX_TOKEN
from tests.channels.sandbox_helpers import running
from tests.conftest import in_tenant
from tests.orders.routing_factories import make_supplier

P = FulfillmentPush.Status
REFUSED = "Shopify refused the request (422): Fulfillment order 9001 has an unfulfillable status= closed."


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


def failed_push(store: Store, supplier, *, number: str | None = None) -> FulfillmentPush:
    """An order of one mug shipped in one SF parcel, whose push the channel refused."""
    stocked(supplier, "MUG")
    order = routed_order(store, ("MUG", 1))
    ship(dispatch_of(order), ParcelSpec("sf", number or sf_number()))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch_of(order).pk)
    FulfillmentPush.objects.filter(pk=push_id).update(status=P.FAILED, attempts=1, message=REFUSED)
    return FulfillmentPush.objects.select_related("order", "parcel").get(pk=push_id)


def state(push: FulfillmentPush) -> tuple:
    return FulfillmentPush.objects.filter(pk=push.pk).values_list("status", "attempts", "message").get()


@pytest.fixture
def shopify(in_a) -> Store:
    return store_create(
        name="Shopify", channel="shopify", base_url="https://shop.example", credentials={"access_token": "shpat_x"}
    )


@pytest.fixture
def sandbox_store(in_a, sandbox):
    """A sandbox store with one order pulled in; the shop keeps serving for the test."""
    with running(sandbox) as base_url:
        yield store_create(
            name="Sandbox", channel="sandbox", base_url=base_url, credentials={"access_token": SANDBOX_TOKEN}
        )


# ------------------------------------------------------------------ the order page and API show them


def test_the_order_page_shows_each_channel_update_and_a_retry_button_for_a_failed_one(console, shopify, acme):
    # given one failed and one pushed update
    number = sf_number()
    failed = failed_push(shopify, acme, number=number)
    other = routed_order(shopify, ("MUG", 1))
    ship(dispatch_of(other))
    (pushed_id,) = fulfillments_plan(dispatch_id=dispatch_of(other).pk)
    FulfillmentPush.objects.filter(pk=pushed_id).update(status=P.PUSHED, attempts=2, external_id="1069019908")

    # when
    page = console.get(f"/orders/{failed.order_id}/").content.decode()
    pushed_page = console.get(f"/orders/{other.pk}/").content.decode()

    # then
    assert "Channel updates" in page
    assert "SF Express" in page and number in page
    assert f"https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/{number}" in page
    assert "Failed" in page and "unfulfillable status= closed" in page
    assert f'action="/orders/{failed.order_id}/pushes/{failed.pk}/retry/"' in page
    assert "Pushed" in pushed_page and "channel id 1069019908" in pushed_page
    assert "/retry/" not in pushed_page
    assert 'class="badge badge-shipped">Shipped</span>' in page  # Relay's own status of the order


def test_the_order_api_lists_the_channel_updates(api, shopify, acme):
    failed = failed_push(shopify, acme)

    detail = api.get(f"/api/v1/orders/{failed.order_id}/").json()

    assert detail["status"] == Order.Status.SHIPPED
    (update,) = detail["channel_updates"]
    assert update == {
        "id": failed.pk, "status": "failed", "message": REFUSED, "attempts": 1, "external_id": "",
        "carrier": "sf", "tracking_number": failed.parcel.tracking_number, "tracking_url": failed.parcel.tracking_url,
        "shipped_at": update["shipped_at"], "updated": update["updated"], "pushed_at": None,
    }  # fmt: skip


# ------------------------------------------------------------------ retrying


def test_the_retry_button_sends_a_failed_update_again_and_it_is_pushed(
    console, sandbox_store, sandbox, acme, run_enqueued
):
    # given a sandbox order whose push failed (say, the shop was unreachable all day)
    sandbox.generate(1)
    (on_shop,) = sandbox.list_orders()
    order = sandbox_order(sandbox_store, on_shop, acme)
    number = sf_number()
    ship(dispatch_of(order), ParcelSpec("sf", number))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch_of(order).pk)
    FulfillmentPush.objects.filter(pk=push_id).update(
        status=P.FAILED, attempts=8, message="Shopify had an error (503)."
    )

    # when the operator presses Retry
    with run_enqueued():
        response = console.post(f"/orders/{order.pk}/pushes/{push_id}/retry/", follow=True)

    # then
    push = FulfillmentPush.objects.get(pk=push_id)
    assert (push.status, push.attempts) == (P.PUSHED, 9)
    assert f"Sending parcel {number} to Sandbox again." in response.content.decode()
    (fulfillment,) = sandbox.get_order(on_shop["id"])["fulfillments"]
    assert fulfillment["tracking_number"] == number


def test_a_pushed_update_cannot_be_retried_and_stays_as_it_was(console, shopify, acme, run_enqueued):
    push = failed_push(shopify, acme)
    FulfillmentPush.objects.filter(pk=push.pk).update(status=P.PUSHED, message="")
    before = state(push)

    with run_enqueued() as sent:
        response = console.post(f"/orders/{push.order_id}/pushes/{push.pk}/retry/", follow=True)

    assert "Only a failed channel update can be retried" in response.content.decode()
    assert state(push) == before and sent == []


def test_the_retry_button_needs_the_push_of_that_order(console, shopify, acme):
    push = failed_push(shopify, acme)
    other = routed_order(shopify, ("MUG", 1))

    assert console.post(f"/orders/{other.pk}/pushes/{push.pk}/retry/").status_code == 404
    assert console.get(f"/orders/{push.order_id}/pushes/{push.pk}/retry/").status_code == 405
    assert state(push) == (P.FAILED, 1, REFUSED)


def test_the_retry_api_makes_a_failed_update_pending_and_sends_it(
    api, shopify, acme, django_capture_on_commit_callbacks
):
    push = failed_push(shopify, acme)

    with django_capture_on_commit_callbacks() as sent:
        response = api.post(f"/api/v1/fulfillment-pushes/{push.pk}/retry/")

    assert response.status_code == 202
    body = response.json()
    assert (body["id"], body["status"], body["tracking_number"]) == (push.pk, "pending", push.parcel.tracking_number)
    assert len(sent) == 1  # the attempt, sent after the commit


def test_the_retry_api_refuses_an_update_that_is_not_failed(api, shopify, acme):
    push = failed_push(shopify, acme)
    FulfillmentPush.objects.filter(pk=push.pk).update(status=P.PENDING)

    response = api.post(f"/api/v1/fulfillment-pushes/{push.pk}/retry/")

    assert response.status_code == 400
    assert "Only a failed channel update can be retried" in str(response.json())
    assert state(push) == (P.PENDING, 1, REFUSED)


# ------------------------------------------------------------------ who may


def test_supplier_and_finance_users_cannot_see_or_retry_channel_updates(
    tenant_a, make_user, client_for, api_for, shopify, acme
):
    push = failed_push(shopify, acme)
    supplier_user = make_user(tenant_a, "supplier", supplier=acme)
    finance = make_user(tenant_a, "finance")
    connection.set_tenant(tenant_a)

    for user in (supplier_user, finance):
        browser, api_client = client_for(tenant_a, user), api_for(tenant_a, user)
        assert browser.get(f"/orders/{push.order_id}/").status_code == 403
        assert browser.post(f"/orders/{push.order_id}/pushes/{push.pk}/retry/").status_code == 403
        assert api_client.post(f"/api/v1/fulfillment-pushes/{push.pk}/retry/").status_code == 403
        assert api_client.get(f"/api/v1/orders/{push.order_id}/").status_code == 403
        assert browser.get(f"/stores/{shopify.pk}/shipped.csv").status_code == 403
    connection.set_tenant(tenant_a)
    assert state(push) == (P.FAILED, 1, REFUSED)


def test_an_anonymous_visitor_is_sent_to_log_in_and_changes_nothing(client_for, tenant_a, shopify, acme):
    push = failed_push(shopify, acme)

    response = client_for(tenant_a).post(f"/orders/{push.order_id}/pushes/{push.pk}/retry/")

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client_for(tenant_a).post(f"/api/v1/fulfillment-pushes/{push.pk}/retry/").status_code in (401, 403)
    connection.set_tenant(tenant_a)
    assert state(push) == (P.FAILED, 1, REFUSED)


def test_tenant_bs_channel_updates_are_not_found_from_tenant_a(console, api, tenant_a, tenant_b, make_user, api_for):
    # given a failed push in tenant B, and B's operator
    with in_tenant(tenant_b):
        b_store = StoreFactory(name="B shop", shopify=True)
        b_push = failed_push(b_store, make_supplier("B supplier"))
    b_operator = make_user(tenant_b, "operator")
    connection.set_tenant(tenant_a)

    # then A's operator finds nothing of it, by page or API
    assert console.post(f"/orders/{b_push.order_id}/pushes/{b_push.pk}/retry/").status_code == 404
    assert api.post(f"/api/v1/fulfillment-pushes/{b_push.pk}/retry/").status_code == 404
    assert console.get(f"/stores/{b_store.pk}/shipped.csv").status_code == 404
    # and B's operator's token means nothing on A's host
    b_token_on_a = api_for(tenant_b, b_operator)
    b_token_on_a.defaults["HTTP_HOST"] = tenant_a.get_primary_domain().domain
    assert b_token_on_a.post(f"/api/v1/fulfillment-pushes/{b_push.pk}/retry/").status_code in (401, 403)
    with in_tenant(tenant_b):
        assert state(b_push) == (P.FAILED, 1, REFUSED)


# ------------------------------------------------------------------ the shipped-orders export


def test_the_store_page_offers_the_shipped_orders_export(console, store):
    page = console.get(f"/stores/{store.pk}/").content.decode()

    assert f"/stores/{store.pk}/shipped.csv" in page and f"/stores/{store.pk}/shipped.xlsx" in page


def test_the_export_downloads_as_csv_and_xlsx_within_the_dates(console, store, acme):
    stocked(acme, "MUG")
    order = routed_order(store, ("MUG", 2), external_id="SO-7")
    number = sf_number()
    ship(dispatch_of(order), ParcelSpec("sf", number))

    as_csv = console.get(f"/stores/{store.pk}/shipped.csv", {"since": "2000-01-01", "until": "2999-12-31"})
    as_xlsx = console.get(f"/stores/{store.pk}/shipped.xlsx")
    before = console.get(f"/stores/{store.pk}/shipped.csv", {"until": "2000-01-01"})

    assert as_csv["Content-Type"].startswith("text/csv")
    assert 'filename="shipped-' in as_csv["Content-Disposition"]
    (row,) = csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig")))
    assert (row["order_number"], row["sku"], row["quantity"], row["carrier"], row["tracking_number"]) == (
        "#SO-7", "MUG", "2", "SF Express", number,
    )  # fmt: skip
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [cell.value for cell in sheet[1]][:4] == ["order_number", "external_id", "sku", "quantity"]
    assert (sheet["A2"].value, sheet["F2"].value) == ("#SO-7", number)
    assert list(csv.DictReader(io.StringIO(before.content.decode("utf-8-sig")))) == []


def test_the_export_refuses_a_date_it_cannot_read(console, store):
    response = console.get(f"/stores/{store.pk}/shipped.csv", {"since": "last tuesday"}, follow=True)

    assert "is not a date" in response.content.decode()
    assert console.get(f"/stores/{store.pk}/shipped.pdf").status_code == 404


# ------------------------------------------------------------------ helpers


def sandbox_order(store: Store, on_shop: dict, supplier) -> Order:
    """The shop's order pulled into Relay (as a sync would), its SKUs stocked at ``supplier``, routed."""
    with httpx.Client(trust_env=False, timeout=10) as http:
        store_sync(store_id=store.pk, client=http, adapter_options={"sleep": lambda seconds: None})
    order = Order.objects.get(store=store, external_id=str(on_shop["id"]))
    skus = {line.listing_sku for line in order.lines.all()}
    stocked(supplier, *skus)
    route_orders(order_ids=[order.pk], trigger="ingest")
    return order
