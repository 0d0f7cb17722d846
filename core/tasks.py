"""Task plumbing shared by every app.

- ``tenant_task``: runs only inside a tenant schema. Enqueued from a tenant
  context it carries the schema in its headers; enqueued without one it is
  refused by the worker, never run in the public schema.
- ``enqueue``: sends a task after the current transaction commits.
- ``enqueue_named``: the same for a task of a higher layer, named rather than
  imported (DESIGN: a lower layer starts work in a higher one by a task sent
  after commit).

Tasks are declared with Celery's ``shared_task`` so that this module needs no
Celery app: the project's app (``erp.celery``) binds them when it loads.
"""

from __future__ import annotations

import logging
import re
import uuid
from functools import partial

from celery import Task, current_app, shared_task
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name
from tenant_schemas_celery.task import TenantTask

logger = logging.getLogger(__name__)


class TenantRequired(RuntimeError):
    """A tenant task reached a worker without a tenant."""


class TenantOnlyTask(TenantTask):
    abstract = True

    def __call__(self, *args, **kwargs):
        if connection.schema_name == get_public_schema_name():
            logger.error("task refused: no tenant", extra={"task": self.name})
            raise TenantRequired(f"{self.name} needs a tenant and was sent without one; it did not run.")
        return super().__call__(*args, **kwargs)


def tenant_task(*args, **kwargs):
    kwargs.setdefault("base", TenantOnlyTask)
    kwargs.setdefault("acks_late", True)
    return shared_task(*args, **kwargs)


def platform_task(*args, **kwargs):
    kwargs.setdefault("base", TenantTask)
    return shared_task(*args, **kwargs)


def _headers() -> dict:
    # Read now, while the caller is still in its tenant.
    return {"_schema_name": connection.schema_name}


def enqueue(task: Task, *args, **kwargs) -> None:
    """Send ``task`` once the surrounding transaction commits (at once if there is none)."""
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs, headers=_headers()))


def enqueue_named(name: str, *args, **kwargs) -> None:
    """Send the task registered as ``name`` once the surrounding transaction commits.

    For a lower layer that starts work in a higher one: it knows the task's
    name (a contract written down where the task is declared), not its code.
    """
    headers = _headers()
    transaction.on_commit(partial(current_app.send_task, name, args=args, kwargs=kwargs, headers=headers))


_JOB_ID = re.compile(r"[0-9a-f]{32}")


def job_id_new() -> str:
    """A background job's id (its page's address, its cache key): 32 hexadecimal characters, unguessable."""
    return uuid.uuid4().hex


def job_id_valid(text: str) -> bool:
    """True for an id job_id_new could have made; anything else names no job and never reaches a cache key."""
    return _JOB_ID.fullmatch(text) is not None
