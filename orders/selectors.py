"""Reads of orders: filtered lists with keyset pagination, and one order with its lines."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from orders.models import Order
from tenants.accounts.selectors import user_can_enter

PAGE_SIZE = 50


@dataclass(frozen=True)
class OrderFilters:
    store_id: int | None = None
    status: str = ""  # open | cancelled | refunded | fulfilled | unfulfilled
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    q: str = ""


@dataclass
class OrderPage:
    orders: list[Order]
    next_cursor: str | None
    prev_cursor: str | None


def _encode(order: Order) -> str:
    return base64.urlsafe_b64encode(json.dumps([order.placed_at.isoformat(), order.pk]).encode()).decode()


def _decode(cursor: str) -> tuple[dt.datetime, int] | None:
    try:
        placed, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(placed), int(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def orders_for(*, user) -> QuerySet[Order]:
    if not user_can_enter(user, "console"):
        raise PermissionDenied
    return Order.objects.all()


def orders_filter(qs: QuerySet[Order], filters: OrderFilters, *, tz) -> QuerySet[Order]:
    if filters.store_id:
        qs = qs.filter(store_id=filters.store_id)
    if filters.status == "cancelled":
        qs = qs.filter(cancelled_at__isnull=False)
    elif filters.status == "open":
        qs = qs.filter(cancelled_at__isnull=True).exclude(fulfillment_status="fulfilled")
    elif filters.status == "fulfilled":
        qs = qs.filter(fulfillment_status="fulfilled")
    elif filters.status == "refunded":
        qs = qs.filter(financial_status__in=["refunded", "partially_refunded"])
    if filters.placed_from:
        qs = qs.filter(placed_at__gte=dt.datetime.combine(filters.placed_from, dt.time.min, tzinfo=tz))
    if filters.placed_to:
        qs = qs.filter(
            placed_at__lt=dt.datetime.combine(filters.placed_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    if q := filters.q.strip():
        lowered = q.lower()
        number = q.lstrip("#")
        qs = qs.annotate(email_l=Lower("buyer_email"), name_l=Lower("buyer_name")).filter(
            Q(order_number__startswith=q)
            | Q(order_number__startswith="#" + number)
            | Q(order_number=number)
            | Q(email_l__startswith=lowered)
            | Q(name_l__startswith=lowered)
            | Q(external_id=q)
        )
    return qs


def orders_page(qs: QuerySet[Order], *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> OrderPage:
    """Newest first, keyset-paginated on (placed_at, id): as fast on page 10,000 as on page 1."""
    qs = qs.select_related("store").defer("raw").order_by("-placed_at", "-id")
    if after and (key := _decode(after)):
        placed, pk = key
        rows = list(qs.filter(Q(placed_at__lt=placed) | Q(placed_at=placed, id__lt=pk))[: size + 1])
        has_more, has_prev = len(rows) > size, True
        rows = rows[:size]
    elif before and (key := _decode(before)):
        placed, pk = key
        rows = list(
            qs.filter(Q(placed_at__gt=placed) | Q(placed_at=placed, id__gt=pk)).order_by("placed_at", "id")[: size + 1]
        )
        has_prev = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_more = True
    else:
        rows = list(qs[: size + 1])
        has_more, has_prev = len(rows) > size, False
        rows = rows[:size]
    return OrderPage(
        orders=rows,
        next_cursor=_encode(rows[-1]) if rows and has_more else None,
        prev_cursor=_encode(rows[0]) if rows and has_prev else None,
    )


def order_get_for(*, user, pk: int) -> Order:
    return get_object_or_404(orders_for(user=user).select_related("store").prefetch_related("lines"), pk=pk)
