"""Task plumbing shared by every app, and the one periodic dispatcher.

- ``tenant_task``: runs only inside a tenant schema. Enqueued from a tenant
  context it carries the schema in its headers; enqueued without one it is
  refused by the worker, never run in the public schema.
- ``enqueue``: sends a task after the current transaction commits.
- ``dispatch_periodic``: beat calls it once a minute; it fans periodic work
  out per active tenant (each app registers its periodic task names in
  PERIODIC_TENANT_TASKS).
"""

from __future__ import annotations

import logging
from functools import partial

from celery import Task
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from erp.celery import app

logger = logging.getLogger(__name__)

# Names of tenant tasks that beat's dispatcher runs for every active tenant.
PERIODIC_TENANT_TASKS: list[str] = ["erp.tasks.tenant_heartbeat", "channels.sync_due_stores"]


class TenantRequired(RuntimeError):
    """A tenant task reached a worker without a tenant."""


class TenantOnlyTask(app.Task):  # type: ignore[name-defined]
    abstract = True

    def __call__(self, *args, **kwargs):
        if connection.schema_name == get_public_schema_name():
            logger.error("task refused: no tenant", extra={"task": self.name})
            raise TenantRequired(f"{self.name} needs a tenant and was sent without one; it did not run.")
        return super().__call__(*args, **kwargs)


def tenant_task(*args, **kwargs):
    kwargs.setdefault("base", TenantOnlyTask)
    kwargs.setdefault("acks_late", True)
    return app.task(*args, **kwargs)


def platform_task(*args, **kwargs):
    return app.task(*args, **kwargs)


def enqueue(task: Task, *args, **kwargs) -> None:
    """Send ``task`` once the surrounding transaction commits (at once if there is none).

    The tenant schema is read now, while the caller is still in its tenant.
    """
    schema = connection.schema_name
    headers = {"_schema_name": schema}
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs, headers=headers))


@platform_task(name="erp.tasks.dispatch_periodic")
def dispatch_periodic() -> int:
    """Fan periodic work out to every active tenant; returns how many tasks were sent."""
    from tenants.models import Tenant

    sent = 0
    for schema in Tenant.objects.filter(status=Tenant.Status.ACTIVE, is_template=False).values_list(
        "schema_name", flat=True
    ):
        with schema_context(schema):
            for name in PERIODIC_TENANT_TASKS:
                app.send_task(name, headers={"_schema_name": schema})
                sent += 1
    return sent


@tenant_task(name="erp.tasks.tenant_heartbeat")
def tenant_heartbeat() -> str:
    """Records that periodic work reaches this tenant (shown on /healthz of the tenant later)."""
    from django.core.cache import cache
    from django.utils import timezone

    now = timezone.now().isoformat()
    cache.set("heartbeat", now, timeout=None)
    return now
