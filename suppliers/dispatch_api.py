"""The merchant's dispatch list over the API: every supplier's dispatches, filtered, newest first, keyset-paginated."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import cursor_page, iso_dates
from suppliers import selectors
from suppliers.dispatch_views import dispatch_filters
from suppliers.forms import DispatchFilterForm
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


@extend_schema(
    parameters=[
        OpenApiParameter("q", str, description="a dispatch number (D00000012, or 12) or an order number"),
        OpenApiParameter("supplier", str, description='a supplier id, or "own" for the own warehouse'),
        OpenApiParameter("status", str, enum=Dispatch.Status.values),
        OpenApiParameter("overdue", str, enum=["any", "accept", "ship"]),
        OpenApiParameter(
            "created_from", OpenApiTypes.DATE, description="routed on or after this day (tenant time zone)"
        ),
        OpenApiParameter(
            "created_to", OpenApiTypes.DATE, description="routed on or before this day (tenant time zone)"
        ),
        OpenApiParameter("after", str, description="cursor from `next` of the previous page"),
    ],
    responses=cursor_page(DispatchRowSerializer),
)
@api_view(["GET"])
@permission_classes([Console])
def dispatch_list(request):
    """Dispatches across suppliers, newest first, cursor-paginated (`next` is the cursor of the following page)."""
    iso_dates(request, "created_from", "created_to")
    form = DispatchFilterForm(request.query_params or None, suppliers=selectors.supplier_choices(user=request.user))
    if form.is_bound and not form.is_valid():
        return Response({"errors": form.errors}, status=400)
    now = timezone.now()
    qs = selectors.dispatches_filter(
        selectors.dispatches_for(user=request.user), dispatch_filters(form), tz=request.tenant.tz, now=now
    )
    page = selectors.dispatches_page(qs, now=now, after=request.query_params.get("after", ""))
    return Response({"next": page.next_cursor, "results": DispatchRowSerializer(page.rows, many=True).data})
