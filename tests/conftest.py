"""Shared fixtures: one test database, two tenants provisioned once per session.

Tests run inside a transaction (pytest-django's ``db``) in the schema of
tenant A unless they ask otherwise; nothing runs every migration per test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from erp.celery import app
from suppliers.members import supplier_user_create
from suppliers.models import Supplier
from tenants.accounts.services import user_create
from tenants.models import Tenant
from tenants.services import template_ensure, tenant_provision

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


@pytest.fixture
def run_enqueued(django_capture_on_commit_callbacks):
    """``with run_enqueued():`` runs, when the block ends, the tasks it sent after commit (core.tasks.enqueue)
    in this process and in this tenant, as a worker would; nothing reaches the broker."""

    @contextlib.contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield callbacks
        for callback in callbacks:
            send = callback.func  # functools.partial(task.apply_async, args=…, kwargs=…, headers=…)
            task = send.__self__
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


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the test database and the test Redis."""
    workdir = tmp_path_factory.mktemp("worker")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    log = workdir / "worker.log"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "RELAY_TESTING": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    with django_db_blocker.unblock():
        app.control.purge()  # tasks left in the test broker by earlier runs
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "solo",
             "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(process, log, mail_dir)
    worker.wait_for(lambda: "ready" in worker.log_text(), timeout=60)
    yield worker
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
