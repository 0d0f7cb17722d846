"""Reads of orders: filtered lists with keyset pagination, one order with its lines, and what routing did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy

from core.listing import Sort, Sorts
from core.paging import keyset_page
from orders.models import Order
from suppliers.models import Dispatch
from tenants.accounts.selectors import user_can_enter

PAGE_SIZE = 50

# The channels' financial statuses (Shopify, WooCommerce, spreadsheets) behind each payment filter.
PAYMENT_STATUSES = {
    "paid": ("paid", "partially_paid", "completed", "processing"),
    "unpaid": ("pending", "authorized", "unpaid", "on-hold", ""),
    "refunded": ("refunded", "partially_refunded", "voided"),
}
# What the channels' financial statuses mean, in the reader's language; anything else is shown as the channel wrote it.
PAYMENT_LABELS = {
    "paid": gettext_lazy("paid"),
    "partially_paid": gettext_lazy("partly paid"),
    "completed": gettext_lazy("paid"),
    "processing": gettext_lazy("paid, processing"),
    "pending": gettext_lazy("payment pending"),
    "authorized": gettext_lazy("authorized"),
    "unpaid": gettext_lazy("not paid"),
    "on-hold": gettext_lazy("on hold at the channel"),
    "refunded": gettext_lazy("refunded"),
    "partially_refunded": gettext_lazy("partly refunded"),
    "voided": gettext_lazy("voided"),
    "cancelled": gettext_lazy("cancelled at the channel"),
    "failed": gettext_lazy("payment failed"),
}


# The channel's fulfilment status, and what started a routing decision, in the reader's language.
FULFILMENT_LABELS = {
    "fulfilled": gettext_lazy("fulfilled"),
    "partial": gettext_lazy("partly fulfilled"),
    "partially_fulfilled": gettext_lazy("partly fulfilled"),
    "unfulfilled": gettext_lazy("unfulfilled"),
    "restocked": gettext_lazy("restocked"),
}
TRIGGER_LABELS = {
    "ingest": gettext_lazy("on arrival"),
    "reroute": gettext_lazy("routed again"),
    "rejection": gettext_lazy("after a rejection"),
    "mapping": gettext_lazy("after a SKU was mapped"),
    "release": gettext_lazy("released from hold"),
    "manual": gettext_lazy("by hand"),
}


def label_of(labels, value: str) -> str:
    """``value`` through one of the label tables above; a value Relay does not know, as it is."""
    label = labels.get((value or "").strip().lower())
    return str(label) if label is not None else value


def payment_label(status: str) -> str:
    """The channel's payment status as a person reads it: translated when known, else as the channel said it."""
    return label_of(PAYMENT_LABELS, status)


# The columns the order list sorts by (keyset pagination: each ends in the primary key).
ORDER_SORTS = Sorts(
    {"placed": ("placed_at",), "number": ("order_number",), "buyer": ("buyer_name",), "status": ("status",)},
    default="-placed",
)


@dataclass(frozen=True)
class OrderFilters:
    store_id: int | None = None
    status: str = ""  # an Order.Status, or "open" (not shipped whole, not cancelled)
    payment: str = ""  # paid | unpaid | refunded (the channel's financial_status, grouped)
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    q: str = ""


@dataclass
class OrderPage:
    orders: list[Order]
    next_cursor: str | None
    prev_cursor: str | None


def orders_for(*, user) -> QuerySet[Order]:
    if not user_can_enter(user, "console"):
        raise PermissionDenied
    return Order.objects.all()


def orders_filter(qs: QuerySet[Order], filters: OrderFilters, *, tz) -> QuerySet[Order]:
    if filters.store_id:
        qs = qs.filter(store_id=filters.store_id)
    if filters.status == Order.Status.CANCELLED:
        qs = qs.filter(Q(status=Order.Status.CANCELLED) | Q(cancelled_at__isnull=False))
    elif filters.status == "open":
        qs = qs.filter(cancelled_at__isnull=True).exclude(status__in=[Order.Status.SHIPPED, Order.Status.CANCELLED])
    elif filters.status in Order.Status.values:
        qs = qs.filter(status=filters.status, cancelled_at__isnull=True)
    if filters.payment in PAYMENT_STATUSES:
        qs = qs.filter(financial_status__in=PAYMENT_STATUSES[filters.payment])
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


def orders_page(
    qs: QuerySet[Order], *, after: str = "", before: str = "", size: int = PAGE_SIZE, sort: Sort | None = None
) -> OrderPage:
    """Newest first unless ``sort`` says otherwise, keyset-paginated on (sort column, id): as fast on page
    10,000 as on page 1. Each order carries ``dispatch_counts``: [(Dispatch status, count)] of its dispatches."""
    ordering = (sort or ORDER_SORTS.parse("")).ordering
    page = keyset_page(
        qs.select_related("store").defer("raw"), ordering=ordering, after=after, before=before, size=size
    )
    _attach_dispatch_counts(page.rows)
    return OrderPage(orders=page.rows, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


def _attach_dispatch_counts(orders: list[Order]) -> None:
    """What the dispatches of these orders say, in one query: ``order.dispatch_counts`` = [(status, n)]."""
    counts: dict[int, dict[str, int]] = {order.pk: {} for order in orders}
    if orders:
        rows = (
            Dispatch.objects.filter(lines__order_id__in=list(counts))
            .values_list("lines__order_id", "status")
            .annotate(n=Count("pk", distinct=True))
        )
        for order_id, status, n in rows:
            counts[order_id][status] = n
    for order in orders:
        order.dispatch_counts = [
            (status, counts[order.pk][status]) for status in Dispatch.Status.values if counts[order.pk].get(status)
        ]


def order_get_for(*, user, pk: int) -> Order:
    return get_object_or_404(orders_for(user=user).select_related("store").prefetch_related("lines"), pk=pk)


def require_console(user) -> None:
    """Raises PermissionDenied unless the user may use the merchant console."""
    if not user_can_enter(user, "console"):
        raise PermissionDenied


def stores_for_choices(*, user) -> list[tuple[int, str]]:
    """(id, name) of the tenant's stores, by name, for the order filters and the store hold rule.

    An order belongs to a store (Order.store). Orders sit below channels in
    the layers (channels writes orders), so the store table is reached
    through that relation, not by importing the channels app.
    """
    require_console(user)
    return list(_store_model().objects.order_by("name", "pk").values_list("pk", "name"))


def channel_choices() -> list[tuple[str, str]]:
    """The channels a store can be on (Store.channel's choices), for the channel hold rule."""
    return list(_store_model()._meta.get_field("channel").choices)


def _store_model():
    return Order._meta.get_field("store").related_model


def orders_by_ids_for(*, user, ids) -> QuerySet[Order]:
    """The user's orders among ``ids`` (unknown ids are dropped)."""
    return orders_for(user=user).filter(pk__in=list(ids))
