"""Importing what channels and payment providers paid: payout files and Shopify Payments' API, into PayoutItems.

An import is all or nothing and idempotent:

- the file is read whole first (settlement.payout_formats); any problem imports nothing and the report names
  the row and the reason;
- the same file (same bytes) imported again for the store changes nothing and says when it was imported;
- a transaction another import already brought in (same provider reference, e.g. two statements with
  overlapping dates) is skipped and counted, never doubled;
- imports of one store run one at a time (the store row is locked), so two clerks uploading at once cannot
  both write the same transaction.

Each item is matched to an order of the store by the provider's order reference: the order number as the
channel shows it (with or without a leading "#") or the channel's own order id. Items whose order is not in
Relay yet stay unmatched and are matched again by every later import and by ``payouts_rematch``.

A file of up to INLINE_ROWS data rows is imported while the person waits (``payout_file_submit``); a larger one
is kept under the tenant's media folder (core.uploads), recorded as a ``PayoutImportJob`` and imported by a task
(settlement/tasks.py) with the same all-or-nothing function; its page shows where it stands, then the result.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from channels.adapters.base import ChannelError
from channels.models import Channel, Store
from channels.payouts import PayoutRow
from channels.services import adapter_for
from core.money import round_money
from core.spreadsheets import RowError, TableError, check_upload, listed_errors
from core.states import actor_name
from core.tasks import enqueue_named
from core.uploads import rough_row_count, upload_job_run, upload_keep
from orders.models import Order
from settlement.models import PayoutImport, PayoutImportJob, PayoutItem, PayoutSettings, PayoutSource
from settlement.payout_formats import parse_payouts
from settlement.periods import tenant_time_zone
from tenants.accounts.selectors import user_can_enter

logger = logging.getLogger(__name__)

FETCH_TASK = "settlement.fetch_payouts"
FETCH_KEEP_SECONDS = 7 * 24 * 3600  # how long the page shows the last fetch's result
# Shopify payouts whose money has left (or is leaving) the balance; a scheduled one may still gain transactions
# (it is imported all the same, and fetched again later brings in only what is new).
SETTLED_PAYOUT_STATUSES = frozenset({"paid", "in_transit"})
# Channels whose payouts Relay reads through the API (the sandbox shop speaks Shopify's).
PAYOUT_API_CHANNELS = frozenset({Channel.SHOPIFY, Channel.SANDBOX})
# Files with more data rows than this are imported by a worker (IMPORT_TASK); smaller ones while the person waits.
INLINE_ROWS = 2_000
IMPORT_TASK = "settlement.payout_import"


@dataclass
class PayoutImportReport:
    """What an import did, or why it did nothing (``errors`` non-empty: nothing was written)."""

    rows: int = 0
    imported: int = 0
    skipped: int = 0  # transactions an earlier import already brought in
    matched: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    already: PayoutImport | None = None  # this very file was imported before: nothing changed
    payout_import: PayoutImport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        """The report as a job keeps it (JSON): counts, the errors by row, and which import holds the rows."""
        held = self.payout_import or self.already
        return {
            "ok": self.ok,
            "rows": self.rows,
            "imported": self.imported,
            "skipped": self.skipped,
            "matched": self.matched,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
            "error_count": self.error_count or len(self.errors),
            "already": self.already is not None,
            "payout_import": held.pk if held is not None else None,
        }


def payout_settings_for(*, store: Store) -> PayoutSettings:
    """The store's payout settings (tolerance, saved column mapping), created with defaults when missing."""
    settings_row, _created = PayoutSettings.objects.get_or_create(store=store)
    return settings_row


def payout_mapping_save(*, store: Store, mapping: dict[str, str], default_currency: str = "") -> PayoutSettings:
    """Keep the generic file's column mapping for the store, so the next file of the same layout imports at once."""
    settings_row = payout_settings_for(store=store)
    settings_row.column_mapping = {key: value for key, value in mapping.items() if value}
    settings_row.default_currency = default_currency.upper()
    settings_row.save(update_fields=["column_mapping", "default_currency", "updated"])
    return settings_row


# ---------------------------------------------------------------- matching rows to orders


def order_keys(reference: str) -> set[str]:
    """The spellings an order reference may have in Relay: as written, with and without a leading "#"."""
    text = (reference or "").strip()
    if not text:
        return set()
    bare = text.lstrip("#").strip()
    return {text, bare, f"#{bare}"}


def _orders_by_key(*, store: Store, references: Iterable[str], external_ids: Iterable[str]) -> dict[str, int]:
    """Order ids of the store by every spelling of their number and by their channel id (one query)."""
    keys: set[str] = set()
    for reference in references:
        keys |= order_keys(reference)
    ids = {value for value in external_ids if value}
    if not keys and not ids:
        return {}
    found: dict[str, int] = {}
    rows = Order.objects.filter(store=store).filter(Q(order_number__in=keys) | Q(external_id__in=ids | keys))
    for order_id, number, external_id in rows.values_list("id", "order_number", "external_id"):
        for key in order_keys(number):
            found.setdefault(f"n:{key}", order_id)
        found.setdefault(f"x:{external_id}", order_id)
    return found


def _match(row: PayoutRow, found: dict[str, int]) -> int | None:
    external_id = str(row.extra.get("order_external_id") or "")
    if external_id and f"x:{external_id}" in found:
        return found[f"x:{external_id}"]
    for key in order_keys(row.order_number):
        if f"n:{key}" in found:
            return found[f"n:{key}"]
    for key in order_keys(row.order_number):
        if f"x:{key}" in found:
            return found[f"x:{key}"]
    return None


def payouts_rematch(*, store: Store) -> int:
    """Match the store's unmatched items to orders that arrived since; returns how many were matched (set-based)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE settlement_payoutitem AS i SET order_id = o.id
            FROM orders_order AS o
            WHERE i.store_id = %(store)s AND i.order_id IS NULL AND i.order_number <> ''
              AND o.store_id = %(store)s
              AND (o.order_number = i.order_number
                   OR o.order_number = '#' || ltrim(i.order_number, '#')
                   OR o.order_number = ltrim(i.order_number, '#')
                   OR o.external_id = ltrim(i.order_number, '#'))
            """,
            {"store": store.pk},
        )
        return cursor.rowcount


# ---------------------------------------------------------------- writing


def _duplicates_in(rows: Sequence[PayoutRow]) -> list[RowError]:
    first: dict[str, int | None] = {}
    errors = []
    for row in rows:
        if not row.reference:
            continue
        if row.reference in first:
            errors.append(
                RowError(
                    row.row or 0,
                    "",
                    _("Transaction %(ref)s appears twice (first on row %(first)s).")
                    % {"ref": row.reference, "first": first[row.reference]},
                )
            )
        else:
            first[row.reference] = row.row
    return errors


def _item(row: PayoutRow, *, store: Store, payout_import: PayoutImport, order_id: int | None) -> PayoutItem:
    amount, fee = round_money(row.amount, row.currency), round_money(row.fee, row.currency)
    return PayoutItem(
        payout_import=payout_import,
        store=store,
        kind=row.kind,
        reference=row.reference[:120],
        order_number=row.order_number[:64],
        order_id=order_id,
        occurred_at=row.occurred_at,
        currency=row.currency.upper(),
        amount=amount,
        fee=fee,
        net=amount - fee,
        payout_reference=row.payout_reference[:120],
        description=row.description[:300],
        row=row.row,
    )


@transaction.atomic
def payout_rows_import(
    *, store: Store, source: str, name: str, digest: str, rows: Sequence[PayoutRow], user, rematch: bool = True
) -> PayoutImportReport:
    """Write ``rows`` (already valid) as one import of ``store`` named ``name``, unless an import with the same
    ``digest`` exists (then nothing changes and ``already`` says which). Rows whose reference an earlier import
    holds are skipped and counted; each row is matched to an order; the store is locked meanwhile."""
    store = store_locked(store)
    report = PayoutImportReport(rows=len(rows))
    earlier = PayoutImport.objects.filter(store=store, digest=digest).first()
    if earlier is not None:
        report.already = earlier
        return report
    references = [row.reference for row in rows if row.reference]
    known = set(PayoutItem.objects.filter(store=store, reference__in=references).values_list("reference", flat=True))
    fresh = [row for row in rows if not row.reference or row.reference not in known]
    found = _orders_by_key(
        store=store,
        references=[row.order_number for row in fresh],
        external_ids=[str(row.extra.get("order_external_id") or "") for row in fresh],
    )
    payout_import = PayoutImport.objects.create(
        store=store,
        source=source,
        name=name[:200],
        digest=digest,
        items_count=len(fresh),
        skipped=len(rows) - len(fresh),
        imported_by=user if getattr(user, "pk", None) else None,
        imported_by_label=actor_name(user, "channel")[:120],
    )
    items = [_item(row, store=store, payout_import=payout_import, order_id=_match(row, found)) for row in fresh]
    PayoutItem.objects.bulk_create(items, batch_size=2_000)
    report.imported = len(items)
    report.skipped = len(rows) - len(fresh)
    report.matched = sum(1 for item in items if item.order_id is not None)
    report.payout_import = payout_import
    if rematch:
        payouts_rematch(store=store)
    logger.info(
        "payouts imported",
        extra={"store": store.pk, "source": source, "imported": report.imported, "skipped": report.skipped},
    )
    return report


def store_locked(store: Store) -> Store:
    """The store's row, locked to the end of the transaction: one import or write-off of a store at a time."""
    return Store.objects.select_for_update().get(pk=store.pk)


def payout_file_import(
    *,
    store: Store,
    source: str,
    content: bytes,
    file_name: str,
    user,
    mapping: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PayoutImportReport:
    """Import one payout file for ``store``: all rows or none (see the module's rules).

    ``source`` is a PayoutSource value; a generic file uses ``mapping`` (else the store's saved one).
    ``progress`` is told each phase ("checking", then "writing") as it starts.
    """
    if source not in PayoutSource.values or source == PayoutSource.SHOPIFY_API:
        return PayoutImportReport(errors=[RowError(0, "", _("Choose the kind of file you are importing."))])
    if not content:
        return PayoutImportReport(errors=[RowError(0, "", _("The file is empty."))])
    settings_row = payout_settings_for(store=store)
    digest = hashlib.sha256(content).hexdigest()
    earlier = PayoutImport.objects.filter(store=store, digest=digest).first()
    if earlier is not None:
        return PayoutImportReport(already=earlier)
    if progress is not None:
        progress("checking")
    parsed = parse_payouts(
        source=source,
        content=content,
        file_name=file_name,
        tz=tenant_time_zone(),
        mapping=mapping if mapping is not None else (settings_row.column_mapping or None),
        default_currency=settings_row.default_currency,
    )
    errors = list(parsed.errors) + _duplicates_in(parsed.rows)
    if errors:
        return PayoutImportReport(rows=len(parsed.rows), errors=listed_errors(errors), error_count=len(errors))
    if not parsed.rows:
        return PayoutImportReport(errors=[RowError(0, "", _("The file has no transactions."))])
    if progress is not None:
        progress("writing")
    return payout_rows_import(store=store, source=source, name=file_name, digest=digest, rows=parsed.rows, user=user)


# ---------------------------------------------------------------- large files: imported by a worker


@dataclass(frozen=True)
class PayoutSubmission:
    """What an upload turned into: a report (imported, or refused, at once) or an import queued for a worker."""

    report: PayoutImportReport | None = None
    job: PayoutImportJob | None = None


def payout_file_submit(
    *, store: Store, source: str, content: bytes, file_name: str, user, mapping: dict[str, str] | None = None
) -> PayoutSubmission:
    """Import a payout file of up to INLINE_ROWS data rows at once (``payout_file_import``); keep a larger one
    and queue it for a worker, which imports it the same way, all or nothing. The page and the API both call
    this.

    The queued task is sent after the surrounding transaction commits. The caller has checked the upload's
    size; a file past the limits every upload has (core.spreadsheets.check_upload: what it unpacks to, rows
    counting blank ones, columns, cell length, quotes), a file of the wrong kind and a file this store imported
    already are answered at once, never queued. A queued generic file keeps the mapping it was sent with
    (``mapping``, else the store's saved one).
    """

    def inline() -> PayoutSubmission:
        report = payout_file_import(
            store=store, source=source, content=content, file_name=file_name, user=user, mapping=mapping
        )
        return PayoutSubmission(report=report)

    if source not in PayoutSource.values or source == PayoutSource.SHOPIFY_API or not content:
        return inline()
    try:
        check_upload(content=content, filename=file_name)
    except TableError:
        return inline()  # refused in the importer's own words, as quickly
    rows = rough_row_count(content, stop_after=INLINE_ROWS)
    digest = hashlib.sha256(content).hexdigest()
    if rows <= INLINE_ROWS or PayoutImport.objects.filter(store=store, digest=digest).exists():
        return inline()
    saved = payout_settings_for(store=store).column_mapping or None
    job = PayoutImportJob.objects.create(
        store=store,
        source=source,
        filename=Path(file_name).name[:255],
        file_path=upload_keep(content=content, filename=file_name, folder="payouts"),
        mapping=mapping if mapping is not None else saved,
        rows_total=rows,
        language=translation.get_language() or "",
        created_by=user if getattr(user, "pk", None) else None,
    )
    enqueue_named(IMPORT_TASK, job.pk)
    logger.info("payout import queued", extra={"store": store.pk, "job": job.pk, "rows": rows})
    return PayoutSubmission(job=job)


def payout_import_job_get_for(*, user, pk: int) -> PayoutImportJob:
    """A queued payout import of the current tenant for a finance user: PermissionDenied for anyone else,
    Http404 when the tenant has no such job (another tenant's jobs live in its own schema)."""
    if not user_can_enter(user, "finance"):
        raise PermissionDenied
    return get_object_or_404(PayoutImportJob.objects.select_related("store", "created_by"), pk=pk)


def payout_import_job_summary(*, job: PayoutImportJob) -> dict:
    """A queued import as the API tells it: id, store, status, finished, the import it made (or the earlier
    import of the same file) and, once finished, its report (counts, or every error by row)."""
    return {
        "job": job.pk,
        "store": job.store_id,
        "status": job.status,
        "finished": job.finished,
        "payout_import": job.payout_import_id,
        "report": job.report if job.finished else None,
    }


def _job_progress_key(job_id: int) -> str:
    return f"payout-import-progress:{job_id}"  # the cache's key function adds the tenant


# How far along each phase is, for the progress bar: the file is read whole, checked, then written in one go.
_PHASE_PERCENT = {"waiting": 0, "reading": 5, "checking": 15, "writing": 70}


def payout_import_job_progress(*, job: PayoutImportJob) -> dict:
    """Where a queued import stands, for its page: phase (waiting, reading, checking, writing), percent, finished."""
    if job.finished:
        return {"phase": job.status, "percent": 100, "finished": True}
    phase = cache.get(_job_progress_key(job.pk)) or "waiting"
    return {"phase": phase, "percent": _PHASE_PERCENT.get(phase, 0), "finished": False}


def payout_import_job_run(*, job_id: int) -> PayoutImportJob | None:
    """Import a queued payout file all or nothing, then keep the report, link the import and remove the file
    (core.uploads.upload_job_run: safe to run twice; the same file is imported once). None when the job does not
    exist."""

    def work(job: PayoutImportJob, content: bytes, progress) -> dict:
        return payout_file_import(
            store=job.store, source=job.source, content=content, file_name=job.filename, user=job.created_by,
            mapping=job.mapping, progress=progress,
        ).as_dict()  # fmt: skip

    return upload_job_run(
        jobs=PayoutImportJob.objects.select_related("store", "created_by"),
        job_id=job_id,
        progress_key=_job_progress_key(job_id),
        reading="reading",
        work=work,
        failed=_("The import failed unexpectedly; nothing was imported. Please try again."),
        finished=lambda _job, report: {"payout_import_id": report.get("payout_import")},
    )


# ---------------------------------------------------------------- Shopify Payments through the API


def _fetch_key(store_id: int) -> str:
    return f"settlement-payout-fetch:{store_id}"


def payout_fetch_progress(*, store: Store) -> dict | None:
    """The last or running fetch of the store's payouts (in the tenant's cache namespace), or None."""
    return cache.get(_fetch_key(store.pk))


def payout_fetch_start(*, store: Store, user, since=None) -> dict:
    """Start fetching the store's Shopify Payments payouts in the background; refused for other channels."""
    if store.channel not in PAYOUT_API_CHANNELS:
        message = _("%(store)s has no payouts API here: import the payment provider's file instead.")
        return {"state": "refused", "message": message % {"store": store.name}}
    state = {"state": "running", "payouts": 0, "imported": 0, "skipped": 0, "message": "", "started": timezone.now()}
    cache.set(_fetch_key(store.pk), state, FETCH_KEEP_SECONDS)
    enqueue_named(
        FETCH_TASK,
        store_id=store.pk,
        actor_id=getattr(user, "pk", None),
        since=since.isoformat() if since else None,
    )
    return state


def _payout_digest(payout) -> str:
    references = "\n".join(sorted(row.reference for row in payout.rows))
    return f"shopify:{payout.id}:{hashlib.sha256(references.encode()).hexdigest()[:32]}"


def payout_fetch_run(*, store: Store, user, since=None, client=None, adapter=None) -> dict:
    """Fetch the store's payouts with their transactions and import each as its own import. A payout's digest is
    its id and the ids of its transactions, so a scheduled payout fetched again with more transactions imports
    just the new ones (the others are skipped by reference) and one fetched unchanged changes nothing. Records
    progress as it goes. ``adapter`` (default: the store's) is for the demo, which reads a shop it starts itself."""
    state = {"state": "running", "payouts": 0, "imported": 0, "skipped": 0, "waiting": 0, "message": ""}
    state["started"] = timezone.now()
    adapter = adapter or adapter_for(store, client=client)
    try:
        for payout in adapter.iter_payouts(since=since):
            state["payouts"] += 1
            if payout.status not in SETTLED_PAYOUT_STATUSES:
                state["waiting"] += 1
            report = payout_rows_import(
                store=store,
                source=PayoutSource.SHOPIFY_API,
                name=_("Payout %(id)s of %(date)s (%(status)s)")
                % {"id": payout.id, "date": payout.date.isoformat(), "status": payout.status},
                digest=_payout_digest(payout),
                rows=payout.rows,
                user=user,
                rematch=False,  # once, after the last payout
            )
            if report.already is not None:
                state["skipped"] += 1
            else:
                state["imported"] += 1
            cache.set(_fetch_key(store.pk), state, FETCH_KEEP_SECONDS)
    except ChannelError as exc:  # told to the person; the payouts imported so far stay
        logger.warning("payout fetch failed", extra={"store": store.pk, "error": str(exc)})
        state.update(state="failed", message=str(exc) or exc.__class__.__name__)
    else:
        state["state"] = "done"
    payouts_rematch(store=store)
    state["finished"] = timezone.now()
    cache.set(_fetch_key(store.pk), state, FETCH_KEEP_SECONDS)
    return state
