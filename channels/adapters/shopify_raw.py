"""Shopify order pages read straight from the response body, without building a dict per order.

A page body is split into its orders' own bytes (``msgspec.Raw``): each is
kept exactly as Shopify sent it, for the stored copy, instead of being parsed
into dicts and dumped again. An order is then decoded into typed structs that
carry only the fields ``ShopifyAdapter.normalise`` reads (the rest of its ~9 KB
is skipped by the decoder). The structs answer ``get(name)`` like the dict of
the same JSON, so normalise reads either the same way.

Anything that does not fit these types (a line that is not an object, an id
that is a list …) is not judged here: ``decode_order`` returns None and the
caller normalises the order's plain JSON instead, which gives the reason a
person reads. So the fast path never changes what is accepted or refused.
"""

from __future__ import annotations

import msgspec

from channels.adapters.base import ChannelError

# Every JSON scalar, as the dict of the same JSON would hold it.
Scalar = str | int | float | bool | None


class ShopifyObject(msgspec.Struct, gc=False):
    """A JSON object decoded into a struct; ``get(name)`` reads a field as ``dict.get`` reads a key (a
    field the JSON lacks is None).

    ``get`` is attribute access itself (no Python call on the hot path): it takes no default, and a
    name that is not a field raises AttributeError, so every key normalise reads must be a field here
    (tests/channels/test_ingest_fast.py compares both paths over the sandbox shop's orders).
    """

    get = object.__getattribute__


class Money(ShopifyObject, gc=False):
    amount: Scalar = None


class MoneySet(ShopifyObject, gc=False):
    shop_money: Money | None = None


class DiscountAllocation(ShopifyObject, gc=False):
    amount: Scalar = None


class ShippingLine(ShopifyObject, gc=False):
    price: Scalar = None
    discount_allocations: list[DiscountAllocation] | None = None


class LineItem(ShopifyObject, gc=False):
    id: Scalar = None
    sku: Scalar = None
    name: Scalar = None
    title: Scalar = None
    variant_id: Scalar = None
    product_id: Scalar = None
    quantity: Scalar = None
    price: Scalar = None
    total_discount: Scalar = None
    discount_allocations: list[DiscountAllocation] | None = None


class Customer(ShopifyObject, gc=False):
    first_name: Scalar = None
    last_name: Scalar = None
    email: Scalar = None
    phone: Scalar = None


class ShippingAddress(ShopifyObject, gc=False):
    name: Scalar = None
    first_name: Scalar = None
    last_name: Scalar = None
    country_code: Scalar = None
    province: Scalar = None
    province_code: Scalar = None
    city: Scalar = None
    address1: Scalar = None
    address2: Scalar = None
    zip: Scalar = None
    phone: Scalar = None


class ShopifyOrder(ShopifyObject, gc=False):
    id: Scalar = None
    name: Scalar = None
    order_number: Scalar = None
    currency: Scalar = None
    created_at: Scalar = None
    updated_at: Scalar = None
    cancelled_at: Scalar = None
    email: Scalar = None
    contact_email: Scalar = None
    phone: Scalar = None
    financial_status: Scalar = None
    fulfillment_status: Scalar = None
    note: Scalar = None
    tags: Scalar = None
    taxes_included: Scalar = None
    total_discounts: Scalar = None
    total_tax: Scalar = None
    total_price: Scalar = None
    current_total_price: Scalar = None
    total_shipping_price_set: MoneySet | None = None
    line_items: list[LineItem] | None = None
    shipping_lines: list[ShippingLine] | None = None
    customer: Customer | None = None
    shipping_address: ShippingAddress | None = None


class _Page(msgspec.Struct, gc=False):
    orders: list[msgspec.Raw] | None = None


_page_decoder = msgspec.json.Decoder(_Page)
_order_decoder = msgspec.json.Decoder(ShopifyOrder)


def split_page(body: bytes) -> list[msgspec.Raw]:
    """The orders of an order-list body (``{"orders": [...]}``), each as its own bytes.

    Raises ChannelError for a body that is not JSON or has no ``orders`` list.
    """
    try:
        page = _page_decoder.decode(body)
    except msgspec.MsgspecError:
        raise ChannelError("Shopify answered the order list with something that is not an 'orders' list.") from None
    if page.orders is None:
        raise ChannelError("Shopify answered the order list without an 'orders' list.")
    return page.orders


def decode_order(raw) -> ShopifyOrder | None:
    """One order's bytes as structs; None when they do not fit (the caller then reads the plain JSON)."""
    try:
        return _order_decoder.decode(raw)
    except msgspec.MsgspecError:
        return None
