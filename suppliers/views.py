"""Suppliers in the merchant's console: list, create, edit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.forms import form_add_service_errors
from suppliers import selectors, services
from suppliers.forms import SupplierFilterForm, SupplierForm
from tenants.accounts.permissions import area_required


@area_required("console")
def supplier_list(request):
    form = SupplierFilterForm(request.GET or None)
    q = form.cleaned_data.get("q", "") if form.is_bound and form.is_valid() else ""
    qs = selectors.suppliers_with_counts(selectors.suppliers_filter(selectors.suppliers_for(user=request.user), q=q))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "suppliers/list.html",
        {"form": form, "page": page, "q": q, "page_title": _("Suppliers")},
    )


@area_required("console")
def supplier_create(request):
    form = SupplierForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            supplier = services.supplier_create(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Supplier %(name)s added.") % {"name": supplier.name})
            return redirect("suppliers:list")
    return render(request, "suppliers/form.html", {"form": form, "page_title": _("New supplier")})


@area_required("console")
def supplier_edit(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    initial = {
        "name": supplier.name,
        "code": supplier.code,
        "contact_email": supplier.contact_email,
        "active": supplier.active,
    }
    form = SupplierForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.supplier_update(supplier=supplier, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Supplier saved."))
            return redirect("suppliers:list")
    return render(
        request,
        "suppliers/form.html",
        {"form": form, "supplier": supplier, "page_title": _("Edit %(name)s") % {"name": supplier.name}},
    )
