"""The statement's state machine: issue, confirm, dispute lines, resolve (adjustment or rejection), paid.
Refused moves change nothing; a supplier reaches only its own issued statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from settlement.adjustments import late_adjustment
from settlement.closing import period_close
from settlement.models import Adjustment, Statement, StatementDispute, StatementEvent, StatementLine
from settlement.periods import period_for
from settlement.statement_states import (
    IllegalTransition,
    dispute_reject,
    dispute_resolve_by_adjustment,
    statement_confirm,
    statement_dispute,
    statement_issue,
    statement_mark_paid,
)
from tests.settlement.factories import UTC, lines_of


@pytest.fixture
def statement(shop, acme, october, finance) -> Statement:
    """Acme's October statement (two lines: 2.00 and 3.00 CNY), draft, October closed."""
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    period_close(period=october, actor=finance)
    return Statement.objects.get(period=october)


@pytest.fixture
def supplier_user(in_a, acme, make_user):
    return make_user(in_a, "supplier", supplier=acme)


def _state(statement: Statement) -> tuple:
    s = Statement.objects.get(pk=statement.pk)
    return (s.status, s.issued_at, s.confirmed_at, s.paid_at, s.payment_reference, s.payment_date,
            s.events.count(), s.disputes.count(), Adjustment.objects.count())  # fmt: skip


def test_issue_confirm_and_pay(statement, acme, finance, supplier_user):
    statement_issue(statement=statement, actor=finance)
    statement_confirm(statement=statement, supplier=acme, actor=supplier_user)
    statement_mark_paid(statement=statement, reference="WIRE-881", date=dt.date(2026, 11, 19), actor=finance)

    statement.refresh_from_db()
    assert (statement.status, statement.payment_reference, statement.payment_date) == (
        "paid", "WIRE-881", dt.date(2026, 11, 19)
    )  # fmt: skip
    events = list(
        StatementEvent.objects.filter(statement=statement).values_list("from_state", "to_state", "actor_label")
    )
    assert events == [
        ("draft", "issued", finance.email), ("issued", "confirmed", supplier_user.email), ("confirmed", "paid", finance.email)
    ]  # fmt: skip


def test_refused_moves_change_nothing(statement, acme, bolt, finance, supplier_user):
    before = _state(statement)
    with pytest.raises(IllegalTransition):
        statement_mark_paid(statement=statement, reference="X", date=dt.date(2026, 11, 1), actor=finance)
    with pytest.raises(Statement.DoesNotExist):  # a draft is not the supplier's to see
        statement_confirm(statement=statement, supplier=acme, actor=supplier_user)
    assert _state(statement) == before

    statement_issue(statement=statement, actor=finance)
    before = _state(statement)
    with pytest.raises(IllegalTransition):
        statement_issue(statement=statement, actor=finance)
    with pytest.raises(Statement.DoesNotExist):  # another supplier's statement
        statement_confirm(statement=statement, supplier=bolt, actor=supplier_user)
    with pytest.raises(ValidationError, match="what is wrong"):
        statement_dispute(
            statement=statement, supplier=acme, disputes=[(statement.lines.first().pk, " ")], actor=supplier_user
        )
    with pytest.raises(ValidationError, match="not on this statement"):
        statement_dispute(statement=statement, supplier=acme, disputes=[(0, "why")], actor=supplier_user)
    assert _state(statement) == before


def test_a_draft_of_an_open_period_cannot_be_issued(shop, acme, finance):
    with time_machine.travel(dt.datetime(2026, 12, 2, tzinfo=UTC)):
        november = period_for(month=dt.date(2026, 11, 1))
    statement = Statement.objects.create(period=november, supplier=acme, currency="CNY", number="ST-open")
    before = _state(statement)

    with pytest.raises(ValidationError, match="closed"):
        statement_issue(statement=statement, actor=finance)

    assert _state(statement) == before


def test_a_dispute_resolved_by_adjustment_lands_in_the_next_open_period(statement, acme, finance, supplier_user):
    # given the supplier disputes both lines
    statement_issue(statement=statement, actor=finance)
    first, second = lines_of(statement.period)
    disputes = statement_dispute(
        statement=statement, supplier=acme, disputes=[(first.pk, "short by one"), (second.pk, "wrong price")],
        actor=supplier_user,
    )  # fmt: skip
    statement.refresh_from_db()
    assert statement.status == "disputed"

    # when finance accepts the first with an adjustment, the statement stays disputed
    resolved = dispute_resolve_by_adjustment(
        dispute=disputes[0], amount="-2.00", resolution="one unit missing", actor=finance
    )
    statement.refresh_from_db()
    assert statement.status == "disputed"
    adjustment = resolved.adjustment
    assert (adjustment.period.month, adjustment.origin, adjustment.amount, adjustment.is_approved) == (
        dt.date(2026, 11, 1), first, Decimal("-2.00"), True
    )  # fmt: skip

    # and when it rejects the second, the statement is issued again; both disputes are kept
    dispute_reject(dispute=disputes[1], resolution="price as agreed", actor=finance)
    statement.refresh_from_db()
    assert statement.status == "issued"
    assert sorted(StatementDispute.objects.values_list("status", flat=True)) == ["adjusted", "rejected"]
    with pytest.raises(ValidationError, match="resolved already"):
        dispute_reject(dispute=disputes[1], resolution="again", actor=finance)

    # and November's close bills the adjustment as a line pointing back to the disputed line
    with time_machine.travel(dt.datetime(2026, 12, 2, tzinfo=UTC)):
        period_close(period=adjustment.period, actor=finance)
    line = StatementLine.objects.get(adjustment=adjustment)
    assert (line.kind, line.amount, line.origin, line.statement.period.month) == (
        "adjustment", Decimal("-2.00"), first, dt.date(2026, 11, 1)
    )  # fmt: skip


def test_late_adjustment_of_a_closed_periods_line(statement, acme, finance):
    line = statement.lines.first()

    adjustment = late_adjustment(origin=line, amount="1.25", reason="cost corrected by the supplier", actor=finance)

    assert (adjustment.period.month, adjustment.period.status) == (dt.date(2026, 11, 1), "open")
    assert (adjustment.supplier, adjustment.currency, adjustment.origin) == (acme, "CNY", line)
    assert adjustment.approved_by == finance


def test_late_adjustment_refuses_a_line_of_a_period_not_closed(shop, acme, finance, october):
    from_statement = Statement.objects.create(period=october, supplier=acme, currency="CNY", number="ST-x")
    line = StatementLine.objects.create(statement=from_statement, kind="adjustment", amount=Decimal("1.00"))

    with pytest.raises(ValidationError, match="not closed"):
        late_adjustment(origin=line, amount="1.00", reason="x", actor=finance)

    assert not Adjustment.objects.exists()


def test_late_adjustment_skips_a_closed_next_month(shop, acme, finance):
    # given September and October closed, a September line corrected late goes to November
    september = period_for(month=dt.date(2026, 9, 1))
    shop.ship(acme, at=dt.datetime(2026, 9, 3, tzinfo=UTC))
    period_close(period=september, actor=finance)
    period_close(period=period_for(month=dt.date(2026, 10, 1)), actor=finance)

    adjustment = late_adjustment(
        origin=StatementLine.objects.get(), amount="-1.00", reason="damaged", actor=finance, kind="penalty"
    )

    assert adjustment.period.month == dt.date(2026, 11, 1)
