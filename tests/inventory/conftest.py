"""Catalog fixtures: tests run in tenant A's schema; factories for products, sources, orders waiting on SKUs."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection

from inventory import services
from inventory.models import Product, Source

_n = itertools.count(1)


@pytest.fixture
def in_a(tenant_a):
    connection.set_tenant(tenant_a)
    return tenant_a


@pytest.fixture
def operator(tenant_a, make_user):
    return make_user(tenant_a, "operator")


@pytest.fixture
def console(tenant_a, operator, client_for):
    client = client_for(tenant_a, operator)
    connection.set_tenant(tenant_a)
    return client


@pytest.fixture
def make_product(in_a):
    def make(sku: str | None = None, *, name: str = "Product", active: bool = True, **kwargs) -> Product:
        return services.product_create(sku=sku or f"P-{next(_n):05d}", name=name, active=active, **kwargs)

    return make


@pytest.fixture
def make_source(in_a):
    def make(product: Product, *, supplier=None, cost: str = "10.00", currency: str = "CNY", **kwargs) -> Source:
        return services.source_create(
            product=product, supplier=supplier, cost_price=Decimal(cost), currency=currency, **kwargs
        )

    return make


@pytest.fixture
def store(in_a):
    from channels.models import Store

    return Store.objects.create(name="Sheet", channel="spreadsheet")


@pytest.fixture
def make_order(store):
    """make_order(status, [(listing_sku, quantity), …]) -> an order of tenant A in that status."""
    import datetime as dt

    from orders.canonical import Address, ChannelOrder, ChannelOrderLine
    from orders.models import Order
    from orders.services import orders_upsert

    def make(status: str, lines: list[tuple[str, int]]) -> Order:
        n = next(_n)
        order_lines = tuple(
            ChannelOrderLine(
                external_id=str(i), listing_sku=sku, title=f"Title {sku}", quantity=qty, unit_price=Decimal("5.00")
            )
            for i, (sku, qty) in enumerate(lines, start=1)
        )
        subtotal = sum((line.unit_price * line.quantity for line in order_lines), Decimal(0))
        at = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
        order = ChannelOrder(
            external_id=f"O-{n}", order_number=f"#{n}", currency="USD", placed_at=at, updated_at=at,
            lines=order_lines, subtotal=subtotal, discount_total=Decimal(0), shipping_total=Decimal(0),
            tax_total=Decimal(0), total=subtotal, buyer_name="Ada",
            shipping_address=Address(country="US", city="Springfield", line1="1 Main St"),
        )  # fmt: skip
        orders_upsert(store_id=store.pk, orders=[(order, {})])
        Order.objects.filter(store=store, external_id=f"O-{n}").update(status=status)
        return Order.objects.get(store=store, external_id=f"O-{n}")

    return make
