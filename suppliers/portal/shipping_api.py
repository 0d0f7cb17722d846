"""The portal's shipping API with the supplier's token: ship a dispatch in parcels, upload tracking in bulk,
packing and picking lists (JSON and PDF). Scoped like the pages: another supplier's dispatch is not found."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.response import Response

from core.textguard import TextGuardFormParser, TextGuardMultiPartParser
from suppliers import documents, tracking_upload, tracking_upload_jobs
from suppliers.carriers import tracking_warning
from suppliers.models import Parcel
from suppliers.portal.access import portal_supplier
from suppliers.portal.selectors import portal_dispatch_get
from suppliers.portal.shipping_views import documents_pdf_response, documents_selection
from suppliers.shipping import ParcelSpec, dispatch_ship
from tenants.accounts.permissions import area_permission

Portal = area_permission("portal")


# ------------------------------------------------------------------ ship


class _LineSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)


class _ParcelSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=60)
    lines = _LineSerializer(many=True, required=False, allow_null=True, allow_empty=False, default=None)


class ShipSerializer(serializers.Serializer):
    parcels = _ParcelSerializer(many=True, allow_empty=False, max_length=100)


class ParcelOutSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Parcel
        fields = ["carrier", "tracking_number", "tracking_url", "shipped_at", "lines"]

    def get_lines(self, parcel) -> list[dict]:
        return [{"line_id": line.dispatch_line_id, "quantity": line.quantity} for line in parcel.lines.all()]


def _spec(parcel: dict) -> ParcelSpec:
    lines = parcel.get("lines")
    if lines is None:
        return ParcelSpec(parcel["carrier"], parcel["tracking_number"], None)
    units: dict[int, int] = {}
    for line in lines:  # the same line twice in one parcel: its units add up
        units[line["line_id"]] = units.get(line["line_id"], 0) + line["quantity"]
    return ParcelSpec(parcel["carrier"], parcel["tracking_number"], units)


@extend_schema(request=ShipSerializer, responses=ParcelOutSerializer(many=True))
@api_view(["POST"])
@permission_classes([Portal])
def ship(request, pk: int):
    """Ship the dispatch in these parcels; ``lines`` null = every unit no other parcel names."""
    supplier = portal_supplier(request)
    dispatch = portal_dispatch_get(supplier=supplier, pk=pk)
    serializer = ShipSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    specs = [_spec(parcel) for parcel in serializer.validated_data["parcels"]]
    shipped = dispatch_ship(dispatch=dispatch, parcels=specs, actor=request.user, supplier=supplier)
    parcels = list(Parcel.objects.filter(dispatch=shipped).prefetch_related("lines").order_by("pk"))
    warnings = sorted({w for p in parcels if (w := tracking_warning(p.carrier, p.tracking_number))})
    return Response(
        {
            "id": shipped.pk,
            "number": shipped.number,
            "status": shipped.status,
            "shipped_at": shipped.shipped_at,
            "parcels": ParcelOutSerializer(parcels, many=True).data,
            "warnings": warnings,
        }
    )


# ------------------------------------------------------------------ tracking upload


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()


def _job_body(request, job: dict) -> dict:
    url = request.build_absolute_uri(reverse("api:portal_tracking_job", args=[job["id"]]))
    keep = ("id", "state", "phase", "rows", "done", "total", "percent", "finished", "report", "created", "filename")
    return {**{key: job.get(key) for key in keep}, "url": url}


@extend_schema(
    request={"multipart/form-data": UploadSerializer},
    responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
)
@api_view(["POST"])
@permission_classes([Portal])
@parser_classes([TextGuardMultiPartParser, TextGuardFormParser])
def upload(request):
    """Upload a CSV or XLSX of dispatch, carrier, tracking number (and SKU, quantity); all rows or none ship.

    200 with the report when it shipped, 400 with the report (row, column,
    reason) when it shipped nothing, 202 with a job to poll for a large file.
    """
    supplier = portal_supplier(request)
    serializer = UploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    file = serializer.validated_data["file"]
    if file.size > tracking_upload.MAX_BYTES:
        return Response(tracking_upload.too_large().as_dict(), status=status.HTTP_400_BAD_REQUEST)
    content = file.read()
    submission = tracking_upload_jobs.tracking_upload_submit(
        supplier=supplier, content=content, filename=file.name, actor=request.user
    )
    if submission.job is not None:
        job = tracking_upload_jobs.tracking_upload_job(supplier=supplier, job_id=submission.job["id"])
        return Response(_job_body(request, job), status=status.HTTP_202_ACCEPTED)
    report = submission.report.as_dict()
    return Response(report, status=status.HTTP_200_OK if report["ok"] else status.HTTP_400_BAD_REQUEST)


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
@permission_classes([Portal])
def upload_job(request, job_id: str):
    """A queued upload: its state, progress and, once finished, its report."""
    job = tracking_upload_jobs.tracking_upload_job(supplier=portal_supplier(request), job_id=job_id)
    if job is None:
        raise Http404
    return Response(_job_body(request, job))


# ------------------------------------------------------------------ documents


@extend_schema(
    parameters=[OpenApiParameter("ids", str, description="dispatch ids, comma-separated or repeated")],
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
@permission_classes([Portal])
def documents_data(request, kind: str):
    """The packing list (per dispatch) or picking list (per product) of a selection, as JSON."""
    supplier = portal_supplier(request)
    dispatches = documents_selection(supplier=supplier, kind=kind, ids=request.query_params.getlist("ids"))
    if kind == "packing":
        slips = documents.packing_slips(dispatches=dispatches)
        return Response(
            [
                {
                    "number": slip.number,
                    "ship_to": slip.ship_to,
                    "order_numbers": slip.order_numbers,
                    "lines": [vars(line) for line in slip.lines],
                    "units": slip.units,
                }
                for slip in slips
            ]
        )
    return Response([vars(pick) for pick in documents.picking_list(dispatches=dispatches)])


@extend_schema(parameters=[OpenApiParameter("ids", str)], responses={(200, "application/pdf"): bytes})
@api_view(["GET"])
@permission_classes([Portal])
def documents_pdf(request, kind: str):
    """The packing or picking list of a selection as a PDF."""
    supplier = portal_supplier(request)
    dispatches = documents_selection(supplier=supplier, kind=kind, ids=request.query_params.getlist("ids"))
    return documents_pdf_response(supplier=supplier, kind=kind, dispatches=dispatches)
