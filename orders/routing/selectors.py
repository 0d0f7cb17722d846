"""Reads of routing: rule sets, simulations, the holds queue, what routing did to an order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404

from core.listing import Sort, Sorts
from inventory.models import Listing, Product
from orders.models import Order, OrderLine, RoutingDecision, Rule, RuleSet, Simulation, Transition
from orders.routing.explain import decision_ids
from orders.selectors import OrderFilters, orders_filter, orders_for, require_console
from suppliers.models import Dispatch, DispatchEvent, DispatchLine, Supplier


def rulesets_for(*, user) -> QuerySet[RuleSet]:
    require_console(user)
    return RuleSet.objects.select_related("created_by").annotate(rule_count=Count("rules")).order_by("-version")


def ruleset_get_for(*, user, pk: int) -> RuleSet:
    return get_object_or_404(rulesets_for(user=user), pk=pk)


def rules_of(*, ruleset: RuleSet) -> list[Rule]:
    return list(ruleset.rules.order_by("position"))


def rule_get_for(*, user, pk: int) -> Rule:
    require_console(user)
    return get_object_or_404(Rule.objects.select_related("ruleset"), pk=pk)


def simulation_get_for(*, user, pk: int) -> Simulation:
    require_console(user)
    return get_object_or_404(Simulation.objects.select_related("ruleset", "created_by"), pk=pk)


def simulations_of(*, ruleset: RuleSet) -> QuerySet[Simulation]:
    return ruleset.simulations.order_by("-created", "-id")


def product_skus(ids) -> dict[int, str]:
    ids = {i for i in ids if isinstance(i, int)}
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "sku")) if ids else {}


def _current_decision():
    return Prefetch("decisions", queryset=RoutingDecision.objects.filter(is_current=True), to_attr="current_decisions")


HOLD_SORTS = Sorts({"placed": ("placed_at",), "number": ("order_number",), "total": ("total",)}, default="placed")


def held_orders_for(
    *, user, code: str = "", q: str = "", store_id: int | None = None, sort: Sort | None = None
) -> QuerySet[Order]:
    """Orders held for review, each with its current decision: with hold reason ``code``, matching the search
    ``q`` (order number, buyer name or e-mail) and of store ``store_id`` when given; oldest first (the longest
    waiting on top) unless ``sort`` says otherwise."""
    qs = orders_for(user=user).filter(status=Order.Status.HELD)
    if code:
        qs = qs.filter(decisions__is_current=True, decisions__hold_reasons__contains=[{"code": code}])
    if q or store_id:
        qs = orders_filter(qs, OrderFilters(q=q, store_id=store_id), tz=dt.UTC)
    ordering = (sort or HOLD_SORTS.parse("")).ordering
    return qs.select_related("store").defer("raw").prefetch_related(_current_decision()).order_by(*ordering)


def hold_reasons_of(qs: QuerySet[Order]) -> dict[int, list[dict]]:
    """The current decision's hold reasons of each order of ``qs``, by order id (one query)."""
    return dict(
        RoutingDecision.objects.filter(is_current=True, order__in=qs.order_by().values("pk")).values_list(
            "order_id", "hold_reasons"
        )
    )


def hold_code_counts(*, user) -> list[tuple[str, int]]:
    """How many held orders each hold reason code has, most common first (one query)."""
    require_console(user)
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


@dataclass
class OrderRouting:
    decision: RoutingDecision | None
    earlier: list[RoutingDecision]
    dispatches: list
    transitions: list[Transition]
    dispatch_events: list[DispatchEvent]
    suppliers: dict[int, str]
    products: dict[int, str]


def order_routing_for(*, user, order: Order) -> OrderRouting:
    """What routing did to one order: the current decision, earlier ones, dispatches, the timeline.

    A fixed number of queries whatever the number of lines, dispatches or transitions.
    """
    require_console(user)
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
    transitions = list(order.transitions.order_by("at", "id"))
    events = list(
        DispatchEvent.objects.filter(dispatch__in=[d.pk for d in dispatches])
        .select_related("dispatch")
        .order_by("at", "id")
    )
    product_ids, supplier_ids = decision_ids(current.lines if current else [])
    return OrderRouting(
        decision=current,
        earlier=earlier,
        dispatches=dispatches,
        transitions=transitions,
        dispatch_events=events,
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


def unmapped_listing_skus(*, user=None, q: str = "", limit: int | None = None) -> list[dict]:
    """Listing SKUs that open orders (new or held) carry and no listing maps, most held orders first.

    One grouped query: for each SKU the held orders, all waiting orders, the
    units, when Relay first saw it, and the product whose SKU equals it, if
    any (a one-click mapping).
    """
    if user is not None:
        require_console(user)
    lines = (
        OrderLine.objects.filter(order__status__in=[Order.Status.NEW, Order.Status.HELD])
        .exclude(listing_sku="")
        .filter(~Exists(Listing.objects.filter(listing_sku=OuterRef("listing_sku"))))
    )
    if q := q.strip():
        lines = lines.filter(listing_sku__istartswith=q)
    rows = (
        lines.values("listing_sku")
        .annotate(
            held_orders=Count("order", filter=Q(order__status=Order.Status.HELD), distinct=True),
            orders=Count("order", distinct=True),
            units=Sum("quantity"),
            first_seen=Min("order__created"),
            title=Min("title"),
            product_id=Subquery(Product.objects.filter(sku=OuterRef("listing_sku")).values("pk")[:1]),
        )
        .order_by("-held_orders", "-orders", "first_seen", "listing_sku")
    )
    return list(rows[:limit] if limit else rows)
