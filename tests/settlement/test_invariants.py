"""The close's invariants, property-tested: each example ships lines at random moments around October (in
Asia/Shanghai), returns some, adds adjustments, closes September and October, and checks:

- a shipped dispatch line appears in exactly one statement (or none, if it did not ship before the end of
  the last closed month, or shipped from the own warehouse);
- a statement's total equals the sum of its lines;
- for a period, the sum over its statements = shipped cost − chargeable returns + adjustments.

Each example runs in a savepoint rolled back at its end, inside the test's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import quantum
from settlement.adjustments import adjustment_create
from settlement.closing import period_close
from settlement.models import Statement, StatementLine
from settlement.periods import month_of, period_bounds, period_for
from tests.settlement.factories import UTC, Shop, make_return

SEPTEMBER, OCTOBER = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
# From 1 September 00:00 Shanghai to 2 November, by the minute, with the month edges over-weighted.
_EDGES = [dt.datetime(2026, 10, 31, 15, 59, tzinfo=UTC), dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
          dt.datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC), dt.datetime(2026, 9, 30, 16, 0, tzinfo=UTC)]  # fmt: skip
moments = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(0, 62 * 24 * 60).map(lambda m: dt.datetime(2026, 8, 31, 16, 0, tzinfo=UTC) + dt.timedelta(minutes=m)),
)
shipments = st.lists(
    st.tuples(
        st.integers(0, 2),  # which supplier; 2 = the own warehouse
        moments,
        st.integers(1, 5),
        st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999.9999"), places=4),
        st.sampled_from(["CNY", "USD", "JPY", "KWD"]),
        st.one_of(st.none(), st.integers(1, 6)),  # returned units, if any
        moments,  # when it was returned
    ),
    max_size=12,
)
adjustments = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(["CNY", "USD"]), st.integers(-5000, 5000).filter(bool)),
    max_size=3,
)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(shipped=shipments, adjusted=adjustments)
def test_close_invariants(in_a, acme, bolt, finance, shipped, adjusted):
    with transaction.atomic():
        shop = Shop()  # made inside the example: its order, product and sources go when the example is rolled back
        suppliers = [acme, bolt, None]
        september, october = period_for(month=SEPTEMBER), period_for(month=OCTOBER)
        _start, end = period_bounds(month=OCTOBER)
        written = []
        for who, at, quantity, cost, currency, returned, returned_at in shipped:
            line = shop.ship(suppliers[who], at=at, quantity=quantity, cost=str(cost), currency=currency)
            record = make_return(line, at=returned_at, quantity=returned) if returned else None
            written.append((line, who, at, record))
        for who, currency, cents in adjusted:
            adjustment_create(
                period=october, supplier=suppliers[who], currency=currency, amount=Decimal(cents) / 100,
                reason="adjust", actor=finance, approve=True,
            )  # fmt: skip

        period_close(period=september, actor=finance)
        period_close(period=october, actor=finance)

        # a shipped line appears in exactly one statement
        billed = dict(
            StatementLine.objects.filter(kind="shipped").values_list("dispatch_line_id").annotate(n=Count("id"))
        )
        for line, who, at, _record in written:
            expected = 1 if who < 2 and at < end and at >= period_bounds(month=SEPTEMBER)[0] else 0
            assert billed.get(line.pk, 0) == expected
        # a statement's total is the sum of its lines
        for statement in Statement.objects.annotate(lines_total=Sum("lines__amount")):
            assert statement.total == statement.lines_total
        # per period: shipped cost − chargeable returns + adjustments
        for period, month in ((september, SEPTEMBER), (october, OCTOBER)):
            start, stop = period_bounds(month=month)
            expected: dict[str, Decimal] = defaultdict(Decimal)
            for line, who, at, record in written:
                if who == 2:
                    continue
                currency = line.cost_currency
                if start <= at < stop:
                    expected[currency] += _round(line.quantity * line.unit_cost, currency)
                if record and start <= record.created < stop:
                    units = min(record.quantity, line.quantity)
                    expected[currency] -= _round(units * line.unit_cost, currency)
            if month == OCTOBER:
                for _who, currency, cents in adjusted:
                    expected[currency] += Decimal(cents) / 100
            got = dict(Statement.objects.filter(period=period).values_list("currency").annotate(t=Sum("total")))
            assert {c: t for c, t in got.items()} == {c: t for c, t in expected.items() if c in got or t}, month_of(
                start
            )
        transaction.set_rollback(True)
