"""Portal pages for shipping: ship a dispatch in one or several parcels, upload tracking numbers in bulk,
and print packing and picking lists (HTML for the browser's print, and PDF).

Every page works without JavaScript: the number of parcels is chosen with a
button that re-renders the form with what was typed, and a queued upload's
page refreshes itself (meta refresh) until the job is finished.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from suppliers import documents, tracking_upload, tracking_upload_jobs
from suppliers.carriers import carrier_choices, carrier_lookup, tracking_warning
from suppliers.models import Dispatch, DispatchLine, Supplier
from suppliers.portal.access import portal_supplier
from suppliers.portal.selectors import portal_dispatch_get, portal_dispatches_by_ids
from suppliers.shipping import ParcelSpec, dispatch_ship, parcels_problems
from tenants.accounts.permissions import area_required

MAX_PARCELS = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _detail_url(dispatch: Dispatch) -> str:
    return reverse("suppliers:portal_dispatch", args=[dispatch.pk])


# ------------------------------------------------------------------ ship


class ParcelForm(forms.Form):
    """One parcel: carrier, tracking number and, when the dispatch ships in several, units per line."""

    carrier = forms.ChoiceField(label=gettext_lazy("Carrier"))
    tracking_number = forms.CharField(label=gettext_lazy("Tracking number"), max_length=60)

    def __init__(self, *args, lines: list[DispatchLine] = (), split: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = [("", "—"), *carrier_choices()]
        self.fields["carrier"].help_text = _(
            "Not listed? Choose “Other”: its number cannot be checked and no tracking link is sent."
        )
        self.line_names: list[tuple[str, DispatchLine]] = []
        if split:
            for line in lines:
                name = f"line_{line.pk}"
                self.fields[name] = forms.IntegerField(
                    label=f"{line.product.sku} · {line.product.name}",
                    min_value=0,
                    max_value=line.quantity,
                    required=False,
                    widget=forms.NumberInput(attrs={"class": "qty", "min": 0, "max": line.quantity}),
                )
                self.line_names.append((name, line))

    @property
    def line_fields(self):
        return [(self[name], line) for name, line in self.line_names]

    @property
    def warning(self) -> str:
        carrier = carrier_lookup(str(self["carrier"].value() or ""))
        return (tracking_warning(carrier.code, "") or "") if carrier else ""

    def clean(self):
        data = super().clean()
        if self.line_names and not any(data.get(name) for name, _line in self.line_names):
            raise ValidationError(_("This parcel holds nothing: give it quantities, or ship in fewer parcels."))
        return data

    def spec(self) -> ParcelSpec:
        data = self.cleaned_data
        lines = None
        if self.line_names:
            lines = {line.pk: data[name] for name, line in self.line_names if data.get(name)}
        return ParcelSpec(data["carrier"], data["tracking_number"], lines)


def _parcel_count(value) -> int:
    try:
        return min(max(int(value), 1), MAX_PARCELS)
    except (TypeError, ValueError):
        return 1


def _parcel_forms(*, dispatch_lines: list[DispatchLine], count: int, data=None) -> list[ParcelForm]:
    split = count > 1
    if data is None:
        return [ParcelForm(prefix=f"p{i}", lines=dispatch_lines, split=split) for i in range(count)]
    return [ParcelForm(data, prefix=f"p{i}", lines=dispatch_lines, split=split) for i in range(count)]


def _as_initial(data, count: int, dispatch_lines: list[DispatchLine]) -> list[ParcelForm]:
    """Unbound forms holding what was typed: re-rendered for a new number of parcels without errors shown."""
    result = []
    for i in range(count):
        prefix = f"p{i}"
        names = ["carrier", "tracking_number", *(f"line_{line.pk}" for line in dispatch_lines)]
        initial = {name: data.get(f"{prefix}-{name}") for name in names if data.get(f"{prefix}-{name}") is not None}
        result.append(ParcelForm(prefix=prefix, lines=dispatch_lines, split=count > 1, initial=initial))
    return result


def _ship_attempt(request, dispatch: Dispatch, supplier: Supplier, parcels: list[ParcelForm]) -> list[str] | None:
    """Check and ship; None when shipped, else the errors that belong to no one parcel (the forms hold the rest)."""
    if not all(form.is_valid() for form in parcels):
        return []
    specs = [form.spec() for form in parcels]
    general: list[str] = []
    for problem in parcels_problems(dispatch=dispatch, parcels=specs):
        if problem.parcel is None:
            general.append(problem.message)
        else:
            field = problem.field if problem.field in ("carrier", "tracking_number") else None
            parcels[problem.parcel].add_error(field, problem.message)
    if general or any(form.errors for form in parcels):
        return general
    try:
        dispatch_ship(dispatch=dispatch, parcels=specs, actor=request.user, supplier=supplier)
    except ValidationError as exc:  # changed since the check (another user, another tab): say what, keep the form
        return [str(message) for message in exc.messages]
    return None


@area_required("portal")
def ship(request, pk: int):
    supplier = portal_supplier(request)
    dispatch = portal_dispatch_get(supplier=supplier, pk=pk)
    lines = list(DispatchLine.objects.filter(dispatch=dispatch).select_related("product").order_by("pk"))
    count = _parcel_count(request.POST.get("parcels") if request.method == "POST" else request.GET.get("parcels"))
    general: list[str] = []
    if request.method == "POST" and request.POST.get("action") != "resize":
        parcels = _parcel_forms(dispatch_lines=lines, count=count, data=request.POST)
        outcome = _ship_attempt(request, dispatch, supplier, parcels)
        if outcome is None:
            messages.success(
                request,
                ngettext(
                    "Dispatch %(number)s shipped in %(count)d parcel.",
                    "Dispatch %(number)s shipped in %(count)d parcels.",
                    count,
                )
                % {"number": dispatch.number, "count": count},
            )
            for form in parcels:
                if form.warning:
                    messages.warning(request, form.warning)
            return redirect(_detail_url(dispatch))
        general = outcome
    elif request.method == "POST":
        parcels = _as_initial(request.POST, count, lines)
    else:
        parcels = _parcel_forms(dispatch_lines=lines, count=count)
    return render(
        request,
        "suppliers/portal/shipping.html",
        {
            "dispatch": dispatch,
            "lines": lines,
            "parcels": parcels,
            "count": count,
            "counts": range(1, MAX_PARCELS + 1),
            "general_errors": general,
            "detail_url": _detail_url(dispatch),
            "page_title": _("Ship %(number)s") % {"number": dispatch.number},
        },
    )


def ship_panel_context(dispatch: Dispatch) -> dict:
    """What shipping_panel.html can show inline on the dispatch page: a one-parcel ship form."""
    return {"ship_form": ParcelForm(prefix="p0")} if dispatch.is_open else {}


# ------------------------------------------------------------------ tracking upload


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or Excel file"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Filled in per request: a lazy string formatted at import time would be English for everyone.
        self.fields["file"].help_text = _("Up to %(rows)s rows and %(mb)d MB.") % {
            "rows": f"{tracking_upload.MAX_ROWS:,}", "mb": tracking_upload.MAX_BYTES // (1024 * 1024),
        }  # fmt: skip


@area_required("portal")
def upload(request):
    supplier = portal_supplier(request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    report = None
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        if file.size > tracking_upload.MAX_BYTES:
            form.add_error("file", tracking_upload.too_large().errors[0].reason)
        else:
            submission = tracking_upload_jobs.tracking_upload_submit(
                supplier=supplier, content=file.read(), filename=file.name, actor=request.user
            )
            if submission.job is not None:
                return redirect("suppliers:portal_tracking_job", job_id=submission.job["id"])
            report = submission.report
            if report is not None and report.ok:
                messages.success(request, _shipped_text(report.as_dict()))
                for warning in report.warnings[:20]:
                    messages.warning(
                        request, _("Row %(row)d: %(reason)s") % {"row": warning.row, "reason": warning.reason}
                    )
                return redirect("suppliers:portal_tracking_upload")
    return render(
        request,
        "suppliers/portal/tracking_upload.html",
        {
            "form": form,
            "report": report,
            "columns": _columns(),
            "page_title": _("Upload tracking numbers"),
        },
    )


def _shipped_text(report: dict) -> str:
    dispatches = ngettext("%(n)d dispatch shipped", "%(n)d dispatches shipped", report["shipped"]) % {
        "n": report["shipped"]
    }
    parcels = ngettext("in %(n)d parcel.", "in %(n)d parcels.", report["parcels"]) % {"n": report["parcels"]}
    text = f"{dispatches} {parcels}"
    if report["skipped"]:
        text += " " + ngettext(
            "%(n)d row without carrier and tracking number was skipped.",
            "%(n)d rows without carrier and tracking number were skipped.",
            report["skipped"],
        ) % {"n": report["skipped"]}
    return text


def _columns() -> list[tuple[str, str, str, object]]:
    others = tracking_upload.OTHER_HEADERS
    return [
        (
            name,
            tracking_upload.CHINESE_HEADERS[name],
            ", ".join(h for h in others[name] if not h.isascii()),
            tracking_upload.COLUMN_HELP[name],
        )
        for name in tracking_upload.COLUMNS
    ]


@area_required("portal")
def upload_job(request, job_id: str):
    supplier = portal_supplier(request)
    job = tracking_upload_jobs.tracking_upload_job(supplier=supplier, job_id=job_id)
    if job is None:
        raise Http404
    return render(
        request,
        "suppliers/portal/tracking_job.html",
        {
            "job": job,
            "report": job["report"],
            "shipped_text": _shipped_text(job["report"]) if job["report"] and job["report"]["ok"] else "",
            "page_title": _("Tracking upload"),
        },
    )


@area_required("portal")
def upload_template(request, fmt: str):
    supplier = portal_supplier(request)
    if fmt == "xlsx":
        response = HttpResponse(tracking_upload.template_xlsx(supplier=supplier), content_type=XLSX)
    elif fmt == "csv":
        response = HttpResponse(tracking_upload.template_csv(supplier=supplier), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="relay-tracking-upload.{fmt}"'
    return response


# ------------------------------------------------------------------ packing and picking lists


def documents_selection(*, supplier: Supplier, kind: str, ids: Iterable[str]) -> list[Dispatch]:
    """The dispatches a packing or picking list is asked for (``ids`` as the query or form gives them).

    Http404 for an unknown kind, and for the whole selection when it is empty,
    too large, or names any dispatch that is not the supplier's.
    """
    if kind not in documents.KINDS:
        raise Http404
    wanted = documents.selection_ids(ids)
    if not wanted or len(wanted) > documents.MAX_DISPATCHES:
        raise Http404
    found, missing = portal_dispatches_by_ids(supplier=supplier, ids=wanted)
    if missing or not found:
        raise Http404
    return found


def _selected(request, supplier: Supplier, kind: str) -> list[Dispatch]:
    source = request.POST if request.method == "POST" else request.GET  # the list's bulk bar posts its ticks
    return documents_selection(supplier=supplier, kind=kind, ids=source.getlist("ids"))


@area_required("portal")
def documents_view(request, kind: str):
    supplier = portal_supplier(request)
    dispatches = _selected(request, supplier, kind)
    ids = ",".join(str(d.pk) for d in dispatches)
    context = {
        "supplier": supplier,
        "dispatches": dispatches,
        "ids": ids,
        "font_note": documents.cjk_font_missing_note(),
        "pdf_url": f"{reverse('suppliers:portal_documents_pdf', args=[kind])}?ids={ids}",
    }
    if kind == "packing":
        context.update(slips=documents.packing_slips(dispatches=dispatches), page_title=_("Packing list"))
        return render(request, "suppliers/portal/documents_packing.html", context)
    picks = documents.picking_list(dispatches=dispatches)
    context.update(picks=picks, units=sum(p.quantity for p in picks), page_title=_("Picking list"))
    return render(request, "suppliers/portal/documents_picking.html", context)


def documents_pdf_response(*, supplier: Supplier, kind: str, dispatches: list[Dispatch]) -> HttpResponse:
    """The PDF of a packing or picking list, as a download."""
    if kind == "packing":
        content = documents.packing_pdf(supplier=supplier, slips=documents.packing_slips(dispatches=dispatches))
    else:
        picks = documents.picking_list(dispatches=dispatches)
        content = documents.picking_pdf(supplier=supplier, picks=picks, dispatch_count=len(dispatches))
    response = HttpResponse(content, content_type="application/pdf")
    name = dispatches[0].number if len(dispatches) == 1 else f"{len(dispatches)}-dispatches"
    response["Content-Disposition"] = f'inline; filename="{kind}-list-{name}.pdf"'
    return response


@area_required("portal")
def documents_pdf(request, kind: str):
    supplier = portal_supplier(request)
    return documents_pdf_response(supplier=supplier, kind=kind, dispatches=_selected(request, supplier, kind))
