"""The dashboard: the console's first page, with figures and charts from every app (so it sits at the top, with
the project configuration that may import them all). The reads are in erp/dashboards/merchant.py, the
onboarding checklist in erp/onboarding.py; this module turns them into charts (core.charts)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.charts import Chart, Series, bar_chart, horizontal_bar, line_chart, percent
from erp import onboarding
from erp.dashboards import merchant
from orders.routing import selectors as routing_selectors
from orders.routing.explain import hold_code_label
from tenants.accounts.permissions import area_required

OTHER_STORES = 6  # stores drawn one by one in the orders chart; the rest add up as "Other stores"


def _day_label(day: dt.date) -> str:
    return day.strftime("%m-%d")


def orders_chart(rows: list[merchant.DayRow], days: list[dt.date]) -> Chart:
    """Orders per day, stacked per store (the busiest stores by name, the rest together)."""
    totals: dict[int, int] = {}
    names: dict[int, str] = {}
    for row in rows:
        totals[row.store_id] = totals.get(row.store_id, 0) + row.orders
        names[row.store_id] = row.store_name
    ranked = sorted(totals, key=lambda pk: (-totals[pk], names[pk]))
    shown, rest = ranked[:OTHER_STORES], set(ranked[OTHER_STORES:])
    index = {day: i for i, day in enumerate(days)}
    values = {pk: [0] * len(days) for pk in shown}
    other = [0] * len(days)
    for row in rows:
        target = other if row.store_id in rest else values[row.store_id]
        target[index[row.day]] += row.orders
    series = [Series(title=names[pk], values=values[pk]) for pk in shown]
    if rest:
        series.append(Series(title=_("Other stores"), values=other))
    return bar_chart(
        title=_("Orders per day, last 30 days"),
        x_title=_("Day"),
        y_title=_("orders per day"),
        labels=[_day_label(day) for day in days],
        series=series,
        stacked=True,
        many_labels=True,
        wide=True,
        empty_text=_("No orders in the last 30 days. Orders appear here once a store syncs."),
    )


def auto_routed_chart(rows: list[merchant.DayRow], days: list[dt.date]) -> Chart:
    """The share of routed orders that went out with no human touch, day by day (a gap on a day with none)."""
    routed = dict.fromkeys(days, 0)
    auto = dict.fromkeys(days, 0)
    for row in rows:
        routed[row.day] += row.routed
        auto[row.day] += row.auto
    return line_chart(
        title=_("Routed with no human touch, per day"),
        x_title=_("Day"),
        y_title=_("Share of routed orders (%)"),
        labels=[_day_label(day) for day in days],
        series=[Series(title=_("Auto-routed"), values=[merchant.share(auto[d], routed[d]) for d in days])],
        value_format=percent,
        y_range=(0, 100),
        many_labels=True,
        empty_text=_("No order was routed in the last 30 days."),
    )


def holds_chart(*, user) -> Chart:
    counts = routing_selectors.hold_code_counts(user=user)
    base = reverse("orders:holds")
    links = [f"{base}?{urlencode({'reason': code})}" for code, _n in counts]
    return horizontal_bar(
        title=_("Held orders waiting, by reason"),
        x_title=_("Reason"),
        y_title=_("orders"),
        labels=[hold_code_label(code) for code, _n in counts],
        series=[Series(title=_("Held orders"), values=[n for _code, n in counts], links=links)],
        label_links=links,
        empty_text=_("No order is waiting for review."),
    )


def overdue_chart(rows: list[merchant.OverdueRow]) -> Chart:
    base = reverse("suppliers:dispatches")
    links = [f"{base}?{urlencode({'supplier': row.supplier_id or 'own', 'overdue': 'any'})}" for row in rows]
    return horizontal_bar(
        title=_("Overdue dispatches, by supplier"),
        x_title=_("Supplier"),
        y_title=_("dispatches past a deadline"),
        labels=[row.name or _("Own warehouse") for row in rows],
        series=[Series(title=_("Overdue dispatches"), values=[row.count for row in rows], links=links)],
        label_links=links,
        empty_text=_("No dispatch is past its accept-by or ship-by deadline."),
    )


def top_products_chart(rows: list[merchant.ProductUnits]) -> Chart:
    links = [reverse("inventory:product", args=[row.product_id]) for row in rows]
    return horizontal_bar(
        title=_("Top products, last 30 days"),
        x_title=_("Product"),
        y_title=_("units routed"),
        labels=[f"{row.sku} · {row.name}" for row in rows],
        series=[Series(title=_("Units"), values=[row.units for row in rows], links=links)],
        label_links=links,
        empty_text=_("No product was routed in the last 30 days."),
    )


@area_required("console")
def dashboard(request):
    tz = request.tenant.tz
    now = timezone.now()
    today = timezone.localtime(now, timezone=tz).date()
    days = merchant.last_days(today=today)
    rows = merchant.orders_by_day(user=request.user, days=days, tz=tz)
    routed = sum(row.routed for row in rows)
    auto = sum(row.auto for row in rows)
    health = merchant.sync_health()
    overdue = merchant.overdue_by_supplier(now=now)
    figures = merchant.figures_from(rows, today=today, held=merchant.held_count(user=request.user))
    return render(
        request,
        "dashboard.html",
        {
            "page_title": _("Dashboard"),
            "onboarding": onboarding.checklist_for(user=request.user),
            "figures": figures,
            "held_count": figures.held,
            "revenue": merchant.sales_by_currency(
                user=request.user, since=merchant.day_start(today - dt.timedelta(days=6), tz)
            ),
            "auto_routed": {"routed": routed, "auto": auto, "percent": merchant.share(auto, routed)},
            "store_count": len(health),
            "health": health,
            "stores_attention": [h for h in health if h.failing],
            "quarantined": sum(h.quarantined for h in health),
            "pushes": merchant.push_failures(total=sum(h.push_failures for h in health)),
            "overdue_total": sum(row.count for row in overdue),
            "charts": {
                "orders": orders_chart(rows, days),
                "auto_routed": auto_routed_chart(rows, days),
                "holds": holds_chart(user=request.user),
                "overdue": overdue_chart(overdue),
                "products": top_products_chart(merchant.top_products(since=merchant.day_start(days[0], tz))),
            },
        },
    )
