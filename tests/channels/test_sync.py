"""Pulling a store: pages, cursor and overlap, faults, quarantine, ledger, idempotency."""

import datetime as dt

import httpx
import pytest
import time_machine

from channels.adapters.base import ChannelUnavailable
from channels.models import QuarantinedPayload, Store, SyncRun
from channels.services import SYNC_OVERLAP, _lock, quarantine_reprocess, store_sync, stores_due_for_sync
from orders.models import Order, OrderLine
from orders.tasks import after_ingest
from tests.channels.conftest import T0
from tests.channels.fake_shopify import FakeShopify, shopify_order
from tests.channels.helpers import FAST

NOW = T0 + dt.timedelta(hours=2)


def sync(store, shop, **kwargs):
    with time_machine.travel(kwargs.pop("at", NOW), tick=False):
        return store_sync(store_id=store.pk, client=shop.client(), adapter_options=FAST, **kwargs)


def test_first_sync_pulls_every_page_and_records_the_ledger(shopify_store, shop, orders_in):
    # given: 5 orders served 2 per page
    orders_in(5)
    shop.page_limit = 2

    run = sync(shopify_store, shop)

    assert (run.status, run.pages, run.orders_seen, run.orders_created, run.orders_updated) == ("succeeded", 3, 5, 5, 0)
    assert (run.channel_count, run.relay_count, run.has_gap) == (5, 5, False)
    assert Order.objects.filter(store=shopify_store).count() == 5
    assert OrderLine.objects.filter(order__store=shopify_store).count() == 10
    shopify_store.refresh_from_db()
    assert shopify_store.sync_cursor == NOW
    assert shopify_store.last_sync_ok is True


def test_next_sync_rereads_the_overlap_and_adds_nothing_twice(shopify_store, shop, orders_in):
    orders_in(3, at=NOW - dt.timedelta(minutes=5))  # inside the overlap window of the next run
    sync(shopify_store, shop)

    run = sync(shopify_store, shop, at=NOW + dt.timedelta(minutes=5))

    assert run.window_start == NOW - SYNC_OVERLAP
    assert (run.orders_seen, run.orders_created, run.orders_updated) == (3, 0, 0)
    assert Order.objects.filter(store=shopify_store).count() == 3


def test_a_newer_channel_version_updates_the_order_and_an_older_one_does_not(shopify_store, shop):
    shop.add(shopify_order(2001, updated_at=T0, lines=[("SKU-A", 1, "10.00")]))
    sync(shopify_store, shop)

    # the channel cancels it later
    shop.add(
        shopify_order(2001, updated_at=NOW + dt.timedelta(minutes=1), lines=[("SKU-A", 1, "10.00")], cancelled=True)
    )
    run = sync(shopify_store, shop, at=NOW + dt.timedelta(minutes=2))
    assert run.orders_updated == 1
    order = Order.objects.get(store=shopify_store, external_id="2001")
    assert order.cancelled_at is not None

    # a stale copy (older updated_at) arrives by replay: nothing changes
    shop.add(shopify_order(2001, updated_at=T0, lines=[("SKU-A", 1, "10.00")]))
    replay = sync(
        shopify_store,
        shop,
        kind="replay",
        window_start=T0 - dt.timedelta(hours=1),
        window_end=NOW,
        at=NOW + dt.timedelta(minutes=3),
    )
    assert (replay.orders_seen, replay.orders_updated, replay.orders_created) == (1, 0, 0)
    order.refresh_from_db()
    assert order.cancelled_at is not None


def test_429_is_retried_after_the_retry_after_delay(shopify_store, shop, orders_in):
    orders_in(2)
    waits = []
    shop.fail_next = [(429, {"Retry-After": "2.0"})]

    with time_machine.travel(NOW, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options={"sleep": waits.append})

    assert run.status == "succeeded"
    assert run.orders_created == 2
    assert 2.0 in waits


def test_5xx_is_retried_with_backoff_then_succeeds(shopify_store, shop, orders_in):
    orders_in(2)
    waits = []
    shop.fail_next = [(503, {}), (502, {})]

    with time_machine.travel(NOW, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options={"sleep": waits.append})

    assert run.orders_created == 2
    assert len(waits) >= 2 and waits[1] > 0


def test_5xx_that_never_ends_fails_the_run_and_leaves_the_cursor(shopify_store, shop, orders_in):
    orders_in(2)
    shop.fail_next = [(500, {})] * 50

    with pytest.raises(ChannelUnavailable):
        sync(shopify_store, shop)

    run = SyncRun.objects.get(store=shopify_store)
    assert run.status == "failed"
    shopify_store.refresh_from_db()
    assert shopify_store.sync_cursor is None
    assert shopify_store.last_sync_ok is False
    assert Order.objects.filter(store=shopify_store).count() == 0


def test_401_marks_the_store_for_reauthorisation_without_retrying(shopify_store, shop, orders_in):
    orders_in(2)
    shop.fail_next = [(401, {})]

    run = sync(shopify_store, shop)

    assert run.status == "failed"
    assert len(shop.requests) == 1
    shopify_store.refresh_from_db()
    assert shopify_store.status == Store.Status.NEEDS_REAUTH
    # and the scheduler leaves it alone until someone renews the credentials
    assert shopify_store.pk not in stores_due_for_sync(now=NOW + dt.timedelta(hours=1))


def test_malformed_payload_is_quarantined_and_the_page_goes_on(shopify_store, shop, orders_in):
    orders_in(3)
    broken = shopify_order(1999, updated_at=T0)
    broken["line_items"][0]["quantity"] = "many"
    shop.add(broken)

    run = sync(shopify_store, shop)

    assert (run.orders_created, run.orders_quarantined) == (3, 1)
    item = QuarantinedPayload.objects.get(store=shopify_store, resolved_at__isnull=True)
    assert item.external_id == "1999"
    assert "quantity" in item.reason.lower()
    # the channel counts 4, Relay holds 3: the ledger flags the gap
    assert run.has_gap
    assert "4" in run.message and "3" in run.message

    # when the payload is fixed and re-processed, it is in and the quarantine is resolved
    fixed = dict(broken, line_items=[dict(broken["line_items"][0], quantity=1), broken["line_items"][1]])
    assert quarantine_reprocess(quarantined=item, payload=fixed) is True
    item.refresh_from_db()
    assert item.resolved_at is not None
    assert Order.objects.filter(store=shopify_store, external_id="1999").exists()


def test_a_second_sync_of_the_same_store_exits_at_once(shopify_store, shop, orders_in):
    orders_in(2)
    lock = _lock(shopify_store)
    assert lock.acquire(blocking=False)
    try:
        assert sync(shopify_store, shop) is None
        assert shop.requests == []
        assert not SyncRun.objects.filter(store=shopify_store).exists()
    finally:
        lock.release()


class Killed(BaseException):
    """Stands for the worker process dying: not an Exception, nothing catches it."""


def _snapshot(store):
    return sorted(
        (o.external_id, o.total, tuple((l.external_id, l.quantity, l.net_amount) for l in o.lines.order_by("position")))
        for o in Order.objects.filter(store=store).prefetch_related("lines")
    )


def test_a_worker_killed_mid_batch_loses_nothing_and_the_rerun_gives_the_same_rows(shopify_store, shop, orders_in):
    # given: 6 orders in 3 pages; the "worker" dies while fetching page 3
    orders_in(6)
    shop.page_limit = 2

    def die(page):
        if page == 3 and not getattr(die, "done", False):
            die.done = True
            raise Killed

    shop.on_page = die
    with pytest.raises(Killed):
        sync(shopify_store, shop)
    shopify_store.refresh_from_db()
    assert shopify_store.sync_cursor is None  # the cursor did not move
    assert Order.objects.filter(store=shopify_store).count() == 4  # the committed pages stay

    # when the task is re-run
    run = sync(shopify_store, shop)

    # then: the same rows as one clean run, nothing twice
    assert run.status == "succeeded"
    assert (run.orders_created, run.orders_updated) == (2, 0)
    rows = _snapshot(shopify_store)
    assert len(rows) == 6
    assert len({r[0] for r in rows}) == 6


def test_replay_is_idempotent_and_leaves_the_cursor(shopify_store, shop, orders_in):
    orders_in(4)
    sync(shopify_store, shop)
    before = _snapshot(shopify_store)
    shopify_store.refresh_from_db()
    cursor = shopify_store.sync_cursor

    for _ in range(2):
        run = sync(
            shopify_store,
            shop,
            kind="replay",
            window_start=T0 - dt.timedelta(hours=1),
            window_end=T0 + dt.timedelta(hours=1),
            at=NOW + dt.timedelta(hours=1),
        )
        assert (run.orders_seen, run.orders_created, run.orders_updated) == (4, 0, 0)

    shopify_store.refresh_from_db()
    assert shopify_store.sync_cursor == cursor
    assert _snapshot(shopify_store) == before


def test_due_stores_respect_interval_and_status(shopify_store):
    Store.objects.filter(pk=shopify_store.pk).update(last_sync_at=NOW, sync_interval_minutes=5)
    assert shopify_store.pk not in stores_due_for_sync(now=NOW + dt.timedelta(minutes=4))
    assert shopify_store.pk in stores_due_for_sync(now=NOW + dt.timedelta(minutes=5))
    Store.objects.filter(pk=shopify_store.pk).update(status=Store.Status.PAUSED)
    assert shopify_store.pk not in stores_due_for_sync(now=NOW + dt.timedelta(minutes=50))


def test_ingested_orders_are_handed_on_to_routing_and_a_reread_hands_on_nothing(
    shopify_store, shop, orders_in, run_enqueued
):
    # given: three orders on the channel, whose SKUs no product maps yet
    orders_in(3)

    # when: a sync, and the tasks it sends after its commit run as the worker would
    with run_enqueued() as sent:
        sync(shopify_store, shop)

    # then: every new order was handed on once, and routing held them (no product maps their SKUs yet)
    ids = sorted(i for ids in routing_hand_offs(sent) for i in ids)
    assert ids == sorted(Order.objects.filter(store=shopify_store).values_list("pk", flat=True))
    assert set(Order.objects.filter(store=shopify_store).values_list("status", flat=True)) == {"held"}
    with run_enqueued() as sent_again:
        sync(shopify_store, shop, at=NOW + dt.timedelta(minutes=1))
    assert routing_hand_offs(sent_again) == []


def routing_hand_offs(sent) -> list[list[int]]:
    """The order ids of each routing task (orders.tasks.after_ingest) among the tasks sent after a commit."""
    return [callback.keywords["args"][0] for callback in sent if callback.func.__self__.name == after_ingest.name]


# ------------------------------------------------------------------ the count the channel gives: a gap check


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
    shopify_store, shop, orders_in, console, extra, gap
):
    # given: 3 orders listed; the channel counts 3 + extra in the window
    orders_in(3)

    with time_machine.travel(NOW, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=counting_more(shop, extra), adapter_options=FAST)

    run.refresh_from_db()
    assert (run.channel_count, run.relay_count, run.has_gap) == (3 + extra, 3, gap)
    page = console.get(f"/stores/{shopify_store.pk}/").content.decode()
    assert f"{3 + extra} / 3" in page
    assert ('badge-error">gap</span>' in page) is gap
    assert run.message == ("The channel counts 5 orders in this window, Relay holds 3." if gap else "")
    assert ("Relay holds 3" in page) is gap
