from __future__ import annotations

import json
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils.translation import gettext as _

from core.listing import export_format, export_response
from orders import selectors
from orders.exports import orders_export_table
from orders.forms import OrderFilterForm
from orders.routing import explain
from orders.routing import selectors as routing_selectors
from suppliers.carriers import carrier_lookup
from tenants.accounts.permissions import area_required


def _tz(request):
    return request.tenant.tz


@area_required("console")
def order_list(request):
    stores = selectors.stores_for_choices(user=request.user)
    form = OrderFilterForm(request.GET or None, stores=stores)
    filters = selectors.OrderFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.OrderFilters(
            store_id=data.get("store"), status=data.get("status") or "", payment=data.get("payment") or "",
            placed_from=data.get("placed_from"), placed_to=data.get("placed_to"), q=data.get("q") or "",
        )  # fmt: skip
    sort = selectors.ORDER_SORTS.from_query(request.GET)
    qs = selectors.orders_filter(selectors.orders_for(user=request.user), filters, tz=_tz(request))
    if fmt := export_format(request.GET):
        return export_response(orders_export_table(qs.order_by(*sort.ordering)), filename=_("orders"), fmt=fmt)
    page = selectors.orders_page(
        qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""), sort=sort
    )
    base = {k: v for k, v in request.GET.items() if k not in ("after", "before", "export") and v}
    return render(
        request,
        "orders/list.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "page_title": _("Orders"),
            "next_query": urlencode({**base, "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**base, "before": page.prev_cursor}) if page.prev_cursor else "",
            "has_stores": bool(stores),
            "filtered": bool(base.keys() - {"sort"}),
        },
    )


def _channel_updates(order) -> list[dict]:
    """The order's fulfillment pushes (channels, a layer above, writes them; read through the relation)."""
    updates = []
    for push in order.fulfillment_pushes.select_related("parcel").order_by("pk"):
        carrier = carrier_lookup(push.parcel.carrier)
        updates.append(
            {"push": push, "parcel": push.parcel, "carrier": carrier.name if carrier else push.parcel.carrier}
        )
    return updates


@area_required("console")
def order_detail(request, pk: int):
    order = selectors.order_get_for(user=request.user, pk=pk)
    lines = list(order.lines.all())
    routing = routing_selectors.order_routing_for(user=request.user, order=order)
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
            "fired_rules": routing_selectors.rule_names(decision.fired_rule_ids) if decision else [],
            "earlier_decisions": routing.earlier,
            "dispatches": routing.dispatches,
            "channel_updates": _channel_updates(order),
            "timeline": explain.timeline(routing.transitions, routing.dispatch_events),
            "page_title": order.order_number,
            "raw": json.dumps(order.raw_payload(), indent=2, ensure_ascii=False),
        },
    )
