"""Orders fixtures: tests run in tenant A's schema, with suppliers and a small catalog to route to."""

from __future__ import annotations

import pytest

from suppliers.models import Supplier
from tests.orders.routing_factories import make_supplier, mapped_product


@pytest.fixture
def acme(in_a) -> Supplier:
    return make_supplier("Acme")


@pytest.fixture
def bolt(in_a) -> Supplier:
    return make_supplier("Bolt")


@pytest.fixture
def catalog(acme) -> Supplier:
    """Products A (5.00) and GIFT (1.00), each mapped from its own SKU, sourced at Acme; returns Acme."""
    mapped_product("A", (acme, "5.00"))
    mapped_product("GIFT", (acme, "1.00"))
    return acme
