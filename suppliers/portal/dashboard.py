"""What the supplier portal's home draws: the supplier's own queue by state and its on-time rate by month.

Every read takes the signed-in user's supplier (suppliers.portal.access.portal_supplier) and filters by it, so
another supplier's dispatches are never counted. The on-time rate is the scorecard's (suppliers.scorecard), the
figure the merchant sees on the supplier's page: per month a dispatch was routed in, the shipped dispatches
that had a ship-by deadline, and how many of them shipped at or before it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from core.charts import Chart, Series, horizontal_bar, line_chart, percent
from suppliers.models import Dispatch, Supplier
from suppliers.scorecard import MonthScore, supplier_scorecard

MONTHS = 6
# The queue's states in the order a dispatch moves through them; "accepted" is the portal's "to ship".
QUEUE_STATES = (
    Dispatch.Status.PENDING,
    Dispatch.Status.ACCEPTED,
    Dispatch.Status.SHIPPED,
    Dispatch.Status.REJECTED,
    Dispatch.Status.CANCELLED,
)
_LIST_FILTER = {Dispatch.Status.ACCEPTED: "to_ship"}


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int
    list_state: str  # the portal list's "state" filter that shows these dispatches


def queue_by_state(*, supplier: Supplier) -> list[StateCount]:
    """The supplier's dispatches per state, every state listed (zeros too), in the queue's order. One query."""
    counts = dict(Dispatch.objects.filter(supplier=supplier).values_list("status").annotate(n=Count("pk")).order_by())
    labels = dict(Dispatch.Status.choices)
    return [
        StateCount(
            state=state, label=str(labels[state]), count=counts.get(state, 0), list_state=_LIST_FILTER.get(state, state)
        )
        for state in QUEUE_STATES
    ]


@dataclass(frozen=True)
class MonthRate:
    month: dt.date
    shipped_with_deadline: int
    on_time: int

    @property
    def percent(self) -> Decimal | None:
        if not self.shipped_with_deadline:
            return None
        return (Decimal(self.on_time) * 100 / Decimal(self.shipped_with_deadline)).quantize(Decimal("0.1"))


def on_time_by_month(
    *, supplier: Supplier, tz: dt.tzinfo, now: dt.datetime | None = None, months: int = MONTHS
) -> list[MonthRate]:
    """The last ``months`` months (oldest first, the current one last) with the supplier's on-time rate; a
    month with nothing shipped against a deadline has no rate (None), not 0%. Two queries (the scorecard's)."""
    scores: list[MonthScore] = supplier_scorecard(supplier_id=supplier.pk, tz=tz, months=months, now=now)
    return [MonthRate(month=s.month, shipped_with_deadline=s.with_deadline, on_time=s.on_time) for s in scores]


# ---------------------------------------------------------------- the charts


def queue_chart(rows: list[StateCount]) -> Chart:
    base = reverse("suppliers:portal_dispatches")
    links = [f"{base}?{urlencode({'state': row.list_state})}" for row in rows]
    return horizontal_bar(
        title=_("Your dispatches by state"),
        x_title=_("State"),
        y_title=_("dispatches"),
        labels=[row.label for row in rows],
        series=[Series(title=_("Dispatches"), values=[row.count for row in rows], links=links)],
        label_links=links,
        empty_text=_("No dispatch yet. New ones appear here as the merchant's orders are routed to you."),
    )


def on_time_chart(rows: list[MonthRate]) -> Chart:
    return line_chart(
        title=_("Shipped on time, by month"),
        x_title=_("Month routed"),
        y_title=_("On time (%)"),
        labels=[row.month.strftime("%Y-%m") for row in rows],
        series=[Series(title=_("On time"), values=[row.percent for row in rows])],
        value_format=percent,
        y_range=(0, 100),
        empty_text=_("Nothing shipped against a deadline in the last six months."),
    )
