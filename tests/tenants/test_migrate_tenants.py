"""migrate_tenants: every schema's applied migrations are checked at once; only a schema missing one is migrated,
and a schema that fails is named and makes the command fail."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenants import schema_migrations, schema_script
from tenants.schema_migrations import schemas_pending, tenant_schemas
from tenants.schema_script import schema_script_for, template_key

ORIGINAL_HAS_TABLE = MigrationRecorder.has_table


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    """Each test starts as a process that has kept no script in memory (tests roll the table back, not it)."""
    monkeypatch.setattr(schema_script, "_scripts", {})


def _unapplied(schema: str) -> list:
    with schema_context(schema):
        executor = MigrationExecutor(connection)
        return executor.migration_plan(executor.loader.graph.leaf_nodes())


def _has_table(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{schema}.{table}"])
        return cursor.fetchone()[0]


@pytest.fixture
def migrated(monkeypatch):
    """The schemas the migrate command really ran in, in order."""
    seen: list[str] = []
    real = schema_migrations._migrate_schema

    def spy(schema, verbosity=0):
        seen.append(schema)
        return real(schema, verbosity)

    monkeypatch.setattr(schema_migrations, "_migrate_schema", spy)
    return seen


def test_every_tenant_schema_is_listed_template_first(tenant_a, tenant_b):
    schemas = tenant_schemas()

    assert schemas[0] == settings.TENANT_BASE_SCHEMA
    assert {tenant_a.schema_name, tenant_b.schema_name} <= set(schemas)
    assert "public" not in schemas


def test_nothing_pending_touches_no_schema(db, migrated, capsys):
    call_command("migrate_tenants", "--workers", "1")

    assert migrated == []
    assert "0 pending, 0 migrated, 0 failed" in capsys.readouterr().out


def test_only_the_schema_with_a_pending_migration_is_migrated(tenant_a, tenant_b, migrated, capsys):
    # given: beta lags behind the audit log (undone inside this test's transaction)
    call_command(
        "migrate_schemas", "accounts", "0004", schema_name=tenant_b.schema_name, interactive=False, verbosity=0
    )
    assert not _has_table(tenant_b.schema_name, "accounts_auditevent")
    assert schemas_pending(tenant_schemas()) == [tenant_b.schema_name]

    # when
    with CaptureQueriesContext(connection) as queries:
        call_command("migrate_tenants", "--workers", "1")

    # then
    assert migrated == [tenant_b.schema_name]
    # no listing of every visible table (a scan of pg_class, which grows with every tenant) to find django_migrations
    assert not [q["sql"] for q in queries.captured_queries if "pg_table_is_visible" in q["sql"]]
    assert MigrationRecorder.has_table is ORIGINAL_HAS_TABLE
    assert _unapplied(tenant_b.schema_name) == []
    assert _has_table(tenant_b.schema_name, "accounts_auditevent")
    assert "1 pending, 1 migrated, 0 failed" in capsys.readouterr().out


def test_a_schema_without_a_migrations_table_is_pending(db):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "t_bare"')

    assert schemas_pending(["t_bare", settings.TENANT_BASE_SCHEMA]) == ["t_bare"]


def test_a_failing_schema_is_named_and_the_others_still_migrate(tenant_a, tenant_b, migrated, capsys):
    # given: alpha lags honestly; beta "forgot" it applied the audit log, whose table is there (it will clash)
    call_command(
        "migrate_schemas", "accounts", "0004", schema_name=tenant_a.schema_name, interactive=False, verbosity=0
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {tenant_b.schema_name}.django_migrations WHERE app = 'accounts' AND name = '0005_audit'"
        )

    # when
    with pytest.raises(CommandError, match=f"migration failed in 1 schema\\(s\\): {tenant_b.schema_name}$"):
        call_command("migrate_tenants", "--workers", "1")

    # then: both tried, alpha migrated, beta reported with its error
    assert sorted(migrated) == sorted([tenant_a.schema_name, tenant_b.schema_name])
    assert _unapplied(tenant_a.schema_name) == []
    err = capsys.readouterr().err
    assert f"{tenant_b.schema_name}: FAILED" in err
    assert "already exists" in err


def test_the_command_can_be_limited_to_named_schemas(tenant_a, tenant_b, migrated):
    for tenant in (tenant_a, tenant_b):
        call_command(
            "migrate_schemas", "accounts", "0004", schema_name=tenant.schema_name, interactive=False, verbosity=0
        )

    call_command("migrate_tenants", "--workers", "1", "--schema", tenant_a.schema_name, verbosity=0)

    assert migrated == [tenant_a.schema_name]
    assert _unapplied(tenant_b.schema_name) != []


def test_a_migrated_template_has_its_new_schema_script_ready(db, migrated):
    # given: the template lags (undone inside this test's transaction) and its script is of the old state
    template = settings.TENANT_BASE_SCHEMA
    call_command("migrate_schemas", "accounts", "0004", schema_name=template, interactive=False, verbosity=0)
    lagging_key = schema_script_for(template=template)[0]

    # when
    call_command("migrate_tenants", "--workers", "1", verbosity=0)

    # then: migrated first, and the kept script is the one of its new state
    assert migrated[0] == template
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM public.tenants_schemascript")
        assert [row[0] for row in cursor.fetchall()] == [template_key(template=template)]
    assert template_key(template=template) != lagging_key


def test_ensure_template_makes_the_schema_script(db, capsys):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.tenants_schemascript")

    call_command("ensure_template")

    key = template_key(template=settings.TENANT_BASE_SCHEMA)
    assert f"(schema script {key})" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM public.tenants_schemascript")
        assert [row[0] for row in cursor.fetchall()] == [key]
