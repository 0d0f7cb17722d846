"""The sandbox shop's Shopify Payments payouts, read through the Shopify adapter from a real local server.

No Django and no database: the shop and its server are plain Python and time is a fake clock. The shop has
four days of orders, some refunded or cancelled since; payouts must add up to the cent and trace to orders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from channels.adapters.shopify import ShopifyAdapter
from channels.payouts import ChannelPayout
from channels.sandbox.generator import SHOP_TIMEZONE, SandboxShop
from channels.sandbox.payments import Payments, dispute_moment, order_movements
from channels.sandbox.server import INVALID_TOKEN, make_server, serving
from core.money import round_money
from tests.channels.sandbox_helpers import TOKEN, FakeClock, http_client

PAID = ("paid", "partially_refunded", "refunded")
DAY = 24 * 3600


@pytest.fixture
def history(clock: FakeClock) -> SandboxShop:
    """Four days of orders; an hour ago some were refunded a line or cancelled."""
    shop = SandboxShop(seed=11, clock=clock)
    shop.generate(120, spread_seconds=4 * DAY)
    clock.advance(3600)
    orders = shop.latest_orders(len(shop))
    for order in [o for o in orders if o["financial_status"] == "paid"][::9]:
        shop.refund_line(order["id"])
    for order in [o for o in orders if o["financial_status"] == "paid"][::13]:
        shop.cancel_order(order["id"])
    clock.advance(3600)
    return shop


@contextlib.contextmanager
def served(shop: SandboxShop, clock: FakeClock) -> Iterator[str]:
    with serving(make_server(shop, port=0, shop_clock=clock)) as base_url:
        yield base_url


def read_payouts(shop: SandboxShop, clock: FakeClock, **options) -> list[ChannelPayout]:
    with served(shop, clock) as base_url, httpx.Client(trust_env=False) as client:
        adapter = ShopifyAdapter(
            base_url=base_url, credentials={"access_token": TOKEN}, client=client, sleep=lambda seconds: None
        )
        return list(adapter.iter_payouts(**options))


def shop_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHOP_TIMEZONE).date()


# ------------------------------------------------------------------ payouts add up and trace to orders


def test_each_payout_is_exactly_the_sum_of_its_transactions_nets(history, clock):
    payouts = read_payouts(history, clock)

    assert len(payouts) >= 4
    assert any(row.kind == "chargeback" for payout in payouts for row in payout.rows)
    for payout in payouts:
        (transfer,) = (row for row in payout.rows if row.kind == "transfer")
        moved = [row for row in payout.rows if row.kind != "transfer"]
        assert payout.amount == sum((row.net for row in moved), Decimal(0)), payout.id
        assert transfer.amount == -payout.amount and transfer.fee == 0
        assert all(Decimal(row.extra["net"]) == row.net for row in payout.rows)
        assert {row.currency for row in payout.rows} == {payout.currency} == {"USD"}
        assert Decimal(payout.summary["charges_gross_amount"]) == sum(
            (row.amount for row in moved if row.kind == "charge"), Decimal(0)
        )


def test_every_charge_is_a_paid_shopify_payments_order_at_its_total_less_the_fee(history, clock):
    payouts = read_payouts(history, clock)

    charges = [row for payout in payouts for row in payout.rows if row.kind == "charge"]
    for charge in charges:
        order = history.get_order(int(charge.extra["order_external_id"]))
        assert order is not None and order["gateway"] == "shopify_payments"
        assert order["financial_status"] in PAID
        assert charge.amount == Decimal(order["total_price"])
        assert charge.fee == round_money(charge.amount * Decimal("0.029") + Decimal("0.30"), "USD")
        assert charge.occurred_at == dt.datetime.fromisoformat(order["processed_at"])
    # and each such order is charged once; PayPal, bank deposit and cash on delivery never reach the payouts
    paid_here = {
        str(o["id"])
        for o in history.latest_orders(len(history))
        if o["gateway"] == "shopify_payments" and o["financial_status"] in PAID
    }
    assert sorted(c.extra["order_external_id"] for c in charges) == sorted(paid_here)


def test_refunds_are_negative_and_give_back_what_the_orders_refunded(history, clock):
    payouts = read_payouts(history, clock)

    by_order: dict[str, list] = defaultdict(list)
    for row in (row for payout in payouts for row in payout.rows if row.kind != "transfer"):
        by_order[row.extra["order_external_id"]].append(row)
    refunds = [row for rows in by_order.values() for row in rows if row.kind == "refund"]
    assert len(refunds) >= 5
    assert all(row.amount < 0 and row.fee == 0 for row in refunds)
    for order_id, rows in by_order.items():
        if any(row.kind == "chargeback" for row in rows):
            continue
        order = history.get_order(int(order_id))
        assert sum((row.amount for row in rows), Decimal(0)) == Decimal(order["current_total_price"]), order_id


def test_one_payout_per_shop_day_paid_before_today_and_scheduled_today(history, clock):
    payouts = read_payouts(history, clock)

    today = dt.datetime.fromtimestamp(clock.now, SHOP_TIMEZONE).date()
    assert [p.date for p in payouts] == sorted({p.date for p in payouts}, reverse=True)
    assert payouts[0].date == today and payouts[0].status == "scheduled"
    assert {p.status for p in payouts[1:]} == {"paid"}
    for payout in payouts:
        assert all(shop_day(row.occurred_at) == payout.date for row in payout.rows if row.kind != "transfer")
        assert {row.extra["payout_status"] for row in payout.rows} == {payout.status}


def test_since_and_status_select_payouts(history, clock):
    every = read_payouts(history, clock)

    recent = read_payouts(history, clock, since=every[1].date)
    paid = read_payouts(history, clock, status="paid")

    assert [p.id for p in recent] == [p.id for p in every[:2]]
    assert [p.id for p in paid] == [p.id for p in every[1:]]


def test_a_paid_payout_does_not_change_when_the_shop_moves_on(history, clock):
    # given the payouts as read now
    before = {p.id: p for p in read_payouts(history, clock) if p.status == "paid"}

    # when the next shop day comes: new orders, an old order refunded, disputes coming due
    clock.advance(20 * 3600)
    history.generate(10)
    old = next(o for o in history.latest_orders(len(history))[::-1] if o["financial_status"] == "paid")
    history.refund_line(old["id"])
    after = {p.id: p for p in read_payouts(history, clock) if p.id in before}

    # then
    assert after == before


# ------------------------------------------------------------------ disputes


def test_about_one_paid_order_in_forty_is_disputed_chosen_by_the_seed():
    # given many orders
    shop = SandboxShop(seed=5, clock=lambda: 1_800_000_000.0)
    shop.generate(800, spread_seconds=10 * DAY)
    orders = shop.latest_orders(len(shop))

    def disputed(seed: int) -> set[int]:
        return {o["id"] for o in orders if any(m.type == "dispute" for m in order_movements(o, seed=seed))}

    # then the shop's seed picks them, the same each time, and another seed others
    paid_here = sum(1 for o in orders if order_movements(o, seed=5))
    assert paid_here / 80 < len(disputed(5)) < paid_here / 20
    assert disputed(5) == disputed(5) != disputed(6)


def test_a_dispute_takes_back_what_was_held_with_a_fee_once_it_has_happened(clock):
    # given a paid order that the seed has its buyer dispute
    shop = SandboxShop(seed=3, clock=clock)
    shop.generate(400)
    order = next(
        o
        for o in shop.latest_orders(len(shop))
        if o["gateway"] == "shopify_payments" and dispute_moment(o, seed=shop.seed) is not None
    )
    payments = Payments(shop, clock=clock)
    moment = dispute_moment(order, seed=shop.seed)

    # when the ledger is read just before and at the moment of the dispute
    clock.now = moment - 1
    before = [t for ts in payments.ledger().transactions.values() for t in ts if t["source_order_id"] == order["id"]]
    clock.now = moment
    after = [t for ts in payments.ledger().transactions.values() for t in ts if t["source_order_id"] == order["id"]]

    # then
    assert [t["type"] for t in before] == ["charge"]
    (dispute,) = (t for t in after if t["type"] == "dispute")
    assert Decimal(dispute["amount"]) == -Decimal(order["total_price"])
    assert (dispute["fee"], dispute["source_type"]) == ("15.00", "Payments::Dispute")
    assert Decimal(dispute["net"]) == -Decimal(order["total_price"]) - 15


def test_a_refund_before_a_dispute_lowers_what_it_takes_and_one_after_is_not_paid_out(clock):
    # given a disputed order of two lines
    shop = SandboxShop(seed=3, clock=clock, line_count_weights=(0, 1, 0, 0, 0))
    shop.generate(400)
    order = next(
        o
        for o in shop.latest_orders(len(shop))
        if o["gateway"] == "shopify_payments" and dispute_moment(o, seed=shop.seed) is not None
    )
    moment = dispute_moment(order, seed=shop.seed)

    # when one line is refunded just before the dispute and the other just after
    clock.now = moment - 10
    shop.refund_line(order["id"])
    clock.now = moment + 10
    refunded = shop.refund_line(order["id"])
    moves = order_movements(refunded, seed=shop.seed)

    # then the dispute takes back what was still held, and the later refund is not paid out again
    assert [m.type for m in moves] == ["charge", "refund", "dispute"]
    charge, refund, dispute = moves
    assert refund.at < dispute.at == moment
    assert dispute.amount == -(charge.amount + refund.amount)
    assert sum((m.amount for m in moves), Decimal(0)) == 0


# ------------------------------------------------------------------ the API itself


def follow(api: httpx.Client, path: str, **params) -> list[httpx.Response]:
    """Every page of a list, following rel="next" as a Shopify client does."""
    responses = [api.get(path, params=params)]
    while "next" in responses[-1].links:
        assert responses[-1].status_code == 200, responses[-1].text
        responses.append(api.get(responses[-1].links["next"]["url"]))
    return responses


def test_payouts_and_transactions_page_through_link_headers(history, clock):
    with served(history, clock) as base_url, http_client(base_url) as api:
        # given the whole lists in one page each
        every = api.get("shopify_payments/payouts.json", params={"limit": 250}).json()["payouts"]
        busiest = every[0]["id"]
        whole = api.get("shopify_payments/balance/transactions.json", params={"payout_id": busiest, "limit": 250})

        # when they are read a few at a time
        pages = follow(api, "shopify_payments/payouts.json", limit=2)
        back = api.get(pages[-1].links["previous"]["url"])
        parts = follow(api, "shopify_payments/balance/transactions.json", payout_id=busiest, limit=7)

    # then the pages hold every item once, in the same order, and "previous" leads back
    assert [p for page in pages for p in page.json()["payouts"]] == every
    assert back.json() == pages[-2].json()
    assert len(parts) > 1
    assert [t for page in parts for t in page.json()["transactions"]] == whole.json()["transactions"]


def test_filters_beside_page_info_and_bad_values_are_refused_like_shopify(history, clock):
    with served(history, clock) as base_url, http_client(base_url) as api:
        first = api.get("shopify_payments/payouts.json", params={"limit": 1})
        token = first.links["next"]["url"].split("page_info=")[1]
        answers = {
            "page_info and status": api.get(
                "shopify_payments/payouts.json", params={"page_info": token, "status": "paid"}
            ),
            "bad page_info": api.get("shopify_payments/payouts.json", params={"page_info": "nonsense"}),
            "bad date": api.get("shopify_payments/payouts.json", params={"date_min": "yesterday"}),
            "bad status": api.get("shopify_payments/payouts.json", params={"status": "lost"}),
            "bad payout id": api.get("shopify_payments/balance/transactions.json", params={"payout_id": "x"}),
        }
        missing = api.get("shopify_payments/payouts/1.json")

    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 400)
    assert "status cannot be passed when page_info is present" in answers["page_info and status"].json()["errors"]
    assert missing.status_code == 404


def test_one_payout_is_served_by_its_id(history, clock):
    with served(history, clock) as base_url, http_client(base_url) as api:
        listed = api.get("shopify_payments/payouts.json").json()["payouts"][1]
        one = api.get(f"shopify_payments/payouts/{listed['id']}.json")

    assert one.status_code == 200 and one.json() == {"payout": listed}


@pytest.mark.parametrize("path", ["shopify_payments/payouts.json", "shopify_payments/balance/transactions.json"])
def test_payouts_need_the_access_token(history, clock, path):
    with served(history, clock) as base_url, http_client(base_url, token="wrong-token") as intruder:
        refused = intruder.get(path)

    assert refused.status_code == 401
    assert refused.json() == {"errors": INVALID_TOKEN}


def test_the_payouts_page_lists_each_payout_for_a_person(history, clock):
    with served(history, clock) as base_url, http_client(base_url) as api, httpx.Client(trust_env=False) as browser:
        payouts = api.get("shopify_payments/payouts.json").json()["payouts"]
        page = browser.get(f"{base_url}/admin/payments/payouts")

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert all(p["date"] in page.text and f"<strong>{p['amount']}</strong>" in page.text for p in payouts)
