"""A store's sync run by a real Celery worker, against the sandbox shop on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels.models import SyncRun
from channels.sandbox.generator import SandboxShop
from channels.tasks import sync_store
from core.tasks import enqueue
from erp.celery import app
from orders.models import Order
from tenants.models import Tenant
from tests.channels.sandbox_helpers import running
from tests.conftest import Worker, in_tenant, require_test_database, worker_process


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker on the test database and Redis, for this module only.

    Not the session's celery_worker: that one lives on until the session ends, and two workers on one broker
    would take each other's tasks.
    """
    with django_db_blocker.unblock():
        require_test_database()
        app.control.purge()  # tasks left in the test broker by earlier runs
    with worker_process(tmp_path_factory.mktemp("channels-worker")) as running_worker:
        yield running_worker


@pytest.mark.worker
def test_sync_task_on_a_real_worker_pulls_the_sandbox_shop_into_the_tenant(committed, worker):
    # given: a sandbox shop with 30 orders on a local port, connected as a store of tenant A
    token = "sandbox-worker-token"
    shop = SandboxShop(seed=41)
    made = shop.generate(30)
    with running(shop, token=token) as base_url:
        store = committed.store(channel="sandbox", base_url=base_url, credentials={"access_token": token})

        # when: the sync is enqueued from A's context
        with in_tenant(committed.tenant):
            enqueue(sync_store, store.pk, SyncRun.Kind.MANUAL)

        # then: the worker pulled every order into A's schema and closed the run
        def finished():
            with in_tenant(committed.tenant):
                return SyncRun.objects.filter(store=store).exclude(status=SyncRun.Status.RUNNING).first()

        run = worker.wait_for(finished, timeout=30)
    assert (run.status, run.kind, run.orders_created, run.channel_count, run.relay_count) == (
        "succeeded", "manual", 30, 30, 30,
    ), run.message  # fmt: skip
    with in_tenant(committed.tenant):
        held = set(Order.objects.filter(store=store).values_list("external_id", flat=True))
        store.refresh_from_db()
        assert store.sync_cursor == run.window_end
    assert held == {str(order["id"]) for order in made}
    with in_tenant(Tenant.objects.get(slug="beta")):
        assert not Order.objects.filter(external_id__in=held).exists()
