"""Suppliers API for the merchant: list, create, edit (contacts and terms), scorecard, supplier users."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import CurrencyField, query_params
from suppliers import members, scorecard, selectors, services
from suppliers.invites import invite_pending
from suppliers.models import Supplier
from tenants.accounts.permissions import area_permission

Console = area_permission("console")


# The phone numbers services.py accepts, as a schema pattern (drf-spectacular adds "or empty"): white space,
# or digits, spaces, + - ( ) . / with at least one digit and an optional extension ("ext. 12", "x12", "#12").
PHONE_PATTERN = r"^(?:\s+|(?=[^0-9]*[0-9])[0-9+()./\-\s]*(?:(?:[Ee][Xx][Tt]\.?|[Xx]|#)\s*[0-9]+)?\s*)$"


class SupplierSerializer(serializers.ModelSerializer):
    currency = CurrencyField(required=False)
    contact_phone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        validators=[RegexValidator(PHONE_PATTERN, _("Write the phone number with digits, spaces, + - ( ) only."))],
    )

    class Meta:
        model = Supplier
        fields = [
            "id", "name", "code", "contact_name", "contact_email", "contact_phone", "currency", "payment_terms_days",
            "accept_within_hours", "ship_within_hours", "late_ship_penalty", "share_buyer_email", "active", "created",
        ]  # fmt: skip
        read_only_fields = ["created"]
        # The service's bounds, so that the schema states them (services.py checks them again).
        extra_kwargs = {
            "code": {"validators": []},  # the service checks codes case-insensitively
            "payment_terms_days": {"min_value": 0, "max_value": services.MAX_PAYMENT_TERMS_DAYS},
            "accept_within_hours": {"min_value": 1, "max_value": services.MAX_ACCEPT_WITHIN_HOURS},
            "ship_within_hours": {"min_value": 1, "max_value": services.MAX_SHIP_WITHIN_HOURS},
            "late_ship_penalty": {
                "min_value": Decimal(0),
                "max_value": services.MAX_LATE_SHIP_PENALTY - Decimal("0.01"),
            },
        }


class SupplierQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, help_text="part of the name or code")
    active = serializers.BooleanField(required=False)


@extend_schema(methods=["GET"], parameters=[SupplierQuerySerializer], responses=SupplierSerializer(many=True))
@extend_schema(methods=["POST"], request=SupplierSerializer, responses={201: SupplierSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def supplier_list(request):
    if request.method == "GET":
        query = query_params(request, SupplierQuerySerializer)
        qs = selectors.suppliers_filter(
            selectors.suppliers_for(user=request.user), q=query.get("q", ""), active=query.get("active")
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
    """A supplier; PATCH changes any of its fields (``active: false`` deactivates it)."""
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    if request.method == "PATCH":
        serializer = SupplierSerializer(supplier, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.supplier_update(supplier=supplier, **serializer.validated_data)
    return Response(SupplierSerializer(supplier).data)


class ScorecardQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(required=False, default=6, min_value=1, max_value=scorecard.MAX_MONTHS)


@extend_schema(
    parameters=[ScorecardQuerySerializer],
    responses=inline_serializer(
        "SupplierScorecard",
        {
            "supplier": serializers.IntegerField(),
            "time_zone": serializers.CharField(),
            "months": serializers.ListField(child=serializers.DictField()),
        },
    ),
)
@api_view(["GET"])
@permission_classes([Console])
def supplier_scorecard(request, pk: int):
    """The supplier's figures per month (tenant time zone), oldest first: dispatches routed, decided, median
    seconds to accept and to ship, on-time rate (among shipped with a deadline), rejection rate and rejections
    by reason code. Rates are null without anything to divide."""
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    months = query_params(request, ScorecardQuerySerializer)["months"]
    scores = scorecard.supplier_scorecard(
        supplier_id=supplier.pk, tz=request.tenant.tz, months=months, now=timezone.now()
    )
    return Response(
        {"supplier": supplier.pk, "time_zone": request.tenant.time_zone, "months": [s.as_dict() for s in scores]}
    )


# ---------------------------------------------------------------- supplier users


class SupplierUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField()
    name = serializers.CharField(source="first_name", required=False, allow_blank=True, max_length=150)
    is_active = serializers.BooleanField(read_only=True)
    invitation_pending = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(read_only=True)

    def get_invitation_pending(self, user) -> bool:
        return invite_pending(user)


class SupplierUserActiveSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


@extend_schema(methods=["GET"], responses=SupplierUserSerializer(many=True))
@extend_schema(methods=["POST"], request=SupplierUserSerializer, responses={201: SupplierUserSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def supplier_users(request, pk: int):
    """The supplier's portal users; POST {email, name} invites one (an e-mailed link that sets the password)."""
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    if request.method == "GET":
        users = selectors.supplier_users_for(user=request.user, supplier=supplier)
        return Response(SupplierUserSerializer(users, many=True).data)
    serializer = SupplierUserSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = members.supplier_user_invite(
        supplier=supplier,
        email=serializer.validated_data["email"],
        name=serializer.validated_data.get("first_name", ""),
        domain=request.get_host(),
        use_https=request.is_secure(),
    )
    return Response(SupplierUserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(request=SupplierUserActiveSerializer, responses=SupplierUserSerializer)
@api_view(["GET", "PATCH"])
@permission_classes([Console])
def supplier_user(request, pk: int, user_id: int):
    """One supplier user; PATCH {is_active} deactivates or reactivates them."""
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    user = selectors.supplier_user_get_for(user=request.user, supplier=supplier, user_id=user_id)
    if request.method == "PATCH":
        serializer = SupplierUserActiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        members.supplier_user_set_active(supplier=supplier, user=user, active=serializer.validated_data["is_active"])
    return Response(SupplierUserSerializer(user).data)


@extend_schema(request=None, responses={202: None})
@api_view(["POST"])
@permission_classes([Console])
def supplier_user_resend(request, pk: int, user_id: int):
    """E-mail the invitation again (400 once the user has chosen a password or is deactivated)."""
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    user = selectors.supplier_user_get_for(user=request.user, supplier=supplier, user_id=user_id)
    members.supplier_user_invite_resend(
        supplier=supplier, user=user, domain=request.get_host(), use_https=request.is_secure()
    )
    return Response(status=status.HTTP_202_ACCEPTED)
