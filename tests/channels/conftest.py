import datetime as dt

import pytest
from django.db import connection

from channels.services import store_create
from tenants.accounts.services import token_create
from tests.channels.fake_shopify import BASE, TOKEN, FakeShopify, shopify_order
from tests.conftest import in_tenant

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def operator(tenant_a, make_user):
    """A console user of tenant A."""
    return make_user(tenant_a, "operator")


@pytest.fixture
def console(tenant_a, operator, client_for):
    """The operator's browser on tenant A's host."""
    return client_for(tenant_a, operator)


@pytest.fixture
def api(tenant_a, operator, client_for):
    """An API client of tenant A authenticated with the operator's token."""
    with in_tenant(tenant_a):
        key = token_create(user=operator)
    client = client_for(tenant_a)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


@pytest.fixture
def shop() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
def shopify_store(tenant_a):
    """A Shopify store of tenant A; the test runs in A's schema."""
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
