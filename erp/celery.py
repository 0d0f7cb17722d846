"""The Celery app. Every task runs in its tenant's schema (tenant-schemas-celery).

Tasks are declared with ``@tenant_task`` (refuses to run in the public schema)
or ``@platform_task`` (the few that fan out across tenants).
"""

from __future__ import annotations

import os

from celery.signals import task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

from core.logging import task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")

app = CeleryApp("relay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_id(task_id=None, **_kwargs):
    task_id_var.set(task_id or "")


@task_postrun.connect
def _unbind_task_id(**_kwargs):
    task_id_var.set("")
