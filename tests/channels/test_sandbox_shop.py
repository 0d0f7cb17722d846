"""The sandbox shop: Shopify-shaped orders made up deterministically, served over a real local HTTP server.

No Django and no database: the shop and its server are plain Python, and
time is a fake clock the tests move by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from channels.sandbox.generator import CATALOGUE, SandboxShop
from channels.sandbox.server import INVALID_TOKEN, make_server

TOKEN = "sandbox-token"
VERSION = "2025-07"
START = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shop(clock: FakeClock) -> SandboxShop:
    return SandboxShop(seed=7, clock=clock)


@contextlib.contextmanager
def running(shop: SandboxShop, *, clock: FakeClock | None = None) -> Iterator[str]:
    """The shop served on a free port in a thread; yields its base URL."""
    server = make_server(shop, port=0, access_token=TOKEN, clock=clock)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client_for(base_url: str, token: str = TOKEN) -> httpx.Client:
    # trust_env=False: a proxy configured on the machine must not intercept 127.0.0.1.
    return httpx.Client(
        base_url=f"{base_url}/admin/api/{VERSION}/",
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
        trust_env=False,
    )


@pytest.fixture
def api(shop: SandboxShop) -> Iterator[httpx.Client]:
    with running(shop) as base_url, client_for(base_url) as client:
        yield client


def pull(api: httpx.Client, **params) -> tuple[list[dict], list[httpx.Response]]:
    """Every order the filters select, following rel="next" links as a Shopify client does."""
    responses = [api.get("orders.json", params=params)]
    while "next" in responses[-1].links:
        assert responses[-1].status_code == 200, responses[-1].text
        responses.append(api.get(responses[-1].links["next"]["url"]))
    assert responses[-1].status_code == 200, responses[-1].text
    return [order for response in responses for order in response.json()["orders"]], responses


def stamp(order: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(order["updated_at"])


def utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


# ---------------------------------------------------------------------- shop.json, auth, unknown paths


def test_shop_json_describes_the_sandbox_shop(api):
    # when
    response = api.get("shop.json")

    # then
    assert response.status_code == 200
    shop = response.json()["shop"]
    assert shop["name"] == "Relay Sandbox Shop"
    assert shop["currency"] == "USD"
    assert shop["domain"].startswith("127.0.0.1:")
    assert re.fullmatch(r"\d+/40", response.headers["X-Shopify-Shop-Api-Call-Limit"])


def test_any_api_version_in_the_path_is_accepted(shop):
    # given
    with running(shop) as base_url, httpx.Client(trust_env=False, headers={"X-Shopify-Access-Token": TOKEN}) as http:
        # when
        answers = [http.get(f"{base_url}/admin/api/{version}/shop.json") for version in ("2024-01", "unstable")]

    # then
    assert [answer.status_code for answer in answers] == [200, 200]


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_a_wrong_or_missing_access_token_is_refused_and_not_counted(shop, token):
    # given
    with running(shop) as base_url, client_for(base_url, token) as intruder, client_for(base_url) as owner:
        # when
        refused = [intruder.get("orders.json") for _ in range(3)]
        allowed = owner.get("shop.json")

    # then
    assert [response.status_code for response in refused] == [401, 401, 401]
    assert refused[0].json() == {"errors": INVALID_TOKEN}
    assert "X-Shopify-Shop-Api-Call-Limit" in refused[0].headers
    assert allowed.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"


def test_unknown_paths_and_orders_are_404(api, shop):
    # given
    shop.generate(1)

    # when
    answers = [api.get("products/nope.json"), api.get("orders/1.json"), api.get("orders/1/fulfillment_orders.json")]

    # then
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert all(answer.json() == {"errors": "Not Found"} for answer in answers)


# ---------------------------------------------------------------------- listing and paging


def test_pages_follow_the_link_header_and_return_every_order_once_in_update_order(api, shop, clock):
    # given: orders over two moments, and older orders changed later so update order differs from id order
    shop.generate(12)
    clock.advance(90)
    shop.generate(11)
    clock.advance(90)
    everyone = shop.list_orders(limit=250)
    refundable = next(order for order in everyone[1:] if order["financial_status"] == "paid")
    shop.cancel_order(everyone[0]["id"])
    shop.refund_line(refundable["id"])

    # when
    orders, responses = pull(api, status="any", limit=5)

    # then
    ids = [order["id"] for order in orders]
    assert sorted(ids) == sorted(order["id"] for order in everyone)
    assert len(ids) == len(set(ids)) == 23
    assert [(stamp(o), o["id"]) for o in orders] == sorted((stamp(o), o["id"]) for o in orders)
    assert ids[-2:] == [everyone[0]["id"], refundable["id"]]
    assert len(responses) == 5
    assert set(responses[0].links) == {"next"}
    assert all(set(r.links) == {"previous", "next"} for r in responses[1:-1])
    assert set(responses[-1].links) == {"previous"}
    next_url = responses[0].links["next"]["url"]
    assert re.fullmatch(
        rf"http://127\.0\.0\.1:\d+/admin/api/{VERSION}/orders\.json\?limit=5&page_info=[\w-]+", next_url
    )


def test_the_previous_link_leads_back_to_the_page_before(api, shop):
    # given
    shop.generate(9)
    first = api.get("orders.json", params={"limit": 4})
    second = api.get(first.links["next"]["url"])

    # when
    back = api.get(second.links["previous"]["url"])

    # then
    assert [o["id"] for o in back.json()["orders"]] == [o["id"] for o in first.json()["orders"]]


def test_updated_at_bounds_select_by_last_update_and_pages_keep_them(api, shop, clock):
    # given
    early = [order["id"] for order in shop.generate(4)]
    clock.advance(60)
    late = [order["id"] for order in shop.generate(3)]

    # when: the bound in UTC, as Relay's adapter sends it, and in the shop's own offset
    since, _ = pull(api, status="any", updated_at_min=utc(clock.now), limit=2)
    until = api.get("orders.json", params={"status": "any", "updated_at_max": utc(clock.now - 1)}).json()["orders"]
    local = api.get("orders.json", params={"updated_at_min": "2026-11-20T09:01:00+08:00"}).json()["orders"]

    # then
    assert [order["id"] for order in since] == late
    assert [order["id"] for order in until] == early
    assert [order["id"] for order in local] == late


def test_page_info_with_another_filter_is_refused_like_shopify(api, shop):
    # given
    shop.generate(6)
    next_url = api.get("orders.json", params={"status": "any", "limit": 2}).links["next"]["url"]

    # when
    refused = api.get(f"{next_url}&status=any")
    allowed = api.get(next_url.replace("limit=2", "limit=3"))
    forged = api.get("orders.json", params={"page_info": "not-a-token"})

    # then
    assert refused.status_code == 400
    assert refused.json()["errors"].startswith("status cannot be passed when page_info is present.")
    assert allowed.status_code == 200
    assert len(allowed.json()["orders"]) == 3
    assert forged.status_code == 400


def test_limit_is_capped_at_250(api, shop):
    # given
    shop.generate(260)

    # when
    response = api.get("orders.json", params={"limit": 1000})

    # then
    assert len(response.json()["orders"]) == 250
    assert "next" in response.links


def test_the_default_status_is_open_as_in_shopify(api, shop, clock):
    # given
    orders = shop.generate(5)
    clock.advance(120)
    shop.cancel_order(orders[2]["id"])

    # when
    default = api.get("orders.json").json()["orders"]
    cancelled = api.get("orders.json", params={"status": "cancelled"}).json()["orders"]

    # then
    assert orders[2]["id"] not in {order["id"] for order in default}
    assert [order["id"] for order in cancelled] == [orders[2]["id"]]


def test_count_json_counts_what_orders_json_lists(api, shop, clock):
    # given
    shop.generate(7)
    clock.advance(60)
    shop.generate(5)
    shop.cancel_order(shop.list_orders(limit=1)[0]["id"])
    listed, _ = pull(api, status="any", limit=4)

    # when
    everything = api.get("orders/count.json", params={"status": "any"})
    recent = api.get("orders/count.json", params={"status": "any", "updated_at_min": utc(clock.now)})
    open_only = api.get("orders/count.json")

    # then
    assert len(listed) == 12
    assert everything.json() == {"count": 12}
    assert recent.json() == {"count": 6}
    assert open_only.json() == {"count": 11}


# ---------------------------------------------------------------------- changes over time


def test_cancel_and_refund_bump_updated_at_so_an_incremental_pull_sees_them(api, shop, clock):
    # given: a pull that saw everything, and its high-water mark
    shop.generate(10)
    seen, _ = pull(api, status="any")
    watermark = max(stamp(order) for order in seen)
    before = {order["id"]: order for order in seen}
    clock.advance(300)
    cancelled_id = seen[3]["id"]
    refunded_id = next(order["id"] for order in seen[4:] if order["financial_status"] == "paid")

    # when
    shop.cancel_order(cancelled_id)
    shop.refund_line(refunded_id)
    changed, _ = pull(api, status="any", updated_at_min=watermark.isoformat())

    # then
    by_id = {order["id"]: order for order in changed}
    cancelled, refunded = by_id[cancelled_id], by_id[refunded_id]
    assert stamp(cancelled) > stamp(before[cancelled_id])
    assert stamp(refunded) > stamp(before[refunded_id])
    assert cancelled["cancelled_at"] is not None
    assert cancelled["cancel_reason"] == "customer"
    assert cancelled["financial_status"] in ("refunded", "voided")
    assert refunded["financial_status"] in ("partially_refunded", "refunded")
    refund_lines = refunded["refunds"][0]["refund_line_items"]
    assert len(refund_lines) == 1
    assert refund_lines[0]["line_item_id"] in {line["id"] for line in refunded["line_items"]}


def test_tick_makes_orders_at_the_configured_rate(clock):
    # given: six a minute is one every ten seconds
    shop = SandboxShop(seed=3, clock=clock, rate_per_minute=6.0)

    # when
    clock.advance(25)
    first = shop.tick()
    clock.advance(5)
    second = shop.tick()
    clock.advance(4)
    third = shop.tick()

    # then: fractions carry over from one tick to the next
    assert (len(first.created), len(second.created), len(third.created)) == (2, 1, 0)
    assert len(shop) == 3
    assert [shop.get_order(i)["created_at"] for i in second.created] == ["2026-11-20T09:00:30+08:00"]


def test_tick_changes_older_orders_and_every_change_bumps_updated_at(clock):
    # given: every new order brings a cancellation or a refund of an older one
    shop = SandboxShop(seed=11, clock=clock, rate_per_minute=12.0, cancel_rate=0.5, refund_rate=0.5)
    shop.generate(30)
    clock.advance(120)
    shop.tick()  # pays what the first two minutes owe
    before = {order["id"]: order for order in shop.list_orders(limit=250)}

    # when
    clock.advance(60)
    report = shop.tick()

    # then
    assert len(report.created) == 12
    changed = set(report.cancelled) | set(report.refunded)
    assert len(report.cancelled) + len(report.refunded) == 12
    for order_id in changed:
        after = shop.get_order(order_id)
        assert stamp(after) > stamp(before[order_id])
    for order_id in report.cancelled:
        order = shop.get_order(order_id)
        assert order["cancel_reason"] == "customer"
        assert order["financial_status"] in ("refunded", "voided")
        assert order["current_total_price"] == "0.00"
    for order_id in set(report.refunded) - set(report.cancelled):
        order = shop.get_order(order_id)
        assert order["financial_status"] in ("partially_refunded", "refunded")
        assert order["refunds"][-1]["refund_line_items"]


def test_address_change_and_payment_bump_updated_at(shop, clock):
    # given
    orders = shop.generate(40)
    pending = next(order for order in orders if order["financial_status"] == "pending")
    clock.advance(60)

    # when
    moved = shop.change_shipping_address(orders[0]["id"])
    paid = shop.mark_paid(pending["id"])

    # then
    old, new = orders[0]["shipping_address"], moved["shipping_address"]
    assert stamp(moved) > stamp(orders[0])
    assert (new["country_code"], new["city"], new["zip"]) == (old["country_code"], old["city"], old["zip"])
    assert (new["address1"], new["address2"]) != (old["address1"], old["address2"])
    assert paid["financial_status"] == "paid"
    assert stamp(paid) > stamp(pending)


# ---------------------------------------------------------------------- fulfilment


def test_fulfillment_orders_then_a_fulfillment_mark_the_order_fulfilled(api, shop, clock):
    # given
    order = shop.generate(1)[0]
    fulfillment_orders = api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"]
    clock.advance(3600)

    # when
    response = api.post(
        "fulfillments.json",
        json={
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {
                        "fulfillment_order_id": fo["id"],
                        "fulfillment_order_line_items": [
                            {"id": item["id"], "quantity": item["fulfillable_quantity"]} for item in fo["line_items"]
                        ],
                    }
                    for fo in fulfillment_orders
                ],
                "tracking_info": {"company": "SF Express", "number": "SF1234567890", "url": "https://sf.example/1"},
                "notify_customer": True,
            }
        },
    )

    # then
    assert [fo["status"] for fo in fulfillment_orders] == ["open"]
    assert {item["line_item_id"] for item in fulfillment_orders[0]["line_items"]} == {
        line["id"] for line in order["line_items"]
    }
    assert response.status_code == 201
    fulfillment = response.json()["fulfillment"]
    assert fulfillment["status"] == "success"
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("SF Express", "SF1234567890")
    after = api.get(f"orders/{order['id']}.json").json()["order"]
    assert after["fulfillment_status"] == "fulfilled"
    assert all(line["fulfillable_quantity"] == 0 for line in after["line_items"])
    assert stamp(after) > stamp(order)
    assert (
        api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]["status"] == "closed"
    )
    listed = api.get(f"orders/{order['id']}/fulfillments.json").json()["fulfillments"]
    assert [f["id"] for f in listed] == [fulfillment["id"]]


def test_a_partial_fulfillment_leaves_the_rest_to_fulfil(api, shop):
    # given
    order = next(o for o in shop.generate(20) if sum(line["quantity"] for line in o["line_items"]) > 1)
    fo = api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]
    item = fo["line_items"][0]

    # when
    response = api.post(
        "fulfillments.json",
        json={
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {
                        "fulfillment_order_id": fo["id"],
                        "fulfillment_order_line_items": [{"id": item["id"], "quantity": 1}],
                    }
                ]
            }
        },
    )

    # then
    assert response.status_code == 201
    assert shop.get_order(order["id"])["fulfillment_status"] == "partial"
    after = api.get(f"orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]
    assert after["status"] == "in_progress"
    assert after["line_items"][0]["fulfillable_quantity"] == item["fulfillable_quantity"] - 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"nothing": {}}, 400),
        ({"fulfillment": {"line_items_by_fulfillment_order": []}}, 422),
        ({"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id": 1}]}}, 422),
        ("too-many", 422),
        ("unknown-line", 422),
    ],
)
def test_a_fulfillment_that_cannot_be_made_is_refused_and_changes_nothing(api, shop, body, status):
    # given
    order = shop.generate(1)[0]
    fo = shop.fulfillment_orders(order["id"])[0]
    item = fo["line_items"][0]
    if body == "too-many":
        body = _fulfil(fo["id"], item["id"], item["fulfillable_quantity"] + 1)
    elif body == "unknown-line":
        body = _fulfil(fo["id"], 42, 1)

    # when
    response = api.post("fulfillments.json", json=body)

    # then
    assert response.status_code == status
    assert "errors" in response.json()
    assert shop.get_order(order["id"]) == order


def test_a_cancelled_order_cannot_be_fulfilled(api, shop, clock):
    # given
    order = shop.generate(1)[0]
    fo = shop.fulfillment_orders(order["id"])[0]
    clock.advance(60)
    shop.cancel_order(order["id"])

    # when
    response = api.post("fulfillments.json", json=_fulfil(fo["id"], fo["line_items"][0]["id"], 1))

    # then
    assert response.status_code == 422
    assert shop.get_order(order["id"])["fulfillments"] == []


def _fulfil(fo_id: int, fo_line_id: int, quantity: int) -> dict:
    return {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": fo_id,
                    "fulfillment_order_line_items": [{"id": fo_line_id, "quantity": quantity}],
                }
            ]
        }
    }


# ---------------------------------------------------------------------- call limit


def test_the_call_limit_bucket_overflows_into_429_and_drains_with_time(clock):
    # given: a bucket on the fake clock, so no call drains until the test moves time
    shop = SandboxShop(seed=1, clock=clock)
    with running(shop, clock=clock) as base_url, client_for(base_url) as api:
        # when
        within = [api.get("shop.json") for _ in range(40)]
        over = api.get("shop.json")
        clock.advance(1.0)  # two calls leak out
        after_a_second = api.get("shop.json")

    # then
    assert all(response.status_code == 200 for response in within)
    assert within[-1].headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert over.status_code == 429
    assert over.headers["Retry-After"] == "2.0"
    assert over.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert after_a_second.status_code == 200
    assert after_a_second.headers["X-Shopify-Shop-Api-Call-Limit"] == "39/40"


# ---------------------------------------------------------------------- determinism and persistence


def test_the_same_seed_makes_the_same_orders(clock):
    # given
    first, second, other = (SandboxShop(seed=seed, clock=clock) for seed in (5, 5, 6))

    # when
    made = [shop.generate(25) for shop in (first, second, other)]

    # then
    assert made[0] == made[1]
    assert made[0] != made[2]


def test_the_state_file_keeps_orders_across_restarts_and_the_sequence_goes_on(tmp_path, clock):
    # given: one shop that never stops, and one that is restarted from its state file
    path = tmp_path / "sandbox" / "shop.json"
    uninterrupted = SandboxShop(seed=9, clock=clock)
    uninterrupted.generate(15)
    before_restart = SandboxShop(seed=9, clock=clock, state_path=path)
    before_restart.generate(15)
    clock.advance(60)
    cancelled_id = before_restart.list_orders(limit=1)[0]["id"]
    before_restart.cancel_order(cancelled_id)
    uninterrupted.cancel_order(cancelled_id)

    # when
    restarted = SandboxShop(seed=9, clock=clock, state_path=path)

    # then
    assert restarted.list_orders(limit=250) == before_restart.list_orders(limit=250)
    assert restarted.fulfillment_orders(cancelled_id) == before_restart.fulfillment_orders(cancelled_id)
    assert restarted.generate(5) == uninterrupted.generate(5)
    assert sorted(p.name for p in path.parent.iterdir()) == ["shop.json"]  # no temporary file left behind
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "relay-sandbox-shop/1"


def test_an_unreadable_state_file_is_set_aside_and_the_shop_starts_afresh(tmp_path: Path, clock):
    # given
    path = tmp_path / "shop.json"
    path.write_text("{ not json", encoding="utf-8")

    # when
    shop = SandboxShop(seed=1, clock=clock, state_path=path)
    shop.generate(2)

    # then
    assert len(shop) == 2
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("shop.json.unreadable-")]
    assert len(kept) == 1
    assert kept[0].read_text(encoding="utf-8") == "{ not json"


# ---------------------------------------------------------------------- what the orders look like


def test_amounts_add_up_in_shop_and_buyer_money_across_500_orders(clock):
    # given
    shop = SandboxShop(seed=2026, clock=clock)

    # when
    orders = shop.generate(500)

    # then
    for order in orders:
        for side in ("shop_money", "presentment_money"):
            currency = order["currency"] if side == "shop_money" else order["presentment_currency"]
            places = 0 if currency == "JPY" else 2

            def amount(price_set: dict, side: str = side, places: int = places) -> Decimal:
                text = price_set[side]["amount"]
                assert text == f"{Decimal(text):.{places}f}", text
                return Decimal(text)

            items = amount(order["total_line_items_price_set"])
            discounts = amount(order["total_discounts_set"])
            shipping = amount(order["total_shipping_price_set"])
            tax = amount(order["total_tax_set"])
            assert amount(order["total_price_set"]) == items - discounts + shipping + tax, order["name"]
            lines = order["line_items"]
            assert items == sum(amount(line["price_set"]) * line["quantity"] for line in lines)
            allocated = [a for line in lines for a in line["discount_allocations"]]
            allocated += [a for s in order["shipping_lines"] for a in s["discount_allocations"]]
            assert discounts == sum((amount(a["amount_set"]) for a in allocated), Decimal(0))
            taxed = [t for line in lines for t in line["tax_lines"]] + order["shipping_lines"][0]["tax_lines"]
            assert tax == sum((amount(t["price_set"]) for t in taxed), Decimal(0))
            assert amount(order["subtotal_price_set"]) == items - sum(
                (amount(a["amount_set"]) for line in lines for a in line["discount_allocations"]), Decimal(0)
            )
        assert Decimal(order["total_price"]) == Decimal(order["total_price_set"]["shop_money"]["amount"])
    assert 0.2 < sum(bool(order["discount_codes"]) for order in orders) / len(orders) < 0.4
    assert {order["presentment_currency"] for order in orders} == {"USD", "EUR", "GBP", "CNY", "JPY", "AUD"}
    assert {len(order["line_items"]) for order in orders} == {1, 2, 3, 4, 5}
    assert {line["quantity"] for order in orders for line in order["line_items"]} == {1, 2, 3, 4}


def test_orders_have_shopifys_shape(clock):
    # given
    shop = SandboxShop(seed=4, clock=clock)

    # when
    orders = shop.generate(200)

    # then
    first = orders[0]
    assert isinstance(first["id"], int)
    assert first["admin_graphql_api_id"] == f"gid://shopify/Order/{first['id']}"
    assert (first["name"], first["order_number"]) == ("#1001", 1001)
    assert first["created_at"] == "2026-11-20T09:00:00+08:00"
    assert first["updated_at"] == first["processed_at"] == first["created_at"]
    assert (first["cancelled_at"], first["cancel_reason"]) == (None, None)
    assert first["refunds"] == []
    for key in ("email", "currency", "financial_status", "fulfillment_status", "tags", "note", "billing_address"):
        assert key in first
    assert set(first["customer"]) >= {"id", "first_name", "last_name", "email", "phone"}
    assert set(first["shipping_address"]) >= {
        "first_name", "last_name", "name", "address1", "address2", "city", "province", "province_code",
        "country", "country_code", "zip", "phone",
    }  # fmt: skip
    line = first["line_items"][0]
    assert isinstance(line["price"], str)
    assert set(line) >= {
        "id", "variant_id", "product_id", "sku", "title", "name", "quantity", "price", "total_discount",
        "discount_allocations", "fulfillable_quantity", "requires_shipping", "taxable", "tax_lines",
    }  # fmt: skip
    assert {order["financial_status"] for order in orders} == {"paid", "pending"}
    chinese = [o["shipping_address"] for o in orders if o["shipping_address"]["country_code"] == "CN"]
    assert chinese
    assert all(a["province"].endswith(("省", "市")) and a["city"].endswith("市") for a in chinese)
    assert any(o["note"] for o in orders)
    assert {line["sku"] for o in orders for line in o["line_items"]} <= {p.sku for p in CATALOGUE}
    assert len(CATALOGUE) == 40
    assert Counter(o["customer"]["id"] for o in orders).most_common(1)[0][1] > 1  # some buyers come back


# ---------------------------------------------------------------------- Relay's own Shopify adapter against it


def test_relays_shopify_adapter_pulls_and_fulfils_against_the_sandbox(shop, clock):
    # given
    shopify = pytest.importorskip("channels.adapters.shopify")
    shop.generate(30)
    with running(shop) as base_url, httpx.Client(trust_env=False, timeout=10) as http:
        adapter = shopify.ShopifyAdapter(
            base_url=base_url, credentials={"access_token": TOKEN}, client=http, sleep=lambda seconds: None
        )

        # when
        name = adapter.test_connection()
        count = adapter.count_orders(updated_since=None, updated_until=None)
        payloads = [payload for page in adapter.iter_order_pages(updated_since=None) for payload in page]
        canonical = [adapter.normalise(payload) for payload in payloads]
        target = canonical[0]
        clock.advance(60)
        lines = [(line.external_id, line.quantity) for line in target.lines]
        pushed = adapter.push_fulfillment(
            order_external_id=target.external_id, lines=lines, carrier="SF Express", tracking_number="SF0001"
        )
        pushed_again = adapter.push_fulfillment(
            order_external_id=target.external_id, lines=lines, carrier="SF Express", tracking_number="SF0001"
        )

    # then
    assert name == "Relay Sandbox Shop"
    assert count == len(payloads) == 30
    for order in canonical:
        assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.total
    assert pushed == pushed_again
    assert shop.get_order(int(target.external_id))["fulfillment_status"] == "fulfilled"


def test_line_count_weights_shape_the_baskets():
    single = SandboxShop(seed=3, rate_per_minute=0, line_count_weights=(1, 0, 0, 0, 0)).generate(50)
    busy = SandboxShop(seed=3, rate_per_minute=0, line_count_weights=(10, 20, 35, 20, 15)).generate(400)

    assert {len(order["line_items"]) for order in single} == {1}
    assert 2.7 < sum(len(order["line_items"]) for order in busy) / 400 < 3.5
