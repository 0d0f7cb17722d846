"""A supplier's stock reports: how many more units of each product it sources it can still ship.

The supplier reports *available* units: what it can ship for this merchant
beyond what Relay has already reserved for orders routed to it. Relay keeps
stock per source (a product at a supplier) as on hand and reserved, so a
report of N sets ``on_hand = reserved + N``: reserved units stay reserved,
whatever the supplier says, and routing (the in-stock strategy, and the
never-below-zero check) sees N more units at that source.

A report names products by SKU. Only the supplier's own sources count: a
SKU it does not source is refused in exactly the words of an unknown SKU, so
a report tells nothing about the merchant's other suppliers. Every row is
checked before anything is written; any problem refuses the whole report
with every problem by row. The spreadsheet upload (CSV or XLSX) reads the
file with core.spreadsheets and hands its rows to the same report; a file of
more than INLINE_ROWS rows is kept (core.uploads), recorded as a
``StockUploadJob`` of the supplier and checked and written by a worker
(inventory/tasks.py) the same way, all or nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import spreadsheets
from core.bulk import chunked
from core.spreadsheets import Cell, RowError, SheetReport
from core.tasks import enqueue_named
from core.uploads import rough_row_count, upload_job_run, upload_keep
from inventory.models import Source, Stock, StockUploadJob
from inventory.services import actor_label
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_AVAILABLE = 1_000_000_000  # far beyond any real stock; keeps reserved + available inside an integer column
MAX_ERRORS = 1_000
_QUERY_CHUNK = 5_000
_WHOLE = re.compile(r"\d+")
# Stock files with more data rows than this are checked and written by a worker (UPLOAD_TASK).
INLINE_ROWS = 2_000
UPLOAD_TASK = "inventory.stock_upload"

# ------------------------------------------------------------------ reading


def stock_rows_for(*, supplier: Supplier, q: str = "") -> QuerySet[Source]:
    """The supplier's sources (one row per product it sources) with product and stock, by SKU.

    ``q`` is a SKU prefix or part of the product name. Never another
    supplier's row: the supplier is the scope, not a filter the caller adds.
    """
    qs = Source.objects.filter(supplier=supplier).select_related("product", "stock")
    if q := q.strip():
        qs = qs.filter(Q(product__sku__istartswith=q) | Q(product__name__icontains=q))
    return qs.order_by("product__sku", "pk")


def stock_page(*, supplier: Supplier, q: str = "", page: object = 1, size: int = PAGE_SIZE) -> Page:
    """One page of ``stock_rows_for``; a page number out of range gives the nearest page."""
    return Paginator(stock_rows_for(supplier=supplier, q=q), size).get_page(page)


def stock_of(source: Source) -> Stock | None:
    """The source's stock row, or None while its stock is not tracked."""
    try:
        return source.stock
    except Stock.DoesNotExist:
        return None


def reporters_of(*, supplier: Supplier) -> frozenset[str]:
    """The e-mails of the supplier's users, lower-cased: whose names its stock page may show.

    A stock row last set by anyone else (the merchant's staff, an import) is
    shown as set by the merchant: the supplier sees no merchant staff e-mail.
    """
    return frozenset(e.lower() for e in supplier.users.values_list("user__email", flat=True) if e)


# ------------------------------------------------------------------ reporting


@dataclass
class StockReport:
    """What a report changed: ``created`` sources started to be tracked, ``updated`` ones were set again."""

    rows: int = 0
    created: int = 0
    updated: int = 0


class StockReportRefused(ValidationError):
    """Nothing was written: ``problems`` says why, row by row (row, column, reason)."""

    def __init__(self, problems: Sequence[RowError]):
        self.problems = list(problems)
        super().__init__({"rows": [_row_text(problem) for problem in self.problems] or [_("The report has no rows.")]})


def _row_text(problem: RowError) -> str:
    if not problem.row:
        return problem.reason
    if problem.column:
        return _("Row %(row)d, %(column)s: %(reason)s") % {
            "row": problem.row,
            "column": problem.column,
            "reason": problem.reason,
        }
    return _("Row %(row)d: %(reason)s") % {"row": problem.row, "reason": problem.reason}


def clean_available(value: object) -> tuple[int | None, str]:
    """(units, "") for a whole number from 0 to MAX_AVAILABLE given as an integer or its text; else (None, why)."""
    if isinstance(value, bool) or value is None:
        return None, _("Give a whole number of units, 0 or more.")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        text = text[:-2] if text.endswith(".0") else text  # Excel's 12.0
        if not text:
            return None, _("A value is required.")
        if not _WHOLE.fullmatch(text):
            return None, _("“%(value)s” is not a whole number of units, 0 or more.") % {
                "value": spreadsheets.shown(text)
            }
        number = int(text)
    if number < 0 or number > MAX_AVAILABLE:
        return None, _("The number must be from 0 to %(maximum)s.") % {"maximum": f"{MAX_AVAILABLE:,}"}
    return number, ""


def _sources_by_sku(supplier: Supplier, skus: Iterable[str]) -> dict[str, list[int]]:
    """SKU → the ids of this supplier's sources of that product (two or more: the merchant sources it twice)."""
    found: dict[str, list[int]] = {}
    for chunk in chunked(sorted(set(skus)), _QUERY_CHUNK):
        rows = Source.objects.filter(supplier=supplier, product__sku__in=chunk).order_by("position", "pk")
        for sku, source_id in rows.values_list("product__sku", "pk"):
            found.setdefault(sku, []).append(source_id)
    return found


def stock_report_problems(
    *, supplier: Supplier, rows: Sequence[tuple[object, object]], numbers: Sequence[int] | None = None
) -> tuple[list[RowError], dict[int, int]]:
    """What ``stock_report`` would refuse in these rows (row, column, reason), and otherwise the units
    available per source id it would set. Reads only."""
    rows = list(rows)
    numbers = list(numbers) if numbers is not None else list(range(1, len(rows) + 1))
    if len(numbers) != len(rows):
        raise ValueError("one number per row")
    if not rows:
        return [RowError(0, "", _("The report has no rows."))], {}
    problems: list[RowError] = []
    wanted: dict[str, int] = {}
    first_row: dict[str, int] = {}
    for number, (sku_value, available_value) in zip(numbers, rows, strict=True):
        sku = str(sku_value if sku_value is not None else "").strip()
        available, why = clean_available(available_value)
        if not sku:
            problems.append(RowError(number, "sku", _("A SKU is required.")))
        elif sku in first_row:
            problems.append(
                RowError(number, "sku", _("Row %(row)d already reports %(sku)s.") % {"row": first_row[sku], "sku": sku})
            )
            sku = ""
        else:
            first_row[sku] = number
        if why:
            problems.append(RowError(number, "available", why))
        elif sku:
            wanted[sku] = available  # type: ignore[assignment]
    sources = _sources_by_sku(supplier, first_row)
    for sku, number in first_row.items():
        found = sources.get(sku, [])
        if not found:
            # The same words whether nobody sources it or another supplier does: a report reveals nothing.
            reason = _("No product you supply has the SKU “%(sku)s”.") % {"sku": spreadsheets.shown(sku)}
            problems.append(RowError(number, "sku", reason))
        elif len(found) > 1:
            reason = _("You supply %(sku)s through %(n)d sources; ask the merchant to set its stock.") % {
                "sku": sku,
                "n": len(found),
            }
            problems.append(RowError(number, "sku", reason))
    problems.sort(key=lambda p: (p.row, p.column != "sku"))
    return problems, ({} if problems else {sources[sku][0]: units for sku, units in wanted.items()})


def stock_report(
    *,
    supplier: Supplier,
    rows: Sequence[tuple[object, object]],
    actor,
    numbers: Sequence[int] | None = None,
) -> StockReport:
    """Record what ``supplier`` can still ship: (SKU, available units) per row; all rows or none.

    For each row the source of that product at this supplier gets
    ``on_hand = reserved + available`` (a Stock row is created when its
    stock was not tracked yet) and ``updated_by`` the actor's e-mail. Rows
    are locked in id order first, so a reservation made meanwhile is never
    lost or undercut. ``numbers`` are the rows' numbers in the problems (a
    spreadsheet's row numbers; default 1, 2, …).

    Raises StockReportRefused (a ValidationError; nothing written) listing
    every problem: no rows, a blank or repeated SKU, a SKU this supplier does
    not source (worded as for an unknown SKU), a SKU it sources twice, an
    amount that is not a whole number from 0 to MAX_AVAILABLE.
    """
    with transaction.atomic():
        problems, available = stock_report_problems(supplier=supplier, rows=rows, numbers=numbers)
        if problems:
            raise StockReportRefused(problems)
        report = _write(available, label=actor_label(actor) or "supplier")
    # The actor by id, as every log line names its user: no e-mail address in the logs.
    logger.info(
        "stock reported",
        extra={
            "supplier": supplier.pk,
            "rows": report.rows,
            "new": report.created,
            "actor": getattr(actor, "pk", None),
        },
    )
    return report


def _write(available: Mapping[int, int], *, label: str) -> StockReport:
    """Set ``on_hand = reserved + available`` at each source, tracking the untracked ones from now on.

    The existing rows are locked first, in id order (the order routing locks
    them in), then the missing ones are inserted and the rest set in one
    relative statement per chunk.
    """
    now = timezone.now()
    created = 0
    source_ids = sorted(available)
    for chunk in chunked(source_ids, _QUERY_CHUNK):
        units = [available[source_id] for source_id in chunk]
        tracked = set(
            Stock.objects.select_for_update()
            .filter(source_id__in=chunk)
            .order_by("id")
            .values_list("source_id", flat=True)
        )
        with connection.cursor() as cursor:
            missing = [(source_id, n) for source_id, n in zip(chunk, units, strict=True) if source_id not in tracked]
            if missing:
                # ON CONFLICT: a first report of the same source committed meanwhile is set below like any other.
                cursor.execute(
                    """
                    INSERT INTO inventory_stock (source_id, on_hand, reserved, updated, updated_by)
                    SELECT v.source_id, v.available, 0, %s, %s
                    FROM unnest(%s::bigint[], %s::integer[]) AS v(source_id, available)
                    ON CONFLICT (source_id) DO NOTHING RETURNING source_id
                    """,
                    [now, label, [s for s, _n in missing], [n for _s, n in missing]],
                )
                inserted = {row[0] for row in cursor.fetchall()}
                created += len(inserted)
            else:
                inserted = set()
            rest = [(source_id, n) for source_id, n in zip(chunk, units, strict=True) if source_id not in inserted]
            if rest:
                cursor.execute(
                    """
                    UPDATE inventory_stock s SET on_hand = s.reserved + v.available, updated_by = %s, updated = %s
                    FROM unnest(%s::bigint[], %s::integer[]) AS v(source_id, available)
                    WHERE s.source_id = v.source_id
                    """,
                    [label, now, [s for s, _n in rest], [n for _s, n in rest]],
                )
    return StockReport(rows=len(source_ids), created=created, updated=len(source_ids) - created)


# ------------------------------------------------------------------ the spreadsheet upload

COLUMNS: tuple[str, ...] = ("sku", "name", "available")
CHINESE_HEADERS: Mapping[str, str] = MappingProxyType({"sku": "商品编码", "name": "商品名称", "available": "可用库存"})
REQUIRED: Mapping[str, str] = MappingProxyType(
    {"sku": CHINESE_HEADERS["sku"], "available": CHINESE_HEADERS["available"]}
)
# Other headers suppliers' own sheets use for the same columns.
_MORE_HEADERS = {
    "货品编码": "sku",
    "sku编码": "sku",
    "product_sku": "sku",
    "货品名称": "name",
    "product_name": "name",
    "可用数量": "available",
    "可售库存": "available",
    "available_stock": "available",
}
_ALIASES = MappingProxyType(
    {
        **spreadsheets.header_aliases(COLUMNS, CHINESE_HEADERS),
        **{spreadsheets.header_key(text): name for text, name in _MORE_HEADERS.items()},
    }
)


def column_name(cell: Cell) -> str | None:
    return _ALIASES.get(spreadsheets.header_key(cell)) if isinstance(cell, str) else None


@dataclass
class UploadReport(SheetReport):
    """What an upload set, or why it set nothing: ``errors`` non-empty means nothing was written."""

    created: int = 0
    updated: int = 0


def _refused(errors: list[RowError], *, rows: int = 0) -> UploadReport:
    return UploadReport(rows=rows, errors=spreadsheets.listed_errors(errors, limit=MAX_ERRORS), error_count=len(errors))


def stock_upload(
    *,
    supplier: Supplier,
    content: bytes,
    filename: str,
    actor,
    progress: Callable[[str], None] | None = None,
) -> UploadReport:
    """Report stock from a CSV or XLSX file (columns SKU / 商品编码 and available / 可用库存; a name column is
    ignored). The whole file is checked first, against the file and the supplier's products: any problem
    and nothing is written, and the report names each one by spreadsheet row (the header is row 1), column
    and reason. Never raises for bad content. ``progress`` is told "checking" once the file is read."""
    try:
        header, rows = spreadsheets.read_table(content=content, filename=filename, column_name=column_name)
    except spreadsheets.TableError as exc:
        return _refused([RowError(0, "", str(exc))])
    if progress is not None:
        progress("checking")
    columns, errors = spreadsheets.read_header(header, column_name=column_name, required=REQUIRED)
    if errors:
        return _refused(errors, rows=len(rows))
    if not rows:
        return _refused([RowError(0, "", _("The file has a header but no rows of stock."))])
    stray: list[RowError] = []
    report_rows: list[tuple[str, str]] = []
    numbers: list[int] = []
    for number, cells in rows:
        extra = [c for i, c in enumerate(cells) if i not in columns.values() and not spreadsheets.blank(c)]
        if extra:
            stray.append(
                RowError(
                    number,
                    "",
                    _("The row has a value (“%(value)s”) in a column without a header.")
                    % {"value": spreadsheets.shown(extra[0])},
                )
            )
        report_rows.append(
            (spreadsheets.cell_text(cells, columns.get("sku")), spreadsheets.cell_text(cells, columns.get("available")))
        )
        numbers.append(number)
    if stray:
        # Checked against the catalog all the same, so the report lists every problem at once.
        problems, _units = stock_report_problems(supplier=supplier, rows=report_rows, numbers=numbers)
        return _refused(_in_order([*stray, *problems]), rows=len(rows))
    try:
        done = stock_report(supplier=supplier, rows=report_rows, actor=actor, numbers=numbers)
    except StockReportRefused as exc:
        return _refused(_in_order(exc.problems), rows=len(rows))
    return UploadReport(rows=len(rows), created=done.created, updated=done.updated)


# ------------------------------------------------------------------ a large upload, checked and written by a worker


@dataclass(frozen=True)
class StockSubmission:
    """What an upload turned into: a report (saved, or refused, at once) or an upload queued for a worker."""

    report: UploadReport | None = None
    job: StockUploadJob | None = None


def stock_upload_submit(*, supplier: Supplier, content: bytes, filename: str, actor) -> StockSubmission:
    """Report stock from a file of up to INLINE_ROWS data rows at once (``stock_upload``); keep a larger one and
    queue it for a worker, which reports it the same way, all or nothing. The page and the API both call this.

    The queued task is sent after the surrounding transaction commits. The caller has checked the upload's
    size; a file past the limits every upload has (core.spreadsheets.check_upload: what it unpacks to, rows
    counting blank ones, columns, cell length, quotes) is refused at once, never queued.
    """
    try:
        spreadsheets.check_upload(content=content, filename=filename)
    except spreadsheets.TableError as exc:
        return StockSubmission(report=_refused([RowError(0, "", str(exc))]))
    rows = rough_row_count(content, stop_after=INLINE_ROWS)
    if rows <= INLINE_ROWS:
        return StockSubmission(report=stock_upload(supplier=supplier, content=content, filename=filename, actor=actor))
    job = StockUploadJob.objects.create(
        supplier=supplier,
        filename=Path(filename).name[:255],
        file_path=upload_keep(content=content, filename=filename, folder="stock"),
        rows_total=rows,
        language=translation.get_language() or "",
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    enqueue_named(UPLOAD_TASK, job.pk)
    logger.info("stock upload queued", extra={"supplier": supplier.pk, "job": job.pk, "rows": rows})
    return StockSubmission(job=job)


def stock_upload_job_for(*, supplier: Supplier, pk: int) -> StockUploadJob:
    """One of ``supplier``'s queued uploads; Http404 for any other (another supplier's looks like none)."""
    return get_object_or_404(StockUploadJob.objects.select_related("created_by"), pk=pk, supplier=supplier)


def _job_progress_key(job_id: int) -> str:
    return f"stock-upload-progress:{job_id}"  # the cache's key function adds the tenant


_PHASE_PERCENT = {"waiting": 0, "reading": 5, "checking": 40}


def stock_upload_job_progress(*, job: StockUploadJob) -> dict:
    """Where a queued upload stands, for its page: phase (waiting, reading, checking), percent, finished."""
    if job.finished:
        return {"phase": job.status, "percent": 100, "finished": True}
    phase = cache.get(_job_progress_key(job.pk)) or "waiting"
    return {"phase": phase, "percent": _PHASE_PERCENT.get(phase, 0), "finished": False}


def stock_upload_job_run(*, job_id: int) -> StockUploadJob | None:
    """Check and write a queued stock file all or nothing, then keep the report and remove the file
    (core.uploads.upload_job_run: safe to run twice; setting the same stock twice gives the same rows). None
    when the upload does not exist."""

    def work(job: StockUploadJob, content: bytes, progress) -> dict:
        return stock_upload(
            supplier=job.supplier, content=content, filename=job.filename, actor=job.created_by, progress=progress
        ).as_dict()

    return upload_job_run(
        jobs=StockUploadJob.objects.select_related("supplier", "created_by"),
        job_id=job_id,
        progress_key=_job_progress_key(job_id),
        reading="reading",
        work=work,
        failed=_("The upload failed unexpectedly; nothing was saved. Please try again."),
    )


def _in_order(problems: list[RowError]) -> list[RowError]:
    return sorted(problems, key=lambda p: (p.row, COLUMNS.index(p.column) if p.column in COLUMNS else -1))


def stock_template_rows(*, supplier: Supplier, q: str = "") -> list[dict[str, object]]:
    """The upload template, filled in: each product the supplier sources (matching ``q`` as the stock page does)
    with what it has available now."""
    rows = []
    for source in stock_rows_for(supplier=supplier, q=q):
        stock = stock_of(source)
        rows.append(
            {"sku": source.product.sku, "name": source.product.name, "available": stock.available if stock else ""}
        )
    return rows or [{"sku": "TEE-RED-M", "name": "T恤 红色 M 码", "available": 120}]


def stock_template_csv(*, supplier: Supplier, q: str = "") -> bytes:
    return spreadsheets.template_csv(columns=COLUMNS, rows=stock_template_rows(supplier=supplier, q=q))


def stock_template_xlsx(*, supplier: Supplier, q: str = "") -> bytes:
    return spreadsheets.template_xlsx(
        columns=COLUMNS,
        rows=stock_template_rows(supplier=supplier, q=q),
        sheet_title=_("Stock"),
        number_formats={"available": "0"},
    )
