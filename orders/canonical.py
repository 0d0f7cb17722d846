"""The canonical order: what every channel adapter produces.

Adapters turn a channel's payload into a ``ChannelOrder``; orders.services
upserts it. Nothing here touches the database, so adapters stay pure and
testable against recorded payloads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple


class NormalisationError(ValueError):
    """A payload that cannot be turned into a ChannelOrder; the reason is for a person."""


# Immutable records as named tuples, not frozen dataclasses: an ingest makes a few of them per order, and a
# frozen dataclass sets each field through object.__setattr__ (four times the cost; see bench ingest.first).
class Address(NamedTuple):
    name: str = ""
    country: str = ""  # ISO 3166-1 alpha-2 where the channel gives it
    province: str = ""  # province / state (name or code as the channel gives it)
    city: str = ""
    district: str = ""
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    phone: str = ""


class ChannelOrderLine(NamedTuple):
    external_id: str
    listing_sku: str
    title: str
    quantity: int
    unit_price: Decimal
    line_discount: Decimal = Decimal("0")  # discount already attached to this line by the channel


class ChannelOrder(NamedTuple):
    external_id: str
    order_number: str
    currency: str
    placed_at: dt.datetime  # aware, UTC
    updated_at: dt.datetime  # aware, UTC; decides which of two versions is newer
    lines: tuple[ChannelOrderLine, ...]
    subtotal: Decimal  # sum of quantity * unit_price over lines
    discount_total: Decimal  # every discount: line discounts plus order-level ones
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal  # what the buyer pays
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    shipping_address: Address = Address()
    financial_status: str = ""  # channel's own word, lower case (paid, pending, refunded, …)
    fulfillment_status: str = ""  # channel's own word, lower case ("" = unfulfilled)
    cancelled_at: dt.datetime | None = None
    note: str = ""
    tags: tuple[str, ...] = ()
    # What the channel has given back to the buyer so far (refunds, in the order's currency); the
    # receivable settlement expects is ``total - refunded_total``.
    refunded_total: Decimal = Decimal(0)
