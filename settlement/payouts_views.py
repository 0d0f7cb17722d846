"""Finance pages for payouts and reconciliation (对账, 核销): import payout files or fetch Shopify payouts, map a
generic file's columns once per store, see each order of a month matched, differing, unpaid or written off, and
write off what is within tolerance. Views parse input and call settlement.payouts / settlement.reconciliation."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.models import Store
from core.listing import export_format, export_response
from core.recorded import PHRASES
from settlement import listings
from settlement import reconciliation as rec
from settlement.models import PayoutImport, PayoutImportJob, PayoutSource
from settlement.payout_formats import detect_source, generic_header
from settlement.payouts import (
    PAYOUT_API_CHANNELS,
    PayoutSubmission,
    payout_fetch_progress,
    payout_fetch_start,
    payout_file_submit,
    payout_import_job_get_for,
    payout_import_job_progress,
    payout_mapping_save,
    payout_settings_for,
    payouts_rematch,
)
from settlement.payouts_forms import MappingForm, PayoutImportFilterForm, PayoutUploadForm, ScopeForm, ToleranceForm
from settlement.periods import month_of, parse_month, tenant_time_zone
from tenants.accounts.permissions import area_required
from tenants.accounts.selectors import user_can_enter

IMPORTS_PAGE_SIZE = 50
ITEMS_PAGE_SIZE = 100
ROWS_PAGE_SIZE = 100
PENDING_SECONDS = 3600  # a generic file waits this long for its column mapping


def _pending_key(token: str) -> str:
    return f"settlement-payout-pending:{token}"


def _fetches(stores) -> list[dict]:
    shown = []
    for store in stores:
        if store.channel in PAYOUT_API_CHANNELS:
            shown.append({"store": store, "progress": payout_fetch_progress(store=store)})
    return shown


def _imports_page(request, *, form=None, report=None, status=200):
    filter_form = PayoutImportFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_bound and filter_form.is_valid() else {}
    sort = listings.PAYOUT_IMPORT_SORTS.from_query(request.GET)
    imports = listings.payout_imports_filtered(filters=filters, sort=sort)
    page = Paginator(imports, IMPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    stores = list(Store.objects.order_by("name"))
    fetches = _fetches(stores)
    running = any((f["progress"] or {}).get("state") == "running" for f in fetches)
    context = {
        "form": form or PayoutUploadForm(),
        "report": report,
        "page": page,
        "filter_form": filter_form,
        "filtered": any(filters.values()),
        "sort": sort,
        "fetches": fetches,
        "refresh": running,
        # Large files a worker is importing: the person who sent one can find its page again.
        "jobs": list(PayoutImportJob.objects.filter(finished_at__isnull=True).select_related("store")[:10]),
    }
    context.setdefault("page_title", _("Payouts"))
    return render(request, "settlement/payouts.html", context, status=status)


@area_required("finance")
def payouts(request):
    """Imports so far (filtered, sorted, downloadable as filtered), the upload form and the Shopify fetch buttons;
    with ``?job=<id>``, where a large file sent to a worker stands, then what it imported or why it did not."""
    if request.method != "POST":
        return _payouts_get(request)
    form = PayoutUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _imports_page(request, form=form, status=400)
    store, source, upload = form.cleaned_data["store"], form.cleaned_data["source"], form.cleaned_data["file"]
    content = upload.read()
    if source == PayoutSource.GENERIC and not payout_settings_for(store=store).column_mapping:
        return _mapping_start(request, store=store, content=content, file_name=upload.name)
    detected = detect_source(content=content, file_name=upload.name)
    if detected and detected not in (source, PayoutSource.GENERIC):
        form.add_error(
            "source",
            _("This looks like a %(detected)s, not a %(chosen)s.")
            % {"detected": PayoutSource(detected).label, "chosen": PayoutSource(source).label},
        )
        return _imports_page(request, form=form, status=400)
    submission = payout_file_submit(
        store=store, source=source, content=content, file_name=upload.name, user=request.user
    )
    return _after_import(request, form=form, submission=submission)


def _payouts_get(request):
    if "job" in request.GET:
        return _job_page(request, request.GET["job"])
    if fmt := export_format(request.GET):
        filter_form = PayoutImportFilterForm(request.GET)
        filters = filter_form.cleaned_data if filter_form.is_valid() else {}
        sort = listings.PAYOUT_IMPORT_SORTS.from_query(request.GET)
        imports = listings.payout_imports_filtered(filters=filters, sort=sort)
        return export_response(listings.payout_imports_export(imports), filename="payout-imports", fmt=fmt)
    return _imports_page(request)


def payout_job_url(job) -> str:
    """The page of a payout file imported by a worker."""
    return reverse("settlement:payouts") + "?" + urlencode({"job": job.pk})


def _job_page(request, job_id: str):
    if not job_id.isdigit():
        raise Http404
    job = payout_import_job_get_for(user=request.user, pk=int(job_id))
    context = {
        "job": job,
        "report": job.report,
        "progress": payout_import_job_progress(job=job),
        "page_title": _("Import of %(file)s") % {"file": job.filename},
    }
    return render(request, "settlement/payout_job.html", context)


def _after_import(request, *, form, submission: PayoutSubmission):
    if submission.job is not None:
        messages.info(
            request,
            _("The file is large: it is being imported in the background. This page shows how far it is."),
        )
        return redirect(payout_job_url(submission.job))
    report = submission.report
    if report.already is not None:
        messages.info(
            request,
            _("This file was imported already (%(name)s, %(when)s): nothing changed.")
            % {
                "name": report.already.name,
                "when": timezone.localtime(report.already.imported_at).strftime("%Y-%m-%d %H:%M"),
            },
        )
        return redirect("settlement:payout_import", pk=report.already.pk)
    if not report.ok:
        return _imports_page(request, form=form, report=report, status=400)
    messages.success(
        request,
        _("Imported %(imported)s transactions (%(matched)s matched to orders, %(skipped)s already imported before).")
        % {"imported": report.imported, "matched": report.matched, "skipped": report.skipped},
    )
    return redirect("settlement:payout_import", pk=report.payout_import.pk)


def _mapping_start(request, *, store: Store, content: bytes, file_name: str):
    try:
        headers = generic_header(content=content, file_name=file_name)
    except ValidationError as exc:
        form = PayoutUploadForm(request.POST, request.FILES)
        form.is_valid()
        form.add_error("file", exc)
        return _imports_page(request, form=form, status=400)
    token = secrets.token_urlsafe(16)
    cache.set(
        _pending_key(token),
        {"store": store.pk, "content": content, "file_name": file_name, "headers": headers, "user": request.user.pk},
        PENDING_SECONDS,
    )
    saved = payout_settings_for(store=store)
    initial = {"token": token, "default_currency": saved.default_currency, **_guess_mapping(headers)}
    form = MappingForm(initial=initial, headers=headers)
    return render(request, "settlement/payout_mapping.html", {"form": form, "store": store, "file_name": file_name})


# Header words that usually name each field (English and Chinese), for the mapping form's first guess.
_GUESSES = {
    "occurred_at": ("date", "time", "日期", "时间"),
    "order_number": ("order", "订单"),
    "reference": ("transaction", "reference", "流水", "交易号"),
    "kind": ("type", "类型"),
    "amount": ("amount", "gross", "金额"),
    "fee": ("fee", "手续费"),
    "currency": ("currency", "币种", "货币"),
    "description": ("description", "note", "备注", "说明"),
}


def _guess_mapping(headers: list[str]) -> dict[str, str]:
    guessed: dict[str, str] = {}
    used: set[str] = set()
    for name, words in _GUESSES.items():
        for header in headers:
            if header not in used and any(word in header.lower() for word in words):
                guessed[name] = header
                used.add(header)
                break
    return guessed


@area_required("finance")
@require_POST
def payout_mapping(request):
    """Second step of a generic file: save the store's mapping, then import the file kept since the first step."""
    pending = cache.get(_pending_key(request.POST.get("token", "")))
    if not pending or pending["user"] != request.user.pk:
        messages.error(request, _("The uploaded file is no longer waiting (it is kept for an hour): upload it again."))
        return redirect("settlement:payouts")
    store = get_object_or_404(Store, pk=pending["store"])
    form = MappingForm(request.POST, headers=pending["headers"])
    if not form.is_valid():
        context = {"form": form, "store": store, "file_name": pending["file_name"]}
        return render(request, "settlement/payout_mapping.html", context, status=400)
    payout_mapping_save(store=store, mapping=form.mapping(), default_currency=form.cleaned_data["default_currency"])
    submission = payout_file_submit(
        store=store,
        source=PayoutSource.GENERIC,
        content=pending["content"],
        file_name=pending["file_name"],
        user=request.user,
    )
    if submission.job is not None or submission.report.ok:
        cache.delete(_pending_key(request.POST["token"]))
    form = PayoutUploadForm(initial={"store": store, "source": "generic"})
    return _after_import(request, form=form, submission=submission)


@area_required("finance")
@require_POST
def payout_mapping_reset(request, store_id: int):
    """Forget a store's saved mapping: its next generic file asks for the columns again."""
    store = get_object_or_404(Store, pk=store_id)
    payout_mapping_save(store=store, mapping={}, default_currency="")
    messages.success(request, _("The column mapping of %(store)s was cleared.") % {"store": store.name})
    return redirect("settlement:payouts")


@area_required("finance")
@require_POST
def payout_fetch(request, store_id: int):
    store = get_object_or_404(Store, pk=store_id)
    state = payout_fetch_start(store=store, user=request.user)
    if state["state"] == "refused":
        messages.error(request, state["message"])
    else:
        messages.info(request, _("Fetching the payouts of %(store)s…") % {"store": store.name})
    return redirect("settlement:payouts")


def _import_result(payout_import: PayoutImport) -> dict:
    """What one import brought in, for its page: per currency the transactions, how many matched an order, and
    the amounts; the months (tenant time zone) of the matched orders' placing, each a reconciliation to open."""
    items = payout_import.items.order_by()
    totals = list(
        items.values("currency")
        .annotate(
            count=Count("id"),
            matched=Count("id", filter=Q(order__isnull=False)),
            # Only money an order should explain (charges, refunds, chargebacks): fees, adjustments and the
            # transfer to the bank name no order and are not "missing" one.
            unmatched=Count("id", filter=Q(order__isnull=True, kind__in=rec.MONEY_KINDS)),
            amount=Sum("amount"),
            fee=Sum("fee"),
            net=Sum("net"),
        )
        .order_by("currency")
    )
    months = (
        items.filter(order__isnull=False)
        .annotate(month=TruncMonth("order__placed_at", tzinfo=tenant_time_zone()))
        .values_list("month", flat=True)
        .distinct()
        .order_by("month")[:12]
    )
    return {
        "totals": totals,
        "unmatched": sum(total["unmatched"] for total in totals),
        "months": [
            (month.strftime("%Y-%m"), _reconciliation_url(rec.Scope(store=payout_import.store, month=month.date())))
            for month in months
        ],
    }


@area_required("finance")
def payout_import_detail(request, pk: int):
    """One import's result: what it brought in per currency, what matched an order, and its transactions (all, or
    only those no order matches), paged with the filter kept."""
    payout_import = get_object_or_404(PayoutImport.objects.select_related("store"), pk=pk)
    items = payout_import.items.select_related("order").order_by("row", "occurred_at", "id")
    unmatched_only = request.GET.get("matched") == "no"
    if unmatched_only:
        items = items.filter(order__isnull=True, kind__in=rec.MONEY_KINDS)
    page = Paginator(items, ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "payout_import": payout_import,
        "page": page,
        "page_title": PHRASES.reword(payout_import.name),
        "unmatched_only": unmatched_only,
        "result": _import_result(payout_import),
    }
    return render(request, "settlement/payout_import.html", context)


# ---------------------------------------------------------------- reconciliation


def _scope(query) -> tuple[ScopeForm, rec.Scope | None]:
    form = ScopeForm(query or None)
    stores = Store.objects.order_by("name")
    store = month = None
    if form.is_bound and form.is_valid():
        store, month = form.cleaned_data["store"], form.cleaned_data["month"]
    # By default the store whose payouts came in last: the one there is something to reconcile in.
    latest = PayoutImport.objects.order_by("-imported_at").values_list("store_id", flat=True).first()
    store = store or (stores.filter(pk=latest).first() if latest else None) or stores.first()
    month = month or month_of(timezone.now())
    if store is None:
        return form, None
    if not form.is_bound or form.is_valid():  # the form shows what the page shows, defaults filled in
        form = ScopeForm({"store": store.pk, "month": month.strftime("%Y-%m")})
    return form, rec.Scope(store=store, month=month)


def _reconciliation_url(scope: rec.Scope, **extra) -> str:
    query = {"store": scope.store.pk, "month": scope.month.strftime("%Y-%m"), **extra}
    return reverse("settlement:reconciliation") + "?" + urlencode({k: v for k, v in query.items() if v})


@area_required("finance")
def reconciliation(request):
    """One store's orders of one month, by state (or the payout lines no order matches), searched by order
    number and paged; every link (state, pager, export, the forms' way back) keeps the store, month, state and
    search. The totals are per state and currency and follow the store and month."""
    return _reconciliation_page(request, request.GET)


def _reconciliation_page(request, query, *, tolerance_form: ToleranceForm | None = None, status: int = 200):
    form, scope = _scope(query)
    if scope is None:
        context = {
            "form": form, "scope": None, "can_console": user_can_enter(request.user, "console"),
            "page_title": _("Reconciliation"),
        }  # fmt: skip
        return render(request, "settlement/reconciliation.html", context, status=status)
    state = query.get("state", "")
    if state not in rec.STATES and state != rec.PAYOUT_ONLY:
        state = ""
    search = query.get("q", "").strip()[: rec.SEARCH_CHARS]
    number = max(1, int(query["page"])) if query.get("page", "").isdigit() else 1
    offset = (number - 1) * ROWS_PAGE_SIZE
    summary = rec.reconcile_summary(scope=scope)
    if state == rec.PAYOUT_ONLY:
        total = summary.payout_only
        rows = list(rec.payout_only_items(scope=scope, offset=offset, limit=ROWS_PAGE_SIZE))
    else:
        # The summary counts the orders of each state already; only a search needs its own count.
        total = (
            rec.reconcile_count(scope=scope, state=state, search=search)
            if search
            else sum(s.orders for s in summary.states if s.state == state or not state)
        )
        rows = rec.reconcile_rows(scope=scope, state=state, search=search, offset=offset, limit=ROWS_PAGE_SIZE)
    pages = max(1, -(-total // ROWS_PAGE_SIZE))
    # A search looks for order numbers: it goes with every state but the payout lines no order matches.
    kept_search = "" if state == rec.PAYOUT_ONLY else search
    context = {
        "form": form,
        "scope": scope,
        "summary": summary,
        "state": state,
        "states": [(key, str(label)) for key, label in rec.STATES.items()],
        "state_links": {
            key: _reconciliation_url(scope, state=key, q="" if key == rec.PAYOUT_ONLY else search)
            for key in ("", *rec.STATES, rec.PAYOUT_ONLY)
        },
        "q": search,
        "rows": rows,
        "total": total,
        "number": number,
        "pages": pages,
        "previous_url": _reconciliation_url(scope, state=state, q=kept_search, page=number - 1) if number > 1 else "",
        "next_url": _reconciliation_url(scope, state=state, q=kept_search, page=number + 1) if number < pages else "",
        "clear_search_url": _reconciliation_url(scope, state=state),
        "all_orders_url": _reconciliation_url(scope, q=kept_search),
        "tolerance_form": tolerance_form or ToleranceForm(initial={"tolerance": summary.tolerance}),
        "here": _reconciliation_url(scope, state=state, q=kept_search, page=number if number > 1 else ""),
        "page_title": _("Reconciliation"),
    }
    return render(request, "settlement/reconciliation.html", context, status=status)


def _posted_scope(request) -> rec.Scope:
    store = get_object_or_404(Store, pk=request.POST.get("store") or 0)
    try:
        month = parse_month(request.POST.get("month", ""))
    except ValueError:
        month = month_of(timezone.now())
    return rec.Scope(store=store, month=month)


def _back(request, scope: rec.Scope):
    target = request.POST.get("next", "")
    if target.startswith(reverse("settlement:reconciliation")):
        return redirect(target)
    return redirect(_reconciliation_url(scope))


@area_required("finance")
@require_POST
def reconciliation_write_off(request):
    """Write off the ticked orders, or every order within tolerance (``all``)."""
    scope = _posted_scope(request)
    note = request.POST.get("note", "").strip()
    if request.POST.get("all"):
        written = rec.write_off_within_tolerance(scope=scope, user=request.user, note=note)
        messages.success(request, _("%(n)s orders written off.") % {"n": written})
        return _back(request, scope)
    ids = [int(value) for value in request.POST.getlist("order") if value.isdigit()]
    if not ids:
        messages.error(request, _("Tick the orders to write off first."))
        return _back(request, scope)
    report = rec.write_off_orders(store=scope.store, order_ids=ids, user=request.user, note=note)
    if report.written:
        messages.success(request, _("%(n)s orders written off.") % {"n": report.written})
    for number, reason in report.refused:
        messages.error(request, f"{number}: {reason}" if number else reason)
    return _back(request, scope)


@area_required("finance")
@require_POST
def reconciliation_undo(request, order_id: int):
    scope = _posted_scope(request)
    if rec.write_off_undo(store=scope.store, order_id=order_id):
        messages.success(request, _("The write-off was undone: the order is open again."))
    else:
        messages.error(request, _("That order has no write-off."))
    return _back(request, scope)


@area_required("finance")
@require_POST
def reconciliation_tolerance(request):
    """Save the store's write-off tolerance; a refused value shows the page again with it next to the field."""
    scope = _posted_scope(request)
    form = ToleranceForm(request.POST)
    if not form.is_valid():
        target = request.POST.get("next", "")
        page_query = QueryDict(
            urlsplit(target).query if target.startswith(reverse("settlement:reconciliation")) else ""
        )
        page_query = page_query.copy()
        page_query["store"], page_query["month"] = str(scope.store.pk), scope.month.strftime("%Y-%m")
        return _reconciliation_page(request, page_query, tolerance_form=form, status=400)
    rec.tolerance_set(store=scope.store, tolerance=form.cleaned_data["tolerance"])
    messages.success(request, _("Tolerance saved."))
    return _back(request, scope)


@area_required("finance")
@require_POST
def reconciliation_rematch(request):
    scope = _posted_scope(request)
    matched = payouts_rematch(store=scope.store)
    messages.success(request, _("%(n)s more payout lines matched to orders.") % {"n": matched})
    return _back(request, scope)
