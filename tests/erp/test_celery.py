"""Celery: a task runs in its tenant's schema on a real worker, and never without a tenant."""

import pytest
from django.contrib.auth.models import User

from core.tasks import TenantRequired, enqueue
from erp import tasks
from tenants.accounts.tasks import send_password_reset
from tenants.models import Tenant
from tenants.services import tenant_set_status
from tests.conftest import in_tenant


@pytest.mark.worker
def test_task_runs_in_its_tenant_schema_on_a_real_worker(celery_worker, django_db_blocker):
    # given: a committed user that exists only in tenant A
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            user = User.objects.create_user(
                username="worker-probe@alpha.test", email="worker-probe@alpha.test", password="x-very-long-pass"
            )
            try:
                # when: enqueued from tenant A's context
                enqueue(send_password_reset, user.pk, "alpha.localhost", False)

                # then: the worker looked the user up in A's schema and sent the link
                def sent():
                    for path in celery_worker.mail_dir.iterdir():
                        text = path.read_text()
                        if "worker-probe@alpha.test" in text:
                            return text
                    return None

                text = celery_worker.wait_for(sent)
                assert "http://alpha.localhost/password-reset/" in text
            finally:
                user.delete()


@pytest.mark.worker
def test_task_sent_without_tenant_is_refused_by_the_worker(celery_worker, django_db_blocker):
    # given: the public schema (no tenant)
    with django_db_blocker.unblock():
        before = {p.name for p in celery_worker.mail_dir.iterdir()}
        result = send_password_reset.apply_async(args=[1, "public.localhost", False])

        # then: refused, logged with the task name, and nothing was sent
        celery_worker.wait_for(
            lambda: result.id in celery_worker.log_text() and "task refused: no tenant" in celery_worker.log_text()
        )
        assert {p.name for p in celery_worker.mail_dir.iterdir()} == before


def test_tenant_task_refuses_to_run_in_the_public_schema(db):
    with pytest.raises(TenantRequired):
        send_password_reset.apply(args=[1, "x", False]).get()


def test_enqueue_waits_for_commit_and_carries_the_tenant(tenant_a, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    # Celery's send to the broker (the outside world), replaced by a list.
    monkeypatch.setattr(send_password_reset, "apply_async", lambda **kw: sent.append(kw))

    with in_tenant(tenant_a), django_capture_on_commit_callbacks(execute=True):
        enqueue(send_password_reset, 7, "alpha.localhost", False)
        assert sent == []  # nothing leaves before the transaction commits

    assert sent == [{"args": (7, "alpha.localhost", False), "kwargs": {}, "headers": {"_schema_name": "t_alpha"}}]


def test_periodic_dispatcher_fans_out_to_active_tenants_only(tenant_a, tenant_b, monkeypatch):
    # given: beta suspended, and the broker (the outside world) replaced by a list
    tenant_set_status(tenant=tenant_b, status="suspended")
    sent = []
    monkeypatch.setattr(tasks.app, "send_task", lambda name, headers: sent.append((name, headers["_schema_name"])))

    # when
    count = tasks.dispatch_periodic.run()

    # then
    schemas = {schema for _name, schema in sent}
    assert "t_alpha" in schemas
    assert "t_beta" not in schemas
    assert "tenant_template" not in schemas
    assert count == len(sent)
