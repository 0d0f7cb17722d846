"""Shopify Payments payouts fetched from the sandbox shop (a real local server) into imports, then reconciled."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from channels.adapters.shopify import ShopifyAdapter
from channels.ingest import ingest_payloads
from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import make_server, serving
from settlement import reconciliation as rec
from settlement.models import PayoutImport, PayoutItem
from settlement.payouts import payout_fetch_run, payout_fetch_start
from tests.channels.factories import StoreFactory
from tests.channels.sandbox_helpers import TOKEN, FakeClock

DAY = 24 * 3600


@contextlib.contextmanager
def served(shop: SandboxShop, clock: FakeClock) -> Iterator[ShopifyAdapter]:
    with serving(make_server(shop, port=0, shop_clock=clock)) as base_url, httpx.Client(trust_env=False) as client:
        yield ShopifyAdapter(
            base_url=base_url, credentials={"access_token": TOKEN}, client=client, sleep=lambda s: None
        )


@pytest.fixture
def sandbox(in_a):
    """Three days of the sandbox shop's orders, all in Relay; the shop's clock an hour after the last."""
    clock = FakeClock()
    shop = SandboxShop(seed=2026, clock=clock)
    shop.generate(60, spread_seconds=3 * DAY)
    clock.advance(3600)
    store = StoreFactory(name="Sandbox", channel="sandbox", base_url="http://127.0.0.1:9")
    orders = shop.latest_orders(len(shop))
    with served(shop, clock) as adapter:
        ingest_payloads(store=store, adapter=adapter, payloads=orders)
    return shop, clock, store, orders


def test_payouts_import_once_match_their_orders_and_reconcile(sandbox, finance):
    shop, clock, store, orders = sandbox

    with served(shop, clock) as adapter:
        first = payout_fetch_run(store=store, user=finance, adapter=adapter)
        payouts = list(adapter.iter_payouts())
        again = payout_fetch_run(store=store, user=finance, adapter=adapter)

    assert first["state"] == "done" and first["imported"] == len(payouts) >= 2
    assert again["imported"] == 0 and again["skipped"] == len(payouts)
    assert PayoutImport.objects.count() == len(payouts)
    rows = [row for payout in payouts for row in payout.rows]
    assert PayoutItem.objects.count() == len(rows)
    # Every charge, refund and chargeback is an order Relay has.
    assert not PayoutItem.objects.filter(kind__in=rec.MONEY_KINDS, order__isnull=True).exists()
    assert PayoutItem.objects.filter(kind="chargeback").exists()

    month = min(o["created_at"] for o in orders)[:7]
    scope = rec.Scope(store=store, month=dt.date.fromisoformat(f"{month}-01"))
    states = {r.order_number: r.state for r in rec.reconcile_rows(scope=scope, limit=1000)}
    by_gateway = {o["name"]: o["payment_gateway_names"] for o in orders}
    disputed = {i.order.order_number for i in PayoutItem.objects.filter(kind="chargeback").select_related("order")}
    for number, state in states.items():
        if number in disputed:
            assert state == "differs"
        elif "shopify_payments" not in by_gateway[number] and state != "nothing_due":
            assert state == "unpaid", number  # paid by PayPal: never in a Shopify Payments payout
    assert "matched" in states.values()


def test_stores_without_a_payouts_api_are_refused(in_a, finance):
    store = StoreFactory(name="Offline")

    state = payout_fetch_start(store=store, user=finance)

    assert state["state"] == "refused" and "import the payment provider's file" in state["message"]
    assert not PayoutImport.objects.exists()
