"""What the top of the finance pages draws: statements by state, the payouts left to reconcile, and the margin
by store of the last closed month.

Amounts stay in their currency: a table or chart shows one currency's amounts, never a sum of two. The
reconciliation figures are reconciliation.reconcile_summary's (the reconciliation page's own), and the margins
are margins.margin_report's, so these figures equal the pages they link to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Exists, OuterRef, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import Store
from core.charts import Chart, Series, bar_chart, horizontal_bar, money_format
from core.money import round_money
from orders.models import Order
from settlement import reconciliation as rec
from settlement.margins import MarginFilter, MarginTotal, margin_report
from settlement.models import Period, Statement
from settlement.periods import month_of, next_month, period_bounds, previous_month

UNRECONCILED = ("unpaid", "differs")  # states the reconciliation page leaves to act on
MARGIN_STORES = 20


# ---------------------------------------------------------------- statements by state


@dataclass(frozen=True)
class StateAmount:
    state: str
    label: str
    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class StatementGroup:
    period_id: int
    state: str
    currency: str
    count: int
    total: Decimal


def statement_groups() -> list[StatementGroup]:
    """Statements per period, state and currency, with their total: one query the whole index is drawn from
    (the periods' counts and totals, the statements by state)."""
    rows = (
        Statement.objects.values("period_id", "status", "currency")
        .annotate(count=Count("pk"), total=Sum("total"))
        .order_by("period_id", "status", "currency")
    )
    return [
        StatementGroup(r["period_id"], r["status"], r["currency"], r["count"], r["total"] or Decimal(0)) for r in rows
    ]


def period_figures(groups: list[StatementGroup]) -> tuple[dict[int, int], dict[int, list[dict]]]:
    """Per period: its number of statements, and its totals per currency (``{"currency", "total"}``)."""
    counts: dict[int, int] = {}
    totals: dict[int, dict[str, Decimal]] = {}
    for g in groups:
        counts[g.period_id] = counts.get(g.period_id, 0) + g.count
        by_currency = totals.setdefault(g.period_id, {})
        by_currency[g.currency] = by_currency.get(g.currency, Decimal(0)) + g.total
    return counts, {
        pk: [{"currency": c, "total": t} for c, t in sorted(by_currency.items())] for pk, by_currency in totals.items()
    }


def statements_by_state(groups: list[StatementGroup]) -> list[StateAmount]:
    """Statements per state and currency with their total, in the states' order."""
    labels = dict(Statement.Status.choices)
    order = {state: n for n, state in enumerate(Statement.Status.values)}
    merged: dict[tuple[str, str], list] = {}
    for g in groups:
        entry = merged.setdefault((g.state, g.currency), [0, Decimal(0)])
        entry[0] += g.count
        entry[1] += g.total
    return [
        StateAmount(
            state=state,
            label=str(labels.get(state, state)),
            currency=currency,
            count=count,
            total=round_money(total, currency),
        )
        for (state, currency), (count, total) in sorted(merged.items(), key=lambda i: (order.get(i[0][0], 99), i[0][1]))
    ]


def statements_chart(rows: list[StateAmount]) -> Chart:
    counts = dict.fromkeys(Statement.Status.values, 0)
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + row.count
    labels = dict(Statement.Status.choices)
    return bar_chart(
        title=_("Statements by state"),
        x_title=_("State"),
        y_title=_("statements"),
        labels=[str(labels[state]) for state in counts],
        series=[Series(title=_("Statements"), values=list(counts.values()))],
        empty_text=_("No statement yet. Closing a month writes one per supplier and currency."),
    )


# ---------------------------------------------------------------- payouts left to reconcile


@dataclass
class StoreUnreconciled:
    store: Store
    currency: str
    orders: int
    expected: Decimal
    received: Decimal
    url: str

    @property
    def outstanding(self) -> Decimal:
        return self.expected - self.received


@dataclass
class Unreconciled:
    month: dt.date
    rows: list[StoreUnreconciled] = field(default_factory=list)

    def currencies(self) -> list[dict]:
        """Per currency: the orders left, expected, received and outstanding, over the stores."""
        totals: dict[str, dict] = {}
        for row in self.rows:
            t = totals.setdefault(
                row.currency, {"currency": row.currency, "orders": 0, "expected": Decimal(0), "received": Decimal(0)}
            )
            t["orders"] += row.orders
            t["expected"] += row.expected
            t["received"] += row.received
        for t in totals.values():
            t["outstanding"] = t["expected"] - t["received"]
        return [totals[c] for c in sorted(totals)]


def unreconciled(*, month: dt.date) -> Unreconciled:
    """Each store's orders of ``month`` still unpaid or paid a different amount, per currency, as the
    reconciliation page sums them (its summary, store by store: a few queries per store)."""
    result = Unreconciled(month=month)
    base = reverse("settlement:reconciliation")
    start, end = period_bounds(month=month)
    placed = Order.objects.filter(store=OuterRef("pk"), placed_at__gte=start, placed_at__lt=end)
    # A store with no order placed in the month has nothing to reconcile: it is not asked.
    for store in Store.objects.filter(Exists(placed)).order_by("name"):
        summary = rec.reconcile_summary(scope=rec.Scope(store=store, month=month))
        by_currency: dict[str, StoreUnreconciled] = {}
        for total in summary.states:
            if total.state not in UNRECONCILED:
                continue
            row = by_currency.setdefault(
                total.currency,
                StoreUnreconciled(
                    store=store, currency=total.currency, orders=0, expected=Decimal(0), received=Decimal(0),
                    url=f"{base}?{urlencode({'store': store.pk, 'month': month.strftime('%Y-%m')})}",
                ),
            )  # fmt: skip
            row.orders += total.orders
            row.expected += total.expected
            row.received += total.received
        result.rows.extend(by_currency[c] for c in sorted(by_currency))
    return result


def unreconciled_charts(data: Unreconciled) -> list[Chart]:
    """One chart per currency: the amount outstanding per store."""
    charts = []
    for currency in sorted({row.currency for row in data.rows}):
        rows = [row for row in data.rows if row.currency == currency]
        charts.append(
            horizontal_bar(
                title=_("Payouts left to reconcile, %(month)s, %(currency)s")
                % {"month": data.month.strftime("%Y-%m"), "currency": currency},
                x_title=_("Store"),
                y_title=_("expected − received (%(currency)s)") % {"currency": currency},
                labels=[row.store.name for row in rows],
                series=[Series(title=_("Outstanding"), values=[row.outstanding for row in rows])],
                label_links=[row.url for row in rows],
                value_format=money_format(currency),
            )
        )
    return charts


# ---------------------------------------------------------------- margin by store


@dataclass
class StoreMargins:
    month: dt.date | None
    charts: list[Chart] = field(default_factory=list)
    totals: list[MarginTotal] = field(default_factory=list)
    url: str = ""


def last_closed_month(periods: list[Period]) -> dt.date | None:
    closed = [p.month for p in periods if p.status == Period.Status.CLOSED]
    return max(closed) if closed else None


def store_margins(*, month: dt.date | None) -> StoreMargins:
    """Sale, cost and margin per store for orders placed in ``month``, one chart per currency. One query."""
    if month is None:
        return StoreMargins(month=None)
    start, end = period_bounds(month=month)
    last_day = next_month(month) - dt.timedelta(days=1)
    flt = MarginFilter(group="store", placed_from=month, placed_to=last_day, start=start, end=end)
    report = margin_report(flt=flt, size=MARGIN_STORES)
    charts = []
    for total in report.totals:
        rows = sorted((r for r in report.rows if r.currency == total.currency), key=lambda r: r.label)
        fmt = money_format(total.currency)
        charts.append(
            horizontal_bar(
                title=_("Margin by store, %(month)s, %(currency)s")
                % {"month": month.strftime("%Y-%m"), "currency": total.currency},
                x_title=_("Store"),
                y_title=_("amount (%(currency)s)") % {"currency": total.currency},
                labels=[r.label for r in rows],
                series=[
                    Series(title=_("Sale"), values=[r.sale for r in rows]),
                    Series(title=_("Cost"), values=[r.cost for r in rows]),
                    Series(title=_("Margin"), values=[r.margin for r in rows]),
                ],
                value_format=fmt,
            )
        )
    query = urlencode({"group": "store", "placed_from": month.isoformat(), "placed_to": last_day.isoformat()})
    return StoreMargins(
        month=month, charts=charts, totals=report.totals, url=f"{reverse('settlement:margins')}?{query}"
    )


# ---------------------------------------------------------------- the whole


@dataclass
class FinanceDashboard:
    statements: list[StateAmount]
    statements_chart: Chart
    unreconciled: Unreconciled
    unreconciled_currencies: list[dict]
    unreconciled_charts: list[Chart]
    margins: StoreMargins


def finance_dashboard(
    *, periods: list[Period], groups: list[StatementGroup], now: dt.datetime | None = None
) -> FinanceDashboard:
    """Everything the top of the settlement index shows, from the periods and statement groups the index read
    already; reconciliation looks at the last month that ended, margins at the last closed one."""
    now = now or timezone.now()
    statements = statements_by_state(groups)
    pending = unreconciled(month=previous_month(month_of(now)))
    return FinanceDashboard(
        statements=statements,
        statements_chart=statements_chart(statements),
        unreconciled=pending,
        unreconciled_currencies=pending.currencies(),
        unreconciled_charts=unreconciled_charts(pending),
        margins=store_margins(month=last_closed_month(periods)),
    )
