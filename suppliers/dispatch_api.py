"""The merchant's dispatch list over the API: every supplier's dispatches, filtered, newest first, keyset-paginated."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import FilterDate, choice, cursor_page, id_or, query_params
from suppliers import selectors
from suppliers.models import Dispatch
from tenants.accounts.permissions import area_permission

Console = area_permission("console")


class DispatchRowSerializer(serializers.Serializer):
    """A dispatch as the merchant's list shows it (no lines: the order page has them)."""

    id = serializers.IntegerField(source="dispatch.pk")
    number = serializers.CharField(source="dispatch.number")
    supplier = serializers.IntegerField(source="dispatch.supplier_id", allow_null=True)
    supplier_name = serializers.SerializerMethodField()
    status = serializers.CharField(source="dispatch.status")
    reject_code = serializers.CharField(source="dispatch.reject_code")
    reject_reason = serializers.SerializerMethodField()
    reason = serializers.CharField(source="dispatch.reason")
    orders = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="dispatch.created")
    accept_by = serializers.DateTimeField(source="dispatch.accept_by", allow_null=True)
    ship_by = serializers.DateTimeField(source="dispatch.ship_by", allow_null=True)
    promised_ship_date = serializers.DateField(source="dispatch.promised_ship_date", allow_null=True)
    accepted_at = serializers.DateTimeField(source="dispatch.accepted_at", allow_null=True)
    shipped_at = serializers.DateTimeField(source="dispatch.shipped_at", allow_null=True)
    overdue = serializers.CharField(help_text='"accept", "ship" or "": the first deadline passed with it still open')
    ship_overdue = serializers.BooleanField()

    def get_supplier_name(self, row) -> str:
        return row.dispatch.supplier.name if row.dispatch.supplier_id else ""

    def get_reject_reason(self, row) -> str:
        """The reason code's label, in the request's language."""
        return str(row.dispatch.get_reject_code_display()) if row.dispatch.reject_code else ""

    def get_orders(self, row) -> list[dict]:
        return [{"id": order_id, "number": number} for order_id, number in row.orders]


class DispatchQuerySerializer(serializers.Serializer):
    """The dispatch list's filters. A filter narrows the list: a supplier id or a range that matches nothing
    answers an empty page, not an error; a value of the wrong type, or outside the enum, is a 400."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="a dispatch number (D00000012, or 12) or an order number",
    )
    supplier = id_or("own", help_text='a supplier id, or "own" for the own warehouse')
    status = choice(Dispatch.Status.values)
    overdue = choice(["any", "accept", "ship"], help_text="a deadline passed with it still open: either, or which")
    created_from = FilterDate(help_text="routed on or after this day (tenant time zone)")
    created_to = FilterDate(help_text="routed on or before this day (tenant time zone)")
    after = serializers.CharField(required=False, allow_blank=True, help_text="cursor from `next` of the previous page")


@extend_schema(parameters=[DispatchQuerySerializer], responses=cursor_page(DispatchRowSerializer))
@api_view(["GET"])
@permission_classes([Console])
def dispatch_list(request):
    """Dispatches across suppliers, newest first, cursor-paginated (`next` is the cursor of the following page)."""
    data = query_params(request, DispatchQuerySerializer, envelope="errors")
    filters = selectors.DispatchFilters(
        supplier=data.get("supplier", ""), status=data.get("status", ""), overdue=data.get("overdue", ""),
        created_from=data.get("created_from"), created_to=data.get("created_to"), q=data.get("q", ""),
    )  # fmt: skip
    now = timezone.now()
    qs = selectors.dispatches_filter(
        selectors.dispatches_for(user=request.user), filters, tz=request.tenant.tz, now=now
    )
    page = selectors.dispatches_page(qs, now=now, after=data.get("after", ""))
    return Response({"next": page.next_cursor, "results": DispatchRowSerializer(page.rows, many=True).data})
