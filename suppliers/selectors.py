"""Reads of suppliers for the merchant's console and API: suppliers, their users, dispatches across suppliers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from core.paging import keyset_page
from suppliers.models import Dispatch, DispatchLine, Supplier
from tenants.accounts.selectors import user_can_enter

D = Dispatch.Status
OPEN = (D.PENDING, D.ACCEPTED)
PAGE_SIZE = 50
_DISPATCH_NUMBER = re.compile(r"^[Dd]?0*(\d{1,12})$")


def _require_console(user) -> None:
    if not user_can_enter(user, "console"):
        raise PermissionDenied


def suppliers_for(*, user) -> QuerySet[Supplier]:
    _require_console(user)
    return Supplier.objects.all()


def suppliers_filter(qs: QuerySet[Supplier], *, q: str = "", active: bool | None = None) -> QuerySet[Supplier]:
    if q := q.strip():
        qs = qs.filter(Q(name__icontains=q) | Q(code__istartswith=q) | Q(contact_email__istartswith=q))
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def suppliers_with_counts(qs: QuerySet[Supplier]) -> QuerySet[Supplier]:
    """Each supplier with how many sources name it and how many portal users it has."""
    return qs.annotate(source_count=Count("sources", distinct=True), user_count=Count("users", distinct=True)).order_by(
        "name", "id"
    )


def suppliers_with_overdue(qs: QuerySet[Supplier], *, now: dt.datetime) -> QuerySet[Supplier]:
    """Each supplier with how many of its open dispatches are past a deadline (a subquery on the overdue indexes)."""
    overdue = (
        Dispatch.objects.filter(supplier_id=OuterRef("pk"))
        .filter(overdue_q("any", now=now))
        .order_by()
        .values("supplier_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    return qs.annotate(overdue_count=Coalesce(Subquery(overdue), 0))


def supplier_get_for(*, user, pk: int) -> Supplier:
    return get_object_or_404(suppliers_for(user=user), pk=pk)


def supplier_choices(*, user) -> list[tuple[int, str]]:
    """(id, name) of every supplier, active first then by name, for the dispatch filters."""
    return list(suppliers_for(user=user).order_by("-active", "name", "pk").values_list("pk", "name"))


# ---------------------------------------------------------------- supplier users


def supplier_users_for(*, user, supplier: Supplier) -> list[User]:
    """The supplier's users (active or not), by e-mail; ``supplier`` must come from ``supplier_get_for``."""
    _require_console(user)
    return list(User.objects.filter(supplier_link__supplier_id=supplier.pk).order_by("email", "pk"))


def supplier_user_get_for(*, user, supplier: Supplier, user_id: int) -> User:
    """One user of the supplier; 404 for a user of another supplier, a merchant user or an unknown id."""
    _require_console(user)
    return get_object_or_404(User, pk=user_id, supplier_link__supplier_id=supplier.pk)


# ---------------------------------------------------------------- dispatches across suppliers


@dataclass(frozen=True)
class DispatchFilters:
    supplier: str = ""  # "" all, "own" the own warehouse, or a supplier id
    status: str = ""
    overdue: str = ""  # "" any, "any" either deadline passed, "accept", "ship"
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    q: str = ""  # a dispatch number or an order number


@dataclass
class DispatchRow:
    dispatch: Dispatch
    orders: list[tuple[int, str]]  # (order id, order number) of the orders it carries lines of
    overdue: str  # "accept" | "ship" | "": the first deadline passed (Dispatch.overdue_at)
    ship_overdue: bool = False  # the ship-by deadline passed too (or alone)


@dataclass
class DispatchPage:
    rows: list[DispatchRow]
    next_cursor: str | None
    prev_cursor: str | None


def dispatches_for(*, user) -> QuerySet[Dispatch]:
    _require_console(user)
    return Dispatch.objects.all()


def overdue_q(which: str, *, now: dt.datetime) -> Q:
    """Open dispatches past a deadline: "accept" (still pending after accept-by), "ship", or "any" of both.

    ``Dispatch.overdue_at`` in SQL, served by the partial overdue indexes; the
    console, the portal and the daily digest all count overdue by it.
    """
    accept = Q(status=D.PENDING, accept_by__lt=now)
    ship = Q(status__in=OPEN, ship_by__lt=now)
    return {"accept": accept, "ship": ship}.get(which, accept | ship)


def dispatches_filter(qs: QuerySet[Dispatch], filters: DispatchFilters, *, tz, now: dt.datetime) -> QuerySet[Dispatch]:
    if filters.supplier == "own":
        qs = qs.filter(supplier__isnull=True)
    elif filters.supplier:
        qs = qs.filter(supplier_id=int(filters.supplier))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue:
        qs = qs.filter(overdue_q(filters.overdue, now=now))
    if filters.created_from:
        qs = qs.filter(created__gte=dt.datetime.combine(filters.created_from, dt.time.min, tzinfo=tz))
    if filters.created_to:
        qs = qs.filter(
            created__lt=dt.datetime.combine(filters.created_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    if q := filters.q.strip():
        qs = qs.filter(pk__in=_search_ids(q))
    return qs


def _search_ids(q: str) -> list[int]:
    """Ids of the dispatches a search names: by dispatch number (D00000012, or 12) or by an order's number.

    Resolved first, in two indexed lookups, so the list query stays on its keyset index.
    """
    numbers = {q.upper()}
    if found := _DISPATCH_NUMBER.match(q):
        numbers.add(f"D{int(found.group(1)):08d}")
    bare = q.lstrip("#")
    ids = set(Dispatch.objects.filter(number__in=numbers).values_list("pk", flat=True))
    ids.update(
        DispatchLine.objects.filter(order__order_number__in={q, bare, "#" + bare})
        .order_by()
        .values_list("dispatch_id", flat=True)
        .distinct()
    )
    return sorted(ids)


def dispatch_rows(dispatches: list[Dispatch], *, now: dt.datetime) -> list[DispatchRow]:
    """The dispatches with the orders they carry (one query for all of them) and which deadline has passed."""
    orders: dict[int, list[tuple[int, str]]] = {d.pk: [] for d in dispatches}
    for dispatch_id, order_id, number in (
        DispatchLine.objects.filter(dispatch_id__in=orders)
        .values_list("dispatch_id", "order_id", "order__order_number")
        .distinct()
        .order_by("dispatch_id", "order__order_number", "order_id")
    ):
        orders[dispatch_id].append((order_id, number))
    return [
        DispatchRow(
            dispatch=d,
            orders=orders[d.pk],
            overdue=d.overdue_at(now),
            ship_overdue=bool(d.is_open and d.ship_by and d.ship_by < now),
        )
        for d in dispatches
    ]


def dispatches_page(
    qs: QuerySet[Dispatch],
    *,
    now: dt.datetime,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    ordering: tuple[str, ...] = ("-created", "-id"),
) -> DispatchPage:
    """Newest first unless told (``ordering``: non-null fields ending in the id), keyset-paginated: as fast on
    page 10,000 as on page 1. Two queries."""
    page = keyset_page(
        qs.select_related("supplier").defer("ship_to"),
        ordering=ordering,
        after=after,
        before=before,
        size=size,
    )
    return DispatchPage(
        rows=dispatch_rows(page.rows, now=now), next_cursor=page.next_cursor, prev_cursor=page.prev_cursor
    )


@dataclass(frozen=True)
class OverdueCounts:
    accept: int
    ship: int

    @property
    def total(self) -> int:
        return self.accept + self.ship


def supplier_overdue_counts(*, supplier: Supplier, now: dt.datetime) -> OverdueCounts:
    """How many of the supplier's open dispatches are past accept-by (still pending) and past ship-by.

    A dispatch past both counts once, as acceptance overdue (as ``Dispatch.overdue_at`` names it).
    """
    qs = Dispatch.objects.filter(supplier_id=supplier.pk, status__in=OPEN)
    accept = overdue_q("accept", now=now)
    counts = qs.aggregate(
        accept=Count("id", filter=accept), ship=Count("id", filter=overdue_q("ship", now=now) & ~accept)
    )
    return OverdueCounts(accept=counts["accept"], ship=counts["ship"])


def supplier_recent_dispatches(*, supplier: Supplier, now: dt.datetime, size: int = 10) -> list[DispatchRow]:
    qs = Dispatch.objects.filter(supplier_id=supplier.pk).defer("ship_to").order_by("-created", "-id")[:size]
    return dispatch_rows(list(qs), now=now)
