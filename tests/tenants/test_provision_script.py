"""Provisioning by replaying the template's DDL script: the schema it makes is the template's (as django-tenants'
clone made it), the script follows the template's migrations, and two provisionings may run at once."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from tenants import schema_script
from tenants.models import Domain, Tenant
from tenants.schema_script import (
    SchemaScriptError,
    schema_create_from_template,
    schema_describe,
    schema_script_for,
    template_key,
)
from tenants.services import tenant_provision

TEMPLATE = settings.TENANT_BASE_SCHEMA
GOOD_PASSWORD = "a-long-enough-passphrase-7"
# What provisioning adds to the template's rows: the owner, and the audit event of their creation.
OWNER_TABLES = ("auth_user", "accounts_profile", "accounts_auditevent")


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    """Each test starts as a process that has kept no script in memory (tests roll the table back, not it)."""
    monkeypatch.setattr(schema_script, "_scripts", {})


def _rows(schema: str) -> dict[str, str]:
    """Every table's rows in ``schema``, hashed (the template's data rows: migrations, content types, …)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'", [schema])
        tables = sorted(row[0] for row in cursor.fetchall())
        hashed = {}
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \"{schema}\".\"{table}\" t"
            )
            hashed[table] = cursor.fetchone()
    return hashed


def _script() -> str:
    return schema_script_for(template=TEMPLATE)[1]


def test_a_provisioned_schema_is_the_template_with_its_rows(db):
    # when
    tenant = tenant_provision(slug="kappa", name="Kappa", owner_email="o@kappa.test", owner_password=GOOD_PASSWORD)

    # then: same tables, columns, defaults, identities, sequences, constraints, indexes, FKs, functions, triggers
    template, copy = schema_describe(schema=TEMPLATE), schema_describe(schema=tenant.schema_name)
    assert copy == template
    assert len(template["triggers"]) >= 12 and len(template["functions"]) >= 6 and len(template["indexes"]) > 100
    # and the template's rows, but for the owner the provisioning added
    rows = _rows(tenant.schema_name)
    expected = _rows(TEMPLATE)
    assert rows.keys() == expected.keys()
    assert {t: r for t, r in rows.items() if not t.startswith(OWNER_TABLES)} == {
        t: r for t, r in expected.items() if not t.startswith(OWNER_TABLES)
    }
    assert rows["django_migrations"][0] > 50


def test_a_columns_storage_other_than_its_types_is_carried_over(db):
    # given: the raw payload is compressed before it is written, so the template stores it EXTERNAL
    def storage(schema: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'raw'",
                [f"{schema}.orders_order"],
            )
            return cursor.fetchone()[0]

    assert storage(TEMPLATE) == "e"

    # when
    schema_create_from_template(schema="t_storage", template=TEMPLATE, script=_script())

    # then: the replayed schema stores it the same way, and the description compares it
    assert storage("t_storage") == "e"
    assert "SET STORAGE EXTERNAL" in _script()
    assert schema_describe(schema="t_storage")["columns"] == schema_describe(schema=TEMPLATE)["columns"]


def test_the_script_copies_the_rows_the_clone_copied_and_the_structure_more_faithfully(db):
    # given: the old way, for comparison, in this test's transaction
    CloneSchema().clone_schema(TEMPLATE, "t_cloned_cmp", "DATA")

    # when
    schema_create_from_template(schema="t_replayed_cmp", template=TEMPLATE, script=_script())

    # then: the same rows; and the template's structure exactly, where django-tenants' clone renames unique
    # constraints (…_uniq as …_key), widens identity sequences to bigint and adds explicit grants
    assert _rows("t_replayed_cmp") == _rows("t_cloned_cmp")
    assert schema_describe(schema="t_replayed_cmp") == schema_describe(schema=TEMPLATE)


def test_identities_and_defaults_use_the_new_schemas_own_sequences(db):
    # given
    tenant = tenant_provision(slug="lambda", name="Lam", owner_email="o@lambda.test", owner_password=GOOD_PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {TEMPLATE}.django_content_type_id_seq")
        template_position = cursor.fetchone()[0]

        # when: rows inserted without ids, in the new schema
        with schema_context(tenant.schema_name), connection.cursor() as inner:
            inner.execute("INSERT INTO django_content_type (app_label, model) VALUES ('x', 'y') RETURNING id")
            first = inner.fetchone()[0]
            inner.execute("INSERT INTO django_content_type (app_label, model) VALUES ('x', 'z') RETURNING id")
            second = inner.fetchone()[0]
            inner.execute(
                "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = %s::regnamespace AND a.attidentity <> ''"
                " AND pg_get_serial_sequence(format('%%I.%%I', %s, c.relname), a.attname) NOT LIKE %s",
                [tenant.schema_name, tenant.schema_name, f"{tenant.schema_name}.%"],
            )
            foreign_sequences = inner.fetchone()[0]

        # then: ids continue after the template's rows, from the copy's sequence; the template's did not move
        cursor.execute(f"SELECT last_value FROM {TEMPLATE}.django_content_type_id_seq")
        assert cursor.fetchone()[0] == template_position
    assert (first, second) == (template_position + 1, template_position + 2)
    assert foreign_sequences == 0


def test_the_script_is_replayed_in_one_round_trip_and_leaves_the_search_path_alone(db):
    script = _script()
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        before = cursor.fetchone()[0]

    with CaptureQueriesContext(connection) as queries:
        schema_create_from_template(schema="t_one_trip", template=TEMPLATE, script=script)

    assert len(queries.captured_queries) == 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == before
    assert schema_exists("t_one_trip")


def test_the_script_is_kept_in_the_database_and_reused_by_another_process(db, monkeypatch):
    # given: a process that has not seen it yet
    key, script = schema_script_for(template=TEMPLATE)
    monkeypatch.setattr(schema_script, "_scripts", {})
    generated = []
    monkeypatch.setattr(schema_script, "_generate", lambda *a: generated.append(a) or "unused")

    # when
    again = schema_script_for(template=TEMPLATE)

    # then: read from the public table, not generated
    assert again == (key, script)
    assert generated == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM public.tenants_schemascript")
        assert [row[0] for row in cursor.fetchall()] == [key]


def test_a_migration_of_the_template_makes_a_new_script(db):
    # given
    key, script = schema_script_for(template=TEMPLATE)
    assert "accounts_auditevent" in script

    # when: the template goes back before the audit log (undone inside this test's transaction)
    call_command("migrate_schemas", "accounts", "0004", schema_name=TEMPLATE, interactive=False, verbosity=0)
    lagging_key, lagging_script = schema_script_for(template=TEMPLATE)

    # then: another key, a script without the audit log, and only that script kept
    assert lagging_key != key
    assert "accounts_auditevent" not in lagging_script
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM public.tenants_schemascript")
        assert [row[0] for row in cursor.fetchall()] == [lagging_key]

    # and when the template migrates forward again, provisioning uses a script with the audit log again
    tenant = tenant_provision(slug="mu-co", name="Mu", owner_email="o@mu.test", owner_password=GOOD_PASSWORD)
    assert template_key(template=TEMPLATE) == key
    assert schema_describe(schema=tenant.schema_name) == schema_describe(schema=TEMPLATE)


def test_a_script_taken_before_the_template_migrated_is_refused_and_leaves_nothing(db):
    # given: a script, then the template migrates (back, here)
    script = _script()
    call_command("migrate_schemas", "accounts", "0004", schema_name=TEMPLATE, interactive=False, verbosity=0)

    # when
    with pytest.raises(DatabaseError, match="template migrated"), transaction.atomic():
        schema_create_from_template(schema="t_stale", template=TEMPLATE, script=script)

    # then
    assert not schema_exists("t_stale")


def test_what_the_script_cannot_rebuild_is_refused_by_name(db, monkeypatch):
    # given: a view in the template, and no kept script
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIEW {TEMPLATE}.relay_odd_view AS SELECT 1 AS one")
        cursor.execute("DELETE FROM public.tenants_schemascript")
    monkeypatch.setattr(schema_script, "_scripts", {})

    # when / then
    with pytest.raises(SchemaScriptError, match="relay_odd_view"):
        schema_script_for(template=TEMPLATE)


def test_a_script_that_would_differ_from_the_template_is_not_kept(db, monkeypatch):
    # given: a generator that forgets the triggers
    real = schema_script._triggers
    monkeypatch.setattr(schema_script, "_triggers", lambda *a: real(*a)[:-1])
    monkeypatch.setattr(schema_script, "_scripts", {})
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.tenants_schemascript")

    # when / then
    with pytest.raises(SchemaScriptError, match="triggers"):
        schema_script_for(template=TEMPLATE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.tenants_schemascript")
        assert cursor.fetchone()[0] == 0


# ---------------------------------------------------------------- two at once (committed, cleaned up)


def _drop_tenant(slug: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "t_{slug.replace("-", "_")}" CASCADE')
    Domain.objects.filter(tenant__slug=slug).delete()
    Tenant.objects.filter(slug=slug).delete()


def test_two_provisionings_at_once_both_succeed(django_db_setup, django_db_blocker, monkeypatch):
    # given: no script in memory or in the table, so both may generate it too
    monkeypatch.setattr(schema_script, "_scripts", {})
    slugs = ["nu-one", "nu-two"]
    barrier = threading.Barrier(len(slugs))
    errors: list[BaseException] = []

    def provision(slug: str) -> None:
        try:
            barrier.wait()
            tenant_provision(slug=slug, name=slug, owner_email=f"o@{slug}.test", owner_password=GOOD_PASSWORD)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM public.tenants_schemascript")
        try:
            # when
            threads = [threading.Thread(target=provision, args=(slug,)) for slug in slugs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)

            # then
            assert errors == []
            template = schema_describe(schema=TEMPLATE)
            for slug in slugs:
                tenant = Tenant.objects.get(slug=slug)
                assert schema_describe(schema=tenant.schema_name) == template
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM public.tenants_schemascript")
                assert cursor.fetchone()[0] == 1
        finally:
            for slug in slugs:
                _drop_tenant(slug)


def test_tables_come_after_the_tables_they_reference_and_a_cycle_is_closed_by_alter_table():
    constraints = [
        ("p", "a_order", "a_pk", "PRIMARY KEY (id)", None),
        ("f", "a_order", "a_to_b", "FOREIGN KEY (b_id) REFERENCES b_line(id)", "b_line"),
        ("f", "b_line", "b_to_a", "FOREIGN KEY (a_id) REFERENCES a_order(id)", "a_order"),
        ("f", "c_note", "c_to_b", "FOREIGN KEY (b_id) REFERENCES b_line(id)", "b_line"),
        ("f", "c_note", "c_to_c", "FOREIGN KEY (parent_id) REFERENCES c_note(id)", "c_note"),
        ("c", "c_note", "c_check", "CHECK ((id > 0)) NOT VALID", None),
    ]

    order, inline, later = schema_script._placement(["c_note", "b_line", "a_order"], constraints)

    assert order == ["a_order", "b_line", "c_note"]
    assert inline == {
        "a_order": ['CONSTRAINT "a_pk" PRIMARY KEY (id)'],
        "b_line": ['CONSTRAINT "b_to_a" FOREIGN KEY (a_id) REFERENCES a_order(id)'],
        "c_note": [
            'CONSTRAINT "c_to_b" FOREIGN KEY (b_id) REFERENCES b_line(id)',
            'CONSTRAINT "c_to_c" FOREIGN KEY (parent_id) REFERENCES c_note(id)',
        ],
    }
    assert later == [
        ("f", 'ALTER TABLE "a_order" ADD CONSTRAINT "a_to_b" FOREIGN KEY (b_id) REFERENCES b_line(id)'),
        ("c", 'ALTER TABLE "c_note" ADD CONSTRAINT "c_check" CHECK ((id > 0)) NOT VALID'),
    ]
