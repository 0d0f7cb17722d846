"""Reads of orders: filtered lists with keyset pagination, one order with its lines, and what routing did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from core.paging import keyset_page
from orders.models import Order, RoutingDecision, Rule, RuleSet, Simulation, Transition
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
    page = keyset_page(
        qs.select_related("store").defer("raw"), ordering=("-placed_at", "-id"), after=after, before=before, size=size
    )
    return OrderPage(orders=page.rows, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


def order_get_for(*, user, pk: int) -> Order:
    return get_object_or_404(orders_for(user=user).select_related("store").prefetch_related("lines"), pk=pk)


# ---------------------------------------------------------------------------
# Routing: rule sets, simulations, the holds queue, an order's decisions and timeline


def _console(user) -> None:
    if not user_can_enter(user, "console"):
        raise PermissionDenied


def rulesets_for(*, user) -> QuerySet[RuleSet]:
    _console(user)
    return RuleSet.objects.select_related("created_by").annotate(rule_count=Count("rules")).order_by("-version")


def ruleset_get_for(*, user, pk: int) -> RuleSet:
    return get_object_or_404(rulesets_for(user=user), pk=pk)


def rules_of(*, ruleset: RuleSet) -> list[Rule]:
    return list(ruleset.rules.order_by("position"))


def rule_get_for(*, user, pk: int) -> Rule:
    _console(user)
    return get_object_or_404(Rule.objects.select_related("ruleset"), pk=pk)


def simulation_get_for(*, user, pk: int) -> Simulation:
    _console(user)
    return get_object_or_404(Simulation.objects.select_related("ruleset", "created_by"), pk=pk)


def simulations_of(*, ruleset: RuleSet) -> QuerySet[Simulation]:
    return ruleset.simulations.order_by("-created", "-id")


def product_skus(ids) -> dict[int, str]:
    from inventory.models import Product

    ids = {i for i in ids if isinstance(i, int)}
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "sku")) if ids else {}


def _current_decision():
    return Prefetch("decisions", queryset=RoutingDecision.objects.filter(is_current=True), to_attr="current_decisions")


def held_orders_for(*, user, code: str = "") -> QuerySet[Order]:
    """Orders held for review, oldest first (the longest waiting on top), each with its current decision."""
    qs = orders_for(user=user).filter(status=Order.Status.HELD)
    if code:
        qs = qs.filter(decisions__is_current=True, decisions__hold_reasons__contains=[{"code": code}])
    return qs.select_related("store").defer("raw").prefetch_related(_current_decision()).order_by("placed_at", "id")


def hold_code_counts(*, user) -> list[tuple[str, int]]:
    """How many held orders each hold reason code has, most common first (one query)."""
    _console(user)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT reason->>'code' AS code, count(DISTINCT d.order_id)
            FROM orders_routingdecision d
            JOIN orders_order o ON o.id = d.order_id
            CROSS JOIN LATERAL jsonb_array_elements(d.hold_reasons) AS reason
            WHERE d.is_current AND o.status = %s
            GROUP BY 1 ORDER BY 2 DESC, 1
            """,
            [Order.Status.HELD],
        )
        return [(code, count) for code, count in cursor.fetchall() if code]


def orders_by_ids_for(*, user, ids) -> QuerySet[Order]:
    """The user's orders among ``ids`` (unknown ids are dropped)."""
    return orders_for(user=user).filter(pk__in=list(ids))


@dataclass
class OrderRouting:
    decision: RoutingDecision | None
    earlier: list[RoutingDecision]
    dispatches: list
    transitions: list[Transition]
    suppliers: dict[int, str]
    products: dict[int, str]


def order_routing_for(*, user, order: Order) -> OrderRouting:
    """What routing did to one order: the current decision, earlier ones, dispatches, the timeline.

    A fixed number of queries whatever the number of lines, dispatches or transitions.
    """
    from orders.routing.explain import decision_ids
    from suppliers.models import Dispatch, DispatchLine, Supplier

    _console(user)
    decisions = list(order.decisions.order_by("-created", "-id")[:21])
    current = next((d for d in decisions if d.is_current), None)
    earlier = [d for d in decisions if not d.is_current][:20]
    dispatches = list(
        Dispatch.objects.filter(lines__order=order)
        .distinct()
        .select_related("supplier")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=DispatchLine.objects.filter(order=order).select_related("product", "order_line"),
                to_attr="order_lines",
            )
        )
        .order_by("created", "id")
    )
    transitions = list(order.transitions.select_related("dispatch").order_by("at", "id"))
    product_ids, supplier_ids = decision_ids(current.lines if current else [])
    return OrderRouting(
        decision=current,
        earlier=earlier,
        dispatches=dispatches,
        transitions=transitions,
        suppliers=dict(Supplier.objects.filter(pk__in=supplier_ids).values_list("pk", "name")) if supplier_ids else {},
        products=product_skus(product_ids),
    )


def auto_routed_share(*, user, since: dt.datetime) -> dict:
    """Orders routed (or later) since ``since``, and how many of them went out with no human touch."""
    later = [Order.Status.ROUTED, Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED]
    figures = (
        orders_for(user=user)
        .filter(placed_at__gte=since, status__in=later)
        .aggregate(routed=Count("pk"), auto=Count("pk", filter=Q(auto_routed=True)))
    )
    figures["percent"] = round(figures["auto"] * 100 / figures["routed"], 1) if figures["routed"] else None
    return figures


def rule_names(rule_ids) -> list[dict]:
    """The rules a decision says fired, in its order: name (or kind) and version; deleted drafts' rules drop out."""
    ids = [i for i in rule_ids or () if isinstance(i, int)]
    rules = {r.pk: r for r in Rule.objects.filter(pk__in=ids).select_related("ruleset")} if ids else {}
    return [
        {"id": i, "name": rules[i].name or rules[i].get_kind_display(), "kind": rules[i].get_kind_display()}
        for i in ids
        if i in rules
    ]
