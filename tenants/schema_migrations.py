"""Migrating many tenant schemas: a fast check for what is pending, then the migration executor only where needed.

django-tenants' ``migrate_schemas --tenant`` runs Django's migrate command in every schema, one after the other
(or in a process pool): each run loads the migration graph, reads that schema's django_migrations, emits
pre/post-migrate signals and finds nothing to do — about 0.14 s a schema, over two minutes for 1,000 tenants
with nothing pending. Here the applied migrations of every schema are read in a few queries (one UNION ALL per
chunk of schemas) and compared with the code's migration graph; only the schemas that miss something are handed
to Django's migrate command (the same one migrate_schemas runs, signals and all), in a pool of worker
processes when there are several. The check is conservative: a schema it flags that turns out to be current
costs one executor run, never a skipped migration.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import multiprocessing
import pkgutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import get_public_schema_name, get_tenant_base_migrate_command_class

from tenants.models import Tenant

logger = logging.getLogger(__name__)

CHUNK = 250  # schemas read per query


@dataclass
class MigrationRun:
    """What a run found and did: schemas checked, those migrated, and those that failed (name -> error)."""

    checked: int = 0
    pending: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    check_seconds: float = 0.0
    migrate_seconds: float = 0.0


def tenant_schemas() -> list[str]:
    """Every tenant's schema, the template first (new tenants are copied from it)."""
    rows = (
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .order_by("-is_template", "schema_name")
        .values_list("schema_name", flat=True)
    )
    return list(rows)


@functools.cache
def code_migrations() -> frozenset[tuple[str, str]]:
    """(app label, migration name) of every migration file of the installed apps, found on disk without
    importing them (a fresh process would spend a third of a second importing every migration module).

    Django's graph holds the same names, except that a squashed migration and the ones it replaces are both
    files: a schema that recorded only one side looks pending, and the executor then finds nothing to do."""
    names = set()
    for app_config in apps.get_app_configs():
        module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
        spec = importlib.util.find_spec(module_name) if module_name else None
        if spec is None or not spec.submodule_search_locations:
            continue
        for _finder, name, is_package in pkgutil.iter_modules(spec.submodule_search_locations):
            if not is_package and name[0] not in "_~":
                names.add((app_config.label, name))
    return frozenset(names)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def schemas_pending(schemas: list[str]) -> list[str]:
    """The schemas among ``schemas`` that miss at least one migration of the code (or have no django_migrations
    table yet), in the order given. Reads each schema's applied migrations with one query per CHUNK schemas."""
    if not schemas:
        return []
    expected = code_migrations()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid"
            " WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [schemas],
        )
        readable = {row[0] for row in cursor.fetchall()}
        applied: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
        for chunk in _chunks([schema for schema in schemas if schema in readable], CHUNK):
            union = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {connection.ops.quote_name(schema)}.django_migrations"  # noqa: S608
                for schema in chunk
            )
            cursor.execute(union, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return [schema for schema in schemas if schema not in readable or not expected <= applied[schema]]


def _has_table_by_name(recorder: MigrationRecorder) -> bool:
    """MigrationRecorder.has_table, by one index lookup of django_migrations in the connection's schema.

    Django's own asks the introspection for every table visible on the search path: a scan of pg_class, which
    holds ~450 relations per tenant schema. With 1,000 tenants that scan, made several times per schema
    migrated, was most of django-tenants' time (so migrating got slower per schema with every tenant added)."""
    if recorder._has_table:
        return True
    table = f"{recorder.connection.ops.quote_name(recorder.connection.schema_name)}.{recorder.Migration._meta.db_table}"
    with recorder.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        recorder._has_table = cursor.fetchone()[0]
    return recorder._has_table


@contextlib.contextmanager
def _recorder_looks_up_by_name():
    original = MigrationRecorder.has_table
    MigrationRecorder.has_table = _has_table_by_name
    try:
        yield
    finally:
        MigrationRecorder.has_table = original


def _migrate_schema(schema: str, verbosity: int = 0) -> tuple[str, str | None, float]:
    """Run Django's migrate command in ``schema`` as migrate_schemas does; (schema, error or None, seconds)."""
    started = time.perf_counter()
    try:
        # django_migrations must exist in the schema itself first, or the public one would be found on the path.
        connection.set_schema(schema, include_public=False)
        with _recorder_looks_up_by_name():
            MigrationRecorder(connection).ensure_schema()
            connection.set_schema(schema)
            call_command(
                get_tenant_base_migrate_command_class()(), interactive=False, verbosity=verbosity, skip_checks=True
            )
    except Exception as exc:  # every schema is tried; each failure is reported with its schema
        logger.exception("migration failed", extra={"schema": schema})
        return schema, f"{type(exc).__name__}: {exc}", time.perf_counter() - started
    finally:
        connection.set_schema_to_public()
    return schema, None, time.perf_counter() - started


def _pool_child_start() -> None:
    # A forked child must not share the parent's socket to PostgreSQL (the parent closed it before forking).
    for conn in connections.all(initialized_only=True):
        conn.inc_thread_sharing()
        conn.close()
        conn.dec_thread_sharing()


def schemas_migrate(
    *,
    schemas: list[str] | None = None,
    workers: int = 1,
    verbosity: int = 0,
    progress: Callable[[str, str | None], None] | None = None,
) -> MigrationRun:
    """Bring every tenant schema (or ``schemas``) up to the code's migrations.

    Schemas with nothing pending are not touched (no executor, no signals). Pending ones are migrated by
    Django's migrate command, in this process when ``workers`` is 1 or one schema is pending, else in a pool of
    ``workers`` forked processes; the template goes first, alone, so provisioning copies a current template as
    early as possible. A schema whose migration fails is reported in ``failed`` with its error and does not stop
    the others. ``progress(schema, error)`` is called as each schema finishes. Call it outside any transaction
    when ``workers`` > 1 (the children cannot see uncommitted rows).
    """
    run = MigrationRun()
    started = time.perf_counter()
    schemas = tenant_schemas() if schemas is None else schemas
    run.checked = len(schemas)
    run.pending = schemas_pending(schemas)
    run.check_seconds = time.perf_counter() - started
    started = time.perf_counter()

    def record(result: tuple[str, str | None, float]) -> None:
        schema, error, _seconds = result
        if error is None:
            run.migrated.append(schema)
        else:
            run.failed[schema] = error
        if progress is not None:
            progress(schema, error)

    template = Tenant.objects.filter(is_template=True).values_list("schema_name", flat=True).first()
    queue = list(run.pending)
    if template in queue:
        queue.remove(template)
        record(_migrate_schema(template, verbosity))
    if workers <= 1 or len(queue) <= 1:
        for schema in queue:
            record(_migrate_schema(schema, verbosity))
    else:
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(queue)), mp_context=context, initializer=_pool_child_start
        ) as pool:
            for result in pool.map(_migrate_schema, queue, [verbosity] * len(queue), chunksize=4):
                record(result)
    run.migrate_seconds = time.perf_counter() - started
    logger.info(
        "tenant schemas migrated",
        extra={
            "checked": run.checked,
            "pending": len(run.pending),
            "migrated": len(run.migrated),
            "failed": len(run.failed),
            "check_seconds": round(run.check_seconds, 3),
            "migrate_seconds": round(run.migrate_seconds, 3),
        },
    )
    return run
