"""What the merchant dashboard reads: a handful of aggregate queries, none per store, supplier or day.

Every read is for a console user (``orders_for`` refuses anyone else) in the current tenant's schema, so
another tenant's rows are not in reach. Days are the tenant's days: an order placed at 23:30 in Shanghai on
the 1st counts on the 1st, whatever UTC says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from channels.models import FulfillmentPush, QuarantinedPayload, Store, SyncRun
from orders.models import Order
from orders.selectors import orders_for
from suppliers.models import Dispatch, DispatchLine
from suppliers.selectors import overdue_q

DAYS = 30
TOP_PRODUCTS = 10
ROUTED_OR_LATER = (Order.Status.ROUTED, Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED)
STANDING = (Dispatch.Status.PENDING, Dispatch.Status.ACCEPTED, Dispatch.Status.SHIPPED)


def day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def last_days(*, today: dt.date, days: int = DAYS) -> list[dt.date]:
    """The ``days`` days ending with ``today``, oldest first."""
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


@dataclass
class DayRow:
    day: dt.date
    store_id: int
    store_name: str
    orders: int
    cancelled: int
    routed: int
    auto: int


@dataclass
class OrderFigures:
    """The counts of the figures row: today, 7 days, cancelled in 7 days, held now."""

    today: int = 0
    week: int = 0
    cancelled_week: int = 0
    held: int = 0


def orders_by_day(*, user, days: list[dt.date], tz: dt.tzinfo) -> list[DayRow]:
    """Orders placed per (tenant) day and store over ``days``, with how many were cancelled, routed (or later)
    and auto-routed. One grouped query."""
    rows = (
        orders_for(user=user)
        .filter(placed_at__gte=day_start(days[0], tz), placed_at__lt=day_start(days[-1] + dt.timedelta(days=1), tz))
        .annotate(day=TruncDate("placed_at", tzinfo=tz))
        .values("day", "store_id", "store__name")
        .annotate(
            orders=Count("pk"),
            cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
            routed=Count("pk", filter=Q(status__in=ROUTED_OR_LATER)),
            auto=Count("pk", filter=Q(status__in=ROUTED_OR_LATER, auto_routed=True)),
        )
        .order_by("day", "store__name")
    )
    fields = ("orders", "cancelled", "routed", "auto")
    return [
        DayRow(day=r["day"], store_id=r["store_id"], store_name=r["store__name"], **{f: r[f] for f in fields})
        for r in rows
    ]


def held_count(*, user) -> int:
    return orders_for(user=user).filter(status=Order.Status.HELD).count()


def figures_from(rows: list[DayRow], *, today: dt.date, held: int) -> OrderFigures:
    """Today's and the last 7 days' counts, from the days' rows (no second pass over the orders)."""
    week_from = today - dt.timedelta(days=6)
    figures = OrderFigures(held=held)
    for row in rows:
        if row.day == today:
            figures.today += row.orders
        if row.day >= week_from:
            figures.week += row.orders
            figures.cancelled_week += row.cancelled
    return figures


def sales_by_currency(*, user, since: dt.datetime) -> list[dict]:
    """Orders not cancelled placed since ``since``, their count and total per currency (never added across)."""
    return list(
        orders_for(user=user)
        .filter(placed_at__gte=since, cancelled_at__isnull=True)
        .values("currency")
        .annotate(total=Sum("total"), count=Count("pk"))
        .order_by("-count", "currency")
    )


@dataclass
class OverdueRow:
    supplier_id: int | None  # None: the own warehouse
    name: str
    count: int


def overdue_by_supplier(*, now: dt.datetime) -> list[OverdueRow]:
    """Open dispatches past their accept-by or ship-by deadline, per supplier, most first. One query."""
    rows = (
        Dispatch.objects.filter(overdue_q("any", now=now))
        .values("supplier_id", "supplier__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "supplier__name")
    )
    return [OverdueRow(supplier_id=r["supplier_id"], name=r["supplier__name"] or "", count=r["count"]) for r in rows]


@dataclass
class StoreHealth:
    store: Store
    last_success: dt.datetime | None
    last_error: dt.datetime | None
    last_error_message: str
    quarantined: int
    push_failures: int

    @property
    def failing(self) -> bool:
        return self.store.status == Store.Status.NEEDS_REAUTH or self.store.last_sync_ok is False


def _count_of(qs) -> Subquery:
    return Coalesce(
        Subquery(qs.order_by().values("store_id").annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()),
        Value(0),
    )


def sync_health() -> list[StoreHealth]:
    """Each store with its last successful and last failed sync, its open quarantined payloads and its failed
    fulfillment pushes. One query (correlated subqueries, no join fan-out)."""
    runs = SyncRun.objects.filter(store=OuterRef("pk")).order_by("-started_at", "-id")
    failed = runs.filter(status=SyncRun.Status.FAILED)
    stores = Store.objects.annotate(
        last_success=Subquery(runs.filter(status=SyncRun.Status.SUCCEEDED).values("finished_at")[:1]),
        last_error=Subquery(failed.values("finished_at")[:1]),
        last_error_started=Subquery(failed.values("started_at")[:1]),
        last_error_message=Subquery(failed.values("message")[:1]),
        open_quarantined=_count_of(QuarantinedPayload.objects.filter(store=OuterRef("pk"), resolved_at__isnull=True)),
        push_failures=_count_of(
            FulfillmentPush.objects.filter(store=OuterRef("pk"), status=FulfillmentPush.Status.FAILED)
        ),
    ).order_by("name")
    return [
        StoreHealth(
            store=s,
            last_success=s.last_success,
            last_error=s.last_error or s.last_error_started,
            last_error_message=s.last_error_message or "",
            quarantined=s.open_quarantined,
            push_failures=s.push_failures,
        )
        for s in stores
    ]


@dataclass
class ProductUnits:
    product_id: int
    sku: str
    name: str
    units: int


def top_products(*, since: dt.datetime, limit: int = TOP_PRODUCTS) -> list[ProductUnits]:
    """The products most units were routed of for orders placed since ``since`` (standing dispatch lines;
    gifts left out), most first. One query."""
    rows = (
        DispatchLine.objects.filter(order__placed_at__gte=since, dispatch__status__in=STANDING, is_gift=False)
        .values("product_id", "product__sku", "product__name")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product__sku")[:limit]
    )
    return [
        ProductUnits(product_id=r["product_id"], sku=r["product__sku"], name=r["product__name"], units=r["units"])
        for r in rows
    ]


@dataclass
class PushFailures:
    count: int
    latest: list[FulfillmentPush] = field(default_factory=list)


def push_failures(*, total: int, limit: int = 5) -> PushFailures:
    """The newest failed fulfillment pushes (their orders hold the retry button); ``total`` is counted by
    ``sync_health`` already. One query, none when nothing failed."""
    if not total:
        return PushFailures(count=0)
    latest = list(
        FulfillmentPush.objects.filter(status=FulfillmentPush.Status.FAILED)
        .select_related("order", "store")
        .only("pk", "message", "attempts", "updated", "order__order_number", "store__name")
        .order_by("-updated", "-id")[:limit]
    )
    return PushFailures(count=total, latest=latest)


def share(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, one decimal; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
