"""The supplier portal's stock page and its API: a supplier reports what it can still ship of the products it
sources, one at a time or by spreadsheet. The supplier is always the user's own (suppliers.members.supplier_of);
no view takes a supplier, a source or a product id from the request."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import query_params
from core.textguard import TextGuardFormParser, TextGuardJSONParser, TextGuardMultiPartParser
from inventory import supplier_stock
from inventory.forms import ImportForm
from suppliers.models import Supplier
from suppliers.portal.access import portal_supplier
from tenants.accounts.permissions import area_permission, area_required

Portal = area_permission("portal")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_API_ROWS = 5_000
MAX_PAGE_SIZE = 500

AVAILABLE_MEANS = (
    "Units you can still ship for this merchant beyond what Relay has already reserved for orders routed to you. "
    "Reporting N sets on hand to reserved + N: reserved units stay reserved."
)


def _by_whom(stock, reporters: frozenset[str]) -> str:
    """Who last set a row, as the supplier may see it: one of its own users' e-mails, else "merchant"."""
    if stock is None or not stock.updated_by:
        return ""
    return stock.updated_by if stock.updated_by.lower() in reporters else "merchant"


def _rows(sources, supplier: Supplier) -> list[dict]:
    reporters = supplier_stock.reporters_of(supplier=supplier)
    rows = []
    for source in sources:
        stock = supplier_stock.stock_of(source)
        rows.append(
            {
                "sku": source.product.sku,
                "name": source.product.name,
                "tracked": stock is not None,
                "available": stock.available if stock else None,
                "reserved": stock.reserved if stock else 0,
                "updated": stock.updated if stock else None,
                "updated_by": _by_whom(stock, reporters),
                "in_use": source.active and source.product.active,
            }
        )
    return rows


# ------------------------------------------------------------------ pages


def _list_url(q: str = "", page: str = "") -> str:
    query = urlencode({k: v for k, v in (("q", q), ("page", page)) if v})
    return reverse("inventory:portal_stock") + (f"?{query}" if query else "")


def _upload_form(*args) -> ImportForm:
    form = ImportForm(*args)
    form.fields["file"].label = _("Stock file (.csv or .xlsx)")
    return form


def _render_list(request, supplier: Supplier, *, form=None, report=None, status_code: int = 200):
    q = request.GET.get("q", "").strip()
    page = supplier_stock.stock_page(supplier=supplier, q=q, page=request.GET.get("page"))
    base = {"q": q} if q else {}
    return render(
        request,
        "inventory/portal_stock.html",
        {
            "page": page,
            "rows": _rows(page.object_list, supplier),
            "q": q,
            "supplier": supplier,
            "form": form or _upload_form(),
            "report": report,
            "prev_query": urlencode({**base, "page": page.previous_page_number()}) if page.has_previous() else "",
            "next_query": urlencode({**base, "page": page.next_page_number()}) if page.has_next() else "",
            "return_query": urlencode({**base, "page": page.number}),
            "page_title": _("Stock"),
        },
        status=status_code,
    )


def job_url(job) -> str:
    """The page of a stock file checked and written by a worker."""
    return reverse("inventory:portal_stock") + "?" + urlencode({"job": job.pk})


@area_required("portal")
def stock(request):
    """The supplier's stock list; with ``?job=<id>``, where one of its large uploads stands, then its result."""
    supplier = portal_supplier(request)
    if "job" in request.GET:
        return _job_page(request, supplier, request.GET["job"])
    return _render_list(request, supplier)


def _job_page(request, supplier: Supplier, job_id: str):
    if not job_id.isdigit():
        raise Http404
    job = supplier_stock.stock_upload_job_for(supplier=supplier, pk=int(job_id))
    context = {
        "job": job,
        "report": job.report,
        "progress": supplier_stock.stock_upload_job_progress(job=job),
        "page_title": _("Upload of %(file)s") % {"file": job.filename},
    }
    return render(request, "inventory/portal_stock_job.html", context)


@require_POST
@area_required("portal")
def stock_set(request):
    """The inline edit of one row: report what is available of one SKU."""
    supplier = portal_supplier(request)
    sku = request.POST.get("sku", "")
    try:
        supplier_stock.stock_report(
            supplier=supplier, rows=[(sku, request.POST.get("available", ""))], actor=request.user
        )
    except supplier_stock.StockReportRefused as exc:
        messages.error(request, " ".join(problem.reason for problem in exc.problems))
    else:
        messages.success(request, _("Stock of %(sku)s saved.") % {"sku": sku.strip()})
    return redirect(_list_url(request.POST.get("q", ""), request.POST.get("page", "")))


@require_POST
@area_required("portal")
def stock_upload(request):
    """The bulk upload: the whole file is checked first; on any problem nothing is saved and each is listed."""
    supplier = portal_supplier(request)
    form = _upload_form(request.POST, request.FILES)
    if not form.is_valid():
        return _render_list(request, supplier, form=form, status_code=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        form.add_error("file", _("The file is larger than 20 MB. Split it into smaller files."))
        return _render_list(request, supplier, form=form, status_code=400)
    submission = supplier_stock.stock_upload_submit(
        supplier=supplier, content=upload.read(), filename=upload.name, actor=request.user
    )
    if submission.job is not None:
        messages.info(
            request, _("The file is large: it is being checked in the background. This page shows how far it is.")
        )
        return redirect(job_url(submission.job))
    report = submission.report
    if not report.ok:
        return _render_list(request, supplier, form=form, report=report, status_code=400)
    messages.success(
        request,
        ngettext(
            "Stock of %(n)d product saved.",
            "Stock of %(n)d products saved.",
            report.rows,
        )
        % {"n": report.rows},
    )
    return redirect("inventory:portal_stock")


@area_required("portal")
def stock_template(request, fmt: str):
    """The upload template, filled in with the supplier's own products and what they have available now."""
    supplier = portal_supplier(request)
    q = request.GET.get("q", "").strip()
    if fmt == "xlsx":
        response = HttpResponse(
            supplier_stock.stock_template_xlsx(supplier=supplier, q=q),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        response = HttpResponse(
            supplier_stock.stock_template_csv(supplier=supplier, q=q), content_type="text/csv; charset=utf-8"
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="relay-stock.{fmt}"'
    return response


# ------------------------------------------------------------------ API


class SupplierStockSerializer(serializers.Serializer):
    """One product the supplier sources, with what it reported."""

    sku = serializers.CharField()
    name = serializers.CharField()
    tracked = serializers.BooleanField(help_text="false until stock is reported: routing then assumes it is in stock")
    available = serializers.IntegerField(allow_null=True, help_text=AVAILABLE_MEANS)
    reserved = serializers.IntegerField(help_text="Units Relay has reserved for orders routed to you, not yet shipped.")
    updated = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(help_text='Your user\'s e-mail, or "merchant" when the merchant set it.')
    in_use = serializers.BooleanField(help_text="false when the merchant does not route orders of it to you now")


class StockReportRowSerializer(serializers.Serializer):
    sku = serializers.CharField(help_text="The product's SKU, as on your stock list.")
    available = serializers.IntegerField(min_value=0, help_text=AVAILABLE_MEANS)


class StockReportSerializer(serializers.Serializer):
    rows = StockReportRowSerializer(many=True, help_text=f"1 to {MAX_API_ROWS:,} rows; all are saved or none.")


class StockReportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField(help_text="products whose stock was not tracked before")
    updated = serializers.IntegerField()
    results = SupplierStockSerializer(many=True)


class StockListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True, help_text="the next page's number")
    previous = serializers.IntegerField(allow_null=True)
    results = SupplierStockSerializer(many=True)


class ProblemsSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.CharField(), help_text='"Row 2, sku: …", one per problem')
    detail = serializers.ListField(child=serializers.CharField())


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="the spreadsheet's row (the header is 1; 0 = the whole file)")
    column = serializers.CharField()
    reason = serializers.CharField()


class UploadReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    error_count = serializers.IntegerField()


class StockUploadJobSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="the upload's id")
    status = serializers.ChoiceField(choices=["pending", "running", "succeeded", "rejected", "failed"])
    finished = serializers.BooleanField()
    report = UploadReportSerializer(allow_null=True, help_text="null until the upload has finished")
    page = serializers.URLField(help_text="the portal page that shows the upload")


class StockUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX; columns SKU / 商品编码 and available / 可用库存.")


class StockQuerySerializer(serializers.Serializer):
    """The stock list's query string: documents it and checks it (query_params)."""

    q = serializers.CharField(
        required=False, allow_blank=True, help_text="SKU prefix or part of the product name; empty: every row"
    )
    page = serializers.IntegerField(required=False, min_value=1, default=1, help_text="1 = first page")
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        default=supplier_stock.PAGE_SIZE,
        help_text=f"rows a page (default {supplier_stock.PAGE_SIZE}, at most {MAX_PAGE_SIZE}; more gives {MAX_PAGE_SIZE})",
    )


@extend_schema(
    methods=["GET"],
    parameters=[StockQuerySerializer],
    responses=StockListSerializer,
    description="The products you source for this merchant, by SKU, with what you reported, page by page.",
)
@extend_schema(
    methods=["POST"],
    request=StockReportSerializer,
    responses={200: StockReportResultSerializer, 400: ProblemsSerializer},
    description="Report what is available, all rows or none: a 400 lists every problem by row (1 = the first "
    "row sent) and field, and nothing is saved. " + AVAILABLE_MEANS,
)
@api_view(["GET", "POST"])
@permission_classes([Portal])
def stock_api(request):
    supplier = portal_supplier(request)
    if request.method == "POST":
        rows = request.data.get("rows") if isinstance(request.data, dict) else None
        if not isinstance(rows, list):
            raise ValidationError({"rows": _('Send {"rows": [{"sku": "…", "available": 0}, …]}.')})
        if len(rows) > MAX_API_ROWS:
            raise ValidationError(
                {"rows": _("At most %(max)s rows a request; split the report.") % {"max": f"{MAX_API_ROWS:,}"}}
            )
        pairs = [(row.get("sku"), row.get("available")) if isinstance(row, dict) else (None, None) for row in rows]
        report = supplier_stock.stock_report(supplier=supplier, rows=pairs, actor=request.user)
        skus = [str(sku).strip() for sku, _available in pairs]
        sources = supplier_stock.stock_rows_for(supplier=supplier).filter(product__sku__in=skus)
        return Response(
            {
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "results": SupplierStockSerializer(_rows(sources, supplier), many=True).data,
            }
        )
    query = query_params(request, StockQuerySerializer)
    page = supplier_stock.stock_page(
        supplier=supplier,
        q=query.get("q", ""),
        page=query["page"],
        size=min(query["page_size"], MAX_PAGE_SIZE),
    )
    return Response(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "next": page.next_page_number() if page.has_next() else None,
            "previous": page.previous_page_number() if page.has_previous() else None,
            "results": SupplierStockSerializer(_rows(page.object_list, supplier), many=True).data,
        }
    )


@extend_schema(
    request={"multipart/form-data": StockUploadSerializer},
    responses={200: UploadReportSerializer, 202: StockUploadJobSerializer, 400: UploadReportSerializer},
    description="Report stock from a CSV/XLSX file, all rows or none: 200 with counts, or 400 with every problem "
    "by spreadsheet row (the header is row 1), column and reason. A file of more than "
    f"{supplier_stock.INLINE_ROWS:,} rows is checked by a worker: 202 with the upload's id, whose result "
    "the upload's job endpoint (and its page) shows. " + AVAILABLE_MEANS,
)
@api_view(["POST"])
@parser_classes([TextGuardMultiPartParser, TextGuardFormParser, TextGuardJSONParser])
@permission_classes([Portal])
def stock_upload_api(request):
    supplier = portal_supplier(request)
    serializer = StockUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": _("The file is larger than 20 MB. Split it into smaller files.")})
    submission = supplier_stock.stock_upload_submit(
        supplier=supplier, content=upload.read(), filename=upload.name, actor=request.user
    )
    if submission.job is not None:
        return Response(_job_body(request, submission.job), status=status.HTTP_202_ACCEPTED)
    report = submission.report
    return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


def _job_body(request, job) -> dict:
    return {
        "job": job.pk,
        "status": job.status,
        "finished": job.finished,
        "report": job.report or None,
        "page": request.build_absolute_uri(job_url(job)),
    }


@extend_schema(
    responses={200: StockUploadJobSerializer},  # 403/404 with their error body: core.api.AutoSchema
    description="Where a large stock file (answered 202 by the upload) stands: its status and, once finished, "
    "its report (counts, or every problem by row; nothing is saved unless all rows are valid).",
)
@api_view(["GET"])
@permission_classes([Portal])
def stock_upload_job_api(request, pk: int):
    job = supplier_stock.stock_upload_job_for(supplier=portal_supplier(request), pk=pk)
    return Response(_job_body(request, job))
