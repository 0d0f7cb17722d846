"""Tenants at scale: provisioning, migrating many tenant schemas, and a connection's catalog memory.

- tenant.provision: seconds to provision one tenant (schema, domain, owner) with almost no other tenant present;
  baseline: the same tenant made the naive way, every tenant migration run into an empty schema.
- tenant.provision_at_1000: the same with BENCH_TENANTS (1,000) tenants present, in a fresh process (a
  ``manage.py provision_tenant`` subprocess: the seconds it reports, and its whole wall time) and in this
  long-lived process after it has provisioned many.
- tenant.provision_backend_mb: the PostgreSQL backend's resident memory after provisioning 100 tenants on one
  connection, the script replay against django-tenants' clone_schema (on fewer tenants: it is slow).
- tenants.migrate_noop: ``migrate_tenants`` over the 1,000 with nothing pending; baseline: django-tenants'
  standard executor (what ``migrate_schemas --tenant`` runs) timed on a sample and scaled to the count.
- tenants.migrate_one: one migration (a leaf CreateModel of inventory, reverted by SQL first) applied to all.
- tenants.catalog_mb: a connection's backend growth (private memory, RssAnon) after touching 500 tenant schemas
  with a few queries each, without and with the connection recycling of tenants.connections.

The 1,000 tenants live in their own database, ``<bench database>_scale``, kept between runs (making them is
timed and printed once); the other benchmarks' database stays small, so their set-up is not slowed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.run import REPS, ROOT, database_url_ensure, figures, rss_mb, spread

SCALE_TENANTS = int(os.environ.get("BENCH_TENANTS", "1000"))
SCALE_PREFIX = "scale-"
PASSWORD = "violet-meadow-quartz-lantern"
MEMORY_TENANTS = 100
MEMORY_TENANTS_CLONE = int(os.environ.get("BENCH_CLONE_TENANTS", "20"))
CATALOG_SCHEMAS = 500
RECYCLE_AFTER = 50
NOOP_BASELINE_SAMPLE = 100
# The migration migrate_one applies: a leaf of a tenant app (nothing depends on it) whose reverse is one DROP TABLE.
ONE_APP, ONE_MIGRATION, ONE_PREVIOUS = "inventory", "0003_stock_upload_job", "0002"


def _schema(slug: str) -> str:
    return "t_" + re.sub(r"[^a-z0-9]", "_", slug)


def _drop(slug: str) -> None:
    from django.db import connection

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=slug).first()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{_schema(slug)}" CASCADE')
    if tenant:
        tenant.domains.all().delete()
        tenant.delete()


def _backend_memory() -> tuple[int, float, float]:
    """(pid, VmRSS MB, RssAnon MB) of this connection's PostgreSQL backend (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    anon = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            anon = int(line.split()[1]) / 1024
    return pid, rss_mb(pid, peak=False), round(anon, 1)


# ---------------------------------------------------------------- the database with 1,000 tenants


def _scale_url() -> str:
    from django.db import connection

    return database_url_ensure(os.environ["DATABASE_URL"], connection.settings_dict["NAME"] + "_scale")


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=_env(url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@contextlib.contextmanager
def _on_database(url: str):
    """This process's default connection points at ``url``'s database for the block."""
    from urllib.parse import urlparse

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, connections

    name = urlparse(url).path.lstrip("/")
    saved = connection.settings_dict["NAME"]
    connections.close_all()
    connection.settings_dict["NAME"] = name
    ContentType.objects.clear_cache()
    try:
        yield
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = saved
        ContentType.objects.clear_cache()


def _provision_some(slugs: list[str]) -> None:
    """A forked child: provision ``slugs`` (owners with a quick hash: these are bench rows, not logins)."""
    from django.db import connections
    from django.test.utils import override_settings

    from tenants.services import tenant_provision

    connections.close_all()
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for slug in slugs:
            tenant_provision(slug=slug, name=slug, owner_email=f"owner@{slug}.test", owner_password=PASSWORD)
    connections.close_all()


def _scale_ready(url: str) -> dict:
    """The scale database migrated, with SCALE_TENANTS tenants; made (in two processes) only when missing."""
    from django.db import connections

    from tenants.models import Tenant

    for args in (("migrate_schemas", "--shared", "--verbosity", "0"), ("ensure_template", "--verbosity", "0")):
        done = _manage(url, *args)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
    existing = set(Tenant.objects.filter(slug__startswith=SCALE_PREFIX).values_list("slug", flat=True))
    missing = [f"{SCALE_PREFIX}{i:04d}" for i in range(SCALE_TENANTS) if f"{SCALE_PREFIX}{i:04d}" not in existing]
    started = time.perf_counter()
    if missing:
        print(f"making {len(missing)} tenants in the scale database", file=sys.stderr)
        connections.close_all()
        workers = 2
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_provision_some, [missing[i::workers] for i in range(workers)], chunksize=1)
    seconds = time.perf_counter() - started
    # Kept between runs: bring them up to the code's migrations (the code may have moved on since).
    done = _manage(url, "migrate_tenants", "--verbosity", "0")
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return {"made": len(missing), "seconds": round(seconds, 1), "present": Tenant.objects.count() - 1}


# ---------------------------------------------------------------- provisioning


@figures("tenant.provision", "tenant.provision_at_1000", "tenant.provision_backend_mb")
def bench_tenant_provision():
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import override_settings
    from django_tenants.clone import CloneSchema
    from django_tenants.utils import schema_context

    from tenants import services
    from tenants.accounts.services import user_create
    from tenants.models import Domain, Tenant
    from tenants.services import tenant_provision

    results = []
    present = Tenant.objects.count() - 1
    script_times, migrate_times, clone_times = [], [], []
    for i in range(REPS):
        slug = f"bench-{i}"
        _drop(slug)
        started = time.perf_counter()
        tenant_provision(slug=slug, name=f"Bench {i}", owner_email=f"o{i}@bench.test", owner_password=PASSWORD)
        script_times.append(time.perf_counter() - started)
        _drop(slug)

        # the old way, for reference: django-tenants' clone of the template
        with transaction.atomic():
            started = time.perf_counter()
            CloneSchema().clone_schema(services.template_ensure().schema_name, f"t_clone_{i}", "DATA")
            clone_times.append(time.perf_counter() - started)
            transaction.set_rollback(True)

        slug = f"naive-{i}"
        _drop(slug)
        started = time.perf_counter()
        tenant = Tenant.objects.create(schema_name=f"t_naive_{i}", slug=slug, name=f"Naive {i}")
        Domain.objects.create(domain=f"{slug}.localhost", tenant=tenant)
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "t_naive_{i}"')
        call_command("migrate_schemas", schema_name=f"t_naive_{i}", verbosity=0, stdout=sys.stderr)
        with schema_context(f"t_naive_{i}"):
            user_create(email=f"o{i}@naive.test", password=PASSWORD, role="owner")
        migrate_times.append(time.perf_counter() - started)
        _drop(slug)
    results.append(
        {
            "name": "tenant.provision",
            **spread(script_times, digits=3),
            "unit": "s",
            "tenants_present": present,
            "baseline": spread(migrate_times, digits=3)["value"],
            "baseline_name": "migrate every app",
            "clone_schema": spread(clone_times, digits=3)["value"],
        }
    )

    # Backend memory after 100 provisionings on one connection, few tenants present: script vs clone.
    def provision_many(count: int, prefix: str, clone: bool) -> dict:
        connection.close()
        _pid, rss0, anon0 = _backend_memory()
        started = time.perf_counter()
        made = []
        real = services.schema_create_from_template
        if clone:
            services.schema_create_from_template = lambda *, schema, template, script: CloneSchema().clone_schema(
                template, schema, "DATA"
            )
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                for i in range(count):
                    slug = f"{prefix}-{i}"
                    _drop(slug)
                    tenant_provision(slug=slug, name=slug, owner_email=f"o@{slug}.test", owner_password=PASSWORD)
                    made.append(slug)
        finally:
            services.schema_create_from_template = real
        seconds = time.perf_counter() - started
        _pid, rss1, anon1 = _backend_memory()
        for slug in made:
            _drop(slug)
        return {
            "tenants": count,
            "rss_mb": round(rss1, 1),
            "rss_growth_mb": round(rss1 - rss0, 1),
            "anon_growth_mb": round(anon1 - anon0, 1),
            "seconds_each": round(seconds / count, 3),
        }

    script = provision_many(MEMORY_TENANTS, "mem", clone=False)
    clone = provision_many(MEMORY_TENANTS_CLONE, "memclone", clone=True)
    results.append(
        {
            "name": "tenant.provision_backend_mb",
            "value": script["rss_mb"],
            "unit": "MB",
            "script": script,
            "baseline": clone["rss_mb"],
            "baseline_name": f"clone_schema, on {MEMORY_TENANTS_CLONE} tenants only (slow)",
            "clone": clone,
        }
    )

    # With 1,000 tenants present.
    url = _scale_url()
    with _on_database(url):
        made = _scale_ready(url)
        print(f"scale database: {made}", file=sys.stderr)
        present = Tenant.objects.count() - 1
        inside, walls = [], []
        for i in range(REPS):
            slug = f"fresh-{i}"
            _drop(slug)
            started = time.perf_counter()
            done = _manage(
                url, "provision_tenant", "--slug", slug, "--name", slug, "--owner-email", f"o@{slug}.test",
                "--owner-password", PASSWORD,
            )  # fmt: skip
            walls.append(time.perf_counter() - started)
            found = re.search(r" in ([0-9.]+)s", done.stdout)
            if done.returncode or not found:
                raise RuntimeError(done.stdout + done.stderr[-2000:])
            inside.append(float(found.group(1)))
            _drop(slug)

        # This process: warm, after many provisionings (as a web process serving sign-ups).
        warm, long_lived = [], []
        for i in range(20 + REPS):
            slug = f"long-{i}"
            _drop(slug)
            started = time.perf_counter()
            tenant_provision(slug=slug, name=slug, owner_email=f"o@{slug}.test", owner_password=PASSWORD)
            (warm if i < 20 else long_lived).append(time.perf_counter() - started)
        for i in range(20 + REPS):
            _drop(f"long-{i}")
        clone_at_scale = []
        if os.environ.get("BENCH_CLONE_AT_SCALE", "1") == "1":
            with transaction.atomic():
                started = time.perf_counter()
                CloneSchema().clone_schema(services.template_ensure().schema_name, "t_clone_scale", "DATA")
                clone_at_scale.append(time.perf_counter() - started)
                transaction.set_rollback(True)
    results.append(
        {
            "name": "tenant.provision_at_1000",
            **spread(inside, digits=3),
            "unit": "s",
            "tenants_present": present,
            "fresh_process_wall": spread(walls, digits=3),
            "long_lived": spread(long_lived, digits=3),
            "long_lived_after": 20,
            "at_1_tenant": results[0]["value"],
            "clone_schema_once": round(clone_at_scale[0], 2) if clone_at_scale else None,
            "making_tenants": made,
        }
    )
    return results


# ---------------------------------------------------------------- migrating many


@figures("tenants.migrate_noop", "tenants.migrate_one")
def bench_tenants_migrate():
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.migration_executors.standard import StandardExecutor

    from tenants.schema_migrations import tenant_schemas

    results = []
    url = _scale_url()
    with _on_database(url):
        made = _scale_ready(url)
        schemas = tenant_schemas()
        noop, checks = [], []
        for _rep in range(REPS):
            started = time.perf_counter()
            done = _manage(url, "migrate_tenants")
            noop.append(time.perf_counter() - started)
            found = re.search(r"checked in ([0-9.]+)s: 0 pending", done.stdout)
            if done.returncode or not found:
                raise RuntimeError(done.stdout + done.stderr[-2000:])
            checks.append(float(found.group(1)))

        # Baseline: django-tenants' standard executor, as `migrate_schemas --tenant` runs it, on a sample.
        sample = set(schemas[1 : 1 + NOOP_BASELINE_SAMPLE])
        real = StandardExecutor.run_migrations

        def sampled(self, tenants=None):
            return real(self, tenants=[schema for schema in tenants or [] if schema in sample])

        StandardExecutor.run_migrations = sampled
        try:
            started = time.perf_counter()
            call_command("migrate_schemas", tenant=True, verbosity=0, stdout=sys.stderr)
            per_schema = (time.perf_counter() - started) / len(sample)
        finally:
            StandardExecutor.run_migrations = real
        results.append(
            {
                "name": "tenants.migrate_noop",
                **spread(noop, digits=2),
                "unit": "s",
                "schemas": len(schemas),
                "check_seconds": spread(checks, digits=2)["value"],
                "baseline": round(per_schema * len(schemas), 1),
                "baseline_name": f"migrate_schemas --tenant (standard executor), {len(sample)} schemas timed, x{len(schemas) / len(sample):.1f}",
                "making_tenants": made,
            }
        )

        # One new migration over all: the leaf reverted in every schema by SQL (its reverse is one DROP TABLE),
        # then applied by migrate_tenants through Django's executor.
        from django.apps import apps

        table = apps.get_model(ONE_APP, "StockUploadJob")._meta.db_table
        one, one_workers = [], []
        for _rep in range(int(os.environ.get("BENCH_MIGRATE_ONE_REPS", REPS))):
            with connection.cursor() as cursor:
                for start in range(0, len(schemas), 200):
                    cursor.execute(
                        "".join(
                            f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE;'
                            f"DELETE FROM \"{schema}\".django_migrations WHERE app = '{ONE_APP}' AND name = '{ONE_MIGRATION}';"
                            for schema in schemas[start : start + 200]
                        )
                    )
            connection.close()
            started = time.perf_counter()
            done = _manage(url, "migrate_tenants", "--verbosity", "1")
            one.append(time.perf_counter() - started)
            found = re.search(rf"{len(schemas)} pending, {len(schemas)} migrated, 0 failed", done.stdout)
            if done.returncode or not found:
                raise RuntimeError(done.stdout + done.stderr[-2000:])
            one_workers.append(done.stdout.strip())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = %s AND n.nspname = ANY(%s)",
                [table, schemas],
            )
            with_table = cursor.fetchone()[0]
    results.append(
        {
            "name": "tenants.migrate_one",
            **spread(one, digits=1),
            "unit": "s",
            "schemas": len(schemas),
            "migration": f"{ONE_APP}.{ONE_MIGRATION}",
            "schemas_with_its_table": with_table,
            "workers": min(os.cpu_count() or 1, 4),
            "command_said": one_workers[-1],
        }
    )
    return results


# ---------------------------------------------------------------- a connection's catalog memory


@figures("tenants.catalog_mb")
def bench_tenants_catalog():
    from django.db import connection

    from channels.models import Store
    from inventory.models import Product
    from orders.models import Order, OrderLine
    from settlement.models import Statement
    from suppliers.models import Dispatch, Supplier
    from tenants.connections import connection_recycle_if_wide, schema_note
    from tenants.schema_migrations import tenant_schemas

    def work() -> None:
        # a few queries on several tables, as a worker serving a task of this tenant does
        Order.objects.filter(status="new").order_by("-id")[:20].count()
        list(OrderLine.objects.filter(order_id=1)[:5])
        list(Dispatch.objects.filter(status="pending").select_related("supplier")[:10])
        Product.objects.filter(sku="X").exists()
        list(Store.objects.all()[:5])
        Supplier.objects.count()
        list(Statement.objects.order_by("-id")[:5])

    url = _scale_url()
    with _on_database(url):
        _scale_ready(url)
        schemas = tenant_schemas()[1 : 1 + CATALOG_SCHEMAS]

        def run(recycle: bool) -> dict:
            connection.close()
            pid, _rss0, anon0 = _backend_memory()
            fresh = anon0
            peak = 0.0
            backends = {pid}
            started = time.perf_counter()
            for schema in schemas:
                connection.set_schema(schema)
                work()
                if recycle:
                    schema_note(schema)
                    if schema_note(None) >= RECYCLE_AFTER:
                        peak = max(peak, _backend_memory()[2] - fresh)
                        connection_recycle_if_wide(limit=RECYCLE_AFTER)
                        connection.set_schema_to_public()
                        pid, _rss, fresh = _backend_memory()
                        backends.add(pid)
            seconds = time.perf_counter() - started
            connection.set_schema_to_public()
            _pid, rss1, anon1 = _backend_memory()
            peak = max(peak, anon1 - fresh)
            return {
                "growth_mb": round(peak, 1),
                "final_rss_mb": rss1,
                "seconds": round(seconds, 2),
                "backends": len(backends),
            }

        without = [run(recycle=False) for _rep in range(REPS)]
        with_recycling = [run(recycle=True) for _rep in range(REPS)]
        connection.close()
    return [
        {
            "name": "tenants.catalog_mb",
            **spread([r["growth_mb"] for r in without]),
            "unit": "MB",
            "schemas": len(schemas),
            "measure": "backend RssAnon growth after touching the schemas (7 queries on 7 tables each)",
            "seconds": spread([r["seconds"] for r in without], digits=2)["value"],
            "recycled_every": RECYCLE_AFTER,
            "with_recycling": spread([r["growth_mb"] for r in with_recycling]),
            "with_recycling_seconds": spread([r["seconds"] for r in with_recycling], digits=2)["value"],
            "with_recycling_backends": with_recycling[-1]["backends"],
        }
    ]
