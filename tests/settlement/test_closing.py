"""Closing a month: statements per supplier and currency, month bounds in the tenant's time zone, returns,
adjustments, totals, re-running, refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from settlement.adjustments import adjustment_create
from settlement.closing import close_progress, period_close, period_close_start
from settlement.models import Period, Statement, StatementLine
from settlement.periods import month_of, period_bounds, period_for
from suppliers.models import Dispatch, Supplier
from tests.settlement.factories import UTC, lines_of, make_return, snapshot, total_of


def test_month_bounds_are_the_tenants_midnights(in_a):
    # given tenant A in Asia/Shanghai (UTC+8)
    start, end = period_bounds(month=dt.date(2026, 10, 1))

    assert start == dt.datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert end == dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert month_of(dt.datetime(2026, 10, 31, 15, 59, tzinfo=UTC)) == dt.date(2026, 10, 1)
    assert month_of(dt.datetime(2026, 10, 31, 16, 1, tzinfo=UTC)) == dt.date(2026, 11, 1)


def test_a_dispatch_shipped_at_2359_shanghai_on_the_last_day_belongs_to_october(shop, acme, october, finance):
    # given: 23:59 on 31 October in Shanghai is 15:59 UTC; 16:01 UTC is already 1 November there
    in_october = shop.ship(acme, at=dt.datetime(2026, 10, 31, 15, 59, tzinfo=UTC), quantity=2, cost="5.25")
    in_november = shop.ship(acme, at=dt.datetime(2026, 10, 31, 16, 1, tzinfo=UTC))

    # when
    period_close(period=october, actor=finance)

    # then
    billed = [line.dispatch_line_id for line in lines_of(october)]
    assert billed == [in_october.pk]
    statement = Statement.objects.get(period=october)
    assert (statement.supplier, statement.currency, statement.total) == (acme, "CNY", Decimal("10.50"))
    assert statement.status == "draft"
    assert statement.number == f"ST-202610-{acme.code}-CNY"

    # and the November one goes into November's statement when November closes
    with time_machine.travel(dt.datetime(2026, 12, 2, tzinfo=UTC)):
        november = period_for(month=dt.date(2026, 11, 1))
        period_close(period=november, actor=finance)
    assert [line.dispatch_line_id for line in lines_of(november)] == [in_november.pk]


def test_one_statement_per_supplier_and_currency(shop, acme, bolt, october, finance):
    at = dt.datetime(2026, 10, 10, tzinfo=UTC)
    shop.ship(acme, at=at, cost="1.00")
    shop.ship(acme, at=at, cost="2.00")
    shop.ship(acme, at=at, cost="3.00", currency="USD")
    shop.ship(bolt, at=at, cost="4.00")
    shop.ship(None, at=at, cost="9.00")  # the own warehouse bills nobody
    shop.ship(bolt, at=at, cost="9.00", status="accepted")  # not shipped

    summary = period_close(period=october, actor=finance)

    totals = {(s.supplier_id, s.currency): s.total for s in Statement.objects.filter(period=october)}
    assert totals == {
        (acme.pk, "CNY"): Decimal("3.00"), (acme.pk, "USD"): Decimal("3.00"), (bolt.pk, "CNY"): Decimal("4.00")
    }  # fmt: skip
    assert (summary.statements, summary.shipped) == (3, 4)
    october.refresh_from_db()
    assert october.status == "closed"
    assert october.closed_by == finance and october.closed_at is not None


def test_line_amounts_round_half_up_to_the_minor_unit_before_they_are_summed(shop, acme, october, finance):
    # given 3 × 0.1235 = 0.3705 → 0.37 and 1 × 0.0050 → 0.01 (half-up); JPY has no decimals: 3 × 0.5 = 1.5 → 2
    at = dt.datetime(2026, 10, 10, tzinfo=UTC)
    shop.ship(acme, at=at, quantity=3, cost="0.1235")
    shop.ship(acme, at=at, quantity=1, cost="0.0050")
    shop.ship(acme, at=at, quantity=3, cost="0.5000", currency="JPY")

    period_close(period=october, actor=finance)

    amounts = sorted((line.statement.currency, line.amount) for line in lines_of(october))
    assert amounts == [("CNY", Decimal("0.01")), ("CNY", Decimal("0.37")), ("JPY", Decimal("2"))]
    assert Statement.objects.get(period=october, currency="CNY").total == Decimal("0.38")
    assert Statement.objects.get(period=october, currency="JPY").total == Decimal("2")


def test_returns_of_the_month_are_negative_lines_pointing_back_to_the_shipped_line(shop, acme, finance):
    # given a line shipped and billed in September, returned (1 of 2) in October
    september = period_for(month=dt.date(2026, 9, 1))
    line = shop.ship(acme, at=dt.datetime(2026, 9, 10, tzinfo=UTC), quantity=2, cost="5.25")
    period_close(period=september, actor=finance)
    record = make_return(line, at=dt.datetime(2026, 10, 5, tzinfo=UTC), quantity=1)
    october = period_for(month=dt.date(2026, 10, 1))

    # when
    period_close(period=october, actor=finance)

    # then
    (returned,) = lines_of(october)
    shipped = StatementLine.objects.get(dispatch_line=line, kind="shipped")
    assert (returned.kind, returned.return_record, returned.quantity, returned.amount) == (
        "return", record, 1, Decimal("-5.25")
    )  # fmt: skip
    assert returned.origin == shipped
    assert shipped.statement.period == september
    assert total_of(october) == Decimal("-5.25")


def test_a_return_of_more_than_was_dispatched_is_charged_for_what_was_dispatched(shop, acme, october, finance):
    line = shop.ship(acme, at=dt.datetime(2026, 10, 1, tzinfo=UTC), quantity=1, cost="5.00")
    make_return(line, at=dt.datetime(2026, 10, 20, tzinfo=UTC), quantity=3)

    period_close(period=october, actor=finance)

    assert total_of(october) == Decimal("0.00")


def test_approved_adjustments_become_lines_and_unapproved_ones_stop_the_close(shop, acme, october, finance):
    shop.ship(acme, at=dt.datetime(2026, 10, 1, tzinfo=UTC), cost="100.00")
    adjustment_create(
        period=october, supplier=acme, currency="CNY", amount="-12.50", reason="late shipments", actor=finance,
        kind="penalty", approve=True,
    )  # fmt: skip
    pending = adjustment_create(
        period=october, supplier=acme, currency="CNY", amount="3.00", reason="freight", actor=finance
    )

    # when an adjustment waits for approval, the close is refused and nothing changes
    with pytest.raises(ValidationError, match="wait for approval"):
        period_close(period=october, actor=finance)
    october.refresh_from_db()
    assert october.status == "open" and not Statement.objects.exists()

    # when it is approved, the close bills both
    pending.approved_at, pending.approved_by = pending.created, finance
    pending.save(update_fields=["approved_at", "approved_by"])
    period_close(period=october, actor=finance)
    kinds = sorted((line.kind, line.amount) for line in lines_of(october))
    assert kinds == [("adjustment", Decimal("3.00")), ("penalty", Decimal("-12.50")), ("shipped", Decimal("100.00"))]
    assert total_of(october) == Decimal("90.50")


def test_closing_again_is_refused_and_changes_nothing(shop, acme, october, finance):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC))
    period_close(period=october, actor=finance)
    before = snapshot(october)

    with pytest.raises(ValidationError, match="closed already"):
        period_close(period=october, actor=finance)

    assert snapshot(october) == before


def test_a_closing_period_resumes_and_a_rerun_writes_nothing_twice(shop, acme, october, finance):
    # given a close that claimed the period, wrote part of its work and died (the period stays closing)
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    shop.ship(acme, at=dt.datetime(2026, 10, 4, tzinfo=UTC), cost="3.00")
    Period.objects.filter(pk=october.pk).update(status="closing")
    statement = Statement.objects.create(period=october, supplier=acme, currency="CNY", number="ST-202610-x")

    # when it runs again
    summary = period_close(period=october, actor=finance)

    # then it finished the work, reusing the statement it found
    assert Statement.objects.get(period=october) == statement
    assert (summary.statements, summary.shipped) == (0, 2)
    assert total_of(october) == Decimal("5.00")


def test_a_month_that_has_not_ended_cannot_close(shop, acme, finance, in_a):
    november = period_for(month=dt.date(2026, 11, 1))

    with pytest.raises(ValidationError, match="not ended"):
        period_close(period=november, actor=finance)

    november.refresh_from_db()
    assert november.status == "open"


def test_months_close_in_order(shop, acme, finance, october):
    period_for(month=dt.date(2026, 9, 1))

    with pytest.raises(ValidationError, match="first"):
        period_close(period=october, actor=finance)

    october.refresh_from_db()
    assert october.status == "open"


def test_a_shipment_recorded_after_its_month_closed_is_billed_in_the_next_close(shop, acme, october, finance):
    # given October closed; then a dispatch is recorded as shipped on 30 October
    period_close(period=october, actor=finance)
    late = shop.ship(acme, at=dt.datetime(2026, 10, 30, tzinfo=UTC), cost="7.00")

    with time_machine.travel(dt.datetime(2026, 12, 2, tzinfo=UTC)):
        november = period_for(month=dt.date(2026, 11, 1))
        period_close(period=november, actor=finance)

    (line,) = lines_of(november)
    assert (line.kind, line.dispatch_line, line.amount) == ("shipped", late, Decimal("7.00"))
    assert "2026-10-30" in line.description
    assert not lines_of(october)


def test_the_task_closes_the_period_and_reports_progress(shop, acme, october, finance, run_enqueued):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")

    with run_enqueued():
        job = period_close_start(period=october, actor=finance)
        assert job["state"] == "queued"
        october.refresh_from_db()
        assert october.status == "closing"

    october.refresh_from_db()
    assert october.status == "closed"
    progress = close_progress(period_id=october.pk)
    assert (progress["state"], progress["percent"], progress["shipped"]) == ("done", 100, 1)


def test_shipped_lines_are_written_in_dispatch_line_order_across_statements(shop, acme, bolt, october, finance):
    # given lines of two suppliers shipped in turns
    at = dt.datetime(2026, 10, 10, tzinfo=UTC)
    shipped = [shop.ship(supplier, at=at) for supplier in (bolt, acme, bolt, acme, bolt)]

    period_close(period=october, actor=finance)

    # then each went to its supplier's statement, the lines in the order of the dispatch lines
    written = [(line.dispatch_line_id, line.statement.supplier_id) for line in lines_of(october)]
    assert written == [(line.pk, line.dispatch.supplier_id) for line in shipped]


def test_the_close_gives_back_the_settings_it_changed_for_its_statements(shop, acme, october, finance):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC), cost="2.00")
    settings = "SELECT current_setting('work_mem'), current_setting('enable_mergejoin')"
    with connection.cursor() as cursor:
        cursor.execute(settings)
        before = cursor.fetchone()

    period_close(period=october, actor=finance)

    # then the planner settings are what they were
    with connection.cursor() as cursor:
        cursor.execute(settings)
        assert cursor.fetchone() == before
    # and the lines' foreign keys are deferred again: a dangling reference is refused at commit, not at once
    november = period_for(month=dt.date(2026, 11, 1))
    statement = Statement.objects.create(period=november, supplier=acme, currency="CNY", number="ST-202611-x")
    with transaction.atomic():
        StatementLine.objects.create(statement=statement, kind="adjustment", amount=Decimal(1), origin_id=10**9)
        transaction.set_rollback(True)


def test_dispatches_shipped_late_carry_the_suppliers_penalty_once(shop, acme, bolt, october, finance):
    # given Acme's terms: 20.00 CNY a dispatch shipped after its deadline; Bolt has no penalty
    Supplier.objects.filter(pk=acme.pk).update(currency="CNY", late_ship_penalty=Decimal("20.00"))
    at = dt.datetime(2026, 10, 10, 8, 0, tzinfo=UTC)
    late = shop.ship(acme, at=at, cost="50.00")
    on_time = shop.ship(acme, at=at, cost="30.00")
    bolt_late = shop.ship(bolt, at=at, cost="10.00")
    Dispatch.objects.filter(pk__in=[late.dispatch_id, bolt_late.dispatch_id]).update(ship_by=at - dt.timedelta(hours=3))
    Dispatch.objects.filter(pk=on_time.dispatch_id).update(ship_by=at + dt.timedelta(hours=3))

    summary = period_close(period=october, actor=finance)

    (penalty,) = StatementLine.objects.filter(kind="penalty")
    assert summary.penalties == 1
    assert penalty.dispatch_id == late.dispatch_id and penalty.amount == Decimal("-20.00")
    assert (
        "late-shipment penalty" in penalty.description and "2026-10-10 16:00 > 2026-10-10 13:00" in penalty.description
    )
    statement = Statement.objects.get(period=october, supplier=acme)
    assert statement.total == Decimal("60.00")  # 50 + 30 − 20
    assert statement.total == sum(line.amount for line in statement.lines.all())
    with pytest.raises(ValidationError):
        period_close(period=october, actor=finance)
    assert StatementLine.objects.filter(kind="penalty").count() == 1


def test_a_late_shipment_is_looked_for_three_closed_months_back_and_no_further(shop, acme, finance, in_a):
    # given June to September closed (empty); then two shipments are recorded: of 10 June and of 10 July
    for month in (6, 7, 8, 9):
        period_close(period=period_for(month=dt.date(2026, month, 1)), actor=finance)
    too_old = shop.ship(acme, at=dt.datetime(2026, 6, 10, tzinfo=UTC), cost="5.00")
    in_reach = shop.ship(acme, at=dt.datetime(2026, 7, 10, tzinfo=UTC), cost="6.00")

    period_close(period=period_for(month=dt.date(2026, 10, 1)), actor=finance)

    billed = {line.dispatch_line_id for line in StatementLine.objects.filter(kind="shipped")}
    assert in_reach.pk in billed and too_old.pk not in billed
