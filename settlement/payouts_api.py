"""Payouts and reconciliation API for finance tokens, under /api/v1/settlement/: import a payout file, list
imports, read a month's reconciliation of a store, write off orders. The same services as the pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from channels.models import Store
from core.api import ID_MAX, numbered_page, query_params
from core.money import round_money
from core.textguard import TextGuardFormParser, TextGuardMultiPartParser
from settlement import reconciliation as rec
from settlement.models import PayoutImport, PayoutImportJobStatus
from settlement.payouts import payout_file_submit, payout_import_job_get_for, payout_import_job_summary
from settlement.payouts_forms import FILE_SOURCES, MAX_UPLOAD_BYTES
from settlement.periods import month_of, parse_month
from tenants.accounts.permissions import area_permission

Finance = area_permission("finance")
PAGE_SIZE = 100
MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


def _money(amount, currency: str) -> str:
    return str(round_money(amount, currency))


class PayoutImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.IntegerField(source="store_id")
    source = serializers.CharField()
    name = serializers.CharField()
    items_count = serializers.IntegerField()
    skipped = serializers.IntegerField()
    imported_at = serializers.DateTimeField()
    imported_by = serializers.CharField(source="imported_by_label")


class UploadInput(serializers.Serializer):
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.all())
    source = serializers.ChoiceField(choices=FILE_SOURCES)
    file = serializers.FileField()

    def validate_file(self, upload):
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(_("The file is larger than 20 MB."))
        return upload


_ROW_ERROR = inline_serializer(
    "PayoutRowError",
    {"row": serializers.IntegerField(), "column": serializers.CharField(), "reason": serializers.CharField()},
)
_REPORT = inline_serializer(
    "PayoutImportReport",
    {
        "ok": serializers.BooleanField(),
        "already_imported": serializers.BooleanField(),
        "import": PayoutImportSerializer(allow_null=True),
        "imported": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
        "matched": serializers.IntegerField(),
        "error_count": serializers.IntegerField(),
        "errors": serializers.ListField(child=_ROW_ERROR),
    },
)

# A file over the inline size is imported by the worker: 202 with the job, whose status is read at its own address.
_JOB = inline_serializer(
    "PayoutImportJob",
    {
        "job": serializers.IntegerField(),
        "store": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=PayoutImportJobStatus.choices),
        "finished": serializers.BooleanField(),
        "payout_import": serializers.IntegerField(allow_null=True),
        "report": serializers.DictField(allow_null=True),
    },
)


class PayoutImportQuery(serializers.Serializer):
    store = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    page = serializers.IntegerField(required=False, min_value=1, default=1)


class ReconciliationQuery(serializers.Serializer):
    store = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    month = serializers.RegexField(MONTH_PATTERN, required=False, help_text="YYYY-MM; default: this month")
    state = serializers.ChoiceField(choices=list(rec.STATES), required=False)
    q = serializers.CharField(required=False, allow_blank=True, help_text="order number contains")
    page = serializers.IntegerField(required=False, min_value=1, default=1)


def _page_links(request, page) -> dict:
    def link(number: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        return request.build_absolute_uri(f"{request.path}?{urlencode({**query, 'page': number})}")

    return {
        "count": page.paginator.count,
        "next": link(page.next_page_number()) if page.has_next() else None,
        "previous": link(page.previous_page_number()) if page.has_previous() else None,
    }


@extend_schema(
    methods=["GET"],
    operation_id="payout_import_list",
    parameters=[PayoutImportQuery],
    responses={200: numbered_page(PayoutImportSerializer)},
)
@extend_schema(
    methods=["POST"],
    operation_id="payout_import_create",
    request=UploadInput,
    # A file with bad rows answers 400 with this report too (``ok: false`` and its ``errors``).
    responses={201: _REPORT, 200: _REPORT, 202: _JOB},
)
@api_view(["GET", "POST"])
@permission_classes([Finance])
@parser_classes([TextGuardMultiPartParser, TextGuardFormParser])
def payout_imports(request):
    """GET: the imports, newest first. POST (multipart: store, source, file): import a payout file — all rows or
    none; 400 lists each bad row; the same file again answers 200 with already_imported and changes nothing."""
    if request.method == "GET":
        rows = PayoutImport.objects.order_by("-imported_at", "-id")
        query = query_params(request, PayoutImportQuery)
        if "store" in query:
            rows = rows.filter(store_id=query["store"])
        page = Paginator(rows, PAGE_SIZE).get_page(query["page"])
        return Response({**_page_links(request, page), "results": PayoutImportSerializer(page, many=True).data})
    given = UploadInput(data=request.data)
    given.is_valid(raise_exception=True)
    upload = given.validated_data["file"]
    submission = payout_file_submit(
        store=given.validated_data["store"],
        source=given.validated_data["source"],
        content=upload.read(),
        file_name=upload.name,
        user=request.user,
    )
    if submission.job is not None:
        return Response(payout_import_job_summary(job=submission.job), status=status.HTTP_202_ACCEPTED)
    report = submission.report
    body = {
        "ok": report.ok,
        "already_imported": report.already is not None,
        "import": PayoutImportSerializer(report.payout_import or report.already).data
        if (report.payout_import or report.already)
        else None,
        "imported": report.imported,
        "skipped": report.skipped,
        "matched": report.matched,
        "error_count": report.error_count,
        "errors": [{"row": e.row, "column": e.column, "reason": str(e.reason)} for e in report.errors],
    }
    if not report.ok:
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(body, status=status.HTTP_200_OK if report.already else status.HTTP_201_CREATED)


@extend_schema(operation_id="payout_import_job", responses={200: _JOB})
@api_view(["GET"])
@permission_classes([Finance])
def payout_import_job(request, pk: int):
    """A payout file the worker imports: its status and, once finished, its report."""
    return Response(payout_import_job_summary(job=payout_import_job_get_for(user=request.user, pk=pk)))


class ReconcileRowSerializer(serializers.Serializer):
    order = serializers.IntegerField(source="id")
    order_number = serializers.CharField()
    placed_at = serializers.DateTimeField()
    currency = serializers.CharField()
    expected = serializers.CharField()
    charged = serializers.CharField()
    refunded = serializers.CharField()
    chargebacks = serializers.CharField()
    received = serializers.CharField()
    difference = serializers.CharField()
    fees = serializers.CharField()
    state = serializers.ChoiceField(choices=list(rec.STATES))


class ReconcileSummarySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=list(rec.STATES))
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    expected = serializers.CharField()
    received = serializers.CharField()
    fees = serializers.CharField()


class ReconciliationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    summary = ReconcileSummarySerializer(many=True)
    payout_only = serializers.IntegerField()
    tolerance = serializers.CharField()
    results = ReconcileRowSerializer(many=True)


def _row_data(row: rec.ReconcileRow) -> dict:
    c = row.currency
    return {
        "id": row.id,
        "order_number": row.order_number,
        "placed_at": row.placed_at,
        "currency": c,
        **{
            name: _money(getattr(row, name), c)
            for name in ("expected", "charged", "refunded", "chargebacks", "received", "difference", "fees")
        },
        "state": row.state,
    }


def _scope_of(data, *, store_in_body: bool = False) -> rec.Scope:
    """The store and month ``data`` names. A store that does not exist is a 404 when the address names it
    (a list's query) and a 400 on its field when a body does (the request, not the address, is wrong)."""
    store_id = str(data.get("store", ""))
    if not store_id.isdigit():
        raise ValidationError({"store": [_("Give the store's id.")]})
    store = Store.objects.filter(pk=int(store_id)).first()
    if store is None:
        if store_in_body:
            raise ValidationError({"store": [_("There is no store with this id.")]})
        raise NotFound()
    month_text = str(data.get("month", "") or "")
    if not month_text:
        return rec.Scope(store=store, month=month_of(timezone.now()))
    try:
        return rec.Scope(store=store, month=parse_month(month_text))
    except ValueError:
        raise ValidationError({"month": [_("Give the month as YYYY-MM.")]}) from None


@extend_schema(
    operation_id="reconciliation_list",
    parameters=[ReconciliationQuery],
    # 404: no such store.
    responses={200: ReconciliationPageSerializer, 404: None},
)
@api_view(["GET"])
@permission_classes([Finance])
def reconciliation_list(request):
    """A store's orders placed in a month with what was expected and received, PAGE_SIZE a page, plus the totals
    per state and currency in `summary`."""
    query = query_params(request, ReconciliationQuery)
    scope = _scope_of(query)
    state = query.get("state", "")
    search = query.get("q", "")[: rec.SEARCH_CHARS]
    summary = rec.reconcile_summary(scope=scope)
    total = (
        rec.reconcile_count(scope=scope, state=state, search=search)
        if search
        else sum(s.orders for s in summary.states if s.state == state or not state)
    )
    number = query["page"]
    rows = rec.reconcile_rows(scope=scope, state=state, search=search, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    page = Paginator(range(total), PAGE_SIZE).get_page(number)
    return Response(
        {
            **_page_links(request, page),
            "summary": [
                {
                    "state": s.state,
                    "currency": s.currency,
                    "orders": s.orders,
                    "expected": _money(s.expected, s.currency),
                    "received": _money(s.received, s.currency),
                    "fees": _money(s.fees, s.currency),
                }
                for s in summary.states
            ],
            "payout_only": summary.payout_only,
            "tolerance": str(summary.tolerance),
            "results": ReconcileRowSerializer([_row_data(r) for r in rows], many=True).data,
        }
    )


class WriteOffInput(serializers.Serializer):
    store = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    month = serializers.RegexField(MONTH_PATTERN, required=False, allow_blank=True, help_text="YYYY-MM, with all")
    orders = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=5_000)
    all = serializers.BooleanField(required=False, default=False, help_text="every order of the month within tolerance")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    def validate(self, data):
        if not data.get("all") and not data.get("orders"):
            raise serializers.ValidationError(_("Give the orders to write off, or all."))
        return data


@extend_schema(
    operation_id="reconciliation_write_off",
    request=WriteOffInput,
    responses={
        200: inline_serializer(
            "WriteOffResult",
            {
                "written": serializers.IntegerField(),
                "refused": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
            },
        )
    },
)
@api_view(["POST"])
@permission_classes([Finance])
def reconciliation_write_off(request):
    """Write off (核销) orders: the given ones (each refused with its reason when not matched or beyond the
    tolerance) or, with all, every order of the month within tolerance."""
    given = WriteOffInput(data=request.data)
    given.is_valid(raise_exception=True)
    data = given.validated_data
    scope = _scope_of(data, store_in_body=True)
    if data["all"]:
        written = rec.write_off_within_tolerance(scope=scope, user=request.user, note=data["note"])
        return Response({"written": written, "refused": []})
    report = rec.write_off_orders(store=scope.store, order_ids=data["orders"], user=request.user, note=data["note"])
    return Response(
        {"written": report.written, "refused": [{"order_number": n, "reason": str(r)} for n, r in report.refused]}
    )
