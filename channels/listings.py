"""The stores area's lists as their pages and downloads share them: the stores, a store's ingestion ledger
(sync runs) and the channel updates (fulfillment pushes). Each list has one selector that applies the filters
and the sort, and one function that turns the same queryset into an ``ExportTable`` (core.listing), so a
download holds exactly the rows the page filters, in its order, without its pagination."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import (
    Channel,
    FulfillmentPush,
    ImportStatus,
    OrderImport,
    PushStatus,
    QuarantinedPayload,
    Store,
    StoreStatus,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
)
from channels.selectors import fulfillment_pushes_for, stores_for
from core.exports import ExportTable
from core.listing import Sort, Sorts

CHUNK = 2000

STORE_SORTS = Sorts(
    {
        "name": ("name",),
        "channel": ("channel", "name"),
        "status": ("status", "name"),
        "last_sync": ("last_sync_at",),
        "quarantined": ("open_quarantine",),
    },
    default="name",
)
SYNC_RUN_SORTS = Sorts(
    {
        "started": ("started_at",),
        "kind": ("kind", "started_at"),
        "status": ("status", "started_at"),
        "seen": ("orders_seen",),
        "duration": ("duration_ms",),
    },
    default="-started",
)
PUSH_SORTS = Sorts(
    {
        "updated": ("updated",),
        "order": ("order__order_number",),
        "store": ("store__name", "updated"),
        "status": ("status", "updated"),
        "attempts": ("attempts", "updated"),
    },
    default="-updated",
)


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


# ------------------------------------------------------------------ stores


def stores_filtered(*, user, filters: Mapping[str, Any], sort: Sort) -> QuerySet[Store]:
    """The tenant's stores for a console user, narrowed by ``filters`` (q: part of the name, channel, status;
    blank means any) and ordered by ``sort``. PermissionDenied without the console."""
    qs = stores_for(user=user)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(name__icontains=q)
    if channel := filters.get("channel"):
        qs = qs.filter(channel=channel)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    return qs.order_by(*sort.ordering)


def stores_export(qs: QuerySet[Store]) -> ExportTable:
    channels, statuses = _labels(Channel.choices), _labels(StoreStatus.choices)
    ok = {True: _("succeeded"), False: _("failed"), None: ""}

    def rows() -> Iterator[tuple]:
        fields = ("name", "channel", "status", "last_sync_at", "last_sync_ok", "open_quarantine", "created")
        for name, channel, status, last_at, last_ok, quarantined, created in qs.values_list(*fields).iterator(
            chunk_size=CHUNK
        ):
            yield (
                name,
                channels.get(channel, channel),
                statuses.get(status, status),
                last_at,
                ok[last_ok],
                quarantined,
                created,
            )

    return ExportTable(
        title=_("Stores"),
        columns=[
            _("Store"),
            _("Channel"),
            _("Status"),
            _("Last sync"),
            _("Last result"),
            _("Quarantined"),
            _("Connected"),
        ],
        count=qs.count(),
        rows=rows(),
    )


# ------------------------------------------------------------------ a store's ingestion ledger


def sync_runs_filtered(*, store: Store, filters: Mapping[str, Any], sort: Sort) -> QuerySet[SyncRun]:
    """``store``'s sync runs with the status (run_status) and kind (run_kind) asked for, in ``sort``."""
    qs = store.sync_runs.all()
    if status := filters.get("run_status"):
        qs = qs.filter(status=status)
    if kind := filters.get("run_kind"):
        qs = qs.filter(kind=kind)
    return qs.order_by(*sort.ordering)


def sync_runs_export(qs: QuerySet[SyncRun], *, store: Store) -> ExportTable:
    kinds, statuses = _labels(SyncRunKind.choices), _labels(SyncRunStatus.choices)
    fields = (
        "started_at", "finished_at", "kind", "status", "window_start", "window_end", "pages", "orders_seen",
        "orders_created", "orders_updated", "orders_quarantined", "channel_count", "relay_count", "duration_ms",
        "message",
    )  # fmt: skip

    def rows() -> Iterator[tuple]:
        for row in qs.values_list(*fields).iterator(chunk_size=CHUNK):
            yield (row[0], row[1], kinds.get(row[2], row[2]), statuses.get(row[3], row[3]), *row[4:])

    return ExportTable(
        title=_("Sync runs of %(store)s") % {"store": store.name},
        columns=[
            _("Started"),
            _("Finished"),
            _("Kind"),
            _("Status"),
            _("Window from"),
            _("Window to"),
            _("Pages"),
            _("Seen"),
            _("Created"),
            _("Updated"),
            _("Quarantined"),
            _("Channel count"),
            _("Relay count"),
            _("Duration (ms)"),
            _("Message"),
        ],
        count=qs.count(),
        rows=rows(),
    )


# ------------------------------------------------------------------ channel updates (fulfillment pushes)


def pushes_filtered(*, user, filters: Mapping[str, Any], sort: Sort) -> QuerySet[FulfillmentPush]:
    """The tenant's channel updates for a console user: status, store (a Store or None) and q (part of the order
    number or the tracking number) as asked, in ``sort``. PermissionDenied without the console."""
    qs = fulfillment_pushes_for(user=user)
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if store := filters.get("store"):
        qs = qs.filter(store=store)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(order__order_number__icontains=q) | Q(parcel__tracking_number__icontains=q))
    return qs.order_by(*sort.ordering)


def pushes_export(qs: QuerySet[FulfillmentPush]) -> ExportTable:
    statuses = _labels(PushStatus.choices)
    fields = (
        "order__order_number", "store__name", "parcel__carrier", "parcel__tracking_number", "status", "attempts",
        "message", "created", "updated", "pushed_at",
    )  # fmt: skip

    def rows() -> Iterator[tuple]:
        for row in qs.values_list(*fields).iterator(chunk_size=CHUNK):
            yield (*row[:4], statuses.get(row[4], row[4]), *row[5:])

    return ExportTable(
        title=_("Channel updates"),
        columns=[
            _("Order"),
            _("Store"),
            _("Carrier"),
            _("Tracking number"),
            _("Status"),
            _("Attempts"),
            _("Channel's answer"),
            _("Created"),
            _("Last change"),
            _("Pushed"),
        ],
        count=qs.count(),
        rows=rows(),
    )


# ------------------------------------------------------------------ a store's quarantined payloads and imports

QUARANTINE_OPEN, QUARANTINE_RESOLVED, QUARANTINE_ALL = "", "resolved", "all"
QUARANTINE_STATES = {
    QUARANTINE_OPEN: gettext_lazy("Open"),
    QUARANTINE_RESOLVED: gettext_lazy("Resolved"),
    QUARANTINE_ALL: gettext_lazy("All"),
}


def quarantine_filtered(*, store: Store, state: str) -> QuerySet[QuarantinedPayload]:
    """``store``'s quarantined payloads: open (not resolved yet; the default and anything unknown), resolved, or
    all; the most recently seen first. The payload itself is left unread (``defer``): pages and files never show
    it, as it is the buyer's data as the channel sent it."""
    qs = store.quarantined.defer("payload")
    if state == QUARANTINE_RESOLVED:
        qs = qs.filter(resolved_at__isnull=False)
    elif state != QUARANTINE_ALL:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-last_seen", "-pk")


def quarantine_export(qs: QuerySet[QuarantinedPayload], *, store: Store) -> ExportTable:
    """The quarantined payloads as listed: id, the channel's order id, when first and last received, whether it is
    resolved, and the reason. Never the payload (buyer's data, possibly the channel's tokens in its links)."""
    states = {True: str(QUARANTINE_STATES[QUARANTINE_RESOLVED]), False: str(QUARANTINE_STATES[QUARANTINE_OPEN])}
    fields = ("pk", "external_id", "first_seen", "last_seen", "resolved_at", "reason")

    def rows() -> Iterator[tuple]:
        for pk, external_id, first_seen, last_seen, resolved_at, reason in qs.values_list(*fields).iterator(
            chunk_size=CHUNK
        ):
            yield (pk, external_id, first_seen, last_seen, states[resolved_at is not None], resolved_at, reason)

    return ExportTable(
        title=_("Quarantined payloads of %(store)s") % {"store": store.name},
        columns=[
            _("Id"),
            _("Order id"),
            _("First received"),
            _("Last received"),
            _("Status"),
            _("Resolved"),
            _("Reason"),
        ],
        count=qs.count(),
        rows=rows(),
    )


def imports_filtered(*, store: Store, status: str) -> QuerySet[OrderImport]:
    """``store``'s order imports (spreadsheet stores), newest first, of one status when ``status`` is one."""
    qs = store.imports.select_related("created_by")
    if status in ImportStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created", "-pk")
