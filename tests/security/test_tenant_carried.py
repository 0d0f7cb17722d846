"""Tasks, cache keys and files carry their tenant: a task without one does not run, tenant B cannot read tenant
A's cache or files, and a download of another tenant's file is refused."""

from __future__ import annotations

import pytest
from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.test import Client

from core import uploads
from core.tasks import TenantOnlyTask, TenantRequired
from settlement.models import ExportFile
from tests.conftest import in_tenant

# Tasks that run outside any tenant, each with the reason. Everything else must be a tenant_task.
PLATFORM_TASKS: dict[str, str] = {
    "erp.tasks.dispatch_periodic": "the beat dispatcher: fans periodic work out to each active tenant",
}


def _project_tasks() -> dict[str, object]:
    current_app.loader.import_default_modules()
    return {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}


def test_every_task_is_a_tenant_task_or_a_listed_platform_task():
    tasks = _project_tasks()
    stray = sorted(n for n, t in tasks.items() if not isinstance(t, TenantOnlyTask) and n not in PLATFORM_TASKS)
    assert tasks, "no project task registered: the loader found nothing"
    assert not stray, f"tasks that would run without a tenant (make them tenant_task or list them): {stray}"
    assert set(PLATFORM_TASKS) <= set(tasks), "a platform task listed here no longer exists"


def test_no_tenant_task_runs_in_the_public_schema(db):
    """Called with no tenant (what a worker does with a message without ``_schema_name``), every one refuses
    before its body runs. tests/erp/test_celery.py proves the same through a real worker."""
    connection.set_schema_to_public()
    ran = []
    for name, task in _project_tasks().items():
        if name in PLATFORM_TASKS:
            continue
        with pytest.raises(TenantRequired):
            task(*([0] * _arity(task)))
        ran.append(name)
    assert ran


def _arity(task) -> int:
    code = task.run.__code__
    positional = code.co_argcount - (1 if getattr(task, "bind", False) else 0)
    return positional - len(task.run.__defaults__ or ())


def test_tenant_b_does_not_read_tenant_a_cache_keys(tenant_a, tenant_b):
    with in_tenant(tenant_a):
        cache.set("security:probe", "alpha's")
    with in_tenant(tenant_b):
        assert cache.get("security:probe") is None
        cache.set("security:probe", "beta's")
    with in_tenant(tenant_a):
        assert cache.get("security:probe") == "alpha's"
        cache.delete("security:probe")
    with in_tenant(tenant_b):
        cache.delete("security:probe")


def test_uploads_are_kept_under_the_tenant_and_another_tenants_path_is_refused(tenant_a, tenant_b, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with in_tenant(tenant_a):
        kept = uploads.upload_keep(content=b"sku,name\nA-1,alpha\n", filename="../../etc/x.csv")
    assert kept.startswith(f"{tenant_a.schema_name}/")
    assert (tmp_path / kept).is_file()

    with in_tenant(tenant_b):
        assert uploads.upload_read(kept) is None
        assert uploads.upload_read(f"{tenant_b.schema_name}/../{kept}") is None
        uploads.upload_remove(kept)
    assert (tmp_path / kept).is_file(), "tenant B removed tenant A's file"
    with in_tenant(tenant_a):
        assert uploads.upload_read(kept) == b"sku,name\nA-1,alpha\n"


def test_an_export_pointing_at_another_tenants_file_is_not_served(world, settings):
    """Even a row that names tenant A's file (a forged or corrupted path) does not serve it on B's host."""
    a, b = world.a, world.b
    with in_tenant(a.tenant):
        a_export = ExportFile.objects.get(pk=a.supplier_ids["S1"]["export"])
        assert a_export.path.startswith(f"exports/{a.tenant.schema_name}/")
    with in_tenant(b.tenant):
        ExportFile.objects.filter(pk=b.supplier_ids["S1"]["export"]).update(path=a_export.path)
    finance: Client = b.client("finance")
    pk = b.supplier_ids["S1"]["export"]

    for url in (f"/settlement/exports/{pk}/download/", f"/api/v1/settlement/exports/{pk}/download/"):
        response = finance.get(url)
        assert response.status_code == 404, url

    portal = b.client("supplier S1")
    assert portal.get(f"/portal/statements/exports/{pk}/download/").status_code == 404
