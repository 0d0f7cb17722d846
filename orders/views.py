from __future__ import annotations

import json
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import QuarantinedPayload, Store
from orders import selectors
from orders.forms import OrderFilterForm
from orders.models import Order
from orders.routing import explain
from tenants.accounts.permissions import area_required


def _tz(request):
    return request.tenant.tz


@area_required("console")
def order_list(request):
    stores = list(Store.objects.only("pk", "name"))
    form = OrderFilterForm(request.GET or None, stores=stores)
    filters = selectors.OrderFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.OrderFilters(
            store_id=data.get("store"), status=data.get("status") or "", placed_from=data.get("placed_from"),
            placed_to=data.get("placed_to"), q=data.get("q") or "",
        )  # fmt: skip
    qs = selectors.orders_filter(selectors.orders_for(user=request.user), filters, tz=_tz(request))
    page = selectors.orders_page(qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    base = {k: v for k, v in request.GET.items() if k not in ("after", "before") and v}
    return render(
        request,
        "orders/list.html",
        {
            "form": form,
            "page": page,
            "page_title": _("Orders"),
            "next_query": urlencode({**base, "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**base, "before": page.prev_cursor}) if page.prev_cursor else "",
            "has_stores": bool(stores),
        },
    )


@area_required("console")
def order_detail(request, pk: int):
    order = selectors.order_get_for(user=request.user, pk=pk)
    lines = list(order.lines.all())
    routing = selectors.order_routing_for(user=request.user, order=order)
    names = explain.Names(suppliers=routing.suppliers, products=routing.products)
    decision = routing.decision
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "lines": lines,
            "decision": decision,
            "decision_lines": explain.decision_lines(
                decision.lines, names=names, listing_skus={line.pk: line.listing_sku for line in lines}
            )
            if decision
            else [],
            "hold_reasons": [explain.reason_text(r, names) for r in decision.hold_reasons] if decision else [],
            "fired_rules": selectors.rule_names(decision.fired_rule_ids) if decision else [],
            "earlier_decisions": routing.earlier,
            "dispatches": routing.dispatches,
            "timeline": explain.timeline(routing.transitions),
            "page_title": order.order_number,
            "raw": json.dumps(order.raw_payload(), indent=2, ensure_ascii=False),
        },
    )


@area_required("console")
def dashboard(request):
    tz = _tz(request)
    today = timezone.localtime(timezone=tz).replace(hour=0, minute=0, second=0, microsecond=0)
    orders = selectors.orders_for(user=request.user)
    figures = orders.aggregate(
        today=Count("pk", filter=Q(placed_at__gte=today)),
        week=Count("pk", filter=Q(placed_at__gte=today - timezone.timedelta(days=6))),
        cancelled_week=Count(
            "pk", filter=Q(placed_at__gte=today - timezone.timedelta(days=6), cancelled_at__isnull=False)
        ),
    )
    revenue = (
        orders.filter(placed_at__gte=today - timezone.timedelta(days=6), cancelled_at__isnull=True)
        .values("currency")
        .annotate(total=Sum("total"), count=Count("pk"))
        .order_by("-count")
    )
    return render(
        request,
        "orders/dashboard.html",
        {
            "page_title": _("Dashboard"),
            "figures": figures,
            "revenue": revenue,
            "stores_attention": Store.objects.filter(Q(status=Store.Status.NEEDS_REAUTH) | Q(last_sync_ok=False)),
            "quarantined": QuarantinedPayload.objects.filter(resolved_at__isnull=True).count(),
            "store_count": Store.objects.count(),
            "auto_routed": selectors.auto_routed_share(user=request.user, since=today - timezone.timedelta(days=29)),
            "held_count": orders.filter(status=Order.Status.HELD).count(),
        },
    )
