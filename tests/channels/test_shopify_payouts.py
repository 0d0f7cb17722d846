"""The Shopify adapter reads Shopify Payments payouts and their balance transactions as ChannelPayouts of PayoutRows.

No database: Shopify's answers are its documented samples (tests/channels/fixtures/shopify/payouts.json and
balance_transactions*.json, payout 623721858), served through httpx.MockTransport.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable
from channels.adapters.shopify import API_VERSION
from channels.adapters.woocommerce import WooCommerceAdapter
from channels.payouts import ChannelPayout, PayoutRow
from tests.channels.helpers import fixture
from tests.channels.scripted_shopify import API, BASE, TOKEN, ScriptedShopify, adapter, ok, query

PAYOUTS = f"{API}/shopify_payments/payouts.json"
TRANSACTIONS = f"{API}/shopify_payments/balance/transactions.json"
DOC_PAYOUT = "623721858"  # the payout Shopify's transaction samples belong to


def documented_shopify(*, payouts_pages: int = 1) -> ScriptedShopify:
    """Shopify answering with its documented payouts (in one or two pages) and payout 623721858's transactions
    (two pages); the other payouts have no transactions."""
    listed = fixture("shopify/payouts.json")["payouts"]
    pages = [listed] if payouts_pages == 1 else [listed[:4], listed[4:]]

    def answer(request: httpx.Request) -> httpx.Response:
        params = query(request)
        if request.url.path.endswith("/payouts.json"):
            index = 1 if params.get("page_info") == "payouts-2" else 0
            more = {"Link": f'<{PAYOUTS}?limit=250&page_info=payouts-2>; rel="next"'} if index < len(pages) - 1 else {}
            return ok({"payouts": pages[index]}, **more)
        if params.get("page_info") == "transactions-2":
            return ok(fixture("shopify/balance_transactions_page2.json"))
        if params.get("payout_id") == DOC_PAYOUT:
            return ok(
                fixture("shopify/balance_transactions.json"),
                Link=f'<{TRANSACTIONS}?limit=250&page_info=transactions-2>; rel="next"',
            )
        return ok({"transactions": []})

    return ScriptedShopify(answer)


def doc_payout(payouts: list[ChannelPayout]) -> ChannelPayout:
    (payout,) = (p for p in payouts if p.id == DOC_PAYOUT)
    return payout


def row(payout: ChannelPayout, reference: str) -> PayoutRow:
    (found,) = (r for r in payout.rows if r.reference == reference)
    return found


# ------------------------------------------------------------------ paging and requests


def test_payouts_and_their_transactions_are_read_page_by_page():
    # given the payouts in two pages, and payout 623721858's transactions in two pages
    shop = documented_shopify(payouts_pages=2)

    # when
    payouts = list(adapter(shop).iter_payouts(since=dt.date(2012, 11, 1)))

    # then every payout, newest first as Shopify lists them, each with all its transactions
    assert [p.id for p in payouts] == [str(p["id"]) for p in fixture("shopify/payouts.json")["payouts"]]
    assert len(doc_payout(payouts).rows) == 12
    assert all(not p.rows for p in payouts if p.id != DOC_PAYOUT)
    first = shop.requests[0]
    assert first.url.path == f"/admin/api/{API_VERSION}/shopify_payments/payouts.json"
    assert query(first) == {"limit": "250", "date_min": "2012-11-01"}
    asked = [query(r) for r in shop.requests if r.url.path.endswith("/balance/transactions.json")]
    assert {"payout_id": DOC_PAYOUT, "limit": "250"} in asked
    # a next page is followed as Shopify gives it: page_info and limit only
    assert {"limit": "250", "page_info": "transactions-2"} in asked
    assert {"limit": "250", "page_info": "payouts-2"} in [query(r) for r in shop.requests]
    assert all(r.headers["X-Shopify-Access-Token"] == TOKEN for r in shop.requests)


def test_without_since_every_payout_is_asked_for_and_a_status_narrows_them():
    shop = ScriptedShopify(ok({"payouts": []}))

    assert list(adapter(shop).iter_payouts()) == []
    assert list(adapter(shop).iter_payouts(status="paid")) == []

    assert [query(r) for r in shop.requests] == [{"limit": "250"}, {"limit": "250", "status": "paid"}]


def test_a_next_page_on_another_host_is_not_followed_with_the_token():
    shop = ScriptedShopify(ok({"payouts": []}, Link='<https://evil.example/payouts.json?page_info=x>; rel="next"'))

    with pytest.raises(ChannelError, match="another host"):
        list(adapter(shop).iter_payouts())
    assert len(shop.requests) == 1


# ------------------------------------------------------------------ mapping


def test_a_payout_keeps_its_date_status_amount_and_shopifys_summary():
    payout = doc_payout(list(adapter(documented_shopify()).iter_payouts()))

    assert (payout.date, payout.status, payout.currency, payout.amount) == (
        dt.date(2012, 11, 12), "paid", "USD", Decimal("41.90"),
    )  # fmt: skip
    assert payout.summary["charges_gross_amount"] == "44.52"
    assert payout.summary["refunds_fee_amount"] == "-0.23"


def test_a_charge_names_its_order_by_shopify_id_and_keeps_its_fee():
    payout = doc_payout(list(adapter(documented_shopify()).iter_payouts()))

    charge = row(payout, "746296004")

    assert charge.kind == "charge"
    assert (charge.amount, charge.fee, charge.net) == (Decimal("10.00"), Decimal("2.00"), Decimal("8.00"))
    assert charge.currency == "USD"
    assert charge.occurred_at == dt.datetime(2024, 1, 10, 12, 34, 56, tzinfo=dt.UTC)
    assert charge.payout_reference == DOC_PAYOUT
    assert charge.order_number == ""  # Shopify gives the order's id, not its name
    assert charge.extra["order_external_id"] == "625362839"
    assert charge.extra["source_order_transaction_id"] == "890672011"
    assert charge.row is None


@pytest.mark.parametrize(
    ("reference", "kind", "amount", "fee"),
    [
        ("1006917261", "refund", "-3.45", "0.00"),
        ("977134221", "chargeback", "-100.00", "15.00"),  # a dispute: the amount taken back, and its fee
        ("295058327", "chargeback", "100.00", "-15.00"),  # a dispute won: both given back
        ("758509248", "adjustment", "-1.50", "-0.25"),
        ("716142630", "adjustment", "-0.75", "0.00"),  # a debit
        ("744334347", "adjustment", "100.00", "0.00"),  # a credit
        ("854848137", "transfer", "-41.90", "0.00"),  # the payout itself, leaving for the bank
        ("972818242", "other", "-42.00", "0.00"),  # a reserve
        ("637679484", "other", "1.00", "0.00"),
    ],
)
def test_each_transaction_type_becomes_its_kind_signed_as_shopify_gives_it(reference, kind, amount, fee):
    payout = doc_payout(list(adapter(documented_shopify()).iter_payouts()))

    movement = row(payout, reference)

    assert (movement.kind, movement.amount, movement.fee) == (kind, Decimal(amount), Decimal(fee))
    assert movement.payout_reference == DOC_PAYOUT


def test_shopifys_own_net_type_and_sources_are_kept():
    payout = doc_payout(list(adapter(documented_shopify()).iter_payouts()))

    adjustment = row(payout, "758509248")
    debit = row(payout, "716142630")
    reserve = row(payout, "972818242")

    # Shopify's sample net is not amount - fee here: its own figure is kept beside ours
    assert adjustment.extra["net"] == "-1.75"
    assert adjustment.net == Decimal("-1.25")
    assert debit.extra["test"] is False and debit.extra["payout_status"] == "paid"
    assert debit.extra["type"] == "debit" and debit.extra["adjustment_reason"] == "tax_adjustment"
    assert debit.description == "debit: tax_adjustment"
    assert "order_external_id" not in debit.extra
    assert reserve.extra["source_id"] == "" and reserve.description == "reserve"


def test_a_credit_for_one_named_order_carries_its_number_and_id():
    payout = doc_payout(list(adapter(documented_shopify()).iter_payouts()))

    credit = row(payout, "744334347")

    assert credit.order_number == "#1001"
    assert credit.extra["order_external_id"] == "625362839"


def test_a_transaction_relay_cannot_read_is_refused_naming_it():
    # given a transaction whose amount is not an amount
    broken = fixture("shopify/balance_transactions.json")
    broken["transactions"][1]["amount"] = "lots"
    shop = ScriptedShopify(ok({"payouts": fixture("shopify/payouts.json")["payouts"][-1:]}), ok(broken))

    with pytest.raises(ChannelError) as refused:
        list(adapter(shop).iter_payouts())

    assert str(refused.value) == (
        "Shopify sent a transaction of payout 623721858 Relay cannot read: "
        "transaction 1006917261: amount is not an amount: 'lots'."
    )


def test_a_transaction_of_another_payout_is_refused():
    other = fixture("shopify/balance_transactions_page2.json")
    other["transactions"][0]["payout_id"] = 1
    shop = ScriptedShopify(ok({"payouts": fixture("shopify/payouts.json")["payouts"][-1:]}), ok(other))

    with pytest.raises(ChannelError, match="transaction 567994517 belongs to payout 1"):
        list(adapter(shop).iter_payouts())


def test_an_answer_without_a_payout_list_is_refused():
    shop = ScriptedShopify(ok({"orders": []}))

    with pytest.raises(ChannelError, match="without a 'payouts' list"):
        list(adapter(shop).iter_payouts())


# ------------------------------------------------------------------ faults


def test_429_on_a_transactions_page_waits_the_retry_after_then_goes_on():
    # given Shopify throttles the transactions request once
    listed = ok({"payouts": fixture("shopify/payouts.json")["payouts"][-1:]})
    throttled = httpx.Response(429, headers={"Retry-After": "2.0"}, json={"errors": "Exceeded 2 calls per second"})
    shop = ScriptedShopify(listed, throttled, ok(fixture("shopify/balance_transactions_page2.json")))
    waits: list[float] = []

    # when
    (payout,) = adapter(shop, waits=waits).iter_payouts()

    # then
    assert waits == [2.0]
    assert [r.reference for r in payout.rows] == ["567994517", "854848137"]
    assert len(shop.requests) == 3


def test_429_with_a_long_retry_after_gives_up_for_a_later_retry():
    shop = ScriptedShopify(httpx.Response(429, headers={"Retry-After": "120"}))

    with pytest.raises(ChannelUnavailable) as unavailable:
        list(adapter(shop).iter_payouts())

    assert unavailable.value.retry_after == 120.0
    assert len(shop.requests) == 1


def test_401_is_an_auth_error_at_once():
    shop = ScriptedShopify(
        httpx.Response(
            401, json={"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        )
    )

    with pytest.raises(ChannelAuthError) as refused:
        list(adapter(shop).iter_payouts())

    assert refused.value.status == 401
    assert str(refused.value).startswith("The access token was refused (401).")
    assert TOKEN not in str(refused.value)
    assert len(shop.requests) == 1


def test_403_names_the_payouts_scope_and_shopifys_words():
    shop = ScriptedShopify(
        httpx.Response(
            403,
            json={"errors": "[API] This action requires merchant approval for read_shopify_payments_payouts scope."},
        )
    )

    with pytest.raises(ChannelAuthError) as refused:
        list(adapter(shop).iter_payouts())

    message = str(refused.value)
    assert refused.value.status == 403
    assert message.startswith("The access token may not read Shopify Payments payouts (403).")
    assert "read_shopify_payments_payouts access scope" in message
    assert message.endswith(
        "Shopify said: [API] This action requires merchant approval for read_shopify_payments_payouts scope."
    )


def test_a_shop_without_shopify_payments_says_so():
    shop = ScriptedShopify(httpx.Response(404, json={"errors": "Not Found"}))

    with pytest.raises(ChannelError) as refused:
        list(adapter(shop).iter_payouts())

    assert refused.value.status == 404
    assert "no Shopify Payments payouts for this store" in str(refused.value)


def test_woocommerce_has_no_payouts_api_and_asks_for_the_file():
    # given a WooCommerce store, whose adapter never reaches the network here
    shop = ScriptedShopify(ok({}))
    woo = WooCommerceAdapter(
        base_url=BASE, credentials={"consumer_key": "ck", "consumer_secret": "cs"}, client=shop.client()
    )

    with pytest.raises(ChannelError) as refused:
        woo.iter_payouts(since=dt.date(2026, 11, 1))

    assert str(refused.value) == "WooCommerce has no payouts API here: import the payment provider's file instead."
    assert shop.requests == []
