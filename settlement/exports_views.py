"""Export pages and API: finance's exports (/settlement/exports/), the supplier portal's statement files
(/portal/statements/…), and /api/v1/settlement/exports/. Views parse input and call settlement.exports.

Asking for a statement file: a statement of fewer than INLINE_MAX_LINES lines is made in the request and
downloads at once; a longer one becomes an export job and the browser goes to its progress page, which refreshes
itself until the download link shows. Finance may fetch any export of the tenant; a supplier's user only those
of their own supplier (another supplier's id is a 404, as an unknown one is).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.exports import ExportTable
from core.listing import Sort, Sorts, export_format, export_response
from settlement import exports
from settlement.models import ExportFile, Statement
from settlement.portal import portal_statement_get
from settlement.views import show_refusal
from suppliers.portal.access import portal_supplier
from tenants.accounts.permissions import area_permission, area_required

Finance = area_permission("finance")
EXPORTS_PAGE_SIZE = 50


def _rows(items) -> list[dict]:
    return [{"export": export, "progress": exports.export_progress(export)} for export in items]


def _detail(request, export: ExportFile, *, download_url: str, back_url: str, back_label: str):
    running = export.status == ExportFile.Status.RUNNING
    return render(
        request,
        "settlement/exports_detail.html",
        {
            "page_title": export.file_name or _("Export"),
            "export": export,
            "progress": exports.export_progress(export),
            "running": running,
            "download_url": download_url,
            "back_url": back_url,
            "back_label": back_label,
        },
    )


# ---------------------------------------------------------------- finance pages


def _start_statement_export(request, statement: Statement, file_format: str, *, supplier=None):
    """A small statement's file now; a long one's export job (then its progress page). None when refused."""
    if file_format in exports.KINDS["statement"].formats and exports.statement_is_small(statement):
        return exports.statement_file_response(statement=statement, file_format=file_format), None
    export = exports.export_start(
        kind="statement", file_format=file_format, params={}, user=request.user, supplier=supplier, statement=statement
    )
    return None, export


# ---------------------------------------------------------------- the exports list (selector, download, filters)

EXPORT_SORTS = Sorts(
    {
        "created": ("created",),
        "kind": ("kind", "created"),
        "format": ("file_format", "created"),
        "status": ("status", "created"),
        "rows": ("total_rows",),
        "size": ("size",),
    },
    default="-created",
)
MINE, EVERYONE = "", "all"


class ExportFilterForm(forms.Form):
    """The exports list's filters (GET): whose exports, the kind of report, the file format and the status."""

    who = forms.ChoiceField(
        label=gettext_lazy("Asked by"),
        required=False,
        choices=[(MINE, gettext_lazy("Me")), (EVERYONE, gettext_lazy("Anyone"))],
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    format = forms.ChoiceField(label=gettext_lazy("Format"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *ExportFile.Status.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any kind")), *((key, spec.label) for key, spec in exports.KINDS.items())]
        self.fields["format"].choices = [("", _("Any format")), *exports.FORMAT_LABELS.items()]


def exports_filtered(*, user, filters: Mapping[str, Any], sort: Sort) -> QuerySet[ExportFile]:
    """The exports a finance ``user`` may list: their own, or the tenant's (who "all": finance may fetch any
    export of the tenant, settlement.exports.finance_export_get), narrowed by kind, format and status, in
    ``sort``. Suppliers' users never reach it (the finance area); their files are behind portal_export_get."""
    qs = ExportFile.objects.select_related("statement", "requested_by")
    if filters.get("who") != EVERYONE:
        qs = qs.filter(requested_by=user)
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    if file_format := filters.get("format"):
        qs = qs.filter(file_format=file_format)
    if state := filters.get("status"):
        qs = qs.filter(status=state)
    return qs.order_by(*sort.ordering)


def exports_export(qs: QuerySet[ExportFile]) -> ExportTable:
    """The listed exports as a table: one row per file, its state and, for a failed one, why."""
    kinds = {key: str(spec.label) for key, spec in exports.KINDS.items()}
    statuses = {value: str(label) for value, label in ExportFile.Status.choices}
    fields = ("file_name", "kind", "file_format", "status", "statement__number", "done_rows", "total_rows", "size",
              "requested_by__email", "created", "finished", "error")  # fmt: skip

    def rows() -> Iterator[tuple]:
        for name, kind, fmt, state, *rest in qs.values_list(*fields).iterator(chunk_size=2000):
            yield (
                name,
                kinds.get(kind, kind),
                exports.FORMAT_LABELS.get(fmt, fmt),
                statuses.get(state, state),
                *rest,
            )

    return ExportTable(
        title=_("Exports"),
        columns=[
            _("File"),
            _("Kind"),
            _("Format"),
            _("Status"),
            _("Statement"),
            _("Rows written"),
            _("Rows"),
            _("Size (bytes)"),
            _("Asked by"),
            _("Asked for"),
            _("Finished"),
            _("Message"),
        ],
        count=qs.count(),
        rows=rows(),
    )


@area_required("finance")
def export_list(request):
    """Finance's exports: filtered, sorted and paged (filters kept), running ones with their progress (the page
    refreshes itself while one runs), failed ones with their message, downloadable as filtered."""
    if request.method == "POST":
        return _finance_create(request)
    form = ExportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = EXPORT_SORTS.from_query(request.GET)
    qs = exports_filtered(user=request.user, filters=filters, sort=sort)
    if fmt := export_format(request.GET):
        return export_response(exports_export(qs), filename="exports", fmt=fmt)
    page = Paginator(qs, EXPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page.object_list)
    return render(
        request,
        "settlement/exports.html",
        {
            "page_title": _("Exports"),
            "form": form,
            "filtered": any(value for key, value in filters.items() if key != "who"),
            "sort": sort,
            "page": page,
            "rows": rows,
            "running": any(row["export"].status == ExportFile.Status.RUNNING for row in rows),
            "kinds": {key: spec.label for key, spec in exports.KINDS.items()},
        },
    )


def _finance_create(request):
    kind = request.POST.get("kind", "statement")
    file_format = request.POST.get("format", "")
    back = redirect("settlement:exports")
    try:
        if kind == "statement":
            pk = request.POST.get("statement", "")
            statement = get_object_or_404(
                Statement.objects.select_related("period", "supplier"), pk=int(pk) if pk.isdigit() else 0
            )
            back = redirect("settlement:statement", pk=statement.pk)
            response, export = _start_statement_export(request, statement, file_format)
            if response is not None:
                return response
        else:
            params = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "kind", "format")}
            export = exports.export_start(kind=kind, file_format=file_format, params=params, user=request.user)
    except ValidationError as exc:
        show_refusal(request, exc)
        return back
    messages.success(request, _("Your export is being made; this page shows when it is ready."))
    return redirect("settlement:export", pk=export.pk)


@area_required("finance")
def export_detail(request, pk: int):
    export = exports.finance_export_get(pk=pk)
    return _detail(
        request,
        export,
        download_url=reverse("settlement:export_download", args=[export.pk]),
        back_url=reverse("settlement:exports"),
        back_label=_("All exports"),
    )


@area_required("finance")
def export_download(request, pk: int):
    return exports.export_file_response(exports.finance_export_get(pk=pk))


# ---------------------------------------------------------------- the supplier portal


@area_required("portal")
@require_POST
def portal_statement_export(request, pk: int):
    supplier = portal_supplier(request)
    statement = portal_statement_get(supplier=supplier, pk=pk)
    try:
        response, export = _start_statement_export(
            request, statement, request.POST.get("format", ""), supplier=supplier
        )
    except ValidationError as exc:
        show_refusal(request, exc)
        return redirect("settlement:portal_statement", pk=statement.pk)
    if response is not None:
        return response
    return redirect("settlement:portal_export", pk=export.pk)


@area_required("portal")
def portal_export(request, pk: int):
    export = exports.portal_export_get(supplier=portal_supplier(request), pk=pk)
    back = (
        reverse("settlement:portal_statement", args=[export.statement_id])
        if export.statement_id
        else reverse("settlement:portal_statements")
    )
    return _detail(
        request,
        export,
        download_url=reverse("settlement:portal_export_download", args=[export.pk]),
        back_url=back,
        back_label=_("Back to the statement") if export.statement_id else _("All statements"),
    )


@area_required("portal")
def portal_export_download(request, pk: int):
    return exports.export_file_response(exports.portal_export_get(supplier=portal_supplier(request), pk=pk))


# ---------------------------------------------------------------- API (/api/v1/settlement/exports/, finance)


class ExportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(exports.KINDS), default="statement")
    format = serializers.ChoiceField(choices=sorted(exports.CONTENT_TYPES))
    statement = serializers.IntegerField(required=False, min_value=1, help_text="the statement, for kind statement")
    params = serializers.DictField(required=False, default=dict, help_text="what other kinds of export take")


class ExportStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    format = serializers.CharField()
    status = serializers.ChoiceField(choices=ExportFile.Status.choices)
    done_rows = serializers.IntegerField()
    total_rows = serializers.IntegerField()
    percent = serializers.IntegerField()
    file_name = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes, once done")
    error = serializers.CharField(allow_blank=True, help_text="why it failed, for a person")
    created = serializers.DateTimeField()
    finished = serializers.DateTimeField(allow_null=True)
    statement = serializers.IntegerField(allow_null=True)
    url = serializers.URLField(help_text="this status")
    download_url = serializers.URLField(allow_null=True, help_text="the file, once status is done")


def _status_body(request, export: ExportFile) -> dict:
    body = exports.export_progress(export)
    body["statement"] = export.statement_id
    body["url"] = request.build_absolute_uri(reverse("api:settlement-export", args=[export.pk]))
    done = export.status == ExportFile.Status.DONE
    body["download_url"] = (
        request.build_absolute_uri(reverse("api:settlement-export-download", args=[export.pk])) if done else None
    )
    return ExportStatusSerializer(body).data


_REFUSED = OpenApiResponse(
    description='Refused, nothing recorded: {"detail": [messages], field: [messages]}.',
    response=inline_serializer("ExportRefusal", {"detail": serializers.ListField(child=serializers.CharField())}),
)


@extend_schema(
    methods=["GET"], operation_id="settlement_exports_list", responses={200: ExportStatusSerializer(many=True)}
)
@extend_schema(
    methods=["POST"],
    operation_id="settlement_exports_create",
    request=ExportInput,
    responses={202: ExportStatusSerializer, 400: _REFUSED},
)
@api_view(["GET", "POST"])
@permission_classes([Finance])
def export_collection(request):
    """GET: your recent exports, newest first. POST: make a file in the background (a statement as CSV, XLSX or
    PDF); 202 with its status, whose `url` to poll until `download_url` is set."""
    if request.method == "GET":
        return Response([_status_body(request, export) for export in exports.exports_of(user=request.user)])
    serializer = ExportInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    statement = None
    if data["kind"] == "statement":
        statement = Statement.objects.select_related("period", "supplier").filter(pk=data.get("statement")).first()
        if statement is None:
            raise ValidationError({"statement": [_("That statement does not exist.")]}, code="unknown_statement")
    export = exports.export_start(
        kind=data["kind"], file_format=data["format"], params=data["params"], user=request.user, statement=statement
    )
    return Response(_status_body(request, export), status=status.HTTP_202_ACCEPTED)


@extend_schema(operation_id="settlement_export_retrieve", responses={200: ExportStatusSerializer, 404: None})
@api_view(["GET"])
@permission_classes([Finance])
def export_status(request, pk: int):
    """One export of the tenant: its progress and, once done, where to download it."""
    return Response(_status_body(request, exports.finance_export_get(pk=pk)))


@extend_schema(
    operation_id="settlement_export_download",
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: None},
)
@api_view(["GET"])
@permission_classes([Finance])
def export_file(request, pk: int):
    """The export's file (404 until it is done)."""
    return exports.export_file_response(exports.finance_export_get(pk=pk))
