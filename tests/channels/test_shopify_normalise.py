"""The Shopify adapter turns Shopify's documented payloads into canonical orders, or refuses them with a plain reason.

No database, no Django settings: the adapter is pure Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from channels.adapters.shopify import ShopifyAdapter
from orders.canonical import Address, ChannelOrderLine, NormalisationError
from tests.channels.helpers import fixture
from tests.channels.scripted_shopify import (
    BASE,
    UTC,
    doc_order,
)


def test_the_documented_order_normalises_to_exact_amounts_times_address_and_lines():
    # given Shopify's documented order #1001 (a 10.00 code spread over three lines)
    payload = doc_order()

    # when
    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    # then
    assert (order.external_id, order.order_number, order.currency) == ("450789469", "#1001", "USD")
    assert order.placed_at == dt.datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.updated_at == dt.datetime(2023, 2, 14, 11, 17, 48, tzinfo=UTC)
    assert order.lines == (
        ChannelOrderLine(
            "466157049", "IPOD2008GREEN", "IPod Nano - 8gb - green", 1, Decimal("199.00"), Decimal("3.34")
        ),
        ChannelOrderLine("518995019", "IPOD2008RED", "IPod Nano - 8gb - red", 1, Decimal("199.00"), Decimal("3.33")),
        ChannelOrderLine(
            "703073504", "IPOD2008BLACK", "IPod Nano - 8gb - black", 1, Decimal("199.00"), Decimal("3.33")
        ),
    )
    assert (order.subtotal, order.discount_total, order.shipping_total, order.tax_total, order.total) == (
        Decimal("597.00"), Decimal("10.00"), Decimal("0.00"), Decimal("11.94"), Decimal("598.94"),
    )  # fmt: skip
    assert order.subtotal - order.discount_total + order.shipping_total + order.tax_total == order.total
    assert (order.buyer_name, order.buyer_email, order.buyer_phone) == (
        "Bob Norman", "bob.norman@mail.example.com", "+557734881234",
    )  # fmt: skip
    assert order.shipping_address == Address(
        name="Bob Norman", country="US", province="Kentucky", city="Louisville", district="",
        line1="Chestnut Street 92", line2="", postal_code="40202", phone="+1(502)-459-2181",
    )  # fmt: skip
    assert (order.financial_status, order.fulfillment_status, order.cancelled_at) == ("partially_refunded", "", None)
    assert (order.note, order.tags) == ("", ())


def test_the_listed_page_holds_the_same_documented_order():
    page = fixture("shopify/orders_page.json")["orders"]

    orders = [ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload) for payload in page]

    assert [o.external_id for o in orders] == ["450789469"]
    assert orders[0].total == Decimal("598.94")


def test_multi_currency_order_uses_shop_money_and_keeps_free_shipping_out_of_the_goods_discount():
    # given a EUR shop selling in USD, with 10 % off the goods and a free-shipping code
    payload = fixture("shopify/order_multicurrency.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.currency == "EUR"
    assert [(line.unit_price, line.line_discount) for line in order.lines] == [
        (Decimal("20.00"), Decimal("4.00")),
        (Decimal("15.50"), Decimal("1.55")),
    ]
    assert (order.subtotal, order.discount_total, order.shipping_total) == (
        Decimal("55.50"), Decimal("5.55"), Decimal("0.00"),
    )  # fmt: skip
    # taxes are included in the prices: the parts add up without adding tax again
    assert (order.tax_total, order.total) == (Decimal("7.98"), Decimal("49.95"))
    assert order.subtotal - order.discount_total + order.shipping_total == order.total
    assert order.tags == ("wholesale", "repeat buyer")
    assert order.fulfillment_status == "partial"
    assert order.shipping_address.province == ""
    assert order.placed_at == dt.datetime(2026, 10, 30, 22, 15, 4, tzinfo=UTC)


def test_cancelled_zero_decimal_order_keeps_its_cancellation_and_sums_shipping_lines():
    # given a cancelled JPY order without total_shipping_price_set
    payload = fixture("shopify/order_cancelled.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.cancelled_at == dt.datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    assert order.financial_status == "voided"
    assert (order.subtotal, order.shipping_total, order.total) == (Decimal("4500"), Decimal("500"), Decimal("5000"))
    assert order.lines[0].quantity == 3
    assert order.buyer_name == "Haruka Sato"


def test_chinese_address_and_lines_without_sku_get_stable_listing_keys():
    payload = fixture("shopify/order_china.json")["order"]

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.shipping_address == Address(
        name="王小明", country="CN", province="广东省", city="深圳市", district="",
        line1="深南大道10000号", line2="腾讯大厦12楼", postal_code="518057", phone="+86 138 0013 8000",
    )  # fmt: skip
    assert [(line.listing_sku, line.title) for line in order.lines] == [
        ("variant:44000000004", "真丝围巾 - 红色"),
        ("title:刻字服务", "刻字服务"),
    ]
    assert order.lines[0].line_discount == Decimal("30.00")  # from total_discount, no allocations
    assert (order.buyer_name, order.buyer_email, order.buyer_phone) == (
        "王小明",
        "xiaoming@example.cn",
        "+8613800138000",
    )
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        Decimal("287.00"), Decimal("30.00"), Decimal("20.00"), Decimal("277.00"),
    )  # fmt: skip
    assert order.tags == ("VIP", "双十一")
    assert order.note == "请工作日送货"


def test_malformed_fixture_is_refused_naming_the_line_and_the_quantity():
    payload = fixture("shopify/order_malformed.json")["order"]

    with pytest.raises(NormalisationError) as refused:
        ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert str(refused.value) == "line 13000000004: quantity is not a whole number: 'two'"


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda o: o.pop("id"), "order id is missing"),
        (lambda o: o.update(currency=None), "currency is missing"),
        (lambda o: o.update(currency="éur"), "currency is missing or not a code ('ÉUR')"),
        (lambda o: o.pop("line_items"), "line_items is missing"),
        (lambda o: o.update(line_items=[]), "has no line items"),
        (lambda o: o["line_items"][1].update(price="abc"), "line 518995019: price is not an amount: 'abc'"),
        (lambda o: o["line_items"][0].update(price="-1.00"), "price is negative"),
        (lambda o: o["line_items"][0].update(quantity=0), "quantity must be at least 1"),
        (lambda o: o["line_items"][0].update(quantity=1.5), "quantity is not a whole number"),
        (lambda o: o["line_items"][0].pop("id"), "line item 1: id is missing"),
        (lambda o: o.update(total_price="NaN"), "total_price is not an amount"),
        (lambda o: o.pop("total_price"), "total_price is missing"),
        (lambda o: o.update(created_at="yesterday"), "created_at is not a date and time"),
        (lambda o: o.update(updated_at="2023-02-14T06:17:48"), "updated_at has no time zone"),
        (lambda o: o["line_items"][0]["discount_allocations"][0].update(amount="250.00"), "is more than its amount"),
    ],
)
def test_unusable_payloads_are_refused_with_a_plain_reason(break_it, reason):
    payload = doc_order()
    break_it(payload)

    with pytest.raises(NormalisationError) as refused:
        ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert reason in str(refused.value)


def test_a_total_that_does_not_add_up_is_still_what_the_channel_says():
    payload = doc_order()
    payload["total_price"] = "600.00"  # e.g. a tip or duties we do not model

    order = ShopifyAdapter(base_url=BASE, credentials={}).normalise(payload)

    assert order.total == Decimal("600.00")


def test_refunds_lower_what_the_order_is_expected_to_bring_in():
    # given the documented order (total 598.94, current total 199.65 after refunds), and one never refunded
    refunded = ShopifyAdapter(base_url=BASE, credentials={}).normalise(doc_order())
    untouched = ShopifyAdapter(base_url=BASE, credentials={}).normalise(
        {**doc_order(), "current_total_price": doc_order()["total_price"]}
    )
    older = {key: value for key, value in doc_order().items() if key != "current_total_price"}

    assert refunded.refunded_total == Decimal("598.94") - Decimal("199.65")
    assert untouched.refunded_total == 0
    assert ShopifyAdapter(base_url=BASE, credentials={}).normalise(older).refunded_total == 0
