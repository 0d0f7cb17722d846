"""Catalog fixtures: tests run in tenant A's schema and make products and sources through the catalog's services,
which are what these tests are about (tests elsewhere use tests/inventory/factories.py)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Product, Source
from suppliers.models import Supplier
from suppliers.services import supplier_create

_n = itertools.count(1)


@pytest.fixture
def make_product(in_a):
    """make_product(sku=None, *, name="Product", active=True, **product_create's arguments) -> Product."""

    def make(sku: str | None = None, *, name: str = "Product", active: bool = True, **kwargs) -> Product:
        return services.product_create(sku=sku or f"P-{next(_n):05d}", name=name, active=active, **kwargs)

    return make


@pytest.fixture
def make_source(in_a):
    """make_source(product, *, supplier=None, cost="10.00", currency="CNY", **source_create's arguments) -> Source."""

    def make(product: Product, *, supplier=None, cost: str = "10.00", currency: str = "CNY", **kwargs) -> Source:
        return services.source_create(
            product=product, supplier=supplier, cost_price=Decimal(cost), currency=currency, **kwargs
        )

    return make


@pytest.fixture
def suppliers(in_a) -> dict[str, Supplier]:
    """Two suppliers by code, as a merchant adds them on the Suppliers page."""
    return {
        "SUP-HZ": supplier_create(name="Hangzhou Textiles", code="SUP-HZ"),
        "SUP-US": supplier_create(name="US Mugs", code="SUP-US"),
    }
