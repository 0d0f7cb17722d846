"""The margin report's page (/settlement/margins/) and API (/api/v1/settlement/margins/), for finance: the
same filters, groups and totals as settlement.margins, which computes them."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import CurrencyField, FilterDate, choice, id_or, object_id, query_params
from settlement.margins import (
    GROUPS,
    OWN,
    SORTS,
    MarginFilterForm,
    margin_filter_from,
    margin_report,
)
from tenants.accounts.permissions import area_permission, area_required
from tenants.accounts.selectors import user_can_enter

Finance = area_permission("finance")
# ---------------------------------------------------------------- the page and the API


@area_required("finance")
def margins(request):
    form = MarginFilterForm(request.GET)
    valid = form.is_valid()
    flt = form.margin_filter() if valid else margin_filter_from({})
    page = margin_report(flt=flt, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    totals = page.totals
    sort_links = {
        sort: urlencode(flt.params(sort=sort, direction="asc" if flt.sort == sort and flt.descending else "desc"))
        for sort in SORTS
    }
    return render(
        request,
        "settlement/margins.html",
        {
            "page_title": _("Margins"),
            # Valid: the form shows the days the report covers, defaults filled in.
            "form": MarginFilterForm(flt.params(), choices=form.choices) if valid else form,
            "flt": flt,
            "tabs": [(group, label, urlencode(flt.params(group=group))) for group, label in GROUPS.items()],
            "sort_links": sort_links,
            "sort_states": {
                sort: ("descending" if flt.descending else "ascending") if flt.sort == sort else "none"
                for sort in SORTS
            },
            "filtered": bool(flt.store_id or flt.supplier or flt.currency),
            "clear_url": reverse("settlement:margins") + "?" + urlencode({"group": flt.group}),
            "export_params": sorted(flt.params().items()),
            "page": page,
            "next_query": urlencode({**flt.params(), "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**flt.params(), "before": page.prev_cursor}) if page.prev_cursor else "",
            "totals": totals,
            "unknown_lines": sum(total.unknown_lines for total in totals),
            "can_console": user_can_enter(request.user, "console"),
            "orders_query": urlencode({"placed_from": flt.placed_from, "placed_to": flt.placed_to}),
        },
        status=200 if valid else 400,
    )


class _Money(serializers.Serializer):
    """Amounts as text with the currency's decimals ("12.30"); margin % with two decimals, null with no sale."""

    currency = serializers.CharField()
    sale = serializers.CharField()
    cost = serializers.CharField()
    margin = serializers.CharField()
    margin_percent = serializers.CharField(allow_null=True)
    lines = serializers.IntegerField(help_text="order lines (a split line counts in each of its groups)")


class MarginGroupSerializer(_Money):
    id = serializers.IntegerField(source="key", allow_null=True, help_text="the group's id; null: own warehouse")
    label = serializers.CharField(help_text="order number, product SKU, supplier or store name")
    detail = serializers.CharField(help_text="store, product name, supplier code or channel")


class MarginTotalSerializer(_Money):
    groups = serializers.IntegerField()
    cost_unknown_lines = serializers.IntegerField(source="unknown_lines")
    cost_unknown_sale = serializers.CharField(source="unknown_sale")


class MarginQuery(serializers.Serializer):
    """The report's query, typed: checked before the filter form (which knows the stores, suppliers and
    currencies, and that "from" is not after "to") reads it."""

    group = choice(GROUPS, help_text="order (default), product, supplier, store")
    placed_from = FilterDate(help_text="orders placed on or after this day (tenant time zone)")
    placed_to = FilterDate(help_text="orders placed on or before this day (tenant time zone)")
    store = object_id()
    supplier = id_or(OWN, help_text=f'a supplier id, or "{OWN}" for the own warehouse')
    currency = CurrencyField(required=False)
    sort = choice(SORTS)
    direction = choice(["desc", "asc"])
    after = serializers.CharField(required=False, allow_blank=True, help_text="cursor from `next` of the previous page")
    before = serializers.CharField(
        required=False, allow_blank=True, help_text="cursor from `previous` of the following page"
    )


@extend_schema(
    parameters=[MarginQuery],
    responses=inline_serializer(
        "MarginReport",
        {
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "totals": MarginTotalSerializer(many=True),
            "results": MarginGroupSerializer(many=True),
        },
    ),
)
@api_view(["GET"])
@permission_classes([Finance])
def margins_api(request):
    """The margin report: groups per currency, cursor-paginated (`next`, `previous`), with the totals per
    currency (the sum of every page's groups) and the lines whose cost is unknown. See settlement.margins."""
    query = query_params(request, MarginQuery, envelope="errors")
    form = MarginFilterForm({name: str(value) for name, value in query.items() if name not in ("after", "before")})
    if not form.is_valid():
        return Response({"errors": form.errors}, status=400)
    flt = form.margin_filter()
    page = margin_report(flt=flt, after=query.get("after", ""), before=query.get("before", ""))
    return Response(
        {
            "next": page.next_cursor,
            "previous": page.prev_cursor,
            "totals": MarginTotalSerializer(page.totals, many=True).data,
            "results": MarginGroupSerializer(page.rows, many=True).data,
        }
    )
