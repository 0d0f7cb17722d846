"""Reads of the supplier portal: one supplier's dispatches, filtered, searched, sorted and keyset-paginated;
the counts of its home page; one dispatch with what its page shows.

Every function takes the supplier and cannot return another supplier's row
(STYLE rule 7). Nothing here shows the merchant's side: no sale prices, no
other supplier, the buyer's e-mail only when the merchant shares it.

Speed (a million dispatches over 200 suppliers): every list starts from an
index led by the supplier ("dispatch_supplier_list_idx", the partial overdue
indexes), so a page reads about one page of rows; each search path is an
index on its own column (order number, product SKU, listing SKU, lowered
buyer name, the dispatch id behind its number) joined back to the supplier's
dispatches. The reasoning and the measured plans are in the module's tests
and in the issue's report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import format_money, round_money
from core.paging import keyset_page
from suppliers.models import Dispatch, DispatchEvent, DispatchLine, Parcel, Supplier
from suppliers.selectors import overdue_q

D = Dispatch.Status

PAGE_SIZE = 50
BULK_LIMIT = 500  # ids one bulk action may name
# A search path matching at most this many dispatches in the tenant is read whole; a broader one walks the list.
SEARCH_NARROW = 2000

# The list's "state" filter: a dispatch state, or "to_ship" (accepted: waiting to be shipped).
STATES = ("pending", "accepted", "to_ship", "shipped", "rejected", "cancelled")
_STATE_FILTER = {
    "pending": D.PENDING,
    "accepted": D.ACCEPTED,
    "to_ship": D.ACCEPTED,
    "shipped": D.SHIPPED,
    "rejected": D.REJECTED,
    "cancelled": D.CANCELLED,
}

# Sort name -> keyset ordering (ends in the unique id). The deadline sorts put the nearest first.
SORTS: dict[str, tuple[str, str]] = {
    "newest": ("-created", "-id"),
    "oldest": ("created", "id"),
    "accept_by": ("accept_by", "id"),
    "ship_by": ("ship_by", "id"),
}

# "D00001234": D and the id, zero-padded to eight digits (suppliers.dispatches.dispatch_number).
_NUMBER = re.compile(r"[Dd](\d{1,12})")
_NUMBER_WIDTH = 8
_NUMBER_MAX_WIDTH = 12

# Who acted, as a supplier may read it: its own people by e-mail, the merchant's without a name.
_NEUTRAL_ACTORS = frozenset({"routing", "channel", "supplier", "system"})


@dataclass(frozen=True)
class DispatchFilters:
    """What the supplier asked the list for; every field optional."""

    state: str = ""  # one of STATES
    created_from: dt.date | None = None  # in the tenant's time zone
    created_to: dt.date | None = None  # inclusive
    shipped_from: dt.date | None = None  # shipped on or after (the home's "shipped this month")
    overdue: bool = False
    q: str = ""
    sort: str = "newest"  # a key of SORTS


@dataclass
class DispatchPage:
    dispatches: list[Dispatch]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class PortalSummary:
    """The home page's counts."""

    awaiting: int  # pending: waiting to be accepted
    overdue: int  # open with the accept-by or ship-by deadline passed
    to_ship: int  # accepted
    shipped_this_month: int  # shipped since the first of the month, tenant time
    month_start: dt.date


@dataclass
class PortalLine:
    """A dispatch line as the supplier sees it: what to ship and what the supplier is paid for it."""

    id: int
    listing_sku: str
    product_sku: str
    product_name: str
    quantity: int
    is_gift: bool
    unit_cost: Decimal
    cost_currency: str
    line_cost: Decimal
    order_number: str

    @property
    def unit_cost_text(self) -> str:
        """The unit cost with the currency's decimals, or all of its own when it has more (costs carry four)."""
        if round_money(self.unit_cost, self.cost_currency) == self.unit_cost:
            return format_money(self.unit_cost, self.cost_currency, code=False)
        return f"{self.unit_cost.normalize():f}"


@dataclass
class PortalEvent:
    at: dt.datetime
    from_state: str
    to_state: str
    actor: str
    reason: str

    @property
    def from_label(self) -> str:
        return _state_label(self.from_state)

    @property
    def to_label(self) -> str:
        return _state_label(self.to_state)


def _state_label(state: str) -> str:
    """A dispatch state as the supplier reads it (the pending one in its own words)."""
    if state == D.PENDING:
        return str(gettext_lazy("Awaiting acceptance"))
    return str(dict(D.choices).get(state, state))


@dataclass
class PortalParcel:
    id: int
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: dt.datetime
    lines: list[tuple[int, int]]  # (dispatch line id, units)

    @property
    def units(self) -> int:
        return sum(units for _line, units in self.lines)


@dataclass
class PortalDispatch:
    """One dispatch with everything its page (and the API's detail) shows."""

    dispatch: Dispatch
    lines: list[PortalLine]
    order_numbers: list[str]
    events: list[PortalEvent]
    parcels: list[PortalParcel]
    buyer_email: str  # "" unless the merchant shares it with this supplier
    total_cost: dict[str, Decimal] = field(default_factory=dict)  # per cost currency


# ---------------------------------------------------------------------------
# The list


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _day_start(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def _number_ids(digits: str) -> Q:
    """The ids whose dispatch number starts with D + ``digits``: one id range per number width.

    Numbers are the id zero-padded to eight digits (wider once ids pass 10⁸),
    so a number prefix is a range of ids and the primary key serves it.
    """
    ranges = Q()
    for width in range(max(_NUMBER_WIDTH, len(digits)), _NUMBER_MAX_WIDTH + 1):
        if width > _NUMBER_WIDTH and digits[0] == "0":
            continue  # unpadded numbers never start with 0
        ranges |= Q(pk__range=(int(digits.ljust(width, "0")), int(digits.ljust(width, "9"))))
    return ranges


def _any_prefix(lookup: str, prefixes: Sequence[str]) -> Q:
    condition = Q()
    for prefix in prefixes:
        condition |= Q(**{f"{lookup}__startswith": prefix})
    return condition


class _SearchPath(NamedTuple):
    """One way a search can name a dispatch.

    ``where``: the condition on a dispatch row. ``keys``: the ids of the
    dispatches it matches in the whole tenant, read from the path's own
    index (None when ``where`` alone is exact for the planner: the id range).
    """

    where: Q
    keys: QuerySet | None


def _search_paths(q: str) -> list[_SearchPath]:
    """The ways ``q`` can name a dispatch: order number, listing SKU, product SKU, buyer name and (when it
    looks like one) dispatch number; each a prefix lookup that an index of its own serves."""
    texts = list(dict.fromkeys([q, q.upper()]))  # SKUs are mostly upper case; people type them in any case
    order_numbers = list(dict.fromkeys([q, q if q.startswith("#") else "#" + q]))
    buyer = Q(buyer_lower__startswith=q.lower())
    paths = []
    for condition in (
        _any_prefix("order__order_number", order_numbers),  # order_number_prefix_idx
        _any_prefix("listing_sku", texts),  # dispatch_line_sku_prefix_idx
        _any_prefix("product__sku", texts),  # the product SKU's unique index (C collation)
    ):
        lines = DispatchLine.objects.filter(condition).order_by()
        paths.append(
            _SearchPath(
                Q(Exists(lines.filter(dispatch_id=OuterRef("pk")))), lines.values_list("dispatch_id", flat=True)
            )
        )
    paths.append(
        _SearchPath(
            buyer,
            Dispatch.objects.alias(buyer_lower=Lower("buyer_name"))
            .filter(buyer)
            .order_by()
            .values_list("pk", flat=True),
        )  # dispatch_buyer_prefix_idx
    )
    if match := _NUMBER.fullmatch(q):
        paths.append(_SearchPath(_number_ids(match.group(1)), None))  # the primary key
    return paths


def _filtered(
    *, supplier: Supplier, filters: DispatchFilters, tz: dt.tzinfo | None, now: dt.datetime | None
) -> QuerySet[Dispatch]:
    """The supplier's dispatches matching every filter but the search."""
    tz = tz or timezone.get_current_timezone()
    qs = Dispatch.objects.filter(supplier=supplier)
    if state := _STATE_FILTER.get(filters.state):
        qs = qs.filter(status=state)
    if filters.created_from:
        qs = qs.filter(created__gte=_day_start(filters.created_from, tz))
    if filters.created_to:
        qs = qs.filter(created__lt=_day_start(filters.created_to + dt.timedelta(days=1), tz))
    if filters.shipped_from:
        qs = qs.filter(shipped_at__gte=_day_start(filters.shipped_from, tz))
    if filters.overdue:
        qs = qs.filter(overdue_q("any", now=_now(now)))
    if filters.sort in ("accept_by", "ship_by"):
        qs = qs.filter(**{f"{filters.sort}__isnull": False})
    return qs.alias(buyer_lower=Lower("buyer_name"))


def portal_dispatches(
    *, supplier: Supplier, filters: DispatchFilters, tz: dt.tzinfo | None = None, now: dt.datetime | None = None
) -> QuerySet[Dispatch]:
    """The supplier's dispatches that match ``filters``, as one query (not ordered; for pages of it use
    portal_dispatches_page, which is fast whatever the search).

    Dates are days in ``tz`` (the tenant's time zone; the current one when
    None); "overdue" is judged at ``now``. A deadline sort leaves out the
    dispatches without that deadline (none written since deadlines exist).
    """
    qs = _filtered(supplier=supplier, filters=filters, tz=tz, now=now)
    if q := filters.q.strip():
        branches = [qs.filter(path.where).order_by().values("pk") for path in _search_paths(q)]
        qs = qs.filter(pk__in=branches[0].union(*branches[1:]))
    return qs


def portal_dispatches_page(
    *,
    supplier: Supplier,
    filters: DispatchFilters,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    tz: dt.tzinfo | None = None,
    now: dt.datetime | None = None,
) -> DispatchPage:
    """One keyset page (core.paging) of the supplier's dispatches matching ``filters``, in the sort's order.

    Page 100 costs what page 1 does. A search first reads, per path, the ids
    it matches in the whole tenant from that path's index, up to
    SEARCH_NARROW of them: a path that stays under the bound is taken whole
    (a few thousand primary-key probes at most). A broader one (a short
    prefix) walks the supplier's own list in page order and stops at the
    ``size + 1`` rows next to the cursor. The page is cut from the union of
    those candidates, which holds every row the page and its "more" need:
    nothing is skipped or repeated from one page to the next.
    """
    ordering = SORTS.get(filters.sort, SORTS["newest"])
    qs = _filtered(supplier=supplier, filters=filters, tz=tz, now=now)
    if q := filters.q.strip():
        keys = [name.lstrip("-") for name in ordering]
        found: list[QuerySet] = []  # each a query of dispatch ids
        for path in _search_paths(q):
            if path.keys is not None:
                bounded = path.keys[: SEARCH_NARROW + 1]
                matches = bounded.count()
                if matches <= SEARCH_NARROW:
                    if matches:
                        found.append(bounded)  # the whole path: at most SEARCH_NARROW ids, from its index
                    continue
            walked = keyset_page(qs.filter(path.where).only(*keys), ordering=ordering, after=after, before=before,
                                 size=size + 1)  # fmt: skip
            if walked.rows:
                found.append(Dispatch.objects.filter(pk__in=[row.pk for row in walked.rows]).values_list("pk"))
        if not found:
            return DispatchPage(dispatches=[], next_cursor=None, prev_cursor=None)
        qs = qs.filter(pk__in=found[0].union(*found[1:]))
    page = keyset_page(qs, ordering=ordering, after=after, before=before, size=size)
    return DispatchPage(dispatches=page.rows, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


@dataclass(frozen=True)
class ListFacts:
    """What a list row shows beside the dispatch itself, read for a whole page in one query."""

    order_numbers: dict[int, list[str]]
    units: dict[int, int]
    line_counts: dict[int, int]


def portal_list_facts(*, dispatches: Sequence[Dispatch]) -> ListFacts:
    """Order numbers, units and line count of each dispatch of a page: one query for the page."""
    numbers: dict[int, list[str]] = defaultdict(list)
    units: dict[int, int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    rows = (
        DispatchLine.objects.filter(dispatch_id__in=[d.pk for d in dispatches])
        .order_by("dispatch_id", "id")
        .values_list("dispatch_id", "order__order_number", "quantity")
    )
    for dispatch_id, order_number, quantity in rows:
        if order_number not in numbers[dispatch_id]:
            numbers[dispatch_id].append(order_number)
        units[dispatch_id] += quantity
        counts[dispatch_id] += 1
    return ListFacts(order_numbers=dict(numbers), units=dict(units), line_counts=dict(counts))


def portal_summary(*, supplier: Supplier, tz: dt.tzinfo | None = None, now: dt.datetime | None = None) -> PortalSummary:
    """The home's four counts, in one pass over the supplier's dispatches."""
    tz = tz or timezone.get_current_timezone()
    now = _now(now)
    month_start = now.astimezone(tz).date().replace(day=1)
    counts = Dispatch.objects.filter(supplier=supplier).aggregate(
        awaiting=Count("pk", filter=Q(status=D.PENDING)),
        overdue=Count("pk", filter=overdue_q("any", now=now)),
        to_ship=Count("pk", filter=Q(status=D.ACCEPTED)),
        shipped=Count("pk", filter=Q(status=D.SHIPPED, shipped_at__gte=_day_start(month_start, tz))),
    )
    return PortalSummary(
        awaiting=counts["awaiting"],
        overdue=counts["overdue"],
        to_ship=counts["to_ship"],
        shipped_this_month=counts["shipped"],
        month_start=month_start,
    )


def portal_overdue_latest(*, supplier: Supplier, now: dt.datetime | None = None, limit: int = 5) -> list[Dispatch]:
    """The newest few overdue dispatches, for the home page."""
    return list(
        Dispatch.objects.filter(overdue_q("any", now=_now(now)), supplier=supplier)
        .defer("ship_to")
        .order_by("-created", "-id")[:limit]
    )


# ---------------------------------------------------------------------------
# One dispatch, and several by id


def portal_dispatch_get(*, supplier: Supplier, pk: int) -> Dispatch:
    """The supplier's dispatch ``pk``. PermissionDenied (403) for another supplier's — nothing of it is read
    beyond its supplier — and Http404 when the tenant has no such dispatch."""
    owner = Dispatch.objects.filter(pk=pk).values_list("supplier_id", flat=True).first()
    if owner is None:
        raise Http404
    if owner != supplier.pk:
        raise PermissionDenied(_("This dispatch belongs to another supplier."))
    return Dispatch.objects.get(pk=pk)


def portal_dispatches_by_ids(*, supplier: Supplier, ids: Iterable[int]) -> tuple[list[Dispatch], list[int]]:
    """The supplier's dispatches among ``ids`` in id order, and the ids that are not its (unknown or another's).

    The two cases are not told apart: a supplier learns nothing of another's dispatches.
    """
    wanted = sorted(set(ids))[:BULK_LIMIT]
    found = list(Dispatch.objects.filter(supplier=supplier, pk__in=wanted).order_by("pk"))
    known = {d.pk for d in found}
    return found, [pk for pk in wanted if pk not in known]


def _actor(event: DispatchEvent, own_user_ids: set[int]) -> str:
    if event.actor_id is not None:
        return event.actor_label if event.actor_id in own_user_ids else "merchant"
    return event.actor_label if event.actor_label in _NEUTRAL_ACTORS else "merchant"


def portal_dispatch_detail(*, supplier: Supplier, dispatch: Dispatch) -> PortalDispatch:
    """The dispatch's lines (with the supplier's cost, never a sale price), orders, timeline and parcels.

    Four queries. ``dispatch`` must be one of ``supplier``'s (portal_dispatch_get).
    """
    if dispatch.supplier_id != supplier.pk:
        raise ValueError("not this supplier's dispatch")
    rows = (
        DispatchLine.objects.filter(dispatch_id=dispatch.pk)
        .order_by("id")
        .values_list(
            "id", "listing_sku", "product__sku", "product__name", "quantity", "is_gift", "unit_cost",
            "cost_currency", "order__order_number",
        )
    )  # fmt: skip
    lines = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for pk, listing_sku, sku, name, quantity, is_gift, unit_cost, currency, order_number in rows:
        line_cost = round_money(unit_cost * quantity, currency)
        totals[currency] += line_cost
        lines.append(
            PortalLine(pk, listing_sku, sku, name, quantity, is_gift, unit_cost, currency, line_cost, order_number)
        )
    own_users = set(supplier.users.values_list("user_id", flat=True))
    events = [
        PortalEvent(e.at, e.from_state, e.to_state, _actor(e, own_users), e.reason)
        for e in DispatchEvent.objects.filter(dispatch_id=dispatch.pk).order_by("at", "id")
    ]
    parcels = [
        PortalParcel(
            p.pk, p.carrier, p.tracking_number, p.tracking_url, p.shipped_at,
            [(pl.dispatch_line_id, pl.quantity) for pl in p.lines.all()],
        )
        for p in Parcel.objects.filter(dispatch_id=dispatch.pk).prefetch_related("lines").order_by("id")
    ]  # fmt: skip
    return PortalDispatch(
        dispatch=dispatch,
        lines=lines,
        order_numbers=list(dict.fromkeys(line.order_number for line in lines)),
        events=events,
        parcels=parcels,
        buyer_email=dispatch.buyer_email if supplier.share_buyer_email else "",
        total_cost=dict(totals),
    )
