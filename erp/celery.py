"""The Celery app. Every task runs in its tenant's schema (tenant-schemas-celery).

Tasks are declared with ``@tenant_task`` (refuses to run in the public schema)
or ``@platform_task`` (the few that fan out across tenants).
"""

from __future__ import annotations

import gc
import os

from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready
from django.db import connections
from tenant_schemas_celery.app import CeleryApp

from core.logging import task_id_var
from tenants.connections import task_schema_note

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")
# The settings refuse to load without SECRET_KEY and RELAY_FERNET_KEYS (DEBUG off): the worker and
# beat stop at start-up with the settings' message, before they take any task.

# Batch work (a page of orders ingested, thousands of orders routed) allocates hundreds of thousands of
# small objects that reference counting frees. With the default thresholds (700, 10, 10) the cyclic
# collector runs every 700 net allocations and, as a batch's live objects survive into the older
# generations, walks them again and again, plus everything boot loaded. Measured on ingest-like work
# (20,000 orders of dicts, Decimals and row tuples; 2-core machine): 0.60 s -> 0.30 s when each page
# is freed as it goes, 0.95 s -> 0.40 s when the whole batch is held; switching the collector off
# entirely gains little more (0.30 s, 0.34 s) and would let cycles pile up. So once per process, at
# start-up and never inside domain code: freeze what boot loaded (modules, settings, URL confs, the task
# registry: never garbage) so no collection walks it again, which also keeps a forked child from
# copying those pages; and collect the young generation every 50,000 allocations.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """Freeze the objects alive now and raise the collector's thresholds (once, after boot)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


app = CeleryApp("relay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_id(task_id=None, **_kwargs):
    task_id_var.set(task_id or "")


@task_postrun.connect
def _unbind_task_id(**_kwargs):
    task_id_var.set("")


# Celery's Django fix-up closes every database connection before and after each task unless
# CELERY_DB_REUSE_MAX is set (the settings set it): a task would open a new connection, set its search path
# and warm its catalog cache each time, most of a one-order routing task's cost. Instead a worker's
# connection lives as a web process's does: Django's own check around each task closes it when it has
# outlived CONN_MAX_AGE, failed (errors, a health check) or served too many schemas (tenants.connections).
@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**_kwargs):
    for connection in connections.all(initialized_only=True):
        # Never under an open transaction: a task applied eagerly inside one (a test) keeps its connection.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


# After each task: note its tenant's schema on the connection, closed once it has served too many.
task_postrun.connect(task_schema_note, weak=False, dispatch_uid="tenants.connections.task_schema_note")


@worker_process_init.connect
def _tune_pool_process(**_kwargs):
    # A prefork child, just forked: no collection first, it would touch (and copy) every inherited page.
    tune_garbage_collector()


@worker_ready.connect
def _tune_main_process(**_kwargs):
    # The main process runs the tasks itself with --pool solo or threads; with prefork it only supervises.
    gc.collect()  # what boot left over is not frozen for good
    tune_garbage_collector()
