"""The finance lists as their pages and downloads share them: adjustments, payout imports, a period's
statements and the supplier portal's statements. Each list has one selector that applies the filters and the
sort, and one function that turns the same queryset into an ``ExportTable`` (core.listing), so a download holds
exactly the rows the page filters, in its order, without its pagination. Money is a Decimal beside its
currency, rounded to the currency's minor unit (amounts are stored with four places); a supplier's export only ever holds the supplier's own statements (portal_statements_filtered).

The statement, reconciliation and margins reports keep their own background exports (settlement.exports)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from core.exports import ExportTable
from core.listing import Sort, Sorts
from core.money import round_money
from settlement.models import Adjustment, PayoutImport, PayoutSource, Period, Statement
from settlement.periods import parse_month
from suppliers.models import Supplier

CHUNK = 2000

ADJUSTMENT_SORTS = Sorts(
    {
        "created": ("created",),
        "period": ("period__month", "created"),
        "supplier": ("supplier__name", "created"),
        "amount": ("amount",),
    },
    default="-created",
)
PAYOUT_IMPORT_SORTS = Sorts(
    {
        "imported": ("imported_at",),
        "store": ("store__name", "imported_at"),
        "name": ("name",),
        "items": ("items_count",),
    },
    default="-imported",
)
STATEMENT_SORTS = Sorts(
    {
        "supplier": ("supplier__name", "currency"),
        "number": ("number",),
        "status": ("status", "supplier__name"),
        "total": ("total",),
    },
    default="supplier",
)
PORTAL_STATEMENT_SORTS = Sorts(
    {
        "period": ("period__month", "currency"),
        "number": ("number",),
        "status": ("status", "period__month"),
        "total": ("total",),
    },
    default="-period",
)


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def _one_currency(qs: QuerySet) -> str:
    """The rows' currency when they all share one (XLSX then shows its decimals), else ""."""
    currencies = list(qs.order_by().values_list("currency", flat=True).distinct()[:2])
    return currencies[0] if len(currencies) == 1 else ""


# ------------------------------------------------------------------ adjustments


def adjustments_filtered(*, filters: Mapping[str, Any], sort: Sort) -> QuerySet[Adjustment]:
    """The tenant's adjustments narrowed by ``filters`` (q: part of the reason or the supplier's name; supplier;
    month "YYYY-MM"; kind; currency; pending: not approved yet), in ``sort``. Blank filters are ignored."""
    qs = Adjustment.objects.select_related("period", "supplier", "created_by", "approved_by", "origin__statement")
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(reason__icontains=q) | Q(supplier__name__icontains=q))
    if supplier := filters.get("supplier"):
        qs = qs.filter(supplier=supplier)
    if month := filters.get("month"):
        qs = qs.filter(period__month=parse_month(month))
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    if currency := filters.get("currency"):
        qs = qs.filter(currency=currency)
    if filters.get("pending"):
        qs = qs.filter(approved_at__isnull=True)
    return qs.order_by(*sort.ordering)


def adjustments_export(qs: QuerySet[Adjustment]) -> ExportTable:
    kinds = _labels(Adjustment.Kind.choices)
    fields = (
        "period__month", "supplier__name", "kind", "currency", "amount", "reason", "origin__statement__number",
        "created_by__email", "created", "approved_at", "approved_by__email",
    )  # fmt: skip

    def rows() -> Iterator[tuple]:
        for month, supplier, kind, currency, amount, *rest in qs.values_list(*fields).iterator(chunk_size=CHUNK):
            rounded = round_money(amount, currency)  # stored with 4 places: shown with the currency's
            yield (month.strftime("%Y-%m"), supplier, kinds.get(kind, kind), currency, rounded, *rest)

    return ExportTable(
        title=_("Adjustments"),
        columns=[
            _("Period"),
            _("Supplier"),
            _("Kind"),
            _("Currency"),
            _("Amount"),
            _("Reason"),
            _("Origin"),
            _("Created by"),
            _("Created"),
            _("Approved"),
            _("Approved by"),
        ],
        count=qs.count(),
        rows=rows(),
        currency=_one_currency(qs),
    )


def adjustment_suppliers() -> QuerySet[Supplier]:
    """The suppliers the adjustments list may be filtered by: those with an adjustment."""
    return Supplier.objects.filter(adjustments__isnull=False).distinct().order_by("name")


# ------------------------------------------------------------------ payout imports


def payout_imports_filtered(*, filters: Mapping[str, Any], sort: Sort) -> QuerySet[PayoutImport]:
    """The payout files and fetches imported so far, narrowed by store, source and q (part of the name)."""
    qs = PayoutImport.objects.select_related("store")
    if store := filters.get("store"):
        qs = qs.filter(store=store)
    if source := filters.get("source"):
        qs = qs.filter(source=source)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(name__icontains=q)
    return qs.order_by(*sort.ordering)


def payout_imports_export(qs: QuerySet[PayoutImport]) -> ExportTable:
    sources = _labels(PayoutSource.choices)
    fields = ("imported_at", "store__name", "source", "name", "items_count", "skipped", "imported_by_label")

    def rows() -> Iterator[tuple]:
        for imported_at, store, source, *rest in qs.values_list(*fields).iterator(chunk_size=CHUNK):
            yield (imported_at, store, sources.get(source, source), *rest)

    return ExportTable(
        title=_("Payout imports"),
        columns=[
            _("Imported"),
            _("Store"),
            _("Source"),
            _("Name"),
            _("Transactions"),
            _("Already imported"),
            _("By"),
        ],
        count=qs.count(),
        rows=rows(),
    )


# ------------------------------------------------------------------ a period's statements (finance)


def period_statements_filtered(*, period: Period, filters: Mapping[str, Any], sort: Sort) -> QuerySet[Statement]:
    """``period``'s statements with their line count, narrowed by status, supplier and q (part of the number or
    the supplier's name), in ``sort``."""
    qs = Statement.objects.filter(period=period).select_related("supplier").annotate(line_count=Count("lines"))
    if status := filters.get("status"):
        qs = qs.filter(status=status)
    if supplier := filters.get("supplier"):
        qs = qs.filter(supplier=supplier)
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(number__icontains=q) | Q(supplier__name__icontains=q))
    return qs.order_by(*sort.ordering)


def _statement_rows(qs: QuerySet[Statement], *, with_supplier: bool) -> Iterator[tuple]:
    statuses = _labels(Statement.Status.choices)
    fields = ("number", "period__month", "supplier__name", "status", "currency", "total", "issued_at",
              "confirmed_at", "payment_date", "payment_reference")  # fmt: skip
    for number, month, supplier, status, currency, total, *rest in qs.values_list(*fields).iterator(chunk_size=CHUNK):
        head = (number, month.strftime("%Y-%m")) + ((supplier,) if with_supplier else ())
        yield (*head, statuses.get(status, status), currency, round_money(total, currency), *rest)


def statements_export(qs: QuerySet[Statement], *, with_supplier: bool = True) -> ExportTable:
    """The statements of ``qs``, one row each; without the supplier column for a supplier (they are all theirs)."""
    columns = [_("Statement"), _("Period")] + ([_("Supplier")] if with_supplier else [])
    columns += [_("Status"), _("Currency"), _("Total"), _("Issued"), _("Confirmed"), _("Payment date"),
                _("Payment reference")]  # fmt: skip
    return ExportTable(
        title=_("Statements"),
        columns=columns,
        count=qs.count(),
        rows=_statement_rows(qs, with_supplier=with_supplier),
        currency=_one_currency(qs),
    )


# ------------------------------------------------------------------ the supplier portal's statements


def portal_statements_filtered(*, visible: QuerySet[Statement], status: str, sort: Sort) -> QuerySet[Statement]:
    """``visible`` (the supplier's own statements, settlement.portal.portal_statements_for) with ``status`` if
    given, in ``sort``."""
    qs = visible.filter(status=status) if status else visible
    return qs.order_by(*sort.ordering)


def portal_statements_export(qs: QuerySet[Statement]) -> ExportTable:
    """The supplier's statements, without the supplier column (they are all theirs)."""
    return statements_export(qs, with_supplier=False)
