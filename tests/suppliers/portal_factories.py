"""Helpers the supplier portal's tests share (no tests here): dispatches written directly, in a state, with
lines, deadlines and a ship-to snapshot; and the portal's people.

A dispatch is written row by row here, the way a test sets up an order in a status: how a dispatch
gets to a state is tested in tests/orders (routing) and with the actions themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from channels.models import Store
from inventory.models import Product, Source
from orders.models import Order
from suppliers.dispatches import dispatch_ids_allocate, dispatch_number
from suppliers.models import Dispatch, DispatchLine, Supplier
from tests.channels.factories import StoreFactory
from tests.inventory.factories import ProductFactory, SourceFactory
from tests.orders.routing_factories import make_order

_seq = itertools.count(1)

SHIP_TO = {
    "name": "Ada Lovelace",
    "phone": "+1 555 0100",
    "line1": "1 Main St",
    "line2": "Apt 4",
    "district": "",
    "city": "Springfield",
    "province": "CA",
    "postal_code": "94000",
    "country": "US",
}


def store() -> Store:
    return Store.objects.order_by("pk").first() or StoreFactory()


def new_order(*items: tuple[str, int], number: str | None = None) -> Order:
    """An order ingested as channels do it (sale price 10.00 a unit), renumbered when ``number`` is given."""
    order = make_order(store(), *(items or (("MUG", 1),)), external_id=f"PO-{next(_seq)}")
    if number:
        Order.objects.filter(pk=order.pk).update(order_number=number)
        order.order_number = number
    return order


def source_of(supplier: Supplier, sku: str, *, cost: str = "5.25") -> Source:
    product = Product.objects.filter(sku=sku).first() or ProductFactory(sku=sku, name=f"Product {sku}")
    source = Source.objects.filter(product=product, supplier=supplier).first()
    return source or SourceFactory(product=product, supplier=supplier, cost_price=Decimal(cost), currency="CNY")


def make_dispatch(
    supplier: Supplier,
    *,
    status: str = "pending",
    lines: tuple[tuple[str, int, str], ...] = (("MUG", 2, "5.25"),),
    order: Order | None = None,
    listing_prefix: str = "L-",
    created: dt.datetime | None = None,
    accept_by: dt.datetime | None = None,
    ship_by: dt.datetime | None = None,
    buyer_name: str = "Ada Lovelace",
    buyer_email: str = "ada@shop.test",
    promised: dt.date | None = None,
    shipped_at: dt.datetime | None = None,
) -> Dispatch:
    """A dispatch of ``supplier`` in ``status`` with lines (product SKU, quantity, unit cost in CNY).

    Created now unless told; accept by 24 h and ship by 72 h after that unless told.
    """
    order = order or new_order(*((sku, qty) for sku, qty, _cost in lines))
    created = created or timezone.now()
    (pk,) = dispatch_ids_allocate(count=1)
    dispatch = Dispatch.objects.create(
        pk=pk,
        number=dispatch_number(pk),
        supplier=supplier,
        status=status,
        ship_to=dict(SHIP_TO, name=buyer_name),
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        accept_by=accept_by or created + dt.timedelta(hours=24),
        ship_by=ship_by or created + dt.timedelta(hours=72),
        promised_ship_date=promised,
        accepted_at=created + dt.timedelta(hours=1) if status in ("accepted", "shipped") else None,
        shipped_at=shipped_at or (created + dt.timedelta(hours=30) if status == "shipped" else None),
    )
    Dispatch.objects.filter(pk=pk).update(created=created)
    order_lines = {line.listing_sku: line for line in order.lines.all()}
    for sku, quantity, cost in lines:
        source = source_of(supplier, sku, cost=cost)
        DispatchLine.objects.create(
            dispatch=dispatch,
            order=order,
            order_line=order_lines.get(sku),
            listing_sku=f"{listing_prefix}{sku}",
            product=source.product,
            source=source,
            quantity=quantity,
            unit_cost=Decimal(cost),
            cost_currency="CNY",
        )
    dispatch.refresh_from_db()
    return dispatch


def snapshot(dispatch: Dispatch) -> tuple:
    """What a refused action must leave as it was."""
    d = Dispatch.objects.get(pk=dispatch.pk)
    return (
        d.status, d.reason, d.reject_code, d.promised_ship_date, d.accepted_at, d.updated,
        d.events.count(), d.lines.count(),
    )  # fmt: skip
