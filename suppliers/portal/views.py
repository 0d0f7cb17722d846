"""The supplier portal's pages: home, the dispatch list (with bulk accept / reject) and one dispatch.

Every view is for supplier users only (area "portal") and reads through
suppliers.portal.selectors with the user's own supplier, so another
supplier's dispatch is a 404 and a bulk id of it is refused like an
unknown one. What a supplier does is a service of suppliers.actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode as django_urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.forms import form_add_service_errors
from core.listing import export_format, export_response
from suppliers import actions
from suppliers.models import Dispatch, Supplier
from suppliers.portal import dashboard, selectors, shipping_views
from suppliers.portal.access import portal_supplier
from suppliers.portal.exports import portal_dispatches_table
from suppliers.portal.forms import AcceptForm, AcceptPartlyForm, BulkForm, DispatchFilterForm, RejectForm
from tenants.accounts.permissions import area_required


def _tz(request):
    return request.tenant.tz


@area_required("portal")
def portal_home(request):
    supplier = portal_supplier(request)
    now = timezone.now()
    summary = selectors.portal_summary(supplier=supplier, tz=_tz(request), now=now)
    overdue = selectors.portal_overdue_latest(supplier=supplier, now=now)
    for dispatch in overdue:
        dispatch.overdue_kind = dispatch.overdue_at(now)
    return render(
        request,
        "suppliers/portal/home.html",
        {
            "page_title": _("Home"),
            "supplier": supplier,
            "summary": summary,
            "overdue": overdue,
            "shipped_query": django_urlencode({"state": "shipped", "shipped_from": summary.month_start.isoformat()}),
            "queue_chart": dashboard.queue_chart(dashboard.queue_by_state(supplier=supplier)),
            "on_time_chart": dashboard.on_time_chart(
                dashboard.on_time_by_month(supplier=supplier, tz=_tz(request), now=now)
            ),
        },
    )


@area_required("portal")
def portal_dispatches(request):
    supplier = portal_supplier(request)
    now = timezone.now()
    form = DispatchFilterForm(request.GET or None)
    filters = form.filters()
    if fmt := export_format(request.GET):
        table = portal_dispatches_table(supplier=supplier, filters=filters, tz=_tz(request), now=now)
        return export_response(table, filename=_("dispatches"), fmt=fmt)
    page = selectors.portal_dispatches_page(
        supplier=supplier,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        tz=_tz(request),
        now=now,
    )
    rows = _list_rows(page.dispatches, now=now, tz=_tz(request))
    base = {k: v for k, v in request.GET.items() if k not in ("after", "before", "export") and v}
    return render(
        request,
        "suppliers/portal/dispatches.html",
        {
            "page_title": _("Dispatches"),
            "form": form,
            "page": page,
            "rows": rows,
            "overdue_label": _("Overdue"),
            "shipped_label": _("shipped"),
            "filtered": bool(base),
            "back": request.GET.urlencode(),
            "next_query": urlencode({**base, "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**base, "before": page.prev_cursor}) if page.prev_cursor else "",
            "bulk_form": BulkForm(auto_id="bulk_%s"),
            # Newest first (the default) pages back in time; another sort just goes on.
            "prev_label": _("Newer") if filters.sort == "newest" else _("Previous"),
            "next_label": _("Older") if filters.sort == "newest" else _("Next"),
        },
    )


class _Row(NamedTuple):
    """One line of the list, its values formatted once here: a page of 50 renders in a few milliseconds."""

    pk: int
    number: str
    url: str
    created: str
    status: str
    status_label: str
    overdue_kind: str
    is_open: bool
    orders: str
    buyer_name: str
    ship_to: str
    units: int
    accept_by: str
    ship_by: str
    shipped: str
    promised: str


def _list_rows(dispatches: list[Dispatch], *, now, tz) -> list[_Row]:
    facts = selectors.portal_list_facts(dispatches=dispatches)
    # The supplier's own word for a pending dispatch (the merchant's pages say "Waiting for the supplier").
    labels = {**dict(Dispatch.Status.choices), Dispatch.Status.PENDING: _("Awaiting acceptance")}
    detail = reverse("suppliers:portal_dispatch", args=[0])[:-2]  # ".../dispatches/" + pk + "/"

    def when(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return timezone.localtime(moment, tz).strftime(fmt) if moment else ""

    rows = []
    for d in dispatches:
        ship_to = d.ship_to or {}
        rows.append(
            _Row(
                pk=d.pk,
                number=d.number,
                url=f"{detail}{d.pk}/",
                created=when(d.created),
                status=d.status,
                status_label=str(labels.get(d.status, d.status)),
                overdue_kind=d.overdue_at(now),
                is_open=d.is_open,
                orders=", ".join(facts.order_numbers.get(d.pk, [])),
                buyer_name=d.buyer_name,
                ship_to=" ".join(part for part in (ship_to.get("city"), ship_to.get("country")) if part),
                units=facts.units.get(d.pk, 0),
                accept_by=when(d.accept_by) if d.status == Dispatch.Status.PENDING else "",
                ship_by=when(d.ship_by) if d.is_open else "",
                shipped=when(d.shipped_at, "%Y-%m-%d"),
                promised=d.promised_ship_date.isoformat() if d.promised_ship_date else "",
            )
        )
    return rows


def _bulk_message(request, action: str, result: actions.BulkResult, unknown: list[int]) -> None:
    """One message with how many changed (and which), one with how many were refused and why."""
    if done := len(result.done):
        if action == BulkForm.ACCEPT:
            text = ngettext("%(n)d dispatch accepted: %(numbers)s.", "%(n)d dispatches accepted: %(numbers)s.", done)
        else:
            text = ngettext("%(n)d dispatch rejected: %(numbers)s.", "%(n)d dispatches rejected: %(numbers)s.", done)
        messages.success(request, text % {"n": done, "numbers": ", ".join(result.done)})
    refused = [f"{number} — {reason}" for number, reason in result.refused]
    refused += [_("#%(id)s — no dispatch of yours has this id.") % {"id": pk} for pk in unknown]
    if refused:
        text = ngettext(
            "%(n)d refused, nothing changed on it: %(list)s",
            "%(n)d refused, nothing changed on them: %(list)s",
            len(refused),
        )
        messages.warning(request, text % {"n": len(refused), "list": "; ".join(refused)})


@area_required("portal")
@require_POST
def portal_dispatches_bulk(request):
    supplier = portal_supplier(request)
    form = BulkForm(request.POST)
    back = reverse("suppliers:portal_dispatches")
    if form.is_valid():
        data = form.cleaned_data
        if data["back"]:
            back += "?" + data["back"].lstrip("?")
        found, unknown = selectors.portal_dispatches_by_ids(supplier=supplier, ids=data["ids"])
        try:
            if data["action"] == BulkForm.ACCEPT:
                result = actions.dispatches_accept(
                    dispatches=found, actor=request.user, promised_ship_date=data["promised_ship_date"],
                    supplier=supplier,
                )  # fmt: skip
                _bulk_message(request, BulkForm.ACCEPT, result, unknown)
            else:
                result = actions.dispatches_reject(
                    dispatches=found, reason_code=data["reason_code"], comment=data["comment"], actor=request.user,
                    supplier=supplier,
                )  # fmt: skip
                _bulk_message(request, BulkForm.REJECT, result, unknown)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return HttpResponseRedirect(back)


def _render_detail(request, supplier: Supplier, dispatch: Dispatch, *, forms: dict | None = None, status: int = 200):
    detail = selectors.portal_dispatch_detail(supplier=supplier, dispatch=dispatch)
    now = timezone.now()
    today = timezone.localdate()
    promise = max(today, timezone.localtime(dispatch.ship_by).date()) if dispatch.ship_by else today
    forms = forms or {}
    shown = {
        "accept": dispatch.status == Dispatch.Status.PENDING,
        "reject": dispatch.is_open,
        "partly": dispatch.is_open and len(detail.lines) > 1,
    }
    for name, form in forms.items():
        if not shown[name]:  # the dispatch moved on meanwhile: its form is gone, its refusal is not
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    context = {
        "page_title": dispatch.number,
        "supplier": supplier,
        "dispatch": dispatch,
        "detail": detail,
        "overdue_kind": dispatch.overdue_at(now),
        "can_accept": shown["accept"],
        "can_reject": shown["reject"],
        "can_split": shown["partly"],
        "accept_form": forms.get("accept") or AcceptForm(initial={"promised_ship_date": promise}),
        "reject_form": forms.get("reject") or RejectForm(),
        "partly_form": forms.get("partly")
        or AcceptPartlyForm(lines=detail.lines, initial={"promised_ship_date": promise}),
        **shipping_views.ship_panel_context(dispatch),  # the shipping panel's inline ship form
    }
    return render(request, "suppliers/portal/dispatch.html", context, status=status)


@area_required("portal")
def portal_dispatch(request, pk: int):
    supplier = portal_supplier(request)
    dispatch = selectors.portal_dispatch_get(supplier=supplier, pk=pk)
    return _render_detail(request, supplier, dispatch)


def _answer(
    request,
    pk: int,
    *,
    name: str,
    make_form: Callable[[Supplier, Dispatch], django_forms.Form],
    act: Callable[[Supplier, Dispatch, dict], str],
):
    """A supplier's answer to one of its dispatches, posted from the dispatch page's form ``name``.

    ``act`` calls the service and returns the success message; the page
    redirects to the dispatch. A refusal (an invalid form or the service's
    ValidationError, nothing changed) shows the page again with the form's
    errors, status 400.
    """
    supplier = portal_supplier(request)
    dispatch = selectors.portal_dispatch_get(supplier=supplier, pk=pk)
    form = make_form(supplier, dispatch)
    if form.is_valid():
        try:
            message = act(supplier, dispatch, form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect("suppliers:portal_dispatch", pk=dispatch.pk)
    dispatch.refresh_from_db()
    return _render_detail(request, supplier, dispatch, forms={name: form}, status=400)


@area_required("portal")
@require_POST
def portal_dispatch_accept(request, pk: int):
    def accept(supplier: Supplier, dispatch: Dispatch, data: dict) -> str:
        actions.dispatch_accept(
            dispatch=dispatch, actor=request.user, promised_ship_date=data["promised_ship_date"], supplier=supplier
        )
        return _("Dispatch %(number)s accepted.") % {"number": dispatch.number}

    return _answer(request, pk, name="accept", make_form=lambda _s, _d: AcceptForm(request.POST), act=accept)


@area_required("portal")
@require_POST
def portal_dispatch_reject(request, pk: int):
    def reject(supplier: Supplier, dispatch: Dispatch, data: dict) -> str:
        actions.dispatch_reject(
            dispatch=dispatch, reason_code=data["reason_code"], comment=data["comment"], actor=request.user,
            supplier=supplier,
        )  # fmt: skip
        return _("Dispatch %(number)s rejected; the merchant routes it on.") % {"number": dispatch.number}

    return _answer(request, pk, name="reject", make_form=lambda _s, _d: RejectForm(request.POST), act=reject)


@area_required("portal")
@require_POST
def portal_dispatch_accept_partly(request, pk: int):
    def partly_form(supplier: Supplier, dispatch: Dispatch) -> AcceptPartlyForm:
        lines = selectors.portal_dispatch_detail(supplier=supplier, dispatch=dispatch).lines
        return AcceptPartlyForm(request.POST, lines=lines)

    def accept_partly(supplier: Supplier, dispatch: Dispatch, data: dict) -> str:
        kept, split = actions.dispatch_accept_partly(
            dispatch=dispatch, rejected_line_ids=data["rejected_lines"], reason_code=data["reason_code"],
            comment=data["comment"], promised_ship_date=data["promised_ship_date"], actor=request.user,
            supplier=supplier,
        )  # fmt: skip
        if split is None:
            return _("Dispatch %(number)s rejected.") % {"number": kept.number}
        text = _("Dispatch %(number)s accepted without the lines you rejected; they moved to %(split)s.")
        return text % {"number": kept.number, "split": split.number}

    return _answer(request, pk, name="partly", make_form=partly_form, act=accept_partly)
