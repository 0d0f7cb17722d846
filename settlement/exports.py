"""Settlement's exports: what a statement's file holds, and export jobs that write files in the background.

Tables. ``statement_table`` is a statement's lines (date, kind, order, dispatch, SKU, product, quantity, unit
cost, amount, description), read once from the database by a server-side cursor. Dates are in the tenant's time
zone: the ship date for a shipped line, the return's date for a return, the approval date for an adjustment or
penalty. The file has no total row: every row is a line, so filters and pivot tables work, and the Amount
column adds up to the statement's total (the PDF prints the totals).

Jobs. ``export_start`` records an ``ExportFile`` and queues ``EXPORT_TASK`` (queue "long") once the transaction
commits; ``export_run`` (the task's work) writes MEDIA_ROOT/exports/<schema>/<random>.<ext>, saving its progress
every PROGRESS_EVERY rows, and ends done or failed (with a message for a person; the traceback goes to the log).
Running it twice writes the same file again; a finished export is left alone.

Small statements (fewer than INLINE_MAX_LINES lines) need no job: the pages make their file in the request
(``statement_file_response``) and the browser downloads it at once. The API always makes a job.

Who may fetch a file: finance, any export of the tenant (the schema holds the row, the folder carries the
schema); a supplier's user, only exports of their own supplier's statements that they can see (issued or later),
through ``portal_export_get`` — another supplier's export is a 404 like an unknown one.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exports import ExportTable, Progress, stream_csv_response, write_csv, write_xlsx
from core.money import quantum
from core.tasks import enqueue_named
from settlement import margins, reconciliation
from settlement.models import ExportFile, Statement, StatementLine
from settlement.periods import tenant_time_zone
from settlement.portal import VISIBLE
from settlement.statement_pdf import StatementPrint, StatementRow, statement_pdf
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

EXPORT_TASK = "settlement.export_run"  # declared in settlement.tasks
INLINE_MAX_LINES = 2_000  # below this a page makes the file in the request
PDF_MAX_LINES = 20_000  # ~500 printed pages: past that, CSV or XLSX
RECENT = 50  # exports listed on the page

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "XLSX", "pdf": "PDF"}
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


# ---------------------------------------------------------------- a statement's lines


def _trimmed(value: Decimal, step: Decimal) -> Decimal:
    """A unit cost with the currency's decimals, more only when it has them (5.2500 → 5.25, 5.1250 → 5.125)."""
    rounded = value.quantize(step)
    return rounded if rounded == value else value.normalize()


def statement_rows(statement: Statement) -> Iterator[StatementRow]:
    """The statement's lines in order, one query read through a server-side cursor (memory stays flat)."""
    tz = tenant_time_zone()
    step = quantum(statement.currency)
    kinds = dict(StatementLine.Kind.choices)
    labels = {value: str(label) for value, label in kinds.items()}
    rows = (
        StatementLine.objects.filter(statement=statement)
        .order_by("id")
        .annotate(
            day=TruncDate(
                Coalesce(
                    "return_record__created",
                    "dispatch_line__dispatch__shipped_at",
                    "adjustment__approved_at",
                    "adjustment__created",
                ),
                tzinfo=tz,
            )
        )
        .values_list(
            "day",
            "kind",
            "dispatch_line__order__order_number",
            "dispatch_line__dispatch__number",
            "dispatch_line__product__sku",
            "dispatch_line__product__name",
            "quantity",
            "unit_cost",
            "amount",
            "description",
        )
    )
    for day, kind, order, dispatch, sku, product, quantity, unit_cost, amount, description in rows.iterator(
        chunk_size=2_000
    ):
        yield StatementRow(
            day,
            labels.get(kind, kind),
            order or "",
            dispatch or "",
            sku or "",
            product or "",
            quantity,
            None if unit_cost is None else _trimmed(unit_cost, step),
            amount.quantize(step, rounding=ROUND_HALF_UP),
            description,
        )


def statement_columns() -> list[str]:
    return [
        _("Date"),
        _("Kind"),
        _("Order"),
        _("Dispatch"),
        _("SKU"),
        _("Product"),
        _("Quantity"),
        _("Unit cost"),
        _("Amount"),
        _("Description"),
    ]


def statement_table(statement: Statement, count: int | None = None) -> ExportTable:
    """The statement's lines as an export table (no total row: the Amount column adds up to ``total``)."""
    return ExportTable(
        title=_("Statement %(number)s") % {"number": statement.number},
        columns=statement_columns(),
        count=StatementLine.objects.filter(statement=statement).count() if count is None else count,
        rows=statement_rows(statement),
        currency=statement.currency,
    )


def statement_totals(statement: Statement) -> list[tuple[str, Decimal, int]]:
    """(kind as read, amount, lines) for each kind of line the statement has, in the kinds' order."""
    sums = {
        row["kind"]: row
        for row in StatementLine.objects.filter(statement=statement)
        .values("kind")
        .annotate(amount=Sum("amount"), lines=Count("id"))
        .order_by()
    }
    step = quantum(statement.currency)
    return [
        (str(label), sums[kind]["amount"].quantize(step, rounding=ROUND_HALF_UP), sums[kind]["lines"])
        for kind, label in StatementLine.Kind.choices
        if kind in sums
    ]


def statement_print(statement: Statement) -> StatementPrint:
    """What the PDF of ``statement`` prints (the lines are read as it prints them)."""
    supplier = statement.supplier
    return StatementPrint(
        tenant_name=getattr(connection.tenant, "name", ""),
        supplier_name=supplier.name,
        supplier_code=supplier.code,
        period=str(statement.period),
        number=statement.number,
        status=str(statement.get_status_display()),
        currency=statement.currency,
        total=statement.total,
        totals_by_kind=statement_totals(statement),
        lines=statement_rows(statement),
    )


def _statement(params: dict) -> Statement:
    statement = Statement.objects.select_related("period", "supplier").filter(pk=params.get("statement")).first()
    if statement is None:
        raise ValidationError(_("That statement does not exist."), code="unknown_statement")
    return statement


# ---------------------------------------------------------------- kinds of export


@dataclass(frozen=True)
class ExportKind:
    """An export that can be asked for. ``table(params)`` must be cheap to call (the export's count and title are
    read when it is asked for); its rows are read once, by the task. ``pdf``, if the kind prints, writes the PDF
    and returns its row count."""

    label: object
    table: Callable[..., ExportTable]  # table(params, count=None): count, when known, saves counting again
    formats: tuple[str, ...] = ("csv", "xlsx")
    pdf: Callable[[dict, BinaryIO, Progress | None], int] | None = None


def _statement_pdf(params: dict, fileobj: BinaryIO, progress: Progress | None = None) -> int:
    return statement_pdf(statement_print(_statement(params)), fileobj, progress)


# A report of settlement becomes exportable by one line here: "reconciliation": ExportKind(…, reconciliation.export_table).
KINDS: dict[str, ExportKind] = {
    "statement": ExportKind(
        label=gettext_lazy("Statement"),
        table=lambda params, count=None: statement_table(_statement(params), count=count),
        formats=("csv", "xlsx", "pdf"),
        pdf=_statement_pdf,
    ),
    "reconciliation": ExportKind(label=gettext_lazy("Reconciliation"), table=reconciliation.export_table),
    "margins": ExportKind(label=gettext_lazy("Margins"), table=margins.export_table),
}


def file_name_for(title: str, file_format: str) -> str:
    """What the browser saves the file as: the table's title with anything but letters (any script), digits, dots
    and hyphens made a hyphen: "Statement ST-202610-ACME-CNY" → "Statement-ST-202610-ACME-CNY.xlsx"."""
    stem = _UNSAFE_NAME.sub("-", title).strip("-.")[:150] or "export"
    return f"{stem}.{file_format}"


def _write(export: ExportFile, table: ExportTable, fileobj: BinaryIO, progress: Progress) -> int:
    spec = KINDS[export.kind]
    if export.file_format == "csv":
        return write_csv(table, fileobj, progress)
    if export.file_format == "xlsx":
        return write_xlsx(table, fileobj, progress)
    if export.file_format == "pdf" and spec.pdf is not None:
        return spec.pdf(export.params, fileobj, progress)
    raise ValueError(f"no {export.file_format} writer for {export.kind} exports")


# ---------------------------------------------------------------- export jobs


def _folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / connection.schema_name


def export_start(
    *,
    kind: str,
    file_format: str,
    params: dict,
    user,
    supplier: Supplier | None = None,
    statement: Statement | None = None,
) -> ExportFile:
    """Record an export of ``kind`` as ``file_format`` for ``user`` and queue its task (sent after commit).

    A statement export is scoped to the statement's supplier (``supplier``, when given, must be it). Raises
    ValidationError, recording nothing, for an unknown kind, a format the kind has no writer for, a statement of
    another supplier, a missing statement, or a PDF longer than PDF_MAX_LINES lines.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError({"kind": [_("Unknown export: %(kind)s.") % {"kind": kind}]}, code="unknown_kind")
    if file_format not in spec.formats:
        choices = ", ".join(FORMAT_LABELS[f] for f in spec.formats)
        raise ValidationError(
            {"format": [_("This export is made as %(formats)s.") % {"formats": choices}]}, code="unknown_format"
        )
    params = dict(params or {})
    if statement is None and kind == "statement":
        statement = _statement(params)
    if statement is not None:
        params["statement"] = statement.pk
        if supplier is not None and statement.supplier_id != supplier.pk:
            raise ValidationError(_("That statement does not exist."), code="unknown_statement")
        supplier = statement.supplier
    table = spec.table(params)
    if file_format == "pdf" and table.count > PDF_MAX_LINES:
        raise ValidationError(
            {
                "format": [
                    _("A PDF prints at most %(max)s lines; this has %(count)s. Export it as XLSX or CSV.")
                    % {"max": f"{PDF_MAX_LINES:,}", "count": f"{table.count:,}"}
                ]
            },
            code="too_long_for_pdf",
        )
    # The worker writes the file in the language the person asked in (headers, PDF titles).
    params["language"] = translation.get_language() or settings.LANGUAGE_CODE
    export = ExportFile.objects.create(
        kind=kind,
        file_format=file_format,
        params=params,
        statement=statement,
        supplier=supplier,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        total_rows=table.count,
        file_name=file_name_for(table.title, file_format),
        path=f"exports/{connection.schema_name}/{secrets.token_urlsafe(18)}.{file_format}",
    )
    enqueue_named(EXPORT_TASK, export.pk)
    return export


def _saved(export_id: int, **values) -> int:
    return ExportFile.objects.filter(pk=export_id, status=ExportFile.Status.RUNNING).update(**values)


def export_run(*, export_id: int) -> ExportFile | None:
    """The task's work: write the export's file, saving progress, and mark it done or failed.

    An export already finished, or gone, is left alone (None for gone). The file is written beside its final
    name and moved into place when whole, so a download never sees half a file. Never raises for a failure of
    the export itself: the row says failed, with a message for a person; the log has the traceback.
    """
    export = ExportFile.objects.filter(pk=export_id).first()
    if export is None or export.status != ExportFile.Status.RUNNING:
        return export
    target = Path(settings.MEDIA_ROOT) / export.path
    partial = target.with_name(target.name + ".part")
    try:
        if target.parent.resolve() != _folder().resolve():
            raise ValueError(f"export {export.pk} is not in {connection.schema_name}'s folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        language = export.params.get("language") or settings.LANGUAGE_CODE
        with translation.override(language), timezone.override(tenant_time_zone()):
            table = KINDS[export.kind].table(export.params, count=export.total_rows)  # counted when asked for
            _saved(export.pk, done_rows=0)
            with open(partial, "wb") as handle:
                rows = _write(export, table, handle, lambda done: _saved(export.pk, done_rows=done))
        os.replace(partial, target)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, ValidationError):
            message = "; ".join(exc.messages)
        else:
            message = _("The file could not be written. Try again; if it fails again, tell your administrator.")
            logger.exception("export failed", extra={"export": export.pk, "kind": export.kind})
        _saved(export.pk, status=ExportFile.Status.FAILED, error=message[:500], finished=timezone.now())
        export.refresh_from_db()
        return export
    _saved(
        export.pk,
        status=ExportFile.Status.DONE,
        done_rows=rows,
        total_rows=rows,
        size=target.stat().st_size,
        finished=timezone.now(),
    )
    export.refresh_from_db()
    return export


def export_progress(export: ExportFile) -> dict:
    """What a progress page or the API shows of an export."""
    total = export.total_rows
    percent = (
        100 if export.status == ExportFile.Status.DONE else (min(99, export.done_rows * 100 // total) if total else 0)
    )
    return {
        "id": export.pk,
        "kind": export.kind,
        "format": export.file_format,
        "status": export.status,
        "done_rows": export.done_rows,
        "total_rows": total,
        "percent": percent,
        "file_name": export.file_name,
        "size": export.size,
        "error": export.error,
        "created": export.created,
        "finished": export.finished,
    }


# ---------------------------------------------------------------- who may fetch what


def exports_of(*, user) -> QuerySet[ExportFile]:
    """The exports ``user`` asked for, newest first, RECENT at most."""
    return ExportFile.objects.filter(requested_by=user).select_related("statement").order_by("-created", "-id")[:RECENT]


def finance_export_get(*, pk: int) -> ExportFile:
    """Any export of the tenant (finance may fetch them all); 404 when there is none (the schema scopes it)."""
    return get_object_or_404(ExportFile.objects.select_related("statement"), pk=pk)


def portal_exports_for(*, supplier: Supplier) -> QuerySet[ExportFile]:
    """The exports a supplier's users may fetch: of their supplier, of statements they can see (never a draft)."""
    return ExportFile.objects.filter(supplier=supplier).filter(
        Q(statement__isnull=True) | Q(statement__supplier=supplier, statement__status__in=VISIBLE)
    )


def portal_export_get(*, supplier: Supplier, pk: int) -> ExportFile:
    """One export ``supplier``'s users may fetch; 404 for another supplier's, a draft's, or none."""
    return get_object_or_404(portal_exports_for(supplier=supplier).select_related("statement"), pk=pk)


def export_file_response(export: ExportFile) -> FileResponse:
    """The export's file as a download named ``file_name`` (RFC 6266 ``filename*`` for non-ASCII names).

    404 when it is not ready, or its file is gone or not under the tenant's own folder.
    """
    if export.status != ExportFile.Status.DONE or not export.path:
        raise Http404(_("This export is not ready."))
    folder = _folder().resolve()
    path = (Path(settings.MEDIA_ROOT) / export.path).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise Http404(_("This export's file is no longer there."))
    response = FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=export.file_name,
        content_type=CONTENT_TYPES.get(export.file_format, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- small statements, made in the request


def statement_is_small(statement: Statement) -> bool:
    return StatementLine.objects.filter(statement=statement).count() < INLINE_MAX_LINES


def statement_file_response(*, statement: Statement, file_format: str) -> HttpResponse:
    """The statement's file made now, as a download (for a statement of fewer than INLINE_MAX_LINES lines).
    Raises ValidationError for a format statements are not exported as."""
    if file_format not in KINDS["statement"].formats:
        raise ValidationError({"format": [_("Choose CSV, XLSX or PDF.")]}, code="unknown_format")
    table = statement_table(statement)
    name = file_name_for(table.title, file_format)
    if file_format == "csv":
        return stream_csv_response(table, name)
    buffer = io.BytesIO()
    if file_format == "xlsx":
        write_xlsx(table, buffer)
    else:
        statement_pdf(statement_print(statement), buffer)
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
