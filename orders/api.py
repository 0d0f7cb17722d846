from __future__ import annotations

from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import FilterDate, choice, cursor_page, object_id, query_params
from orders import selectors
from orders.models import Order, OrderLine
from tenants.accounts.permissions import area_permission

Console = area_permission("console")


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = [
            "id", "external_id", "position", "listing_sku", "title", "quantity", "unit_price",
            "line_discount", "discount_share", "shipping_share", "net_amount",
        ]  # fmt: skip


class OrderSerializer(serializers.ModelSerializer):
    store = serializers.PrimaryKeyRelatedField(read_only=True)
    store_name = serializers.CharField(source="store.name", read_only=True)

    class Meta:
        model = Order
        exclude = ["raw"]


class ChannelUpdateSerializer(serializers.Serializer):
    """One parcel's tracking sent to the order's channel (channels.FulfillmentPush, read through the relation).

    A failed one is retried with ``POST /api/v1/fulfillment-pushes/{id}/retry/``.
    """

    id = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True)  # pending | pushed | failed | not_needed
    message = serializers.CharField(read_only=True)  # the channel's words when it refused
    attempts = serializers.IntegerField(read_only=True)
    external_id = serializers.CharField(read_only=True)
    carrier = serializers.CharField(source="parcel.carrier", read_only=True)
    tracking_number = serializers.CharField(source="parcel.tracking_number", read_only=True)
    tracking_url = serializers.CharField(source="parcel.tracking_url", read_only=True)
    shipped_at = serializers.DateTimeField(source="parcel.shipped_at", read_only=True)
    updated = serializers.DateTimeField(read_only=True)
    pushed_at = serializers.DateTimeField(read_only=True)


class OrderDetailSerializer(OrderSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    channel_updates = ChannelUpdateSerializer(source="fulfillment_pushes", many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        exclude = []


class OrderQuerySerializer(serializers.Serializer):
    """The order list's filters. A filter narrows the list: a store id or a range that matches nothing answers
    an empty page, not an error; a value of the wrong type, or outside the enum, is a 400."""

    q = serializers.CharField(required=False, allow_blank=True, help_text="order number, buyer name or e-mail")
    store = object_id()
    status = choice(["open", *Order.Status.values], help_text="where the order is in Relay: an order status, or `open`")
    payment = choice(selectors.PAYMENT_STATUSES, help_text="the channel's payment status, grouped")
    placed_from = FilterDate(help_text="placed on or after this day (tenant time zone)")
    placed_to = FilterDate(help_text="placed on or before this day (tenant time zone)")
    after = serializers.CharField(required=False, allow_blank=True, help_text="cursor from `next` of the previous page")


@extend_schema(parameters=[OrderQuerySerializer], responses=cursor_page(OrderSerializer))
@api_view(["GET"])
@permission_classes([Console])
def order_list(request):
    """Orders, newest first, cursor-paginated (`next` is the cursor of the following page)."""
    data = query_params(request, OrderQuerySerializer, envelope="errors")
    filters = selectors.OrderFilters(
        store_id=data.get("store"), status=data.get("status", ""), payment=data.get("payment", ""),
        placed_from=data.get("placed_from"), placed_to=data.get("placed_to"), q=data.get("q", ""),
    )  # fmt: skip
    qs = selectors.orders_filter(selectors.orders_for(user=request.user), filters, tz=request.tenant.tz)
    page = selectors.orders_page(qs, after=data.get("after", ""))
    return Response({"next": page.next_cursor, "results": OrderSerializer(page.orders, many=True).data})


@extend_schema(responses=OrderDetailSerializer)
@api_view(["GET"])
@permission_classes([Console])
def order_detail(request, pk: int):
    """One order with its lines and its channel updates (each parcel's tracking sent to the channel)."""
    order = selectors.order_get_for(user=request.user, pk=pk)
    prefetch_related_objects([order], "fulfillment_pushes__parcel")
    return Response(OrderDetailSerializer(order).data)
