"""A closed period never changes: the database refuses, whether the ORM or raw SQL writes.

Every refusal is IntegrityError (SQLSTATE 23000, raised by the triggers of migration
settlement/0002_closed_period_triggers) with a message starting "settlement:".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import Adjustment, Period, Statement, StatementLine
from settlement.periods import period_for
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.settlement.factories import UTC, snapshot

TRIGGERS = {
    ("settlement_period", "settlement_period_final"),
    ("settlement_adjustment", "settlement_adjustment_frozen"),
    ("settlement_statement", "settlement_statement_frozen"),
    ("settlement_statementline", "settlement_line_insert_frozen"),
    ("settlement_statementline", "settlement_line_update_frozen"),
    ("settlement_statementline", "settlement_line_delete_frozen"),
}


@pytest.fixture
def closed(shop, acme, october, finance):
    """October closed with one statement of two lines; returns (statement, line)."""
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    period_close(period=october, actor=finance)
    statement = Statement.objects.get(period=october)
    return statement, statement.lines.first()


def _refused(sql_or_call, params=()):
    """Run a write that must be refused, in a savepoint; returns the error."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        if callable(sql_or_call):
            sql_or_call()
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql_or_call, params)
    assert "settlement:" in str(caught.value) and "closed period" in str(caught.value)
    return caught.value


def test_a_closed_periods_line_refuses_an_orm_update(closed, october):
    _statement, line = closed
    before = snapshot(october)

    line.amount = Decimal("999.00")
    _refused(line.save)
    _refused(lambda: StatementLine.objects.filter(pk=line.pk).update(description="changed"))

    assert snapshot(october) == before


def test_a_closed_periods_line_refuses_a_raw_sql_update_and_delete(closed, october):
    statement, line = closed
    before = snapshot(october)

    error = _refused("UPDATE settlement_statementline SET amount = 0 WHERE id = %s", [line.pk])
    assert error.__cause__.pgcode == "23000"  # integrity_constraint_violation, from the trigger
    _refused("DELETE FROM settlement_statementline WHERE id = %s", [line.pk])
    _refused(
        "INSERT INTO settlement_statementline (statement_id, kind, amount, description) VALUES (%s, 'adjustment', 1, '')",
        [statement.pk],
    )

    assert snapshot(october) == before


def test_a_closed_periods_statement_refuses_changes_to_what_it_bills_and_deletion(closed, october):
    statement, _line = closed
    before = snapshot(october)

    _refused("UPDATE settlement_statement SET total = total + 1 WHERE id = %s", [statement.pk])
    _refused("UPDATE settlement_statement SET number = 'ST-other' WHERE id = %s", [statement.pk])
    _refused("DELETE FROM settlement_statement WHERE id = %s", [statement.pk])
    _refused(statement.delete)

    assert snapshot(october) == before


def test_a_closed_periods_statement_still_moves_through_its_states(closed):
    statement, _line = closed

    Statement.objects.filter(pk=statement.pk).update(status="issued", payment_reference="")

    assert Statement.objects.get(pk=statement.pk).status == "issued"


def test_a_closed_period_cannot_be_reopened_or_deleted(closed, october):
    _refused("UPDATE settlement_period SET status = 'open' WHERE id = %s", [october.pk])
    _refused("DELETE FROM settlement_period WHERE id = %s", [october.pk])

    october.refresh_from_db()
    assert october.status == "closed"


def test_a_closed_periods_adjustments_are_frozen_and_none_can_be_added(shop, acme, october, finance):
    # given an adjustment approved in October, then October closed
    adjustment = adjustment_create(
        period=october, supplier=acme, currency="CNY", amount="1.00", reason="freight", actor=finance, approve=True
    )
    period_close(period=october, actor=finance)

    _refused("UPDATE settlement_adjustment SET amount = 5 WHERE id = %s", [adjustment.pk])
    _refused("DELETE FROM settlement_adjustment WHERE id = %s", [adjustment.pk])
    _refused(Adjustment(period=october, supplier=acme, currency="CNY", amount=Decimal("1.00"), reason="x").save)

    assert list(Adjustment.objects.values_list("pk", "amount")) == [(adjustment.pk, Decimal("1.00"))]


def test_an_open_periods_rows_can_change(shop, acme, finance):
    november = period_for(month=dt.date(2026, 11, 1))
    adjustment = adjustment_create(
        period=november, supplier=acme, currency="CNY", amount="1.00", reason="x", actor=finance
    )

    Adjustment.objects.filter(pk=adjustment.pk).update(reason="freight")
    Adjustment.objects.filter(pk=adjustment.pk).delete()

    assert not Adjustment.objects.exists()


def _triggers(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND t.tgname LIKE 'settlement_%%' AND NOT t.tgisinternal""",
            [schema],
        )
        return set(cursor.fetchall())


def test_every_tenant_schema_has_the_triggers(db, tenant_a, tenant_b):
    # the template (migrated), the tenants cloned from it, and a tenant provisioned now
    gamma = tenant_provision(
        slug="gamma", name="Gamma", owner_email="o@gamma.test", owner_password="a-long-passphrase-7"
    )

    schemas = [settings.TENANT_BASE_SCHEMA, tenant_a.schema_name, tenant_b.schema_name, gamma.schema_name]
    assert [_triggers(schema) for schema in schemas] == [TRIGGERS] * 4
    assert set(Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)) <= set(schemas)


def test_a_provisioned_tenants_trigger_refuses_writes_to_its_own_closed_period(db, make_supplier):
    # given a tenant cloned from the template after the triggers were installed, with a closed period
    gamma = tenant_provision(
        slug="gamma", name="Gamma", owner_email="o@gamma.test", owner_password="a-long-passphrase-7"
    )
    supplier = make_supplier(gamma)
    with schema_context(gamma.schema_name):
        period = Period.objects.create(month=dt.date(2026, 9, 1), status="closing")
        statement = Statement.objects.create(period=period, supplier=supplier, currency="CNY", number="ST-g")
        line = StatementLine.objects.create(statement=statement, kind="adjustment", amount=Decimal("1.00"))
        Period.objects.filter(pk=period.pk).update(status="closed", closed_at=dt.datetime(2026, 10, 1, tzinfo=UTC))

        _refused("UPDATE settlement_statementline SET amount = 2 WHERE id = %s", [line.pk])
        assert StatementLine.objects.get(pk=line.pk).amount == Decimal("1.00")
