"""Factories for routing tests against the database: stores, orders, products with source paths, rule sets.

All of them write in the current schema; tests set it with the ``routing_tenant`` fixture.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from channels.models import Store
from inventory.models import Listing, ListingComponent, Product, Source, Stock
from orders.canonical import Address, ChannelOrder, ChannelOrderLine
from orders.lifecycle import dispatch_changed
from orders.models import Order, Rule, RuleSet
from orders.routing.batch import RouteSummary
from orders.services import orders_upsert
from suppliers.dispatches import dispatch_reject, dispatch_ship
from suppliers.models import Dispatch, Supplier

T = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)


def make_store(*, channel: str = "spreadsheet", name: str = "Shop") -> Store:
    return Store.objects.create(name=f"{name} {next(_seq)}", channel=channel)


def make_supplier(name: str = "Supplier") -> Supplier:
    n = next(_seq)
    return Supplier.objects.create(name=f"{name} {n}", code=f"RS-{n}")


def make_product(sku: str, *, active: bool = True) -> Product:
    return Product.objects.create(sku=sku, name=f"Product {sku}", active=active)


def add_source(
    product: Product,
    supplier: Supplier | None,
    *,
    position: int | None = None,
    cost: str = "5.00",
    currency: str = "USD",
    regions: list | None = None,
    stock: int | None = None,
    active: bool = True,
) -> Source:
    """A source at the end of the product's path (or at ``position``), with a Stock row when ``stock`` is given."""
    if position is None:
        position = product.sources.count() + 1
    source = Source.objects.create(
        product=product,
        position=position,
        supplier=supplier,
        cost_price=Decimal(cost),
        currency=currency,
        regions=regions or [],
        active=active,
    )
    if stock is not None:
        Stock.objects.create(source=source, on_hand=stock)
    return source


def map_listing(listing_sku: str, *components: tuple[Product, int]) -> Listing:
    listing = Listing.objects.create(listing_sku=listing_sku)
    for product, quantity in components:
        ListingComponent.objects.create(listing=listing, product=product, quantity=quantity)
    return listing


def activate_rules(*rules: tuple[str, dict] | tuple[str, dict, bool]) -> RuleSet:
    """A new active rule set (the previous active one retired) with rules (kind, params[, enabled]) in order."""
    RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(status=RuleSet.Status.RETIRED)
    version = (RuleSet.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    ruleset = RuleSet.objects.create(version=version, status=RuleSet.Status.ACTIVE)
    for position, item in enumerate(rules, start=1):
        kind, params = item[0], item[1]
        enabled = item[2] if len(item) > 2 else True
        Rule.objects.create(
            ruleset=ruleset, position=position, kind=kind, name=f"{kind} {position}", enabled=enabled, params=params
        )
    return ruleset


def make_order(
    store: Store,
    *lines: tuple[str, int] | tuple[str, int, str],
    external_id: str | None = None,
    placed_at: dt.datetime = T,
    email: str = "ada@example.com",
    note: str = "",
    tags: tuple[str, ...] = (),
    country: str = "US",
    province: str = "CA",
    line1: str = "1 Main St",
    name: str = "Ada Lovelace",
    cancelled_at: dt.datetime | None = None,
    updated_at: dt.datetime | None = None,
) -> Order:
    """An order ingested the way channels do it; lines are (listing SKU, quantity[, unit price])."""
    external_id = external_id or f"O-{next(_seq)}"
    channel_lines = tuple(
        ChannelOrderLine(
            external_id=str(n),
            listing_sku=line[0],
            title=line[0],
            quantity=line[1],
            unit_price=Decimal(line[2] if len(line) > 2 else "10.00"),
        )
        for n, line in enumerate(lines, start=1)
    )
    subtotal = sum((line.unit_price * line.quantity for line in channel_lines), Decimal(0))
    order = ChannelOrder(
        external_id=external_id,
        order_number=f"#{external_id}",
        currency="USD",
        placed_at=placed_at,
        updated_at=updated_at or placed_at,
        lines=channel_lines,
        subtotal=subtotal,
        discount_total=Decimal(0),
        shipping_total=Decimal(0),
        tax_total=Decimal(0),
        total=subtotal,
        buyer_name=name,
        buyer_email=email,
        shipping_address=Address(
            name=name, country=country, province=province, city="Springfield", line1=line1, postal_code="94000"
        ),
        note=note,
        tags=tags,
        cancelled_at=cancelled_at,
    )
    result = orders_upsert(store_id=store.pk, orders=[(order, {"id": external_id})])
    return Order.objects.get(pk=result.changed_ids[external_id])


def supplier_rejects(*, dispatch: Dispatch, reason: str = "", actor=None) -> RouteSummary:
    """A supplier rejects, and the order lifecycle follows it as the worker does after the commit."""
    dispatch_reject(dispatch=dispatch, reason=reason, actor=actor)
    return dispatch_changed(dispatch_id=dispatch.pk, actor=actor)


def supplier_ships(*, dispatch: Dispatch, actor=None, carrier: str = "", tracking_number: str = "") -> Dispatch:
    """A supplier ships, and the order lifecycle follows it as the worker does after the commit."""
    shipped = dispatch_ship(dispatch=dispatch, actor=actor, carrier=carrier, tracking_number=tracking_number)
    dispatch_changed(dispatch_id=dispatch.pk, actor=actor)
    return shipped
