"""Helpers for routing tests against the database: stores, orders, products with source paths, rule sets.

Thin words over the factories (tests/<app>/factories.py), in the order a routing test tells its story.
All of them write in the current schema; tests set it (the ``in_a`` or ``store`` fixture).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from decimal import Decimal

from django.db import connections
from django.db.models import Max
from django.utils import timezone

from channels.models import Store
from inventory.models import Listing, Product, Source
from orders.lifecycle import dispatch_changed
from orders.models import Order, RuleSet
from orders.routing.batch import RouteSummary
from orders.routing.services import route_orders
from suppliers.actions import dispatch_reject
from suppliers.models import Dispatch, DispatchLine, Supplier
from suppliers.shipping import ParcelSpec, dispatch_ship
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.inventory.factories import ListingFactory, ProductFactory, SourceFactory
from tests.orders.factories import AddressFactory, OrderFactory, RuleFactory, RuleSetFactory, T
from tests.suppliers.factories import SupplierFactory

__all__ = [
    "T",
    "activate_rules",
    "add_source",
    "make_order",
    "make_product",
    "make_store",
    "make_supplier",
    "map_listing",
    "mapped_product",
    "recent_order",
    "supplier_rejects",
    "supplier_ships",
]

_seq = itertools.count(1)


def make_store(*, channel: str = "spreadsheet", name: str = "Shop") -> Store:
    return StoreFactory(name=f"{name} {next(_seq)}", channel=channel)


def make_supplier(name: str = "Supplier") -> Supplier:
    return SupplierFactory(label=name)


def make_product(sku: str, *, active: bool = True) -> Product:
    return ProductFactory(sku=sku, active=active)


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
    extra = {} if position is None else {"position": position}
    return SourceFactory(
        product=product,
        supplier=supplier,
        cost_price=Decimal(cost),
        currency=currency,
        regions=regions or [],
        active=active,
        stock=stock,
        **extra,
    )


def map_listing(listing_sku: str, *components: tuple[Product, int]) -> Listing:
    return ListingFactory(listing_sku=listing_sku, components=components)


def mapped_product(sku: str, *sources: tuple, active: bool = True) -> Product:
    """A product mapped from the listing SKU of the same name; sources are (supplier or None, cost[, stock])."""
    product = make_product(sku, active=active)
    map_listing(sku, (product, 1))
    for supplier, cost, *stock in sources:
        add_source(product, supplier, cost=cost, stock=stock[0] if stock else None)
    return product


def activate_rules(*rules: tuple[str, dict] | tuple[str, dict, bool], version: int | None = None) -> RuleSet:
    """A new active rule set (the previous active one retired) with rules (kind, params[, enabled]) in order.

    Made directly: the rule set services (orders.routing.rulesets) are tested on their own.
    """
    RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(status=RuleSet.Status.RETIRED)
    version = version or (RuleSet.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1
    ruleset = RuleSetFactory(version=version, active=True)
    for position, (kind, params, *enabled) in enumerate(rules, start=1):
        RuleFactory(
            ruleset=ruleset,
            position=position,
            kind=kind,
            name=f"{kind} {position}",
            enabled=enabled[0] if enabled else True,
            params=params,
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
    return OrderFactory(
        store=store,
        items=lines,
        **({"external_id": external_id} if external_id else {}),
        placed_at=placed_at,
        updated_at=updated_at or placed_at,
        buyer_name=name,
        buyer_email=email,
        shipping_address=AddressFactory(name=name, country=country, province=province, line1=line1),
        note=note,
        tags=tags,
        cancelled_at=cancelled_at,
    )


def recent_order(store: Store, *lines: tuple[str, int], placed_at: dt.datetime | None = None, **kwargs) -> Order:
    """An order placed an hour ago (inside every simulation window) by a buyer of its own; lines default to SKU-A."""
    n = next(_seq)
    return make_order(
        store,
        *(lines or (("SKU-A", 1),)),
        external_id=f"R-{n}",
        placed_at=placed_at or timezone.now() - dt.timedelta(hours=1),
        email=f"ada{n}@shop.test",
        name="Ada",
        **kwargs,
    )


def supplier_rejects(*, dispatch: Dispatch, reason: str = "", actor=None) -> RouteSummary:
    """A supplier rejects, and the order lifecycle follows it as the worker does after the commit."""
    dispatch_reject(dispatch=dispatch, reason_code="other" if reason else "out_of_stock", comment=reason, actor=actor)
    return dispatch_changed(dispatch_id=dispatch.pk, actor=actor)


def supplier_ships(*, dispatch: Dispatch, actor=None, carrier: str = "", tracking_number: str = "") -> Dispatch:
    """A supplier ships, and the order lifecycle follows it as the worker does after the commit."""
    parcel = ParcelSpec(carrier or "other", tracking_number or f"TEST{dispatch.pk:08d}")
    shipped = dispatch_ship(dispatch=dispatch, actor=actor, parcels=[parcel])
    dispatch_changed(dispatch_id=dispatch.pk, actor=actor)
    return shipped


def run_at_once(args, target) -> list[BaseException]:
    """``target(arg)`` for each of ``args`` on its own thread (its own database connection), all released at
    once by a barrier; returns what they raised (a deadlock surfaces as one)."""
    barrier = threading.Barrier(len(args))
    errors: list[BaseException] = []

    def run(arg):
        try:
            barrier.wait()
            target(arg)
        except BaseException as exc:  # pragma: no cover - reported by the caller's assert
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def route_rotated(tenant, ids: list[int], offset: int, *, chunk: int = 5) -> None:
    """Route every order of ``ids`` in chunks of ``chunk``, starting at ``offset``: workers given different offsets
    race on every row."""
    with in_tenant(tenant):
        mine = ids[offset:] + ids[:offset]
        for start in range(0, len(mine), chunk):
            route_orders(order_ids=mine[start : start + chunk], trigger="ingest")


def remove_committed(store: Store, skus) -> None:
    """Delete what a committed-data routing test made: the store's orders, their dispatches, the store, the
    listings and products of ``skus`` and the suppliers of their sources."""
    order_ids = list(Order.objects.filter(store=store).values_list("pk", flat=True))
    dispatch_ids = set(DispatchLine.objects.filter(order_id__in=order_ids).values_list("dispatch_id", flat=True))
    supplier_ids = set(Source.objects.filter(product__sku__in=skus).values_list("supplier_id", flat=True))
    Dispatch.objects.filter(pk__in=dispatch_ids).delete()
    Order.objects.filter(pk__in=order_ids).delete()
    store.delete()
    Listing.objects.filter(listing_sku__in=skus).delete()
    Product.objects.filter(sku__in=skus).delete()
    Supplier.objects.filter(pk__in=supplier_ids - {None}).delete()
