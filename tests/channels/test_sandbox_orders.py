"""The orders the sandbox shop makes: the same for the same seed, kept across restarts, Shopify's shape, amounts that add up."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx

from channels.adapters.shopify import ShopifyAdapter
from channels.sandbox.generator import CATALOGUE, SandboxShop
from tests.channels.sandbox_helpers import (
    TOKEN,
    running,
)

# ---------------------------------------------------------------------- determinism and persistence


def test_the_same_seed_makes_the_same_orders(clock):
    # given
    first, second, other = (SandboxShop(seed=seed, clock=clock) for seed in (5, 5, 6))

    # when
    made = [sandbox.generate(25) for sandbox in (first, second, other)]

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
    sandbox = SandboxShop(seed=1, clock=clock, state_path=path)
    sandbox.generate(2)

    # then
    assert len(sandbox) == 2
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("shop.json.unreadable-")]
    assert len(kept) == 1
    assert kept[0].read_text(encoding="utf-8") == "{ not json"


# ---------------------------------------------------------------------- what the orders look like


def test_amounts_add_up_in_shop_and_buyer_money_across_500_orders(clock):
    # given
    sandbox = SandboxShop(seed=2026, clock=clock)

    # when
    orders = sandbox.generate(500)

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
    sandbox = SandboxShop(seed=4, clock=clock)

    # when
    orders = sandbox.generate(200)

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


def test_relays_shopify_adapter_pulls_and_fulfils_against_the_sandbox(sandbox, clock):
    # given
    sandbox.generate(30)
    with running(sandbox) as base_url, httpx.Client(trust_env=False, timeout=10) as http:
        adapter = ShopifyAdapter(
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
    assert sandbox.get_order(int(target.external_id))["fulfillment_status"] == "fulfilled"


def test_line_count_weights_shape_the_baskets():
    single = SandboxShop(seed=3, rate_per_minute=0, line_count_weights=(1, 0, 0, 0, 0)).generate(50)
    busy = SandboxShop(seed=3, rate_per_minute=0, line_count_weights=(10, 20, 35, 20, 15)).generate(400)

    assert {len(order["line_items"]) for order in single} == {1}
    assert 2.7 < sum(len(order["line_items"]) for order in busy) / 400 < 3.5
