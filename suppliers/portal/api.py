"""The supplier portal's API under /api/v1/portal/, for a supplier user's token (a supplier's own system).

The same reads and services as the pages: every lookup goes through
suppliers.portal.selectors with the token user's supplier (another
supplier's dispatch is a 404; a bulk id of it is refused like an unknown
one), and every change is a service of suppliers.actions, whose refusals
the API's exception handler answers as 400 {"detail": [...], field: [...]}.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import FilterDate, choice, query_params
from suppliers import actions
from suppliers.models import Dispatch, Supplier
from suppliers.portal import selectors
from suppliers.portal.access import portal_supplier
from suppliers.portal.forms import SORT_CHOICES, STATE_CHOICES
from tenants.accounts.permissions import area_permission

Portal = area_permission("portal")

_NOT_FOUND = OpenApiResponse(description="No dispatch of yours has this id (another supplier's is none either).")
_REFUSED = OpenApiResponse(
    description='Refused, nothing changed: {"detail": [messages], <field>: [messages]}.',
    response=inline_serializer("PortalRefusal", {"detail": serializers.ListField(child=serializers.CharField())}),
)


# ---------------------------------------------------------------------------
# Output


class ShipToSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    line1 = serializers.CharField(required=False)
    line2 = serializers.CharField(required=False)
    district = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    province = serializers.CharField(required=False)
    postal_code = serializers.CharField(required=False)
    country = serializers.CharField(required=False)


class PortalDispatchSerializer(serializers.Serializer):
    """A dispatch as its supplier sees it in a list. ``buyer_email`` is empty unless the merchant shares it."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Dispatch.Status.choices)
    created = serializers.DateTimeField()
    accept_by = serializers.DateTimeField(allow_null=True)
    ship_by = serializers.DateTimeField(allow_null=True)
    overdue = serializers.ChoiceField(
        choices=[("", "not overdue"), ("accept", "accept-by passed"), ("ship", "ship-by passed")], allow_blank=True
    )
    promised_ship_date = serializers.DateField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    reject_code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    buyer_name = serializers.CharField(allow_blank=True)
    buyer_email = serializers.CharField(allow_blank=True)
    ship_to = ShipToSerializer()
    order_numbers = serializers.ListField(child=serializers.CharField())
    units = serializers.IntegerField()


class PortalLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_sku = serializers.CharField()
    product_name = serializers.CharField()
    listing_sku = serializers.CharField(allow_blank=True)
    order_number = serializers.CharField()
    quantity = serializers.IntegerField()
    is_gift = serializers.BooleanField()
    unit_cost = serializers.DecimalField(max_digits=14, decimal_places=4)
    line_cost = serializers.DecimalField(max_digits=16, decimal_places=4)
    cost_currency = serializers.CharField()


class PortalEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField(help_text="routing, channel, supplier, merchant, or one of your users' e-mail")
    reason = serializers.CharField(allow_blank=True)


class PortalParcelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField(allow_blank=True)
    shipped_at = serializers.DateTimeField()
    lines = serializers.ListField(
        child=inline_serializer(
            "PortalParcelLine", {"dispatch_line_id": serializers.IntegerField(), "quantity": serializers.IntegerField()}
        )
    )


class PortalDispatchDetailSerializer(PortalDispatchSerializer):
    lines = PortalLineSerializer(many=True)
    events = PortalEventSerializer(many=True)
    parcels = PortalParcelSerializer(many=True)
    total_cost = serializers.DictField(
        child=serializers.DecimalField(max_digits=16, decimal_places=4), help_text="per cost currency"
    )


def _dispatch_data(dispatch: Dispatch, supplier: Supplier, *, now, order_numbers: list[str], units: int) -> dict:
    return {
        "id": dispatch.pk,
        "number": dispatch.number,
        "status": dispatch.status,
        "created": dispatch.created,
        "accept_by": dispatch.accept_by,
        "ship_by": dispatch.ship_by,
        "overdue": dispatch.overdue_at(now),
        "promised_ship_date": dispatch.promised_ship_date,
        "accepted_at": dispatch.accepted_at,
        "shipped_at": dispatch.shipped_at,
        "reject_code": dispatch.reject_code,
        "reason": dispatch.reason,
        "buyer_name": dispatch.buyer_name,
        "buyer_email": dispatch.buyer_email if supplier.share_buyer_email else "",
        "ship_to": dispatch.ship_to or {},
        "order_numbers": order_numbers,
        "units": units,
    }


def _detail_data(supplier: Supplier, dispatch: Dispatch) -> dict:
    detail = selectors.portal_dispatch_detail(supplier=supplier, dispatch=dispatch)
    data = _dispatch_data(
        dispatch,
        supplier,
        now=timezone.now(),
        order_numbers=detail.order_numbers,
        units=sum(line.quantity for line in detail.lines),
    )
    data["lines"] = [vars(line) for line in detail.lines]
    data["events"] = [vars(event) for event in detail.events]
    data["parcels"] = [
        {**vars(parcel), "lines": [{"dispatch_line_id": pk, "quantity": n} for pk, n in parcel.lines]}
        for parcel in detail.parcels
    ]
    data["total_cost"] = detail.total_cost
    return PortalDispatchDetailSerializer(data).data


# ---------------------------------------------------------------------------
# Input


class AcceptInput(serializers.Serializer):
    promised_ship_date = serializers.DateField(
        required=False, allow_null=True, help_text="The date you promise to ship by; not in the past."
    )


class RejectInput(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=Dispatch.RejectReason.choices)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=400, help_text="Required when reason_code is “other”."
    )


class AcceptPartlyInput(RejectInput):
    rejected_line_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The dispatch's lines you cannot ship (ids from the detail)."
    )
    promised_ship_date = serializers.DateField(
        required=False, allow_null=True, help_text="When the dispatch is still pending, the rest is accepted with it."
    )


class BulkAcceptInput(AcceptInput):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=selectors.BULK_LIMIT)


class BulkRejectInput(RejectInput):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=selectors.BULK_LIMIT)


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.CharField(), help_text="dispatch numbers")
    refused = serializers.ListField(
        child=inline_serializer(
            "PortalBulkRefusal",
            {
                "id": serializers.IntegerField(),
                "number": serializers.CharField(allow_blank=True, help_text="empty for an id that is not yours"),
                "reason": serializers.CharField(),
            },
        )
    )


class AcceptPartlyResultSerializer(serializers.Serializer):
    dispatch = PortalDispatchDetailSerializer(help_text="the dispatch, with the lines you keep")
    rejected = inline_serializer(
        "PortalRejectedSplit",
        {"id": serializers.IntegerField(), "number": serializers.CharField()},
        allow_null=True,
        help_text="the new dispatch holding the rejected lines (already rejected), or null",
    )


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _answer_input(request, pk: int, serializer_class) -> tuple[Supplier, Dispatch, dict]:
    """The supplier, its dispatch ``pk`` (404 for anyone else's) and the answer's validated input (400)."""
    supplier = portal_supplier(request)
    dispatch = selectors.portal_dispatch_get(supplier=supplier, pk=pk)
    return supplier, dispatch, _valid(serializer_class, request)


def _bulk_input(request, serializer_class) -> tuple[Supplier, dict, list[Dispatch], list[int]]:
    """The supplier, the validated input, its dispatches among the ids and the ids that are not its."""
    supplier = portal_supplier(request)
    data = _valid(serializer_class, request)
    found, unknown = selectors.portal_dispatches_by_ids(supplier=supplier, ids=data["ids"])
    return supplier, data, found, unknown


# ---------------------------------------------------------------------------
# Views


class PortalDispatchQuery(serializers.Serializer):
    """The portal list's filters. A filter narrows the list: a range that matches nothing answers an empty
    page, not an error; a value of the wrong type, or outside the enum, is a 400."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=120,
        help_text="dispatch number, order number, SKU or buyer name (prefix)",
    )
    state = choice([value for value, _label in STATE_CHOICES if value])
    created_from = FilterDate(help_text="in the merchant's time zone")
    created_to = FilterDate(help_text="inclusive")
    shipped_from = FilterDate()
    overdue = serializers.BooleanField(required=False, help_text="only open dispatches past their accept-by or ship-by")
    sort = choice([value for value, _label in SORT_CHOICES])
    after = serializers.CharField(
        required=False, allow_blank=True, help_text="the cursor in `next` of the previous page"
    )


@extend_schema(
    operation_id="portal_dispatches_list",
    parameters=[PortalDispatchQuery],
    responses={
        200: inline_serializer(
            "PortalDispatchPage",
            {
                "next": serializers.URLField(allow_null=True, help_text="the following page, or null"),
                "results": PortalDispatchSerializer(many=True),
            },
        ),
        400: OpenApiResponse(description='{"errors": {field: [messages]}} for filters that cannot be read'),
    },
)
@api_view(["GET"])
@permission_classes([Portal])
def dispatch_list(request):
    """Your dispatches, 50 a page, cursor-paginated: follow `next` until it is null."""
    supplier = portal_supplier(request)
    params = request.query_params
    data = query_params(request, PortalDispatchQuery, envelope="errors")
    filters = selectors.DispatchFilters(
        state=data.get("state", ""), created_from=data.get("created_from"), created_to=data.get("created_to"),
        shipped_from=data.get("shipped_from"), overdue=data.get("overdue", False), q=data.get("q", "").strip(),
        sort=data.get("sort", "newest"),
    )  # fmt: skip
    now = timezone.now()
    page = selectors.portal_dispatches_page(
        supplier=supplier, filters=filters, after=data.get("after", ""), tz=request.tenant.tz, now=now
    )
    facts = selectors.portal_list_facts(dispatches=page.dispatches)
    results = [
        _dispatch_data(
            d, supplier, now=now, order_numbers=facts.order_numbers.get(d.pk, []), units=facts.units.get(d.pk, 0)
        )
        for d in page.dispatches
    ]
    next_url = None
    if page.next_cursor:
        query = {k: v for k, v in params.items() if k not in ("after", "before")}
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode({**query, 'after': page.next_cursor})}")
    return Response({"next": next_url, "results": PortalDispatchSerializer(results, many=True).data})


@extend_schema(
    operation_id="portal_dispatch_retrieve", responses={200: PortalDispatchDetailSerializer, 404: _NOT_FOUND}
)
@api_view(["GET"])
@permission_classes([Portal])
def dispatch_detail(request, pk: int):
    """One of your dispatches: lines with your cost, ship-to, deadlines, timeline and parcels."""
    supplier = portal_supplier(request)
    return Response(_detail_data(supplier, selectors.portal_dispatch_get(supplier=supplier, pk=pk)))


@extend_schema(
    operation_id="portal_dispatch_accept",
    request=AcceptInput,
    responses={200: PortalDispatchDetailSerializer, 400: _REFUSED, 404: _NOT_FOUND},
)
@api_view(["POST"])
@permission_classes([Portal])
def dispatch_accept(request, pk: int):
    """Accept a pending dispatch, with the date you promise to ship by."""
    supplier, dispatch, data = _answer_input(request, pk, AcceptInput)
    accepted = actions.dispatch_accept(
        dispatch=dispatch, actor=request.user, promised_ship_date=data.get("promised_ship_date"), supplier=supplier
    )
    return Response(_detail_data(supplier, accepted))


@extend_schema(
    operation_id="portal_dispatch_reject",
    request=RejectInput,
    responses={200: PortalDispatchDetailSerializer, 400: _REFUSED, 404: _NOT_FOUND},
)
@api_view(["POST"])
@permission_classes([Portal])
def dispatch_reject(request, pk: int):
    """Reject a pending or accepted dispatch with a reason code (`other` needs a comment)."""
    supplier, dispatch, data = _answer_input(request, pk, RejectInput)
    rejected = actions.dispatch_reject(
        dispatch=dispatch, reason_code=data["reason_code"], comment=data.get("comment", ""), actor=request.user,
        supplier=supplier,
    )  # fmt: skip
    return Response(_detail_data(supplier, rejected))


@extend_schema(
    operation_id="portal_dispatch_accept_partly",
    request=AcceptPartlyInput,
    responses={200: AcceptPartlyResultSerializer, 400: _REFUSED, 404: _NOT_FOUND},
)
@api_view(["POST"])
@permission_classes([Portal])
def dispatch_accept_partly(request, pk: int):
    """Accept a dispatch except some lines, which are rejected with a reason and go back to the merchant."""
    supplier, dispatch, data = _answer_input(request, pk, AcceptPartlyInput)
    kept, split = actions.dispatch_accept_partly(
        dispatch=dispatch, rejected_line_ids=data["rejected_line_ids"], reason_code=data["reason_code"],
        comment=data.get("comment", ""), promised_ship_date=data.get("promised_ship_date"), actor=request.user,
        supplier=supplier,
    )  # fmt: skip
    kept.refresh_from_db()
    return Response(
        {
            "dispatch": _detail_data(supplier, kept),
            "rejected": {"id": split.pk, "number": split.number} if split is not None else None,
        }
    )


def _bulk_response(found: list[Dispatch], unknown: list[int], result: actions.BulkResult) -> Response:
    ids = {d.number: d.pk for d in found}
    refused = [{"id": ids[number], "number": number, "reason": reason} for number, reason in result.refused]
    refused += [{"id": pk, "number": "", "reason": _("No dispatch of yours has this id.")} for pk in unknown]
    return Response(BulkResultSerializer({"done": result.done, "refused": refused}).data)


@extend_schema(
    operation_id="portal_dispatches_bulk_accept",
    request=BulkAcceptInput,
    responses={200: BulkResultSerializer, 400: _REFUSED},
)
@api_view(["POST"])
@permission_classes([Portal])
def dispatches_bulk_accept(request):
    """Accept many dispatches at once; each that cannot be accepted is refused with its reason, the rest done."""
    supplier, data, found, unknown = _bulk_input(request, BulkAcceptInput)
    result = actions.dispatches_accept(
        dispatches=found, actor=request.user, promised_ship_date=data.get("promised_ship_date"), supplier=supplier
    )
    return _bulk_response(found, unknown, result)


@extend_schema(
    operation_id="portal_dispatches_bulk_reject",
    request=BulkRejectInput,
    responses={200: BulkResultSerializer, 400: _REFUSED},
)
@api_view(["POST"])
@permission_classes([Portal])
def dispatches_bulk_reject(request):
    """Reject many dispatches with one reason; each that cannot be rejected is refused with its reason."""
    supplier, data, found, unknown = _bulk_input(request, BulkRejectInput)
    result = actions.dispatches_reject(
        dispatches=found, reason_code=data["reason_code"], comment=data.get("comment", ""), actor=request.user,
        supplier=supplier,
    )  # fmt: skip
    return _bulk_response(found, unknown, result)


@extend_schema(
    operation_id="portal_summary_retrieve",
    responses=inline_serializer(
        "PortalSummary",
        {
            "awaiting": serializers.IntegerField(help_text="pending: waiting for you to accept"),
            "overdue": serializers.IntegerField(help_text="open and past the accept-by or ship-by deadline"),
            "to_ship": serializers.IntegerField(help_text="accepted, not shipped yet"),
            "shipped_this_month": serializers.IntegerField(),
            "month_start": serializers.DateField(help_text="the first of the month, in the merchant's time zone"),
        },
    ),
)
@api_view(["GET"])
@permission_classes([Portal])
def summary(request):
    """The counts of your portal home."""
    supplier = portal_supplier(request)
    counts = selectors.portal_summary(supplier=supplier, tz=request.tenant.tz)
    return Response(
        {
            "awaiting": counts.awaiting,
            "overdue": counts.overdue,
            "to_ship": counts.to_ship,
            "shipped_this_month": counts.shipped_this_month,
            "month_start": counts.month_start,
        }
    )
