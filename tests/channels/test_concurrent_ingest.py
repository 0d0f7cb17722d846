"""Ingestion racing itself on real connections: a pull racing webhooks on the same orders, two syncs of one store.

The stores are committed (the ``committed`` fixture) so that other threads see them.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time

from django.db import connections
from django.test import Client

from channels.models import SyncRun, WebhookDelivery
from channels.services import store_sync
from orders.models import Order, OrderLine
from tests.channels.fake_shopify import FakeShopify, shopify_order
from tests.channels.helpers import FAST, WEBHOOK_SECRET, deliver_shopify
from tests.conftest import in_tenant


def lines_of(store) -> dict[str, list[tuple[str, int]]]:
    """external id -> [(line external id, quantity)] of every order of the store."""
    held: dict[str, list[tuple[str, int]]] = {}
    for line in OrderLine.objects.filter(order__store=store).select_related("order").order_by("external_id"):
        held.setdefault(line.order.external_id, []).append((line.external_id, line.quantity))
    return held


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
        "credentials": {"access_token": "shpat_test_token_0123456789", "webhook_secret": WEBHOOK_SECRET},
    }


# ------------------------------------------------------------------ pull and webhooks racing


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


# ------------------------------------------------------------------ two syncs of one store at once


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
