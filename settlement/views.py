"""The finance pages: periods and the month close, a period's statements, one statement (issue, resolve
disputes, mark paid), adjustments. Views parse input and call one settlement service; a service's refusal
is shown as a message or next to the field, and the page changes nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.listing import export_format, export_response
from settlement import dashboard, listings, statement_states
from settlement.adjustments import adjustment_approve, adjustment_create
from settlement.closing import close_progress, period_close_start
from settlement.forms import (
    AdjustmentFilterForm,
    AdjustmentForm,
    DisputeResolveForm,
    MarkPaidForm,
    StatementFilterForm,
    add_service_errors,
    month_label,
)
from settlement.models import Adjustment, Period, Statement, StatementDispute, StatementLine
from settlement.periods import (
    month_of,
    next_month,
    parse_month,
    period_bounds,
    period_for,
    previous_month,
    tenant_time_zone,
)
from suppliers.models import Supplier
from tenants.accounts.permissions import area_required

STATEMENTS_PAGE_SIZE = 100
ADJUSTMENTS_PAGE_SIZE = 50


# ---------------------------------------------------------------- lookups (the tenant's schema scopes every row)


def _parse_month(text: str) -> dt.date:
    try:
        return parse_month(text)
    except ValueError:
        raise Http404 from None


def _period_get(month: str) -> Period:
    return get_object_or_404(Period, month=_parse_month(month))


def show_refusal(request, exc: ValidationError) -> None:
    """A service's refusal, each of its messages shown to the person."""
    for message in exc.messages:
        messages.error(request, message)


def next_to_close() -> tuple[dt.date | None, Period | None]:
    """The month the "Close month" button closes (None: none has ended yet), and a period already closing."""
    closing = Period.objects.filter(status=Period.Status.CLOSING).order_by("month").first()
    if closing is not None:
        return closing.month, closing
    last_closed = Period.objects.filter(status=Period.Status.CLOSED).order_by("-month").first()
    if last_closed is not None:
        month = next_month(last_closed.month)
    else:
        first_open = Period.objects.exclude(status=Period.Status.CLOSED).order_by("month").first()
        month = first_open.month if first_open else previous_month(month_of(timezone.now()))
    if timezone.now() < period_bounds(month=month)[1]:
        return None, None
    return month, None


# ---------------------------------------------------------------- periods and the close


@area_required("finance")
def index(request):
    periods = list(Period.objects.all())
    groups = dashboard.statement_groups()  # one query for the periods' figures and the statements by state
    counts, totals = dashboard.period_figures(groups)
    rows = [
        {"period": p, "label": month_label(p.month), "totals": totals.get(p.pk, []), "count": counts.get(p.pk, 0)}
        for p in periods
    ]
    month, closing = next_to_close()
    return render(
        request,
        "settlement/index.html",
        {
            "page_title": _("Settlement"),
            "rows": rows,
            "next_month": month_label(month) if month else "",
            "closing": closing,
            "finance": dashboard.finance_dashboard(periods=periods, groups=groups),
        },
    )


@area_required("finance")
@require_POST
def close(request):
    month, _closing = next_to_close()
    posted = request.POST.get("month", "")
    if month is None or posted != month_label(month):
        messages.error(request, _("That month cannot be closed now; the page shows the month that can."))
        return redirect("settlement:index")
    try:
        period_close_start(period=period_for(month=month), actor=request.user)
    except ValidationError as exc:
        show_refusal(request, exc)
        return redirect("settlement:index")
    messages.success(request, _("Closing %(month)s in the background.") % {"month": posted})
    return redirect("settlement:close_progress", month=posted)


@area_required("finance")
def close_progress_page(request, month: str):
    """The close of ``month`` while it runs (steps done, refreshing itself) and, once closed, its result: the
    statements made per supplier with their lines and totals, the lines in all, and the way to the period."""
    period = _period_get(month)
    progress = close_progress(period_id=period.pk)
    finished = period.status == Period.Status.CLOSED
    running = not finished and progress is not None and progress["state"] in ("queued", "running")
    made = (
        list(
            Statement.objects.filter(period=period)
            .select_related("supplier")
            .annotate(line_count=Count("lines"))
            .order_by("supplier__name", "currency")
        )
        if finished
        else []
    )
    return render(
        request,
        "settlement/close_progress.html",
        {
            "page_title": _("Closing %(month)s") % {"month": month},
            "period": period,
            "label": month,
            "progress": progress,
            "finished": finished,
            "running": running,
            "can_resume": period.status == Period.Status.CLOSING and not running,
            "statements": made,
            "line_total": sum(statement.line_count for statement in made),
            "suppliers": len({statement.supplier_id for statement in made}),
        },
    )


# ---------------------------------------------------------------- a period's statements


@area_required("finance")
def period_detail(request, month: str):
    period = _period_get(month)
    suppliers = Supplier.objects.filter(statements__period=period).distinct().order_by("name")
    form = StatementFilterForm(request.GET or None, suppliers=suppliers)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = listings.STATEMENT_SORTS.from_query(request.GET)
    statements = listings.period_statements_filtered(period=period, filters=filters, sort=sort)
    if fmt := export_format(request.GET):
        return export_response(listings.statements_export(statements), filename=f"statements-{month}", fmt=fmt)
    page = Paginator(statements, STATEMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    totals = (
        Statement.objects.filter(period=period).values("currency").annotate(total=Sum("total")).order_by("currency")
    )
    return render(
        request,
        "settlement/period.html",
        {
            "page_title": _("Settlement %(month)s") % {"month": month},
            "period": period,
            "label": month,
            "form": form,
            "page": page,
            "sort": sort,
            "filtered": any(filters.values()),
            "totals": list(totals),
        },
    )


# ---------------------------------------------------------------- one statement


def _statement_get(pk: int) -> Statement:
    return get_object_or_404(Statement.objects.select_related("period", "supplier"), pk=pk)


def _statement_page(request, statement: Statement, *, resolve_form=None, paid_form=None, status: int = 200):
    lines = list(
        StatementLine.objects.filter(statement=statement)
        .select_related("origin__statement__period", "adjustment")
        .order_by("id")
    )
    disputes = list(
        StatementDispute.objects.filter(statement=statement)
        .select_related("line", "adjustment__period")
        .order_by("raised_at", "id")
    )
    resolve_forms = {}
    for dispute in disputes:
        if dispute.status != StatementDispute.Status.OPEN:
            continue
        bound = resolve_form is not None and resolve_form.prefix == f"d{dispute.pk}"
        resolve_forms[dispute.pk] = resolve_form if bound else DisputeResolveForm(prefix=f"d{dispute.pk}")
    rows = [{"dispute": d, "form": resolve_forms.get(d.pk)} for d in disputes]
    return render(
        request,
        "settlement/statement.html",
        {
            "page_title": statement.number,
            "statement": statement,
            "period_label": month_label(statement.period.month),
            "lines": lines,
            "events": list(statement.events.select_related("actor").order_by("at", "id")),
            "disputes": rows,
            "can_issue": statement.status == Statement.Status.DRAFT,
            "paid_form": paid_form
            or (
                MarkPaidForm(initial={"date": timezone.now().astimezone(tenant_time_zone()).date()})
                if statement.status == "confirmed"
                else None
            ),
        },
        status=status,
    )


@area_required("finance")
def statement_detail(request, pk: int):
    statement = _statement_get(pk)
    if request.method != "POST":
        return _statement_page(request, statement)
    action = request.POST.get("action", "")
    if action == "issue":
        return _issue(request, statement)
    if action == "pay":
        return _pay(request, statement)
    if action == "resolve":
        return _resolve(request, statement)
    messages.error(request, _("Choose an action."))
    return _statement_page(request, statement, status=400)


def _issue(request, statement: Statement):
    try:
        statement_states.statement_issue(statement=statement, actor=request.user)
    except ValidationError as exc:
        show_refusal(request, exc)
        return _statement_page(request, _statement_get(statement.pk), status=400)
    messages.success(request, _("Statement %(n)s issued: the supplier sees it now.") % {"n": statement.number})
    return redirect("settlement:statement", pk=statement.pk)


def _pay(request, statement: Statement):
    form = MarkPaidForm(request.POST)
    if form.is_valid():
        try:
            statement_states.statement_mark_paid(
                statement=statement,
                reference=form.cleaned_data["reference"],
                date=form.cleaned_data["date"],
                actor=request.user,
            )
        except ValidationError as exc:
            show_refusal(request, exc)
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Statement %(n)s marked paid.") % {"n": statement.number})
            return redirect("settlement:statement", pk=statement.pk)
    statement = _statement_get(statement.pk)
    paid_form = form if statement.status == Statement.Status.CONFIRMED else None
    return _statement_page(request, statement, paid_form=paid_form, status=400)


def _resolve(request, statement: Statement):
    dispute = get_object_or_404(StatementDispute, statement=statement, pk=request.POST.get("dispute") or 0)
    form = DisputeResolveForm(request.POST, prefix=f"d{dispute.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == DisputeResolveForm.ADJUST:
                statement_states.dispute_resolve_by_adjustment(
                    dispute=dispute, amount=data["amount"].strip(), resolution=data["resolution"], actor=request.user
                )
            else:
                statement_states.dispute_reject(dispute=dispute, resolution=data["resolution"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Dispute resolved."))
            return redirect("settlement:statement", pk=statement.pk)
    return _statement_page(request, _statement_get(statement.pk), resolve_form=form, status=400)


# ---------------------------------------------------------------- adjustments


def _adjustment_months() -> list[dt.date]:
    """Open months an adjustment can go into: the open periods and the current month."""
    months = set(Period.objects.filter(status=Period.Status.OPEN).values_list("month", flat=True))
    current = month_of(timezone.now())
    if not Period.objects.filter(month=current).exclude(status=Period.Status.OPEN).exists():
        months.add(current)
    return sorted(months)


def _adjustment_form(data=None) -> AdjustmentForm:
    suppliers = Supplier.objects.filter(active=True).order_by("name")
    # The currency most suppliers bill in, so the usual case needs no change.
    usual = suppliers.values("currency").annotate(n=Count("id")).order_by("-n", "currency").first()
    return AdjustmentForm(
        data,
        months=_adjustment_months(),
        suppliers=suppliers,
        initial={"month": month_label(month_of(timezone.now())), "currency": usual["currency"] if usual else "USD"},
    )


@area_required("finance")
def adjustments(request):
    form = _adjustment_form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            adjustment_create(
                period=period_for(month=data["month"]),
                supplier=data["supplier"],
                currency=data["currency"],
                amount=data["amount"].strip(),
                reason=data["reason"],
                kind=data["kind"],
                approve=data["approve"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Adjustment saved."))
            return redirect("settlement:adjustments")
    filter_form = AdjustmentFilterForm(request.GET or None, suppliers=listings.adjustment_suppliers())
    filters = filter_form.cleaned_data if filter_form.is_bound and filter_form.is_valid() else {}
    sort = listings.ADJUSTMENT_SORTS.from_query(request.GET)
    rows = listings.adjustments_filtered(filters=filters, sort=sort)
    if request.method != "POST" and (fmt := export_format(request.GET)):
        return export_response(listings.adjustments_export(rows), filename="adjustments", fmt=fmt)
    page = Paginator(rows, ADJUSTMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "settlement/adjustments.html",
        {
            "page_title": _("Adjustments"),
            "form": form,
            "filter_form": filter_form,
            "filtered": any(filters.values()),
            "sort": sort,
            "page": page,
            "pending": bool(filters.get("pending")),
            "pending_count": Adjustment.objects.filter(
                approved_at__isnull=True, period__status=Period.Status.OPEN
            ).count(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@area_required("finance")
@require_POST
def adjustment_approve_view(request, pk: int):
    adjustment = get_object_or_404(Adjustment.objects.select_related("period"), pk=pk)
    try:
        adjustment_approve(adjustment=adjustment, actor=request.user)
    except ValidationError as exc:
        show_refusal(request, exc)
    else:
        messages.success(request, _("Adjustment approved: the close bills it."))
    return redirect("settlement:adjustments")
