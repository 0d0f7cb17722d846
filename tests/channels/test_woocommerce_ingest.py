"""A WooCommerce store end to end: every page pulled once, a re-sync adds nothing, signed webhooks only."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import time_machine
from django.test import Client

from channels.models import SyncRun, WebhookDelivery
from channels.services import store_create, store_sync
from orders.models import Order, OrderLine
from tests.channels.helpers import FAST, FIXTURES, fixture, sign

WOO_BASE = "https://woo.example.test"
WOO_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
WOO_SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
WOO_WEBHOOK_SECRET = "wc-webhook-secret-42"
WOO_NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


class FakeWooStore:
    """WooCommerce's REST API v3 order list: Basic auth, modified_after/before in GMT,
    orderby=modified asc, per_page (at most 100) and page, X-WP-Total and X-WP-TotalPages.
    """

    def __init__(self, orders: list[dict]):
        self.orders = orders
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"code": "woocommerce_rest_cannot_view", "message": "Sorry."})
        if request.url.path != "/wp-json/wc/v3/orders":
            return httpx.Response(404, json={"code": "rest_no_route", "message": "No route."})
        query = {key: values[0] for key, values in parse_qs(urlsplit(str(request.url)).query).items()}
        assert query.get("dates_are_gmt") == "true"
        rows = sorted(
            (
                order
                for order in self.orders
                if query.get("modified_after", "") < order["date_modified_gmt"]
                and order["date_modified_gmt"] < query.get("modified_before", "9999")
            ),
            key=lambda order: (order["date_modified_gmt"], order["id"]),
        )
        per_page = min(int(query.get("per_page", 10)), 100)
        page = int(query.get("page", 1))
        pages = -(-len(rows) // per_page)
        headers = {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}
        return httpx.Response(200, headers=headers, json=rows[(page - 1) * per_page : page * per_page])


def woo_orders() -> list[dict]:
    """WooCommerce's documented samples, and copies of order 727 under new ids to fill a second page."""
    documented = [
        fixture("woocommerce/order.json"),
        *[order for order in fixture("woocommerce/orders_page.json") if order["id"] != 727],
        fixture("woocommerce/order_cancelled.json"),
        fixture("woocommerce/order_china.json"),
    ]
    copies = []
    for n in range(150 - len(documented)):
        order = copy.deepcopy(documented[0])
        order["id"] = order["number"] = 20000 + n
        order["date_modified_gmt"] = f"2026-11-2{n % 8}T{n % 24:02d}:{n % 60:02d}:00"
        copies.append(order)
    return documented + copies


@pytest.fixture
def woo_store(in_a):
    return store_create(
        name="Woo Shop", channel="woocommerce", base_url=WOO_BASE,
        credentials={"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET, "webhook_secret": WOO_WEBHOOK_SECRET},
    )  # fmt: skip


def test_woocommerce_store_sync_pulls_every_page_once_and_a_resync_adds_nothing(woo_store):
    # given: 150 orders, two pages of 100
    woo = FakeWooStore(woo_orders())

    with time_machine.travel(WOO_NOW, tick=False):
        run = store_sync(store_id=woo_store.pk, client=woo.client(), adapter_options=FAST)

    assert (run.status, run.pages, run.orders_seen, run.orders_created) == ("succeeded", 2, 150, 150)
    assert (run.channel_count, run.relay_count, run.has_gap) == (150, 150, False)
    pages = [parse_qs(urlsplit(str(r.url)).query).get("page") for r in woo.requests]
    assert pages == [None, ["1"], ["2"]]  # the count, then each page once
    assert Order.objects.filter(store=woo_store).count() == 150
    lines = OrderLine.objects.filter(order__store=woo_store).count()
    cancelled = Order.objects.get(store=woo_store, external_id="8101")
    assert cancelled.cancelled_at is not None and cancelled.currency == "EUR"
    assert Order.objects.get(store=woo_store, external_id="8102").currency == "CNY"

    # when: the next scheduled sync, and a replay of everything
    with time_machine.travel(WOO_NOW + dt.timedelta(minutes=5), tick=False):
        again = store_sync(store_id=woo_store.pk, client=woo.client(), adapter_options=FAST)
        replay = store_sync(
            store_id=woo_store.pk, kind=SyncRun.Kind.REPLAY, window_start=dt.datetime(2017, 1, 1, tzinfo=dt.UTC),
            window_end=WOO_NOW, client=woo.client(), adapter_options=FAST,
        )  # fmt: skip

    # then: nothing is added or changed
    assert (again.status, again.orders_created, again.orders_updated) == ("succeeded", 0, 0)
    assert (replay.orders_seen, replay.orders_created, replay.orders_updated) == (150, 0, 0)
    assert Order.objects.filter(store=woo_store).count() == 150
    assert OrderLine.objects.filter(order__store=woo_store).count() == lines


def deliver_woo(client: Client, store, body: bytes, *, signature: str, delivery: str):
    return client.post(
        f"/webhooks/{store.webhook_token}/", data=body, content_type="application/json",
        HTTP_X_WC_WEBHOOK_SIGNATURE=signature, HTTP_X_WC_WEBHOOK_TOPIC="order.created",
        HTTP_X_WC_WEBHOOK_RESOURCE="order", HTTP_X_WC_WEBHOOK_EVENT="created",
        HTTP_X_WC_WEBHOOK_ID="12", HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery,
        HTTP_X_WC_WEBHOOK_SOURCE="https://woo.example.test/",
    )  # fmt: skip


def test_woocommerce_webhook_with_a_good_signature_creates_the_order(woo_store, client_for, tenant_a):
    body = (FIXTURES / "woocommerce" / "order.json").read_bytes()

    response = deliver_woo(
        client_for(tenant_a), woo_store, body, signature=sign(body, WOO_WEBHOOK_SECRET), delivery="d-727"
    )

    assert response.status_code == 200
    assert response.json() == {"outcome": "created"}
    order = Order.objects.get(store=woo_store, external_id="727")
    assert order.lines.count() == 2
    assert WebhookDelivery.objects.filter(store=woo_store, delivery_id="d-727", outcome="created").exists()


@pytest.mark.parametrize("signature", ["wrong-secret", "", "tampered"])
def test_woocommerce_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    woo_store, client_for, tenant_a, signature
):
    body = (FIXTURES / "woocommerce" / "order.json").read_bytes()
    given = {
        "wrong-secret": sign(body, "not-the-secret"),
        "": "",
        "tampered": sign(body.replace(b"727", b"728", 1), WOO_WEBHOOK_SECRET),
    }[signature]

    response = deliver_woo(client_for(tenant_a), woo_store, body, signature=given, delivery="d-bad")

    assert response.status_code == 401
    assert not Order.objects.filter(store=woo_store).exists()
    assert not WebhookDelivery.objects.filter(store=woo_store).exists()
