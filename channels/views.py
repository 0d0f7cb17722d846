"""Stores pages: list, connect, detail (ledger, quarantine, imports), actions, the shipped-orders export;
the channel updates list and retrying them (one from the order page, or ticked in bulk); the webhook endpoint."""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels import fulfillment, imports, listings, selectors, services, webhooks
from channels.adapters.spreadsheet import template_csv, template_xlsx
from channels.forms import (
    CREDENTIAL_LABELS,
    ImportForm,
    PushFilterForm,
    ReplayForm,
    StoreFilterForm,
    StoreForm,
    SyncRunFilterForm,
)
from channels.models import PULL_CHANNELS, Channel, FulfillmentPush, OrderImport, Store, SyncRun
from channels.tasks import import_orders
from core.forms import form_add_service_errors
from core.listing import PAGING_PARAMS, export_format, export_response
from core.tasks import enqueue
from tenants.accounts.permissions import area_required

logger = logging.getLogger(__name__)

STORE_HISTORY = 10  # status changes listed on the store page
STORES_PAGE_SIZE = 50
PUSHES_PAGE_SIZE = 50
# The largest webhook body read (a channel's order with hundreds of lines is well under it); bigger is a 413.
WEBHOOK_MAX_BYTES = 2 * 1024 * 1024


@area_required("console")
def stores(request):
    """Every store: search, channel and status filters, sortable columns, pages, and the same rows as CSV/XLSX."""
    form = StoreFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sort = listings.STORE_SORTS.from_query(request.GET)
    qs = listings.stores_filtered(user=request.user, filters=filters, sort=sort)
    if fmt := export_format(request.GET):
        return export_response(listings.stores_export(qs), filename="stores", fmt=fmt)
    page = Paginator(qs, STORES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "channels/stores.html",
        {
            "page": page,
            "form": form,
            "filtered": any(filters.values()),
            "sort": sort,
            "channels": Channel.choices,
            "page_title": _("Stores"),
        },
    )


@area_required("console")
def store_connect(request, channel: str):
    if channel not in Channel.values:
        raise Http404
    form = StoreForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_create(
                name=form.cleaned_data["name"],
                channel=channel,
                base_url=form.cleaned_data.get("base_url") or "",
                credentials=form.credentials(),
                sync_interval_minutes=form.cleaned_data.get("sync_interval_minutes") or 5,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Store %(name)s connected.") % {"name": store.name})
            return redirect("channels:store", pk=store.pk)
    return render(
        request,
        "channels/store_form.html",
        {"form": form, "channel_label": Channel(channel).label, "page_title": _("Connect a store")},
    )


@area_required("console")
def store_edit(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    masked = selectors.store_masked_credentials(store=store)
    initial = {"name": store.name, "base_url": store.base_url, "sync_interval_minutes": store.sync_interval_minutes}
    form = StoreForm(request.POST or None, channel=store.channel, masked=masked, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.store_update(
                store=store,
                name=form.cleaned_data["name"],
                base_url=form.cleaned_data.get("base_url") if "base_url" in form.fields else None,
                credentials=form.credentials(),
                sync_interval_minutes=form.cleaned_data.get("sync_interval_minutes"),
                actor=request.user,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Store saved."))
            return redirect("channels:store", pk=store.pk)
    return render(
        request,
        "channels/store_form.html",
        {"form": form, "store": store, "channel_label": store.get_channel_display(), "page_title": _("Edit store")},
    )


def _kept(query, *names: str) -> list[tuple[str, str]]:
    """The other lists' filters of a page with several lists, as hidden fields for one list's filter form."""
    drop = PAGING_PARAMS | set(names)
    return [(key, value) for key, values in query.lists() if key not in drop for value in values if value != ""]


@area_required("console")
def store_detail(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    run_form = SyncRunFilterForm(request.GET or None)
    run_filters = run_form.cleaned_data if run_form.is_valid() else {}
    sort = listings.SYNC_RUN_SORTS.from_query(request.GET)
    runs_qs = listings.sync_runs_filtered(store=store, filters=run_filters, sort=sort)
    quarantine_state = request.GET.get("quarantined", "")
    if quarantine_state not in listings.QUARANTINE_STATES:
        quarantine_state = listings.QUARANTINE_OPEN
    quarantine_qs = listings.quarantine_filtered(store=store, state=quarantine_state)
    if fmt := export_format(request.GET):
        if request.GET.get("list") == "quarantine":
            name = "-".join(("quarantined", slugify(store.name) or str(store.pk)))
            return export_response(listings.quarantine_export(quarantine_qs, store=store), filename=name, fmt=fmt)
        name = "-".join(("sync-runs", slugify(store.name) or str(store.pk)))
        return export_response(listings.sync_runs_export(runs_qs, store=store), filename=name, fmt=fmt)
    runs = Paginator(runs_qs, 20).get_page(request.GET.get("runs"))
    quarantine = Paginator(quarantine_qs, 20).get_page(request.GET.get("quarantine"))
    import_status = request.GET.get("import_status", "")
    if import_status not in OrderImport.Status.values:
        import_status = ""
    imports_page = (
        Paginator(listings.imports_filtered(store=store, status=import_status), 20).get_page(request.GET.get("imports"))
        if store.channel == Channel.SPREADSHEET
        else None
    )
    now = timezone.localtime()
    return render(
        request,
        "channels/store_detail.html",
        {
            "store": store,
            "page_title": store.name,
            "credentials": [
                (CREDENTIAL_LABELS[key], value)
                for key, value in selectors.store_masked_credentials(store=store).items()
            ],
            "runs": runs,
            "run_form": run_form,
            "runs_filtered": any(run_filters.values()),
            "sort": sort,
            "running": store.sync_runs.filter(status=SyncRun.Status.RUNNING).first(),
            "quarantine": quarantine,
            "quarantine_state": quarantine_state,
            "quarantine_states": list(listings.QUARANTINE_STATES.items()),
            "quarantine_keep": _kept(request.GET, "quarantined", "quarantine", "list"),
            "import_status": import_status,
            "import_statuses": OrderImport.Status.choices,
            "imports_keep": _kept(request.GET, "import_status", "imports"),
            "events": selectors.store_events_for(store=store)[:STORE_HISTORY],
            "imports": imports_page,
            "failed_pushes": store.fulfillment_pushes.filter(status=FulfillmentPush.Status.FAILED).count(),
            "import_form": ImportForm(),
            "replay_form": ReplayForm(
                initial={
                    "start": (now - timezone.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                    "end": now.strftime("%Y-%m-%dT%H:%M"),
                }
            ),
            "webhook_url": request.build_absolute_uri(f"/webhooks/{store.webhook_token}/"),
        },
    )


@require_POST
@area_required("console")
def store_test(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    ok, message = services.store_test_connection(store=store, actor=request.user)
    (messages.success if ok else messages.error)(request, message)
    return redirect("channels:store", pk=store.pk)


@require_POST
@area_required("console")
def store_sync_now(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    try:
        services.store_sync_start(store=store, kind=SyncRun.Kind.MANUAL)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sync started. Progress shows below."))
    return redirect("channels:store", pk=store.pk)


@require_POST
@area_required("console")
def store_pause(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    paused = request.POST.get("action") != "resume"
    try:
        services.store_set_paused(store=store, paused=paused, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Store paused.") if paused else _("Store resumed."))
    return redirect("channels:store", pk=store.pk)


@require_POST
@area_required("console")
def store_replay(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("channels:store", pk=store.pk)
    try:
        services.store_sync_start(
            store=store, kind=SyncRun.Kind.REPLAY,
            window_start=form.cleaned_data["start"], window_end=form.cleaned_data["end"],
        )  # fmt: skip
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Replay of the window started; it changes only what the channel changed."))
    return redirect("channels:store", pk=store.pk)


@area_required("console")
def store_sync_status(request, pk: int):
    """JSON for the progress bar of a running sync."""
    store = selectors.store_get_for(user=request.user, pk=pk)
    run = store.sync_runs.first()
    if run is None:
        return JsonResponse({"running": False})
    total = run.channel_count
    return JsonResponse(
        {
            "running": run.status == SyncRun.Status.RUNNING,
            "status": run.status,
            "pages": run.pages,
            "seen": run.orders_seen,
            "total": total,
            "percent": min(100, int(100 * run.orders_seen / total)) if total else None,
            "message": run.message,
        }
    )


@require_POST
@area_required("console")
def quarantine_reprocess(request, pk: int, qid: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    item = selectors.quarantined_get_for(user=request.user, store=store, pk=qid)
    try:
        processed = services.quarantine_reprocess(quarantined=item)
    except ValidationError as exc:  # e.g. a spreadsheet store: nothing to fetch the order again from
        messages.error(request, " ".join(exc.messages))
    else:
        if processed:
            messages.success(request, _("The order was processed and is now in Relay."))
        else:
            messages.error(request, _("Still cannot be processed: %(reason)s") % {"reason": item.reason})
    return redirect("channels:store", pk=store.pk)


@area_required("console")
def import_template(request, fmt: str):
    if fmt == "xlsx":
        response = HttpResponse(
            template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    elif fmt == "csv":
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="relay-orders-template.{fmt}"'
    return response


@require_POST
@area_required("console")
def import_upload(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to import."))
        return redirect("channels:store", pk=store.pk)
    upload = form.cleaned_data["file"]
    try:
        order_import = imports.order_import_create(
            store=store, filename=upload.name, content=upload.read(), user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("channels:store", pk=store.pk)
    if upload.size <= imports.INLINE_IMPORT_BYTES:
        imports.order_import_run(import_id=order_import.pk)
    else:
        enqueue(import_orders, order_import.pk)
    return redirect("channels:import", pk=store.pk, import_id=order_import.pk)


@area_required("console")
def import_detail(request, pk: int, import_id: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    order_import = selectors.import_get_for(user=request.user, store=store, pk=import_id)
    progress = imports.order_import_progress(order_import=order_import)
    if request.headers.get("Accept") == "application/json" or request.GET.get("format") == "json":
        return JsonResponse(progress)
    return render(
        request,
        "channels/import_detail.html",
        {
            "store": store,
            "import": order_import,
            "progress": progress,
            "page_title": _("Import %(file)s") % {"file": order_import.filename},
        },
    )


_EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@area_required("console")
def store_shipped_export(request, pk: int, fmt: str):
    """The store's shipped orders (order, SKU, quantity, carrier, tracking) as CSV or XLSX.

    ``since`` and ``until`` (YYYY-MM-DD, both days included, in the tenant's time zone) narrow it down.
    """
    store = selectors.store_get_for(user=request.user, pk=pk)
    if fmt not in _EXPORT_TYPES:
        raise Http404
    tz = request.tenant.tz
    bounds = {}
    for name in ("since", "until"):
        text = request.GET.get(name, "").strip()
        if not text:
            continue
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            messages.error(request, _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text[:20]})
            return redirect("channels:store", pk=store.pk)
        bounds[name] = dt.datetime.combine(day + dt.timedelta(days=1 if name == "until" else 0), dt.time.min, tzinfo=tz)
    content = fulfillment.shipped_orders_export(store=store, fmt=fmt, tz=tz, **bounds)
    response = HttpResponse(content, content_type=_EXPORT_TYPES[fmt])
    days = "-".join(request.GET.get(name, "").strip() for name in ("since", "until") if request.GET.get(name))
    name = "-".join(filter(None, ("shipped", slugify(store.name) or str(store.pk), days)))
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@require_POST
@area_required("console")
def push_retry(request, order_pk: int, pk: int):
    """The order page's retry button for a failed channel update."""
    push = selectors.fulfillment_push_get_for(user=request.user, pk=pk, order_id=order_pk)
    try:
        fulfillment.fulfillment_retry(push_id=push.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Sending parcel %(number)s to %(store)s again.")
            % {"number": push.parcel.tracking_number, "store": push.store.name},
        )
    return redirect("orders:detail", pk=order_pk)


@area_required("console")
def pushes(request):
    """Channel updates (fulfillment pushes) of every store: the failed ones to retry, or any status, store and
    order or tracking number; sortable, paged, downloadable as filtered."""
    form = PushFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    sort = listings.PUSH_SORTS.from_query(request.GET)
    qs = listings.pushes_filtered(user=request.user, filters=filters, sort=sort)
    if fmt := export_format(request.GET):
        return export_response(listings.pushes_export(qs), filename="channel-updates", fmt=fmt)
    page = Paginator(qs, PUSHES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "channels/pushes.html",
        {
            "page": page,
            "form": form,
            "filtered": any(value for value in filters.values()),
            "sort": sort,
            "page_title": _("Channel updates"),
        },
    )


@require_POST
@area_required("console")
def pushes_retry(request):
    """Retry the ticked failed channel updates; says how many were retried and why others were not."""
    selectors.fulfillment_pushes_for(user=request.user)  # the console role, before anything changes
    ids = [int(value) for value in request.POST.getlist("push") if value.isdigit()]
    back = request.POST.get("next", "")
    target = back if back.startswith("/stores/pushes/") else reverse("channels:pushes")
    if not ids:
        messages.error(request, _("Tick the channel updates to retry first."))
        return redirect(target)
    report = fulfillment.fulfillments_retry(push_ids=ids, actor=request.user)
    if report.retried:
        messages.success(
            request,
            ngettext(
                "%(n)s channel update is being sent again.", "%(n)s channel updates are being sent again.",
                report.retried,
            ) % {"n": report.retried},
        )  # fmt: skip
    if report.refused:
        messages.error(
            request,
            ngettext(
                "%(n)s was not retried: %(why)s", "%(n)s were not retried: %(why)s", len(report.refused)
            ) % {"n": len(report.refused), "why": "; ".join(f"{number}: {why}" for number, why in report.refused)},
        )  # fmt: skip
    return redirect(target)


class _WebhookRefused(Exception):
    def __init__(self, status: int, reason: str, store: Store | None = None):
        super().__init__(reason)
        self.status, self.reason, self.store = status, reason, store


def _webhook_store(request, token: str, length: int | None) -> Store:
    """The store a delivery is for, once its method and length are acceptable; else _WebhookRefused."""
    if request.method != "POST":
        raise _WebhookRefused(405, "method not allowed")
    store = Store.objects.filter(webhook_token=token, channel__in=PULL_CHANNELS).first()
    if store is None:
        raise _WebhookRefused(404, "no webhook store with this token")
    if length is None:
        raise _WebhookRefused(400, "unreadable Content-Length", store)
    if length > WEBHOOK_MAX_BYTES:
        raise _WebhookRefused(413, f"body over {WEBHOOK_MAX_BYTES} bytes", store)
    return store


def _webhook_body(request, store: Store) -> bytes:
    # The request stream stops at Content-Length; reading one byte past the cap catches a lying length anyway.
    body = request.read(WEBHOOK_MAX_BYTES + 1)
    if len(body) > WEBHOOK_MAX_BYTES:
        raise _WebhookRefused(413, f"body over {WEBHOOK_MAX_BYTES} bytes", store)
    return body


def _content_length(request) -> int | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None


@csrf_exempt
def webhook(request, token: str):
    """Channel webhooks. No session or token: the channel signs the body instead.

    Answers JSON only: 405 for anything but POST, 404 for a token that is not a webhook-receiving store of this
    tenant (unknown, or a spreadsheet store), 413 for a body over ``WEBHOOK_MAX_BYTES`` (refused before it is
    read), 400 for an unreadable length or delivery, 401 for a signature that does not match. Every refusal is
    logged with the store, the reason, the status and the declared length; the body never is.
    """
    length = _content_length(request)
    try:
        store = _webhook_store(request, token, length)
        body = _webhook_body(request, store)
        if store.status == Store.Status.PAUSED:
            return JsonResponse({"outcome": "paused"}, status=200)
        try:
            outcome = webhooks.webhook_receive(store=store, headers=request.headers, body=body)
        except webhooks.WebhookRejected as exc:
            raise _WebhookRefused(exc.status, str(exc), store) from exc
    except _WebhookRefused as refused:
        logger.warning(
            "webhook rejected",
            extra={
                "store": refused.store.pk if refused.store else None,
                "reason": refused.reason,
                "status": refused.status,
                "content_length": length,
            },
        )
        response = JsonResponse({"detail": refused.reason}, status=refused.status)
        if refused.status == 405:
            response["Allow"] = "POST"
        return response
    return JsonResponse({"outcome": outcome})
