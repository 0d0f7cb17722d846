import datetime as dt

import pytest

from channels.services import store_create
from tests.channels.fake_shopify import BASE, TOKEN, FakeShopify, shopify_order
from tests.conftest import in_tenant

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
def shopify_store(tenant_a):
    """A Shopify store of tenant A; the test runs in A's schema."""
    from django.db import connection

    connection.set_tenant(tenant_a)
    return store_create(
        name="Fake Shopify", channel="shopify", base_url=BASE,
        credentials={"access_token": TOKEN, "webhook_secret": "whsec-test-0123456789"},
    )  # fmt: skip


@pytest.fixture
def orders_in(shop):
    def add(n: int, *, start: int = 1001, at: dt.datetime = T0, step: dt.timedelta = dt.timedelta(minutes=1)):
        for i in range(n):
            shop.add(shopify_order(start + i, updated_at=at + i * step))

    return add


__all__ = ["in_tenant", "shopify_order"]
