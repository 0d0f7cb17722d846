"""Spreadsheet order imports: validate every row, then import all or nothing.

Small files run in the request; larger ones in a worker, with progress kept in
the cache (so it is visible while the import's own transaction is open).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters.spreadsheet import parse_order_file
from channels.models import Channel, OrderImport, Store
from core.spreadsheets import MAX_BYTES, TableError, check_upload
from orders.services import orders_upsert
from orders.tasks import enqueue_after_ingest

logger = logging.getLogger(__name__)

# Files up to this size are imported while the person waits; larger ones by a worker.
INLINE_IMPORT_BYTES = 256 * 1024
MAX_IMPORT_BYTES = MAX_BYTES  # what the spreadsheet reader accepts
UPSERT_CHUNK = 1000


def _progress_key(import_id: int) -> str:
    return f"order-import-progress:{import_id}"


def order_import_progress(*, order_import: OrderImport) -> dict:
    """Where an import stands, for the progress bar: status, rows done and total, percent."""
    live = cache.get(_progress_key(order_import.pk))
    if live and order_import.status in (OrderImport.Status.PENDING, OrderImport.Status.RUNNING):
        done, total, phase = live
    else:
        done, total, phase = order_import.rows_done, order_import.rows_total, order_import.status
    return {
        "id": order_import.pk,
        "status": order_import.status,
        "phase": phase,
        "rows_done": done,
        "rows_total": total,
        "percent": int(100 * done / total) if total else (100 if order_import.finished_at else 0),
        "orders_created": order_import.orders_created,
        "orders_updated": order_import.orders_updated,
        "errors": order_import.errors[:200],
        "error_count": len(order_import.errors),
        "finished": order_import.finished_at is not None,
    }


def order_import_create(*, store: Store, filename: str, content: bytes, user=None) -> OrderImport:
    """Keep the uploaded file under the tenant's media folder and record the import.

    Raises ValidationError for a store that does not take files, or a file refused before any worker sees
    it: too large, unpacking to too much, too many rows (blank ones too) or columns, a cell too long, a
    quote never closed (core.spreadsheets.check_upload, which reads it without keeping its rows).
    """
    if store.channel != Channel.SPREADSHEET:
        raise ValidationError(_("Only spreadsheet stores import files."))
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationError(_("The file is larger than 20 MB. Split it into smaller files."))
    if not content:
        raise ValidationError(_("The file is empty."))
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt"):
        raise ValidationError(_("Upload a .csv or .xlsx file."))
    try:
        check_upload(content=content, filename=filename)
    except TableError as exc:
        raise ValidationError(str(exc), code="unreadable") from None
    folder = Path(settings.MEDIA_ROOT) / connection.schema_name / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(content)
    return OrderImport.objects.create(
        store=store, filename=Path(filename).name[:255], file_path=str(path), created_by=user
    )


def order_import_run(*, import_id: int) -> OrderImport:
    """Validate the whole file; if any row is bad import nothing and keep the report.

    Otherwise upsert every order in one transaction. Safe to run twice: a
    finished import is returned as it is, and the upsert is idempotent.
    """
    claimed = OrderImport.objects.filter(pk=import_id, status=OrderImport.Status.PENDING).update(
        status=OrderImport.Status.RUNNING
    )
    order_import = OrderImport.objects.select_related("store").get(pk=import_id)
    if not claimed and order_import.finished_at is not None:
        return order_import
    key = _progress_key(import_id)
    store = order_import.store

    def progress(done: int, total: int, phase: str = "validating") -> None:
        cache.set(key, (done, total, phase), timeout=3600)

    try:
        content = Path(order_import.file_path).read_bytes()
        parsed = parse_order_file(content=content, filename=order_import.filename, tz=_tenant_tz(), progress=progress)
        order_import.rows_total = parsed.rows
        if parsed.errors:
            order_import.status = OrderImport.Status.REJECTED
            order_import.errors = [dataclasses.asdict(error) for error in parsed.errors]
            order_import.rows_done = 0
        else:
            # A later import of the same order wins over an earlier one.
            now = timezone.now()
            orders = [order._replace(updated_at=now) for order in parsed.orders]
            created = updated = 0
            with transaction.atomic():
                for start in range(0, len(orders), UPSERT_CHUNK):
                    chunk = orders[start : start + UPSERT_CHUNK]
                    result = orders_upsert(
                        store_id=store.pk,
                        orders=[
                            (
                                order,
                                {
                                    "source": "spreadsheet",
                                    "file": order_import.filename,
                                    "order_number": order.order_number,
                                },
                            )
                            for order in chunk
                        ],
                    )
                    created += result.created
                    updated += result.updated
                    enqueue_after_ingest(order_ids=result.changed_ids.values())  # sent after the commit
                    progress(
                        min(parsed.rows, int(parsed.rows * (start + len(chunk)) / len(orders))),
                        parsed.rows,
                        "importing",
                    )
            order_import.status = OrderImport.Status.SUCCEEDED
            order_import.orders_created, order_import.orders_updated = created, updated
            order_import.rows_done = parsed.rows
    except Exception:
        logger.exception("order import failed", extra={"import": import_id})
        order_import.status = OrderImport.Status.FAILED
        order_import.errors = [
            {
                "row": 0,
                "column": "",
                "reason": _("The import failed unexpectedly; nothing was imported. Please try again."),
            }
        ]
    order_import.finished_at = timezone.now()
    order_import.save()
    cache.delete(key)
    return order_import


def _tenant_tz():
    tenant = getattr(connection, "tenant", None)
    tz = getattr(tenant, "tz", None)
    if tz is None:
        return zoneinfo.ZoneInfo("UTC")
    return tz
