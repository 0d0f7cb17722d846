"""One order as the sandbox shop makes it: the basket, its discount, shipping and tax, written out as Shopify JSON.

Amounts are made in the buyer's currency first and each part converted on
its own, so in both currencies

    total_price = total_line_items_price - total_discounts + total_shipping + total_tax

holds to the minor unit, and every aggregate is the sum of its parts.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from channels.sandbox.amounts import ZERO, Money, Pair, money_text, spread, sum_pairs
from channels.sandbox.buyers import street
from channels.sandbox.catalogue import CATALOGUE, Product
from channels.sandbox.regions import (
    FIXED_DISCOUNTS,
    INTERNATIONAL_SHIPPING,
    PERCENT_CODES,
    REGIONS_BY_CODE,
    SHIPPING,
    Place,
    Region,
)
from channels.sandbox.shop import SHOP_ID, iso
from core.money import round_money


@dataclass(frozen=True)
class DiscountCode:
    """The code a buyer brought, and its share of each line."""

    kind: str  # percentage, fixed_amount or shipping (Shopify's discount_codes[].type)
    code: str
    value: str  # as discount_applications[].value shows it
    allocations: list[Decimal]  # per line, in the buyer's currency


@dataclass(frozen=True)
class Basket:
    """The amounts of one order, part by part in both currencies, before they are written out as Shopify JSON."""

    money: Money
    products: list[Product]
    quantities: list[int]
    unit_prices: list[Pair]
    allocations: list[Pair]  # the discount code's share of each line
    line_taxes: list[Pair]
    code: DiscountCode | None
    shipping_title: str
    shipping_code: str
    shipping: Pair
    shipping_discount: Pair
    shipping_tax: Pair
    tax_title: str
    tax_rate: Decimal
    tax_shipping: bool

    @property
    def items(self) -> Pair:
        return sum_pairs(unit * qty for unit, qty in zip(self.unit_prices, self.quantities, strict=True))

    @property
    def line_discounts(self) -> Pair:
        return sum_pairs(self.allocations)

    @property
    def discounts(self) -> Pair:
        return self.line_discounts + self.shipping_discount

    @property
    def tax(self) -> Pair:
        return sum_pairs(self.line_taxes) + self.shipping_tax

    @property
    def total(self) -> Pair:
        return self.items - self.discounts + self.shipping + self.tax

    def tax_lines(self, pair: Pair) -> list[dict]:
        if self.tax_rate == 0:
            return []
        return [
            {
                "title": self.tax_title,
                "price": self.money.text(pair),
                "rate": float(self.tax_rate),
                "price_set": self.money.set(pair),
                "channel_liable": False,
            }
        ]


def build_order(
    *,
    rng: random.Random,
    new_id: Callable[[], int],
    customer: dict,
    returning: bool,
    created: int,
    number: int,
    currency: str,
    line_count_weights: Sequence[int],
) -> dict:
    """One order as Shopify's REST Order resource, placed at ``created`` by ``customer``, numbered ``number``.

    Every random choice comes from ``rng`` and every id from ``new_id``, in a
    fixed order, so the same seed makes the same order.
    """
    ship_to = {k: v for k, v in customer["default_address"].items() if k not in ("id", "customer_id", "default")}
    region = REGIONS_BY_CODE[ship_to["country_code"]]
    place = next(p for p in region.places if p.city == ship_to["city"])
    presentment = region.currency if rng.random() < 0.8 else currency
    basket = make_basket(rng, region, place, Money(currency, presentment), line_count_weights=line_count_weights)
    money = basket.money

    order_id = new_id()
    stamp = iso(created)
    pending = rng.random() < 0.08
    if pending:
        gateways = ["Cash on Delivery (COD)"] if region.country_code == "CN" else ["bank_deposit"]
    else:
        gateways = [rng.choices(("shopify_payments", "paypal"), weights=(75, 25))[0]]
    tags = ["returning"] if returning else []
    if rng.random() < 0.12:
        tags.append(rng.choice(("vip", "gift", "wholesale", "influencer")))
    note = rng.choice(region.notes) if rng.random() < 0.15 else None
    token = f"{rng.getrandbits(128):032x}"
    billing = dict(ship_to) if rng.random() < 0.85 else {**ship_to, **street(rng, region, place)}
    customer_keys = (
        "id", "admin_graphql_api_id", "email", "first_name", "last_name", "phone", "state", "verified_email",
        "tags", "currency", "created_at", "updated_at", "default_address",
    )  # fmt: skip

    order = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "number": number - 1000,
        "order_number": number,
        "token": token,
        "confirmation_number": token[:9].upper(),
        "email": customer["email"],
        "contact_email": customer["email"],
        "phone": customer["phone"] if rng.random() < 0.5 else None,
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
        "closed_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "confirmed": True,
        "test": False,
        "source_name": "web",
        "customer_locale": region.locale,
        "browser_ip": f"203.0.113.{rng.randint(1, 254)}",  # TEST-NET-3: never a real buyer's address
        "buyer_accepts_marketing": rng.random() < 0.4,
        "currency": currency,
        "presentment_currency": money.presentment_currency,
        "financial_status": "pending" if pending else "paid",
        "fulfillment_status": None,
        "payment_gateway_names": gateways,
        "gateway": gateways[0],
        "processing_method": "manual" if pending else "direct",
        "taxes_included": False,
        "estimated_taxes": False,
        **totals_json(basket, pending=pending),
        "total_weight": sum(p.grams * q for p, q in zip(basket.products, basket.quantities, strict=True)),
        "tax_lines": basket.tax_lines(basket.tax),
        **discounts_json(basket),
        "shipping_lines": [shipping_line_json(basket, new_id=new_id)],
        "line_items": line_items_json(basket, new_id=new_id),
        "note": note,
        "note_attributes": [],
        "tags": ", ".join(tags),
        "customer": {key: copy.deepcopy(customer[key]) for key in customer_keys},
        "shipping_address": ship_to,
        "billing_address": billing,
        "fulfillments": [],
        "refunds": [],
        "order_status_url": f"https://relay-sandbox.myshopify.com/{SHOP_ID}/orders/{token}/authenticate",
        "location_id": None,
        "user_id": None,
    }
    refresh_current_totals(order)
    return order


def make_basket(
    rng: random.Random, region: Region, place: Place, money: Money, *, line_count_weights: Sequence[int]
) -> Basket:
    """What the buyer takes and pays, part by part, in both currencies."""
    presentment = money.presentment_currency
    count = rng.choices((1, 2, 3, 4, 5), weights=line_count_weights)[0]
    products = rng.sample(CATALOGUE, count)
    quantities = [rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0] for _ in products]
    unit_prices = [money.pair(product.prices[presentment]) for product in products]
    gross = [unit * qty for unit, qty in zip(unit_prices, quantities, strict=True)]

    domestic = presentment == region.currency
    standard, express, free_from = (SHIPPING if domestic else INTERNATIONAL_SHIPPING)[presentment]
    code = discount_code(rng, money, gross, free_shipping_anyway=sum_pairs(gross).presentment >= Decimal(free_from))
    allocations = [money.pair(amount) for amount in code.allocations] if code else [ZERO] * count

    left_to_pay = sum_pairs(gross) - sum_pairs(allocations)
    if left_to_pay.presentment >= Decimal(free_from):
        title, ship_code, price = "Free Shipping", "FREE", Decimal(0)
    elif rng.random() < 0.2:
        title, ship_code, price = "Express Shipping", "EXPRESS", Decimal(express)
    else:
        title, ship_code, price = "Standard Shipping", "STANDARD", Decimal(standard)
    if presentment == "CNY" and domestic:
        title = {"STANDARD": "普通快递", "EXPRESS": "顺丰速运"}.get(ship_code, "包邮")
    if not domestic and ship_code != "FREE":
        title, ship_code = f"International {title}", f"INTL-{ship_code}"
    shipping = money.pair(price)
    shipping_discount = shipping if code is not None and code.kind == "shipping" else ZERO

    # Tax on what the buyer pays for each line, and for shipping where the country taxes it.
    rate = place.tax_rate if place.tax_rate is not None else region.tax_rate
    line_taxes = [
        money.pair((pair.presentment - allocation.presentment) * rate)
        for pair, allocation in zip(gross, allocations, strict=True)
    ]
    shipping_tax = money.pair((shipping - shipping_discount).presentment * rate) if region.tax_shipping else ZERO
    return Basket(
        money=money,
        products=products,
        quantities=quantities,
        unit_prices=unit_prices,
        allocations=allocations,
        line_taxes=line_taxes,
        code=code,
        shipping_title=title,
        shipping_code=ship_code,
        shipping=shipping,
        shipping_discount=shipping_discount,
        shipping_tax=shipping_tax,
        tax_title=f"{place.province_code} State Tax" if region.country_code == "US" else region.tax_title,
        tax_rate=rate,
        tax_shipping=region.tax_shipping,
    )


def discount_code(
    rng: random.Random, money: Money, gross: list[Pair], *, free_shipping_anyway: bool
) -> DiscountCode | None:
    """About 30% of buyers bring a code: a percentage, a fixed amount spread over the lines, or free shipping."""
    if rng.random() >= 0.30:
        return None
    presentment = money.presentment_currency
    kind = rng.choices(("percentage", "fixed_amount", "shipping"), weights=(55, 30, 15))[0]
    if kind == "shipping" and free_shipping_anyway:
        kind = "percentage"
    if kind == "shipping":
        return DiscountCode("shipping", "FREESHIP", "100.0", [Decimal(0)] * len(gross))
    if kind == "fixed_amount":
        value = Decimal(rng.choice(FIXED_DISCOUNTS[presentment]))
        goods = sum_pairs(gross).presentment
        if value * 2 <= goods:  # a fixed code never takes more than half the basket
            shares = spread(value, [pair.presentment for pair in gross], presentment)
            return DiscountCode("fixed_amount", f"SAVE{value}", money_text(value, presentment), shares)
    percent = rng.choice(tuple(PERCENT_CODES))
    shares = [round_money(pair.presentment * percent / 100, presentment) for pair in gross]
    return DiscountCode("percentage", PERCENT_CODES[percent], f"{percent}.0", shares)


def totals_json(basket: Basket, *, pending: bool) -> dict[str, Any]:
    money = basket.money
    amounts = {
        "total_line_items_price": basket.items,
        "total_discounts": basket.discounts,
        "subtotal_price": basket.items - basket.line_discounts,
        "total_tax": basket.tax,
        "total_price": basket.total,
    }
    result: dict[str, Any] = {}
    for key, pair in amounts.items():
        result[key] = money.text(pair)
        result[f"{key}_set"] = money.set(pair)
    result["total_shipping_price_set"] = money.set(basket.shipping)
    result["total_outstanding"] = money.text(basket.total if pending else ZERO)
    return result


def discounts_json(basket: Basket) -> dict[str, list[dict]]:
    code = basket.code
    if code is None:
        return {"discount_applications": [], "discount_codes": []}
    application = {
        "type": "discount_code",
        "code": code.code,
        "value": code.value,
        "value_type": "fixed_amount" if code.kind == "fixed_amount" else "percentage",
        "allocation_method": "across",
        "target_selection": "all",
        "target_type": "shipping_line" if code.kind == "shipping" else "line_item",
    }
    used = {"code": code.code, "amount": basket.money.text(basket.discounts), "type": code.kind}
    return {"discount_applications": [application], "discount_codes": [used]}


def line_items_json(basket: Basket, *, new_id: Callable[[], int]) -> list[dict]:
    money = basket.money
    lines = []
    for product, qty, unit, allocation, line_tax in zip(
        basket.products, basket.quantities, basket.unit_prices, basket.allocations, basket.line_taxes, strict=True
    ):
        line_id = new_id()
        lines.append(
            {
                "id": line_id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "variant_id": product.variant_id,
                "product_id": product.product_id,
                "sku": product.sku,
                "title": product.title,
                "variant_title": product.variant_title,
                "name": product.name,
                "vendor": product.vendor,
                "quantity": qty,
                "current_quantity": qty,
                "fulfillable_quantity": qty,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "grams": product.grams,
                "price": money.text(unit),
                "price_set": money.set(unit),
                "total_discount": money.text(allocation),
                "total_discount_set": money.set(allocation),
                "discount_allocations": allocations_json(money, allocation),
                "requires_shipping": True,
                "taxable": True,
                "tax_lines": basket.tax_lines(line_tax),
                "gift_card": False,
                "product_exists": True,
                "properties": [],
                "duties": [],
            }
        )
    return lines


def shipping_line_json(basket: Basket, *, new_id: Callable[[], int]) -> dict:
    money = basket.money
    charged = basket.shipping - basket.shipping_discount
    return {
        "id": new_id(),
        "title": basket.shipping_title,
        "code": basket.shipping_code,
        "source": "shopify",
        "price": money.text(basket.shipping),
        "price_set": money.set(basket.shipping),
        "discounted_price": money.text(charged),
        "discounted_price_set": money.set(charged),
        "discount_allocations": allocations_json(money, basket.shipping_discount),
        "tax_lines": basket.tax_lines(basket.shipping_tax) if basket.tax_shipping else [],
        "carrier_identifier": None,
        "requested_fulfillment_service_id": None,
        "is_removed": False,
        "phone": None,
    }


def refresh_current_totals(order: dict) -> None:
    """current_* as Shopify keeps them: what remains after refunds and cancellation."""
    money = Money(order["currency"], order["presentment_currency"])
    active = [line for line in order["line_items"] if line["current_quantity"] > 0]
    items = sum_pairs(Money.read(line["price_set"]) * line["current_quantity"] for line in active)
    line_discounts = sum_pairs(Money.read(line["total_discount_set"]) for line in active)
    line_tax = sum_pairs(Money.read(t["price_set"]) for line in active for t in line["tax_lines"])
    shipping_refunded = any(
        adjustment["kind"] == "shipping_refund"
        for refund in order["refunds"]
        for adjustment in refund["order_adjustments"]
    )
    shipping_kept = order["cancelled_at"] is None and not shipping_refunded
    shipping_line = order["shipping_lines"][0]
    shipping = Money.read(shipping_line["discounted_price_set"]) if shipping_kept else ZERO
    shipping_discount = (
        Money.read(shipping_line["price_set"]) - Money.read(shipping_line["discounted_price_set"])
        if shipping_kept
        else ZERO
    )
    shipping_tax = sum_pairs(Money.read(t["price_set"]) for t in shipping_line["tax_lines"]) if shipping_kept else ZERO
    subtotal = items - line_discounts
    tax = line_tax + shipping_tax
    values = {
        "current_subtotal_price": subtotal,
        "current_total_discounts": line_discounts + shipping_discount,
        "current_total_tax": tax,
        "current_total_price": subtotal + shipping + tax,
    }
    for key, pair in values.items():
        order[key] = money.text(pair)
        order[f"{key}_set"] = money.set(pair)


def allocations_json(money: Money, amount: Pair) -> list[dict]:
    if amount.presentment == 0:
        return []
    return [{"amount": money.text(amount), "amount_set": money.set(amount), "discount_application_index": 0}]
