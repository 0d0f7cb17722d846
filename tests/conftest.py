"""Shared fixtures: one test database, two tenants provisioned once per session.

Tests run inside a transaction (pytest-django's ``db``) in the schema of
tenant A unless they ask otherwise; nothing runs every migration per test.
"""

from __future__ import annotations

import contextlib
import itertools

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.models import Tenant

PASSWORD = "correct-horse-battery-42"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the shared schema is migrated: the template and two tenants, once."""
    from django.core.cache import cache

    from tenants.services import template_ensure, tenant_provision

    with django_db_blocker.unblock():
        cache.clear()
        template_ensure()
        for slug, name in (("alpha", "Alpha Trading"), ("beta", "Beta Imports")):
            if not Tenant.objects.filter(slug=slug).exists():
                tenant_provision(
                    slug=slug,
                    name=name,
                    domain=f"{slug}.localhost",
                    owner_email=f"owner@{slug}.test",
                    owner_password=PASSWORD,
                )
    yield


@pytest.fixture
def tenant_a(db) -> Tenant:
    return Tenant.objects.get(slug="alpha")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return Tenant.objects.get(slug="beta")


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    connection.set_schema_to_public()


@contextlib.contextmanager
def in_tenant(tenant: Tenant):
    with schema_context(tenant.schema_name):
        yield


@pytest.fixture
def make_user(db):
    """make_user(tenant, role, supplier=None) -> User created in that tenant's schema."""
    from tenants.accounts.services import user_create

    def make(tenant: Tenant, role: str, *, supplier=None, email: str | None = None):
        with in_tenant(tenant):
            return user_create(
                email=email or f"{role}{next(_counter)}@{tenant.slug}.test",
                password=PASSWORD,
                role=role,
                supplier=supplier,
            )

    return make


@pytest.fixture
def make_supplier(db):
    from suppliers.models import Supplier

    def make(tenant: Tenant, *, name: str = "Supplier"):
        with in_tenant(tenant):
            n = next(_counter)
            return Supplier.objects.create(name=f"{name} {n}", code=f"SUP-{n}")

    return make


@pytest.fixture
def client_for(db):
    """client_for(tenant, user=None) -> a test client on the tenant's host, logged in as user."""

    def make(tenant: Tenant, user=None) -> Client:
        client = Client(HTTP_HOST=tenant.get_primary_domain().domain)
        if user is not None:
            with in_tenant(tenant):
                client.force_login(user)
        return client

    return make


@pytest.fixture
def public_client(db) -> Client:
    return Client(HTTP_HOST="localhost")
