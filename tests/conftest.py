"""Shared fixtures: one test database, two tenants provisioned once per session, and the people of tenant A.

Tests run inside a transaction (pytest-django's ``db``); a fixture that makes rows of tenant A (``in_a``,
``operator``, ``console``, ``api``, ``store``) leaves the test in A's schema. Nothing runs every migration
per test. Factories for each app's rows are in tests/<app>/factories.py; fixtures used by one app only are
in tests/<app>/conftest.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from channels.models import Store
from erp.celery import app
from orders.models import Order
from suppliers.members import supplier_user_create
from tenants.accounts.services import token_create, user_create
from tenants.models import Tenant
from tenants.services import template_ensure, tenant_provision
from tests.channels.factories import StoreFactory
from tests.orders.factories import AddressFactory, ChannelOrderLineFactory, OrderFactory
from tests.suppliers.factories import SupplierFactory

PASSWORD = "correct-horse-battery-42"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the shared schema is migrated: the template and two tenants, once."""
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

    def make(tenant: Tenant, role: str, *, supplier=None, email: str | None = None):
        email = email or f"{role}{next(_counter)}@{tenant.slug}.test"
        with in_tenant(tenant):
            if supplier is not None:
                assert role == "supplier", "only supplier users are linked to a supplier"
                return supplier_user_create(supplier=supplier, email=email, password=PASSWORD)
            return user_create(email=email, password=PASSWORD, role=role)

    return make


@pytest.fixture
def make_supplier(db):
    """make_supplier(tenant, name="Supplier") -> a supplier of that tenant named "<name> <n>"."""

    def make(tenant: Tenant, *, name: str = "Supplier"):
        with in_tenant(tenant):
            return SupplierFactory(label=name)

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


@pytest.fixture
def api_for(db):
    """api_for(tenant, user) -> an API client on the tenant's host, authenticated with a new token of user."""

    def make(tenant: Tenant, user) -> Client:
        with in_tenant(tenant):
            key = token_create(user=user)
        return Client(HTTP_HOST=tenant.get_primary_domain().domain, HTTP_AUTHORIZATION=f"Token {key}")

    return make


# ---------------------------------------------------------------- tenant A and its people


@pytest.fixture
def in_a(tenant_a) -> Tenant:
    """The test goes on in tenant A's schema."""
    connection.set_tenant(tenant_a)
    return tenant_a


@pytest.fixture
def operator(in_a, make_user):
    """A console user of tenant A."""
    return make_user(in_a, "operator")


@pytest.fixture
def console(in_a, operator, client_for) -> Client:
    """The operator's browser on tenant A's host."""
    return client_for(in_a, operator)


@pytest.fixture
def api(in_a, operator, api_for) -> Client:
    """An API client of tenant A authenticated with the operator's token."""
    return api_for(in_a, operator)


@pytest.fixture
def store(in_a) -> Store:
    """A spreadsheet store of tenant A (no credentials to keep)."""
    return StoreFactory()


@pytest.fixture
def order_in_status(store):
    """order_in_status(status, [(listing_sku, quantity), …]) -> an order of the store, ingested, put in that status.

    Lines are titled "Title <sku>" at 5.00 each; every order is placed a minute after the one before.
    """

    def make(status: str, lines: list[tuple[str, int]]) -> Order:
        n = next(_counter)
        order = OrderFactory(
            store=store,
            placed_at=dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n),
            lines=tuple(
                ChannelOrderLineFactory(
                    external_id=str(i), listing_sku=sku, title=f"Title {sku}", quantity=qty, unit_price=Decimal("5.00")
                )
                for i, (sku, qty) in enumerate(lines, start=1)
            ),
            buyer_name="Ada",
            buyer_email="",
            shipping_address=AddressFactory(name="", province="", postal_code=""),
            raw={},
        )
        # The status a test needs, set directly: how an order gets there is tested in tests/orders.
        Order.objects.filter(pk=order.pk).update(status=status)
        order.refresh_from_db()
        return order

    return make


@pytest.fixture
def run_enqueued(django_capture_on_commit_callbacks):
    """``with run_enqueued():`` runs, when the block ends, the tasks it sent after commit (core.tasks.enqueue)
    in this process and in this tenant, as a worker would; nothing reaches the broker."""

    # What a worker imports at start (CELERY_IMPORTS and every app's tasks module), so a task sent by name is known.
    current_app.loader.import_default_modules()

    @contextlib.contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield callbacks
        for callback in callbacks:
            # functools.partial(task.apply_async, args=…, …) from enqueue,
            # functools.partial(app.send_task, name, args=…, …) from enqueue_named
            send = callback.func
            task = current_app.tasks[callback.args[0]] if send.__name__ == "send_task" else send.__self__
            task.run(*callback.keywords.get("args") or (), **callback.keywords.get("kwargs") or {})

    return block


# ---------------------------------------------------------------- a real Celery worker

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path, mail_dir: Path):
        self.process = process
        self.log = log
        self.mail_dir = mail_dir

    def wait_for(self, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(f"worker died:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out; worker log:\n{self.log.read_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def worker_process(workdir: Path, **env: str) -> Iterator[Worker]:
    """A real Celery worker process on the test database and the test Redis, until the block ends.

    The caller purges the broker first (``app.control.purge()``) if tasks of earlier runs may be waiting there.
    """
    log = workdir / "worker.log"
    mail_dir = workdir / "mail"
    mail_dir.mkdir(exist_ok=True)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "RELAY_TESTING": "1",
        **env,
    }
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "solo",
             "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(process, log, mail_dir)
    try:
        worker.wait_for(lambda: "ready" in worker.log_text(), timeout=60)
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the test database and the test Redis, for the whole session."""
    workdir = tmp_path_factory.mktemp("worker")
    with django_db_blocker.unblock():
        app.control.purge()  # tasks left in the test broker by earlier runs
    with worker_process(
        workdir,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(workdir / "mail"),
    ) as worker:
        yield worker


def require_test_database() -> None:
    # pytest-django creates the test database only when a selected test asks for `db`;
    # without one these tests would write to the development database.
    if not connection.settings_dict["NAME"].startswith("test_"):
        pytest.fail(
            f"needs the test database, not {connection.settings_dict['NAME']}: select at least one test that uses `db` with it"
        )
