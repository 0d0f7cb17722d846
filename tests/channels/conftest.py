"""Channels fixtures: the Shopify double and a store connected to it, the sandbox shop, committed stores."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from django.db import IntegrityError, transaction

from channels.models import Store
from channels.sandbox.generator import SandboxShop
from channels.services import store_create
from orders.models import Order
from tenants.models import Tenant
from tests.channels.fake_shopify import BASE, TOKEN, FakeShopify, shopify_order
from tests.channels.helpers import WEBHOOK_SECRET
from tests.channels.sandbox_helpers import FakeClock, http_client, running
from tests.conftest import in_tenant, require_test_database

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


# ------------------------------------------------------------------ a Shopify double and a store on it


@pytest.fixture
def shop() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
def shopify_store(in_a):
    """A Shopify store of tenant A connected to the double; the test runs in A's schema."""
    return store_create(
        name="Fake Shopify", channel="shopify", base_url=BASE,
        credentials={"access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET},
    )  # fmt: skip


@pytest.fixture
def orders_in(shop):
    """orders_in(n, start=1001, at=T0, step=1 minute): n orders on the double, each updated a step after the last."""

    def add(n: int, *, start: int = 1001, at: dt.datetime = T0, step: dt.timedelta = dt.timedelta(minutes=1)):
        for i in range(n):
            shop.add(shopify_order(start + i, updated_at=at + i * step))

    return add


# ------------------------------------------------------------------ the sandbox shop on a fake clock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> SandboxShop:
    return SandboxShop(seed=7, clock=clock)


@pytest.fixture
def sandbox_api(sandbox: SandboxShop) -> Iterator[httpx.Client]:
    """A Shopify Admin API client of the sandbox shop, served on a free local port for the test."""
    with running(sandbox) as base_url, http_client(base_url) as client:
        yield client


# ------------------------------------------------------------------ committed data for threads and processes


def _delete_racing_the_worker(store) -> None:
    """Delete a committed store and its orders. A session worker may still be routing them (after_ingest is
    sent for real), writing rows the delete did not see: try again until it has finished. By id: a try whose
    commit failed (a deferred key check) has already cleared ``store.pk``."""
    pk = store.pk
    for attempt in range(20):
        try:
            with transaction.atomic():
                Order.objects.filter(store_id=pk).delete()
                Store.objects.filter(pk=pk).delete()
            return
        except IntegrityError:
            if attempt == 19:
                raise
            time.sleep(0.25)


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """Tenant A with stores really committed, so other threads and the worker see them; removed afterwards.

    ``committed.store(**store_create's arguments)`` connects one; ``committed.tenant``, ``committed.host``.
    """
    with django_db_blocker.unblock():
        require_test_database()
        tenant = Tenant.objects.get(slug="alpha")
        made = []

        def make_store(**kwargs):
            with in_tenant(tenant):
                store = store_create(name=f"Paths {uuid.uuid4().hex[:8]}", **kwargs)
            made.append(store)
            return store

        try:
            yield SimpleNamespace(tenant=tenant, store=make_store, host=tenant.get_primary_domain().domain)
        finally:
            with in_tenant(tenant):
                for store in made:
                    _delete_racing_the_worker(store)
