"""Suppliers API for the merchant: list, create, edit."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from suppliers import selectors, services
from suppliers.models import Supplier
from tenants.accounts.permissions import area_permission

Console = area_permission("console")


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "name", "code", "contact_email", "active", "created"]
        read_only_fields = ["created"]
        extra_kwargs = {"code": {"validators": []}}  # the service checks codes case-insensitively


@extend_schema(
    parameters=[OpenApiParameter("q", str), OpenApiParameter("active", bool)],
    request=SupplierSerializer,
    responses=SupplierSerializer(many=True),
)
@api_view(["GET", "POST"])
@permission_classes([Console])
def supplier_list(request):
    if request.method == "GET":
        active = {"true": True, "1": True, "false": False, "0": False}.get(
            request.query_params.get("active", "").lower()
        )
        qs = selectors.suppliers_filter(
            selectors.suppliers_for(user=request.user), q=request.query_params.get("q", ""), active=active
        )
        return Response(SupplierSerializer(qs.order_by("name", "id")[:1000], many=True).data)
    serializer = SupplierSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    supplier = services.supplier_create(**serializer.validated_data)
    return Response(SupplierSerializer(supplier).data, status=status.HTTP_201_CREATED)


@extend_schema(request=SupplierSerializer, responses=SupplierSerializer)
@api_view(["GET", "PATCH"])
@permission_classes([Console])
def supplier_detail(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    if request.method == "PATCH":
        serializer = SupplierSerializer(supplier, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.supplier_update(supplier=supplier, **serializer.validated_data)
    return Response(SupplierSerializer(supplier).data)
