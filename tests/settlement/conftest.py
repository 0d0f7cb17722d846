"""Settlement fixtures: tenant A with two suppliers, a finance user and a place to ship from."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from settlement.periods import period_for
from tests.settlement.factories import Shop
from tests.suppliers.factories import SupplierFactory

NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _november_2026():
    """Every settlement test runs on 20 November 2026: October has ended, November has not."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def acme(in_a):
    return SupplierFactory(label="Acme")


@pytest.fixture
def bolt(in_a):
    return SupplierFactory(label="Bolt")


@pytest.fixture
def finance(in_a, make_user):
    return make_user(in_a, "finance")


@pytest.fixture
def shop(in_a) -> Shop:
    return Shop()


@pytest.fixture
def october(in_a):
    """October 2026 of tenant A (Asia/Shanghai), open and over."""
    return period_for(month=dt.date(2026, 10, 1))
