"""The ingestion paths together: pull racing webhooks, gap check, quarantine re-process,
a real worker, WooCommerce end to end, and two syncs of one store at once.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import time_machine
from django.conf import settings
from django.db import connection, connections
from django.test import Client

from channels.models import QuarantinedPayload, SyncRun, WebhookDelivery
from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import make_server
from channels.services import quarantine_reprocess, store_create, store_sync, webhook_receive
from channels.tasks import sync_store
from core.tasks import enqueue
from erp.celery import app
from orders.models import Order, OrderLine
from tenants.models import Tenant
from tests.channels.conftest import T0
from tests.channels.fake_shopify import FakeShopify, shopify_order
from tests.conftest import ROOT, Worker, in_tenant

FAST = {"sleep": lambda seconds: None}
FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY_SECRET = "whsec-test-0123456789"


def fixture(path: str):
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver_shopify(client: Client, store, payload: dict, *, event_id: str):
    body = json.dumps(payload).encode()
    return client.post(
        f"/webhooks/{store.webhook_token}/", data=body, content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=sign(body, SHOPIFY_SECRET), HTTP_X_SHOPIFY_TOPIC="orders/updated",
        HTTP_X_SHOPIFY_EVENT_ID=event_id, HTTP_X_SHOPIFY_WEBHOOK_ID=event_id,
        HTTP_X_SHOPIFY_TRIGGERED_AT=payload["updated_at"],
    )  # fmt: skip


def lines_of(store) -> dict[str, list[tuple[str, int]]]:
    """external id -> [(line external id, quantity)] of every order of the store."""
    held: dict[str, list[tuple[str, int]]] = {}
    for line in OrderLine.objects.filter(order__store=store).select_related("order").order_by("external_id"):
        held.setdefault(line.order.external_id, []).append((line.external_id, line.quantity))
    return held


# ------------------------------------------------------------------ committed data for threads and processes


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """Tenant A with stores really committed, so other threads and the worker see them; removed afterwards."""
    with django_db_blocker.unblock():
        require_test_database()
        tenant = Tenant.objects.get(slug="alpha")
        made = []

        def make_store(**kwargs):
            with in_tenant(tenant):
                store = store_create(name=f"Paths {uuid.uuid4().hex[:8]}", **kwargs)
            made.append(store)
            return store

        try:
            yield SimpleNamespace(tenant=tenant, store=make_store, host=tenant.get_primary_domain().domain)
        finally:
            with in_tenant(tenant):
                for store in made:
                    Order.objects.filter(store=store).delete()
                    store.delete()


def require_test_database() -> None:
    # pytest-django creates the test database only when a selected test asks for `db`;
    # without one these tests would write to the development database.
    if not connection.settings_dict["NAME"].startswith("test_"):
        pytest.fail(
            f"needs the test database, not {connection.settings_dict['NAME']}: select at least one test that uses `db` with it"
        )


def in_thread(tenant, target, errors: list):
    def run():
        try:
            with in_tenant(tenant):
                target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def shopify_kwargs() -> dict:
    return {
        "channel": "shopify",
        "base_url": "https://fake-shop.myshopify.com",
        "credentials": {"access_token": "shpat_test_token_0123456789", "webhook_secret": SHOPIFY_SECRET},
    }


# ------------------------------------------------------------------ 1. pull and webhooks racing


def test_pull_and_webhooks_racing_on_the_same_orders_make_each_order_once(committed):
    # given: 20 orders on the channel, 4 a page; the odd ones changed again since (their webhook is newer)
    store = committed.store(**shopify_kwargs())
    shop = FakeShopify(page_limit=4)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    ids = list(range(4001, 4021))
    deliveries = []
    for n, order_id in enumerate(ids):
        pulled = shopify_order(order_id, updated_at=base + dt.timedelta(minutes=n))
        shop.add(pulled)
        newer = order_id % 2 == 1
        deliveries.append(
            shopify_order(
                order_id, updated_at=base + dt.timedelta(minutes=n, seconds=30), lines=[("SKU-A", 3, "10.00")]
            )
            if newer
            else copy.deepcopy(pulled)
        )
    # the pull commits page 1, then waits until half the webhooks are in; the rest race pages 2..5
    pulling, half_in = threading.Event(), threading.Event()

    def gate(page):
        if page == 2:
            pulling.set()
            half_in.wait(10)

    shop.on_page = gate
    runs, outcomes, errors = [], [], []

    def pull():
        runs.append(store_sync(store_id=store.pk, client=shop.client(), adapter_options=FAST))

    def push():
        client = Client(HTTP_HOST=committed.host)
        pulling.wait(10)
        for k, payload in enumerate(reversed(deliveries)):
            if k == len(deliveries) // 2:
                half_in.set()
            response = deliver_shopify(client, store, payload, event_id=f"evt-{payload['id']}")
            outcomes.append((response.status_code, response.json().get("outcome")))
        half_in.set()

    threads = [in_thread(committed.tenant, pull, errors), in_thread(committed.tenant, push, errors)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then: one order per id, each with the lines of its newest version only
    assert errors == []
    with in_tenant(committed.tenant):
        assert sorted(Order.objects.filter(store=store).values_list("external_id", flat=True)) == [str(i) for i in ids]
        held = lines_of(store)
        for order_id in ids:
            if order_id % 2:
                assert held[str(order_id)] == [(str(order_id * 100 + 1), 3)], order_id
            else:
                assert held[str(order_id)] == [(str(order_id * 100 + 1), 1), (str(order_id * 100 + 2), 2)], order_id
        assert WebhookDelivery.objects.filter(store=store).count() == len(ids)
    [run] = runs
    assert run.status == SyncRun.Status.SUCCEEDED
    assert {status for status, _outcome in outcomes} == {200}
    # every order was created exactly once, by one path or the other
    assert run.orders_created + [outcome for _status, outcome in outcomes].count("created") == len(ids)
    assert (run.channel_count, run.relay_count, run.has_gap) == (20, 20, False)


# ------------------------------------------------------------------ 6. two syncs of one store at once


def test_two_concurrent_syncs_of_a_store_pull_once_and_the_other_is_skipped(committed):
    # given: 12 orders in 3 pages; whoever gets the store holds it on page 1 until the other has given up
    store = committed.store(**shopify_kwargs())
    shop = FakeShopify(page_limit=4)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    for n in range(12):
        shop.add(shopify_order(5001 + n, updated_at=base + dt.timedelta(minutes=n)))
    other_gave_up = threading.Event()
    shop.on_page = lambda page: page == 1 and other_gave_up.wait(10)
    start = threading.Barrier(2)
    results, errors = [], []

    def sync():
        start.wait(5)
        began = time.monotonic()
        run = store_sync(store_id=store.pk, kind=SyncRun.Kind.MANUAL, client=shop.client(), adapter_options=FAST)
        results.append((run, time.monotonic() - began))
        if run is None:
            other_gave_up.set()

    threads = [in_thread(committed.tenant, sync, errors) for _ in range(2)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then: one ran and pulled every page once, the other returned at once as skipped
    assert errors == []
    assert other_gave_up.is_set()
    [skipped_after] = [seconds for run, seconds in results if run is None]
    assert skipped_after < 2
    [run] = [run for run, _seconds in results if run is not None]
    assert (run.status, run.pages, run.orders_created, run.orders_updated) == ("succeeded", 3, 12, 0)
    paths = [request.url.path for request in shop.requests]
    assert paths.count("/admin/api/2025-07/orders/count.json") == 1
    assert paths.count("/admin/api/2025-07/orders.json") == 3
    with in_tenant(committed.tenant):
        assert list(SyncRun.objects.filter(store=store).values_list("pk", flat=True)) == [run.pk]
        assert Order.objects.filter(store=store).count() == 12
        assert OrderLine.objects.filter(order__store=store).count() == 24


# ------------------------------------------------------------------ 2. gap detection


NOW = T0 + dt.timedelta(hours=2)


def counting_more(shop: FakeShopify, extra: int) -> httpx.Client:
    """The shop, but its orders/count.json counts ``extra`` orders its listing never serves."""

    def handle(request: httpx.Request) -> httpx.Response:
        response = shop.handle(request)
        if request.url.path.endswith("/orders/count.json") and response.status_code == 200:
            return httpx.Response(200, json={"count": response.json()["count"] + extra})
        return response

    return httpx.Client(transport=httpx.MockTransport(handle))


@pytest.mark.parametrize(("extra", "gap"), [(2, True), (0, False)])
def test_a_channel_count_above_relays_is_a_gap_on_the_run_and_the_store_page(
    shopify_store, shop, orders_in, operator, client_for, tenant_a, extra, gap
):
    # given: 3 orders listed; the channel counts 3 + extra in the window
    orders_in(3)

    with time_machine.travel(NOW, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=counting_more(shop, extra), adapter_options=FAST)

    run.refresh_from_db()
    assert (run.channel_count, run.relay_count, run.has_gap) == (3 + extra, 3, gap)
    page = client_for(tenant_a, operator).get(f"/stores/{shopify_store.pk}/").content.decode()
    assert f"{3 + extra} / 3" in page
    assert ('badge-error">gap</span>' in page) is gap
    assert run.message == ("The channel counts 5 orders in this window, Relay holds 3." if gap else "")
    assert ("Relay holds 3" in page) is gap


# ------------------------------------------------------------------ 3. quarantine re-process


LATER = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)  # after the malformed fixture's update time


def test_quarantined_payload_is_reprocessed_from_the_page_once_fixed_and_stays_while_still_bad(
    shopify_store, shop, operator, client_for, tenant_a
):
    # given: Shopify's malformed sample (quantity "two") and another bad order, quarantined by a sync
    sample = fixture("shopify/order_malformed.json")["order"]
    still_bad = shopify_order(1999, updated_at=T0)
    still_bad["line_items"][0]["quantity"] = "many"
    shop.add(sample)
    shop.add(still_bad)
    with time_machine.travel(LATER, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)
    assert run.orders_quarantined == 2
    fixable = QuarantinedPayload.objects.get(store=shopify_store, external_id=str(sample["id"]))
    bad = QuarantinedPayload.objects.get(store=shopify_store, external_id="1999")
    assert "quantity" in fixable.reason.lower() and "two" in fixable.reason
    console = client_for(tenant_a, operator)

    # when: the still-bad one is re-processed
    seen_before = bad.last_seen
    with time_machine.travel(LATER + dt.timedelta(hours=1), tick=False):
        response = console.post(f"/stores/{shopify_store.pk}/quarantine/{bad.pk}/reprocess/", follow=True)

    # then: it stays quarantined with its reason, and the person is told why
    assert response.status_code == 200
    assert "Still cannot be processed" in response.content.decode()
    bad.refresh_from_db()
    assert bad.resolved_at is None
    assert "quantity" in bad.reason.lower() and "many" in bad.reason
    assert bad.last_seen == LATER + dt.timedelta(hours=1) > seen_before
    assert not Order.objects.filter(store=shopify_store, external_id="1999").exists()

    # when: the sample's payload is corrected (quantity 1, which its amounts add up to) and re-processed
    corrected = copy.deepcopy(sample)
    corrected["line_items"][0]["quantity"] = 1
    QuarantinedPayload.objects.filter(pk=fixable.pk).update(payload=corrected)
    response = console.post(f"/stores/{shopify_store.pk}/quarantine/{fixable.pk}/reprocess/")

    # then: the order is in, whole, and the entry is resolved and gone from the page
    assert response.status_code == 302
    order = Order.objects.get(store=shopify_store, external_id=str(sample["id"]))
    assert (order.currency, order.total) == ("CNY", Decimal("277.00"))
    assert order.lines.count() == 2
    fixable.refresh_from_db()
    assert fixable.resolved_at is not None
    page = console.get(f"/stores/{shopify_store.pk}/").content.decode()
    assert f"/quarantine/{fixable.pk}/reprocess/" not in page
    assert f"/quarantine/{bad.pk}/reprocess/" in page


def test_reprocess_from_another_tenant_is_404_and_changes_nothing(
    shopify_store, shop, client_for, tenant_a, tenant_b, make_user
):
    broken = shopify_order(1998, updated_at=T0)
    broken["line_items"][0]["quantity"] = "many"
    shop.add(broken)
    with time_machine.travel(NOW, tick=False):
        store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)
    item = QuarantinedPayload.objects.get(store=shopify_store)
    outsider = client_for(tenant_b, make_user(tenant_b, "operator"))

    response = outsider.post(f"/stores/{shopify_store.pk}/quarantine/{item.pk}/reprocess/")

    assert response.status_code == 404
    with in_tenant(tenant_a):
        assert QuarantinedPayload.objects.get(pk=item.pk).last_seen == item.last_seen
        assert QuarantinedPayload.objects.get(pk=item.pk).resolved_at is None


def test_reprocessing_a_payload_quarantined_without_its_id_resolves_the_entry(shopify_store):
    # given: a webhook body without the order id is quarantined under no id
    payload = shopify_order(1997, updated_at=T0)
    del payload["id"]
    body = json.dumps(payload).encode()
    outcome = webhook_receive(
        store=shopify_store,
        headers={"X-Shopify-Hmac-Sha256": sign(body, SHOPIFY_SECRET), "X-Shopify-Event-Id": "evt-noid"},
        body=body,
    )
    assert outcome == "quarantined"
    item = QuarantinedPayload.objects.get(store=shopify_store, resolved_at__isnull=True)
    assert item.external_id == ""

    # when: re-processed with the id put back
    assert quarantine_reprocess(quarantined=item, payload={**payload, "id": 1997}) is True

    # then: the order is in and the entry no longer waits for a person
    assert Order.objects.filter(store=shopify_store, external_id="1997").exists()
    item.refresh_from_db()
    assert item.resolved_at is not None


# ------------------------------------------------------------------ 4. a sync through a real worker


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker on the test database and Redis, for this module only.

    Not tests/erp's session worker: two workers on one broker would take each other's tasks.
    """
    workdir = tmp_path_factory.mktemp("channels-worker")
    log = workdir / "worker.log"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "RELAY_TESTING": "1",
    }
    with django_db_blocker.unblock():
        require_test_database()
        app.control.purge()  # tasks left in the test broker by earlier runs
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "solo",
             "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Worker(process, log, workdir)
    try:
        running.wait_for(lambda: "ready" in running.log_text(), timeout=60)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def sandbox_served(shop, token: str) -> Iterator[str]:
    server = make_server(shop, port=0, access_token=token)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.worker
def test_sync_task_on_a_real_worker_pulls_the_sandbox_shop_into_the_tenant(committed, worker):
    # given: a sandbox shop with 30 orders on a local port, connected as a store of tenant A
    token = "sandbox-worker-token"
    shop = SandboxShop(seed=41)
    made = shop.generate(30)
    with sandbox_served(shop, token) as base_url:
        store = committed.store(channel="sandbox", base_url=base_url, credentials={"access_token": token})

        # when: the sync is enqueued from A's context
        with in_tenant(committed.tenant):
            enqueue(sync_store, store.pk, SyncRun.Kind.MANUAL)

        # then: the worker pulled every order into A's schema and closed the run
        def finished():
            with in_tenant(committed.tenant):
                return SyncRun.objects.filter(store=store).exclude(status=SyncRun.Status.RUNNING).first()

        run = worker.wait_for(finished, timeout=30)
    assert (run.status, run.kind, run.orders_created, run.channel_count, run.relay_count) == (
        "succeeded", "manual", 30, 30, 30,
    ), run.message  # fmt: skip
    with in_tenant(committed.tenant):
        held = set(Order.objects.filter(store=store).values_list("external_id", flat=True))
        store.refresh_from_db()
        assert store.sync_cursor == run.window_end
    assert held == {str(order["id"]) for order in made}
    with in_tenant(Tenant.objects.get(slug="beta")):
        assert not Order.objects.filter(external_id__in=held).exists()


# ------------------------------------------------------------------ 5. WooCommerce end to end


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
def woo_store(tenant_a):
    connection.set_tenant(tenant_a)
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
