"""Catalog pages: products, their source paths and stock, listing mapping with the unmapped queue, bulk import."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import form_add_service_errors
from core.listing import XLSX_TYPE, Sorts, export_format, export_response, query_without
from inventory import exports, import_templates, imports, imports_jobs, mapping_import, selectors, services
from inventory.forms import (
    ComponentFormSet,
    ImportForm,
    ListingFilterForm,
    ListingForm,
    ProductFilterForm,
    ProductForm,
    SourceForm,
    StockForm,
)
from inventory.models import CatalogImport, Product
from suppliers.models import Supplier
from tenants.accounts.permissions import area_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


# ------------------------------------------------------------------ products


PRODUCT_SORTS = Sorts({"sku": ("sku",), "name": ("name",), "updated": ("updated",)}, default="sku")
LISTING_SORTS = Sorts({"sku": ("listing_sku",), "updated": ("updated",)}, default="sku")


def _query(base: dict, **extra: str) -> str:
    return urlencode({**base, **extra})


@area_required("console")
def product_list(request):
    suppliers = list(Supplier.objects.order_by("-active", "name", "pk").values_list("pk", "name"))
    form = ProductFilterForm(request.GET or None, suppliers=suppliers)
    filters = selectors.ProductFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.ProductFilters(
            q=data.get("q") or "", active=form.active_value(), source=data.get("source") or ""
        )
    sort = PRODUCT_SORTS.from_query(request.GET)
    scope = selectors.products_filter(selectors.products_for(user=request.user), replace(filters, active=None))
    qs = selectors.products_filter(scope, filters)
    if fmt := export_format(request.GET):
        return export_response(exports.products_table(qs.order_by(*sort.ordering)), filename=_("products"), fmt=fmt)
    page = selectors.products_page(
        qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""), ordering=sort.ordering
    )
    base = {k: v for k, v in request.GET.items() if k not in ("after", "before", "export") and v}
    return render(
        request,
        "inventory/products.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "tab": {True: "active", False: "inactive"}.get(filters.active, ""),
            "counts": selectors.products_tab_counts(scope),
            "page_title": _("Products"),
            "filtered": bool({k: v for k, v in base.items() if k != "sort"}),
            "next_query": _query(base, after=page.next_cursor) if page.next_cursor else "",
            "prev_query": _query(base, before=page.prev_cursor) if page.prev_cursor else "",
        },
    )


@area_required("console")
def product_create(request):
    form = ProductForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Product %(sku)s created. Add its sources below.") % {"sku": product.sku})
            return redirect("inventory:product", pk=product.pk)
    return render(request, "inventory/product_form.html", {"form": form, "page_title": _("New product")})


@area_required("console")
def product_edit(request, pk: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    initial = {"sku": product.sku, "name": product.name, "weight_grams": product.weight_grams, "active": product.active}
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("inventory:product", pk=product.pk)
    return render(
        request,
        "inventory/product_form.html",
        {"form": form, "product": product, "page_title": _("Edit %(sku)s") % {"sku": product.sku}},
    )


@area_required("console")
def product_detail(request, pk: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    sources = selectors.product_sources(product=product)
    for source in sources:
        source.tracked_stock = selectors.stock_of(source)
    listings = product.listing_components.select_related("listing").order_by("listing__listing_sku")[:50]
    return render(
        request,
        "inventory/product_detail.html",
        {"product": product, "sources": sources, "listings": listings, "page_title": product.sku},
    )


# ------------------------------------------------------------------ sources


def _suppliers_for_form(current: int | None = None):
    qs = Supplier.objects.filter(active=True)
    if current is not None:
        qs = Supplier.objects.filter(pk=current) | qs
    return qs.order_by("name")


@area_required("console")
def source_create(request, pk: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    form = SourceForm(request.POST or None, suppliers=_suppliers_for_form())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.source_create(
                product=product,
                supplier=data["supplier"],
                cost_price=data["cost_price"],
                currency=data["currency"],
                regions=services.parse_regions(data["regions"]),
                lead_time_days=data["lead_time_days"],
                active=data["active"],
                on_hand=data.get("on_hand"),
                actor=request.user,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Source added to the end of the path."))
            return redirect("inventory:product", pk=product.pk)
    return render(
        request,
        "inventory/source_form.html",
        {"form": form, "product": product, "page_title": _("Add a source to %(sku)s") % {"sku": product.sku}},
    )


@area_required("console")
def source_edit(request, pk: int, source_id: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    source = selectors.source_get_for(user=request.user, pk=source_id, product=product)
    form = SourceForm(request.POST or None, suppliers=_suppliers_for_form(source.supplier_id), source=source)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.source_update(
                source=source,
                supplier=data["supplier"],
                cost_price=data["cost_price"],
                currency=data["currency"],
                regions=services.parse_regions(data["regions"]),
                lead_time_days=data["lead_time_days"],
                active=data["active"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Source saved."))
            return redirect("inventory:product", pk=product.pk)
    return render(
        request,
        "inventory/source_form.html",
        {
            "form": form,
            "product": product,
            "source": source,
            "page_title": _("Source %(position)d of %(sku)s") % {"position": source.position, "sku": product.sku},
        },
    )


@require_POST
@area_required("console")
def source_move(request, pk: int, source_id: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    source = selectors.source_get_for(user=request.user, pk=source_id, product=product)
    services.source_move(source=source, offset=-1 if request.POST.get("direction") == "up" else 1)
    return redirect("inventory:product", pk=product.pk)


@require_POST
@area_required("console")
def source_active(request, pk: int, source_id: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    source = selectors.source_get_for(user=request.user, pk=source_id, product=product)
    active = request.POST.get("active") == "1"
    services.source_set_active(source=source, active=active)
    messages.success(request, _("Source activated.") if active else _("Source deactivated; routing skips it."))
    return redirect("inventory:product", pk=product.pk)


@require_POST
@area_required("console")
def source_stock(request, pk: int, source_id: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    source = selectors.source_get_for(user=request.user, pk=source_id, product=product)
    form = StockForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("inventory:product", pk=product.pk)
    try:
        services.stock_set(source=source, on_hand=form.cleaned_data["on_hand"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Stock saved."))
    return redirect("inventory:product", pk=product.pk)


# ------------------------------------------------------------------ listings


@area_required("console")
def listings(request):
    """The mapped listing SKUs. The unmapped ones are a queue of the orders waiting for them (orders:unmapped)."""
    tab = request.GET.get("tab") or "mapped"
    if tab == "unmapped":
        return redirect(reverse("orders:unmapped") + (f"?{urlencode({'q': q})}" if (q := request.GET.get("q")) else ""))
    if tab != "mapped":
        raise Http404
    form = ListingFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    q = data.get("q") or ""
    qs = selectors.listings_filter(
        selectors.listings_for(user=request.user), q=q, kind=data.get("kind") or "", how=data.get("how") or ""
    )
    sort = LISTING_SORTS.from_query(request.GET)
    qs = qs.order_by(*sort.ordering)
    if fmt := export_format(request.GET):
        return export_response(exports.listings_table(qs), filename=_("listings"), fmt=fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "q": q,
        "form": form,
        "sort": sort,
        "filtered": any(data.values()),
        "page_title": _("Listings"),
        "listings": page,
        "page_query": query_without(request.GET),
    }
    return render(request, "inventory/listings.html", context)


def _components(formset) -> tuple[list[tuple[Product, int]], bool]:
    """The formset's (product, quantity) pairs; unknown SKUs are marked on their rows."""
    rows = [(f, f.cleaned_data.get("product_sku"), f.cleaned_data.get("quantity")) for f in formset.forms]
    rows = [(f, sku.strip(), quantity) for f, sku, quantity in rows if sku and sku.strip()]
    products = {p.sku: p for p in Product.objects.filter(sku__in=[sku for _f, sku, _q in rows])}
    ok = True
    for form, sku, _quantity in rows:
        if sku not in products:
            form.add_error("product_sku", _("No product has the SKU %(sku)s.") % {"sku": sku})
            ok = False
    return [(products[sku], quantity) for _f, sku, quantity in rows if sku in products], ok


@area_required("console")
def listing_map(request):
    listing = None
    initial_sku = request.GET.get("listing_sku", "")
    if request.method == "GET" and initial_sku:
        listing = selectors.listings_for(user=request.user).filter(listing_sku=initial_sku).first()
    if listing is not None:
        initial = [{"product_sku": c.product.sku, "quantity": c.quantity} for c in listing.components.all()]
    elif product_sku := request.GET.get("product_sku", ""):
        initial = [{"product_sku": product_sku, "quantity": 1}]
    else:
        initial = []
    form = ListingForm(request.POST or None, initial={"listing_sku": initial_sku})
    formset = ComponentFormSet(request.POST or None, initial=initial, prefix="components")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        components, ok = _components(formset)
        if ok and not components:
            form.add_error(None, _("Give at least one product SKU."))
        elif ok:
            try:
                mapped = services.listing_map(
                    listing_sku=form.cleaned_data["listing_sku"], components=components, actor=request.user
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(sku)s is mapped. Held orders waiting for it are being routed again.")
                    % {"sku": mapped.listing_sku},
                )
                query = urlencode({"tab": "mapped", "q": mapped.listing_sku})
                return redirect(f"{reverse('inventory:listings')}?{query}")
    return render(
        request,
        "inventory/listing_form.html",
        {"form": form, "formset": formset, "page_title": _("Map a listing SKU")},
    )


@require_POST
@area_required("console")
def listing_unmap(request, pk: int):
    listing = selectors.listing_get_for(user=request.user, pk=pk)
    services.listing_unmap(listing=listing, actor=request.user)
    messages.success(request, _("%(sku)s is no longer mapped.") % {"sku": listing.listing_sku})
    return redirect(f"{reverse('inventory:listings')}?tab=mapped")


# ------------------------------------------------------------------ import


def _submitted(request, form, kind: str):
    """The catalogue import of the posted file: imported at once (its report) or queued (its job); None when
    nothing was posted or the form refused the file (its errors are on the form)."""
    if request.method != "POST" or not form.is_valid():
        return None
    upload = form.cleaned_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        form.add_error("file", _("The file is larger than 20 MB. Split it into smaller files."))
        return None
    return imports_jobs.catalog_import_submit(
        kind=kind, content=upload.read(), filename=upload.name, actor=request.user
    )


@area_required("console")
def product_import(request):
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    submission = _submitted(request, form, CatalogImport.Kind.PRODUCTS)
    if submission is not None and submission.job is not None:
        return redirect("inventory:import_detail", pk=submission.job.pk)
    report = submission.report if submission is not None else None
    if report is not None and report.ok:
        messages.success(
            request,
            _(
                "%(rows)d rows imported: %(pc)d products created, %(pu)d updated; "
                "%(sc)d sources created, %(su)d updated; stock set on %(st)d sources."
            )
            % {
                "rows": report.rows,
                "pc": report.products_created,
                "pu": report.products_updated,
                "sc": report.sources_created,
                "su": report.sources_updated,
                "st": report.stock_set,
            },
        )
        return redirect("inventory:products")
    return render(
        request,
        "inventory/import.html",
        {
            "form": form,
            "report": report,
            "columns": [(c, imports.CHINESE_HEADERS[c], imports.COLUMN_HELP[c]) for c in imports.COLUMNS],
            "recent": imports_jobs.catalog_imports_recent(user=request.user, kind=CatalogImport.Kind.PRODUCTS),
            "inline_rows": imports_jobs.INLINE_ROWS,
            "page_title": _("Import products"),
        },
    )


@area_required("console")
def import_template(request, fmt: str):
    # The examples name two of the tenant's own suppliers, so the template imports as it is.
    codes = list(Supplier.objects.filter(active=True).order_by("code").values_list("code", flat=True)[:2])
    if fmt == "xlsx":
        response = HttpResponse(
            import_templates.template_xlsx(supplier_codes=codes),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        response = HttpResponse(
            import_templates.template_csv(supplier_codes=codes), content_type="text/csv; charset=utf-8"
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="relay-products-template.{fmt}"'
    return response


@area_required("console")
def listing_import(request):
    """Map many listing SKUs at once from a spreadsheet (the listings' and the unmapped queue's downloads)."""
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    form.fields["file"].label = _("Mappings file (.csv or .xlsx)")
    submission = _submitted(request, form, CatalogImport.Kind.MAPPINGS)
    if submission is not None and submission.job is not None:
        return redirect("inventory:import_detail", pk=submission.job.pk)
    report = submission.report if submission is not None else None
    if report is not None and report.ok:
        messages.success(
            request,
            _(
                "%(rows)d rows imported: %(created)d listing SKUs mapped, %(updated)d changed, "
                "%(unchanged)d already so, %(skipped)d skipped (no product SKU). "
                "Held orders waiting for them are being routed again."
            )
            % {
                "rows": report.rows,
                "created": report.listings_created,
                "updated": report.listings_updated,
                "unchanged": report.listings_unchanged,
                "skipped": report.listings_skipped,
            },
        )
        return redirect("inventory:listings")
    columns = [(c, mapping_import.CHINESE_HEADERS[c], mapping_import.COLUMN_HELP[c]) for c in mapping_import.COLUMNS]
    return render(
        request,
        "inventory/listing_import.html",
        {
            "form": form,
            "report": report,
            "columns": columns,
            "recent": imports_jobs.catalog_imports_recent(user=request.user, kind=CatalogImport.Kind.MAPPINGS),
            "inline_rows": imports_jobs.INLINE_ROWS,
            "page_title": _("Import listing mappings"),
        },
    )


@area_required("console")
def import_detail(request, pk: int):
    """A large import run by a worker: its progress while it runs (the page refreshes itself), then what it
    changed or why it changed nothing."""
    job = imports_jobs.catalog_import_get_for(user=request.user, pk=pk)
    return render(
        request,
        "inventory/import_detail.html",
        {
            "job": job,
            "progress": imports_jobs.catalog_import_progress(job=job),
            "report": job.report if job.finished else None,
            "page_title": _("Import of %(file)s") % {"file": job.filename},
        },
    )


@area_required("console")
def listing_import_template(request, fmt: str):
    if fmt == "xlsx":
        content, content_type = mapping_import.template_xlsx(), XLSX_TYPE
    elif fmt == "csv":
        content, content_type = mapping_import.template_csv(), "text/csv; charset=utf-8"
    else:
        raise Http404
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="relay-mappings-template.{fmt}"'
    return response
