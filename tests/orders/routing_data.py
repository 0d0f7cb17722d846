"""Factories for routing tests: a small catalog (products, listings, source paths, stock) and orders."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from channels.models import Store
from inventory.models import Listing, ListingComponent, Product, Source, Stock
from orders.canonical import Address, ChannelOrder, ChannelOrderLine
from orders.models import Order, Rule, RuleSet
from orders.services import orders_upsert

_n = itertools.count(1)


def product(sku: str, *sources: tuple, active: bool = True) -> Product:
    """A product mapped from the listing SKU of the same name; sources are (supplier or None, cost[, stock])."""
    item = Product.objects.create(sku=sku, name=f"Product {sku}", active=active)
    listing = Listing.objects.create(listing_sku=sku)
    ListingComponent.objects.create(listing=listing, product=item, quantity=1)
    for position, spec in enumerate(sources, 1):
        supplier, cost, *stock = spec
        source = Source.objects.create(
            product=item, position=position, supplier=supplier, cost_price=Decimal(cost), currency="USD"
        )
        if stock:
            Stock.objects.create(source=source, on_hand=stock[0])
    return item


def order(
    store: Store,
    *lines: tuple[str, int],
    placed_at: dt.datetime | None = None,
    price: str = "10.00",
    note: str = "",
    tags: tuple[str, ...] = (),
    address: Address | None = None,
) -> Order:
    """An order ingested the ordinary way (orders_upsert); lines are (listing SKU, quantity)."""
    n = next(_n)
    placed_at = placed_at or timezone.now() - dt.timedelta(hours=1)
    channel_lines = tuple(
        ChannelOrderLine(external_id=str(i), listing_sku=sku, title=sku, quantity=qty, unit_price=Decimal(price))
        for i, (sku, qty) in enumerate(lines or (("SKU-A", 1),), 1)
    )
    subtotal = sum((line.unit_price * line.quantity for line in channel_lines), Decimal(0))
    canonical = ChannelOrder(
        external_id=f"R-{n}", order_number=f"#R{n}", currency="USD", placed_at=placed_at, updated_at=placed_at,
        lines=channel_lines, subtotal=subtotal, discount_total=Decimal(0), shipping_total=Decimal(0),
        tax_total=Decimal(0), total=subtotal, buyer_name="Ada", buyer_email=f"ada{n}@shop.test", note=note, tags=tags,
        shipping_address=address or Address(name="Ada", country="US", province="CA", city="Springfield", line1="1 Main St"),
    )  # fmt: skip
    orders_upsert(store_id=store.pk, orders=[(canonical, {"n": n})])
    return Order.objects.get(store=store, external_id=f"R-{n}")


def active_ruleset(*rules: tuple[str, dict], version: int | None = None) -> RuleSet:
    """An active rule set made directly (the service is tested on its own); rules are (kind, params)."""
    version = version or (max(RuleSet.objects.values_list("version", flat=True), default=0) + 1)
    RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(status=RuleSet.Status.RETIRED)
    ruleset = RuleSet.objects.create(version=version, status=RuleSet.Status.ACTIVE, activated_at=timezone.now())
    for position, (kind, params) in enumerate(rules, 1):
        Rule.objects.create(ruleset=ruleset, position=position, kind=kind, name=f"{kind} {position}", params=params)
    return ruleset
