"""The fast ingest path: Shopify pages read as bytes, orders held at that version skipped, one COPY and merge a page.

Every guarantee of the slower path holds on it: the same page twice is one order and no new row, only newer
versions replace, lines the channel stopped sending go, a malformed order quarantines itself only, changed
ids go on to routing, lazy commits only for pulled pages, and two writers of one page make each order once.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import zlib

import orjson
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from channels import ingest
from channels.adapters.base import ChannelError
from channels.adapters.payloads import RawPayload
from channels.adapters.shopify import ShopifyAdapter
from channels.ingest import ingest_pages
from channels.models import QuarantinedPayload
from channels.sandbox.generator import SandboxShop
from orders.models import LZ4_MAGIC, Order, OrderLine, pack_payload, unpack_payload
from tests.channels.conftest import T0
from tests.channels.fake_shopify import BASE, shopify_order
from tests.channels.helpers import fixture
from tests.conftest import in_tenant


def adapter() -> ShopifyAdapter:
    return ShopifyAdapter(base_url=BASE, credentials={})


def body(*orders: dict) -> bytes:
    """A Shopify order-list response body, as a sync's fetch returns it."""
    return orjson.dumps({"orders": list(orders)})


def ingest_bodies(store, *pages: bytes, durable: bool = False, hand_on: bool = False):
    return list(ingest_pages(store=store, adapter=adapter(), pages=list(pages), durable=durable, hand_on=hand_on))


def held(store) -> dict[str, list[tuple[str, int]]]:
    rows: dict[str, list[tuple[str, int]]] = {}
    for line in OrderLine.objects.filter(order__store=store).select_related("order").order_by("position"):
        rows.setdefault(line.order.external_id, []).append((line.external_id, line.quantity))
    return rows


# ------------------------------------------------------------------ decoding: the structs read as the dicts do


def test_every_sandbox_and_recorded_order_normalises_the_same_from_its_bytes_as_from_its_dict():
    # given: 400 sandbox orders (1 to 5 lines, discounts, shipping, many countries) and Shopify's recorded samples
    shop = SandboxShop(seed=11, rate_per_minute=0, line_count_weights=(10, 20, 35, 20, 15))
    orders = shop.generate(400, spread_seconds=86400)
    for name in ("order", "order_cancelled", "order_china", "order_multicurrency"):
        orders.append(fixture(f"shopify/{name}.json")["order"])
    orders += fixture("shopify/orders_page.json")["orders"]

    # when: the page is read as bytes
    payloads = adapter().page_payloads(body(*orders))

    # then: each order is its own bytes, decoded into structs, normalised exactly as its dict
    assert len(payloads) == len(orders)
    for payload, document in zip(payloads, orders, strict=True):
        assert isinstance(payload, RawPayload) and payload.decoded is not None
        assert orjson.loads(payload.data) == document
        assert adapter().normalise_payload(payload) == adapter().normalise(document)


def test_a_body_without_an_orders_list_is_a_channel_error():
    for bad in (b"not json", b"[]", b'{"orders": {"id": 1}}', b'{"order": []}'):
        with pytest.raises(ChannelError):
            adapter().page_payloads(bad)


# ------------------------------------------------------------------ writing


def test_a_bytes_page_writes_each_order_once_with_its_own_bytes_and_the_same_page_again_writes_nothing(
    shopify_store,
):
    # given: a page of three orders, one of them carrying text outside ASCII
    orders = [shopify_order(7001 + n, updated_at=T0 + dt.timedelta(minutes=n)) for n in range(3)]
    orders[1]["note"] = '请尽快发货 \\ \t "quoted" \\N'
    page = body(*orders)

    # when
    [first] = ingest_bodies(shopify_store, page)

    # then: three orders, their lines apportioned, the raw copy the order's bytes exactly (lz4, readable)
    assert (first.seen, first.created, first.updated, first.quarantined) == (3, 3, 0, 0)
    order = Order.objects.get(store=shopify_store, external_id="7002")
    assert order.note == '请尽快发货 \\ \t "quoted" \\N'
    assert order.cancelled_at is None and order.total == 30
    assert bytes(order.raw)[:4] == LZ4_MAGIC
    assert order.raw_payload() == orders[1]
    assert held(shopify_store)["7001"] == [("700101", 1), ("700102", 2)]
    assert sum(line.net_amount for line in order.lines.all()) == order.total
    rows = (Order.objects.count(), OrderLine.objects.count())

    # when: the same page again
    with CaptureQueriesContext(connection) as queries:
        [again] = ingest_bodies(shopify_store, page)

    # then: nothing written, not even a transaction: the store holds orders, so the sync asked which, and
    # one query found the three held at that version
    assert (again.seen, again.created, again.updated) == (3, 0, 0)
    assert (Order.objects.count(), OrderLine.objects.count()) == rows
    assert [query["sql"][:40] for query in queries] == [
        "SELECT EXISTS (SELECT 1 FROM orders_orde",
        "SELECT external_id, channel_updated_at F",
    ]


def test_only_a_newer_version_replaces_and_the_lines_the_channel_stopped_sending_go(shopify_store):
    # given: an order with two lines
    v1 = shopify_order(7100, updated_at=T0)
    ingest_bodies(shopify_store, body(v1))

    # when: a newer version with one line of another quantity, then the older version again
    v2 = shopify_order(7100, updated_at=T0 + dt.timedelta(minutes=5), lines=[("SKU-A", 3, "10.00")])
    [newer] = ingest_bodies(shopify_store, body(v2))
    [older] = ingest_bodies(shopify_store, body(v1))

    # then: the newer version stands, with only its line
    assert (newer.updated, older.updated, older.created) == (1, 0, 0)
    assert held(shopify_store) == {"7100": [("710001", 3)]}
    order = Order.objects.get(store=shopify_store, external_id="7100")
    assert order.channel_updated_at == T0 + dt.timedelta(minutes=5)
    assert order.raw_payload() == v2


def test_a_malformed_order_in_a_bytes_page_quarantines_that_order_only_until_a_good_version_resolves_it(
    shopify_store,
):
    # given: a page where one order has a quantity "many" and another a line list that is a string
    good = shopify_order(7201, updated_at=T0)
    many = shopify_order(7202, updated_at=T0)
    many["line_items"][0]["quantity"] = "many"
    odd = shopify_order(7203, updated_at=T0)
    odd["line_items"] = "none"
    also_good = shopify_order(7204, updated_at=T0)

    # when
    [result] = ingest_bodies(shopify_store, body(good, many, odd, also_good))

    # then: the two good orders are in, each bad one is quarantined with its own reason and payload
    assert (result.created, result.quarantined) == (2, 2)
    assert set(Order.objects.filter(store=shopify_store).values_list("external_id", flat=True)) == {"7201", "7204"}
    quarantined = {q.external_id: q for q in QuarantinedPayload.objects.filter(store=shopify_store)}
    assert set(quarantined) == {"7202", "7203"}
    assert "many" in quarantined["7202"].reason and quarantined["7202"].payload == many
    assert "line_items" in quarantined["7203"].reason and quarantined["7203"].payload == odd

    # when: a corrected, newer version of 7202 arrives
    fixed = shopify_order(7202, updated_at=T0 + dt.timedelta(minutes=1))
    ingest_bodies(shopify_store, body(fixed))

    # then: it is in, and its quarantine entry is resolved; 7203's stays open
    assert Order.objects.filter(store=shopify_store, external_id="7202").exists()
    assert QuarantinedPayload.objects.get(store=shopify_store, external_id="7202").resolved_at is not None
    assert QuarantinedPayload.objects.get(store=shopify_store, external_id="7203").resolved_at is None


def test_changed_ids_go_on_to_routing_and_a_page_held_already_sends_none(shopify_store, monkeypatch):
    handed: list[list[int]] = []
    monkeypatch.setattr(ingest, "enqueue_after_ingest", lambda *, order_ids: handed.append(sorted(order_ids)))
    page = body(*(shopify_order(7300 + n, updated_at=T0) for n in range(3)))

    ingest_bodies(shopify_store, page, hand_on=True)
    ingest_bodies(shopify_store, page, hand_on=True)

    ids = sorted(Order.objects.filter(store=shopify_store).values_list("pk", flat=True))
    assert handed == [ids]  # the second, unchanged page wrote nothing and handed nothing on


def test_only_pulled_pages_commit_lazily(shopify_store):
    with CaptureQueriesContext(connection) as pulled:
        ingest_bodies(shopify_store, body(shopify_order(7400, updated_at=T0)), durable=False)
    with CaptureQueriesContext(connection) as answered:
        ingest_bodies(shopify_store, body(shopify_order(7401, updated_at=T0)), durable=True)

    assert any("synchronous_commit TO OFF" in query["sql"] for query in pulled)
    assert not any("synchronous_commit" in query["sql"] for query in answered)


# ------------------------------------------------------------------ a new store's first sync


def counting_normalise(monkeypatch) -> list[str]:
    """The external ids ShopifyAdapter normalises from now on (the orders a sync did not skip as held)."""
    seen: list[str] = []
    original = ShopifyAdapter.normalise_payload

    def normalise_payload(self, payload):
        order = original(self, payload)
        seen.append(order.external_id)
        return order

    monkeypatch.setattr(ShopifyAdapter, "normalise_payload", normalise_payload)
    return seen


def test_a_new_stores_first_sync_asks_nothing_page_by_page_and_skips_what_it_wrote_itself(shopify_store, monkeypatch):
    # given: a store that holds no order, but an open quarantine entry for 7602 (a bad version, earlier)
    QuarantinedPayload.objects.create(store=shopify_store, external_id="7602", payload={"id": 7602}, reason="bad")
    normalised = counting_normalise(monkeypatch)
    newer = shopify_order(7601, updated_at=T0 + dt.timedelta(minutes=5))
    pages = [
        body(shopify_order(7600, updated_at=T0), shopify_order(7601, updated_at=T0)),
        body(shopify_order(7600, updated_at=T0), shopify_order(7602, updated_at=T0)),  # 7600 again, same version
        body(newer),
    ]

    # when
    with CaptureQueriesContext(connection) as queries:
        results = ingest_bodies(shopify_store, *pages)

    # then: one question before the first page, none per page
    sql = [query["sql"] for query in queries]
    assert sum(q.startswith("SELECT EXISTS (SELECT 1 FROM orders_order") for q in sql) == 1
    assert not any(q.startswith("SELECT external_id, channel_updated_at") for q in sql)
    # 7600 was not normalised a second time; the newer 7601 was, and replaced the first
    assert normalised == ["7600", "7601", "7602", "7601"]
    assert [(r.seen, r.created, r.updated) for r in results] == [(2, 2, 0), (2, 1, 0), (1, 0, 1)]
    assert Order.objects.get(store=shopify_store, external_id="7601").raw_payload() == newer
    # and the quarantine entry remembered at the start is resolved by the good 7602
    assert QuarantinedPayload.objects.get(store=shopify_store, external_id="7602").resolved_at is not None


def test_a_first_sync_past_what_it_remembers_asks_again_and_refreshes_the_statistics(shopify_store, monkeypatch):
    # given: a sync that remembers two orders, and refreshes statistics after three created while it asks
    monkeypatch.setattr(ingest, "REMEMBERED", 2)
    monkeypatch.setattr(ingest, "STATISTICS_REFRESH_AT", (3,))
    normalised = counting_normalise(monkeypatch)
    pages = [
        body(shopify_order(7700, updated_at=T0), shopify_order(7701, updated_at=T0)),
        body(shopify_order(7702, updated_at=T0), shopify_order(7703, updated_at=T0)),
        body(shopify_order(7700, updated_at=T0), shopify_order(7704, updated_at=T0)),  # 7700 held already
    ]

    # when
    with CaptureQueriesContext(connection) as queries:
        results = ingest_bodies(shopify_store, *pages)

    # then: the third page was fetched once the first had filled the memory: the database was asked
    sql = [query["sql"] for query in queries]
    assert sum(q.startswith("SELECT external_id, channel_updated_at") for q in sql) == 1
    assert sum(q.startswith("ANALYZE (SKIP_LOCKED) orders_order") for q in sql) == 1
    assert normalised == ["7700", "7701", "7702", "7703", "7704"]  # 7700 skipped on the database's answer
    assert [r.created for r in results] == [2, 2, 1]
    assert set(held(shopify_store)) == {"7700", "7701", "7702", "7703", "7704"}


# ------------------------------------------------------------------ stored payloads, old and new


def test_stored_payloads_are_read_whichever_way_they_were_written():
    document = {"id": 1, "note": "货品 ✓", "line_items": [{"id": 2}]}
    as_bytes = orjson.dumps(document)

    assert unpack_payload(pack_payload(document)) == document  # lz4, from the document
    assert unpack_payload(pack_payload(memoryview(as_bytes))) == document  # lz4, the bytes kept as they came
    assert unpack_payload(zlib.compress(as_bytes, 1)) == document  # rows written before lz4
    assert unpack_payload(as_bytes) == document  # plain JSON
    assert unpack_payload(b"") == {}
    # bytes a channel sent that are not UTF-8 stay readable, the bad sequence replaced
    assert unpack_payload(pack_payload(b'{"note": "caf\xe9"}')) == {"note": "caf\ufffd"}


# ------------------------------------------------------------------ two writers of one page


def test_two_writers_of_the_same_pages_at_once_make_each_order_once_without_deadlock(committed):
    # given: 3 pages of 40 orders, the same versions given to two writers in opposite page order
    store = committed.store(channel="shopify", base_url=BASE, credentials={"access_token": "shpat_test_0123456789"})
    pages = [
        body(*(shopify_order(8000 + 40 * p + n, updated_at=T0 + dt.timedelta(seconds=n)) for n in range(40)))
        for p in range(3)
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(order):
        try:
            with in_tenant(committed.tenant):
                start.wait(5)
                list(ingest_pages(store=store, adapter=adapter(), pages=order, durable=False, hand_on=False))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(order,)) for order in (pages, list(reversed(pages)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then: no error (no deadlock, no duplicate key), 120 orders with their two lines each
    assert errors == []
    with in_tenant(committed.tenant):
        assert Order.objects.filter(store=store).count() == 120
        assert OrderLine.objects.filter(order__store=store).count() == 240


def test_a_page_copied_twice_inside_one_transaction_leaves_the_staging_table_empty(shopify_store):
    # given: two pages written in one outer transaction (a webhook's, a test's): no commit empties staging
    first = copy.deepcopy(shopify_order(7500, updated_at=T0))
    second = shopify_order(7501, updated_at=T0)

    ingest_bodies(shopify_store, body(first))
    ingest_bodies(shopify_store, body(second))

    # then: each page wrote only its own order
    assert set(held(shopify_store)) == {"7500", "7501"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_temp.relay_ingest_order")
        assert cursor.fetchone()[0] == 0
