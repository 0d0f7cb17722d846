"""Suppliers in the merchant's console: list, create, edit, the supplier's page, its users and invitations."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import form_add_service_errors
from core.listing import Sorts, export_format, export_response
from suppliers import exports, members, scorecard, selectors, services
from suppliers.forms import SupplierFilterForm, SupplierForm, SupplierUserInviteForm
from suppliers.invites import invite_pending
from tenants.accounts.permissions import area_required

_TERMS = (
    "name", "code", "contact_name", "contact_email", "contact_phone", "currency", "payment_terms_days",
    "accept_within_hours", "ship_within_hours", "late_ship_penalty", "share_buyer_email", "active",
)  # fmt: skip
SCORECARD_MONTHS = 6


SUPPLIER_SORTS = Sorts(
    {"name": ("name",), "code": ("code",), "sources": ("source_count",), "overdue": ("overdue_count",)},
    default="name",
)


@area_required("console")
def supplier_list(request):
    form = SupplierFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    q = data.get("q") or ""
    active = {"active": True, "inactive": False}.get(data.get("status") or "")
    qs = selectors.suppliers_with_counts(
        selectors.suppliers_filter(selectors.suppliers_for(user=request.user), q=q, active=active)
    )
    sort = SUPPLIER_SORTS.from_query(request.GET)
    qs = selectors.suppliers_with_overdue(qs, now=timezone.now()).order_by(*sort.ordering)
    if fmt := export_format(request.GET):
        return export_response(exports.suppliers_table(qs), filename=_("suppliers"), fmt=fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "suppliers/list.html",
        {
            "form": form,
            "page": page,
            "q": q,
            "sort": sort,
            "filtered": bool(q or active is not None),
            "page_title": _("Suppliers"),
        },
    )


@area_required("console")
def supplier_create(request):
    form = SupplierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = services.supplier_create(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Supplier %(name)s added.") % {"name": supplier.name})
            return redirect("suppliers:detail", supplier.pk)
    return render(request, "suppliers/form.html", {"form": form, "page_title": _("New supplier")})


@area_required("console")
def supplier_edit(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    form = SupplierForm(request.POST or None, initial={name: getattr(supplier, name) for name in _TERMS})
    if request.method == "POST" and form.is_valid():
        try:
            services.supplier_update(supplier=supplier, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Supplier saved."))
            return redirect("suppliers:detail", supplier.pk)
    return render(
        request,
        "suppliers/form.html",
        {"form": form, "supplier": supplier, "page_title": _("Edit %(name)s") % {"name": supplier.name}},
    )


@area_required("console")
def supplier_detail(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    return _render_detail(request, supplier, SupplierUserInviteForm())


def _render_detail(request, supplier, invite_form, *, status: int = 200):
    now = timezone.now()
    scores = scorecard.supplier_scorecard(
        supplier_id=supplier.pk, tz=request.tenant.tz, months=SCORECARD_MONTHS, now=now
    )
    users = selectors.supplier_users_for(user=request.user, supplier=supplier)
    return render(
        request,
        "suppliers/detail.html",
        {
            "supplier": supplier,
            "users": [(user, invite_pending(user)) for user in users],
            "invite_form": invite_form,
            "scores": [_score_row(score) for score in reversed(scores)],  # newest first
            "rejections": scorecard.rejections_total(scores),
            "months": SCORECARD_MONTHS,
            "overdue": selectors.supplier_overdue_counts(supplier=supplier, now=now),
            "recent": selectors.supplier_recent_dispatches(supplier=supplier, now=now),
            "page_title": supplier.name,
        },
        status=status,
    )


def duration_text(value: dt.timedelta | None) -> str:
    """A median time as people read it: minutes under an hour, hours under two days, then days."""
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    if hours < 1:
        return _("%(n)s min") % {"n": round(hours * 60)}
    if hours < 48:
        return _("%(n)s h") % {"n": f"{hours:.1f}"}
    return _("%(n)s d") % {"n": f"{hours / 24:.1f}"}


def rate_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _score_row(score: scorecard.MonthScore) -> dict:
    return {
        "month": score.month,
        "dispatches": score.dispatches,
        "decided": score.decided,
        "median_accept": duration_text(score.median_accept),
        "median_ship": duration_text(score.median_ship),
        "on_time_rate": rate_text(score.on_time_rate),
        "on_time": score.on_time,
        "with_deadline": score.with_deadline,
        "rejection_rate": rate_text(score.rejection_rate),
        "rejected": score.rejected,
    }


@require_POST
@area_required("console")
def supplier_set_active(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    active = request.POST.get("active") == "1"
    if services.supplier_set_active(supplier=supplier, active=active):
        if active:
            messages.success(request, _("%(name)s is active again.") % {"name": supplier.name})
        else:
            messages.success(
                request,
                _("%(name)s is deactivated: routing sends it no new dispatches and its users cannot log in.")
                % {"name": supplier.name},
            )
    return redirect("suppliers:detail", supplier.pk)


@require_POST
@area_required("console")
def supplier_user_invite(request, pk: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    form = SupplierUserInviteForm(request.POST)
    if form.is_valid():
        try:
            user = members.supplier_user_invite(
                supplier=supplier,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                domain=request.get_host(),
                use_https=request.is_secure(),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("suppliers:detail", supplier.pk)
    return _render_detail(request, supplier, form, status=400)


@require_POST
@area_required("console")
def supplier_user_resend(request, pk: int, user_id: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    user = selectors.supplier_user_get_for(user=request.user, supplier=supplier, user_id=user_id)
    try:
        members.supplier_user_invite_resend(
            supplier=supplier, user=user, domain=request.get_host(), use_https=request.is_secure()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Invitation sent again to %(email)s.") % {"email": user.email})
    return redirect("suppliers:detail", supplier.pk)


@require_POST
@area_required("console")
def supplier_user_set_active(request, pk: int, user_id: int):
    supplier = selectors.supplier_get_for(user=request.user, pk=pk)
    user = selectors.supplier_user_get_for(user=request.user, supplier=supplier, user_id=user_id)
    active = request.POST.get("active") == "1"
    if members.supplier_user_set_active(supplier=supplier, user=user, active=active):
        text = _("%(email)s can log in again.") if active else _("%(email)s is deactivated and can no longer log in.")
        messages.success(request, text % {"email": user.email})
    return redirect("suppliers:detail", supplier.pk)
