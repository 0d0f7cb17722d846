"""Bulk tracking upload: a supplier ships many dispatches from one CSV or XLSX file, all or nothing.

Each row names a dispatch, a carrier and a tracking number; the rows of one
dispatch are its parcels. With SKU and quantity a row says which units its
parcel holds (rows repeating a dispatch and tracking number add SKUs to one
parcel); a dispatch in several parcels must say so, and one row per dispatch
without SKU ships everything in one parcel. Rows that name a dispatch but
neither carrier nor number are skipped (the template lists every open
dispatch, to be filled in as they ship).

The whole file is checked first, under a lock on the dispatches it names,
with a handful of queries whatever its length: the dispatch is this
supplier's (another supplier's number reads exactly like one that does not
exist), it can ship, and ``suppliers.shipping.parcels_problems`` checks the
carrier, the number for the carrier, numbers already used and the units. Any
problem: nothing is written and the report lists row, column and reason.
Otherwise every dispatch ships in the same transaction
(``suppliers.shipping_bulk.dispatches_ship``)
and the order lifecycle follows each one after the commit.

Large files run in a worker: suppliers.tracking_upload_jobs.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import spreadsheets
from core.bulk import chunked
from core.spreadsheets import Cell, RowError, SheetReport
from suppliers.carriers import carrier_lookup, normalise_number, tracking_warning
from suppliers.models import Dispatch, DispatchLine, Parcel, Supplier
from suppliers.shipping import ParcelSpec, Problem, parcels_problems
from suppliers.shipping_bulk import dispatches_ship

logger = logging.getLogger(__name__)

D = Dispatch.Status

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ERRORS = 1_000
TEMPLATE_ROWS = 2_000  # open dispatches listed in the downloaded template
WRITE_CHUNK = 1_000  # dispatches written per round of bulk statements (and per progress step)
_QUERY_CHUNK = 5_000

COLUMNS: tuple[str, ...] = ("dispatch", "carrier", "tracking_number", "sku", "quantity")
REQUIRED: tuple[str, ...] = ("dispatch", "carrier", "tracking_number")
CHINESE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "dispatch": "发货单号",
        "carrier": "快递公司",
        "tracking_number": "快递单号",
        "sku": "商品编码",
        "quantity": "数量",
    }
)
# Other headers people write for the same columns (matched like spreadsheets.header_key does).
OTHER_HEADERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "dispatch": ("dispatch number", "dispatch no", "dispatch_no", "发货单", "发货单编号"),
        "carrier": ("courier", "carrier name", "物流公司", "承运商"),
        "tracking_number": ("tracking", "tracking no", "tracking code", "物流单号", "运单号", "快递单号/物流单号"),
        "sku": ("product sku", "货品编码", "SKU编码"),
        "quantity": ("qty", "units", "件数"),
    }
)
COLUMN_HELP: Mapping[str, object] = MappingProxyType(
    {
        "dispatch": gettext_lazy("Required. The dispatch number, such as D00000123."),
        "carrier": gettext_lazy("Required. The carrier's name or code, in English or Chinese (SF, 顺丰, ZTO, UPS …)."),
        "tracking_number": gettext_lazy("Required. The tracking number the carrier gave the parcel."),
        "sku": gettext_lazy(
            "Optional. When a dispatch ships in several parcels: the SKU this parcel holds (one row per SKU)."
        ),
        "quantity": gettext_lazy("With SKU: how many units of it this parcel holds."),
    }
)

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **spreadsheets.header_aliases(COLUMNS, CHINESE_HEADERS),
        **{spreadsheets.header_key(name): column for column, names in OTHER_HEADERS.items() for name in names},
    }
)
_WHOLE = re.compile(r"\d{1,9}")


def column_name(cell: Cell) -> str | None:
    return _ALIASES.get(spreadsheets.header_key(cell)) if isinstance(cell, str) else None


# ------------------------------------------------------------------ the report


@dataclass
class UploadReport(SheetReport):
    """What an upload shipped, or why it shipped nothing: ``errors`` non-empty means nothing was written."""

    skipped: int = 0  # rows naming a dispatch with neither carrier nor tracking number
    warnings: list[RowError] = field(default_factory=list)
    dispatches: list[str] = field(default_factory=list)  # the numbers shipped
    parcels: int = 0

    def as_dict(self) -> dict:
        return {**super().as_dict(), "shipped": len(self.dispatches)}


def refused(reason: str, *, rows: int = 0) -> UploadReport:
    return UploadReport(rows=rows, errors=[RowError(0, "", reason)], error_count=1)


# ------------------------------------------------------------------ reading the rows


@dataclass
class _Parcel:
    row: int  # its first row
    carrier: str
    number: str
    units: list[tuple[int, str, int]] = field(default_factory=list)  # (row, sku, quantity)
    names_units: bool = False  # its rows give SKUs (even ones with a problem): it is not "the rest"


@dataclass
class _Shipment:
    number: str
    rows: list[int] = field(default_factory=list)
    parcels: dict[str, _Parcel] = field(default_factory=dict)  # tracking number → parcel, in file order


class _Line(NamedTuple):
    """A dispatch line as far as the check reads it (parcels_problems reads pk and quantity): no model per line."""

    pk: int
    quantity: int


class _Check:
    """One pass over the rows, then the dispatches: every problem collected, nothing written."""

    def __init__(self, columns: dict[str, int]):
        self.columns = columns
        self.errors: list[RowError] = []
        self.error_count = 0
        self.warnings: list[RowError] = []
        self.skipped = 0
        self.shipments: dict[str, _Shipment] = {}
        self.numbers: dict[str, tuple[int, str]] = {}  # tracking number → (first row, dispatch)
        self.bad_dispatches: set[str] = set()  # dispatches with a problem in their rows

    def error(self, row: int, column: str, reason: str, *, dispatch: str = "") -> None:
        self.error_count += 1
        if dispatch:
            self.bad_dispatches.add(dispatch)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row=row, column=column, reason=reason))

    def text(self, cells: list[Cell], column: str) -> str:
        return spreadsheets.cell_text(cells, self.columns.get(column))

    def row(self, row: int, cells: list[Cell]) -> None:
        dispatch = self.text(cells, "dispatch").upper()
        carrier = self.text(cells, "carrier")
        number = normalise_number(self.text(cells, "tracking_number"))
        sku = self.text(cells, "sku")
        quantity_text = self.text(cells, "quantity")
        if dispatch and not carrier and not number and not sku and not quantity_text:
            self.skipped += 1  # an open dispatch of the template, not shipped yet
            return
        for column, value in (("dispatch", dispatch), ("carrier", carrier), ("tracking_number", number)):
            if not value:
                self.error(row, column, _("A value is required."), dispatch=dispatch)
        quantity = self._quantity(row, sku, quantity_text, dispatch)
        if not dispatch:
            return
        shipment = self.shipments.setdefault(dispatch, _Shipment(number=dispatch))
        shipment.rows.append(row)
        if not (carrier and number):
            self.bad_dispatches.add(dispatch)
            return
        first = self.numbers.setdefault(number, (row, dispatch))
        if first[1] != dispatch:
            self.error(
                row,
                "tracking_number",
                _("Tracking number %(number)s is also on row %(row)d, for dispatch %(dispatch)s.")
                % {"number": number, "row": first[0], "dispatch": first[1]},
                dispatch=dispatch,
            )
            return
        parcel = shipment.parcels.get(number)
        if parcel is None:
            parcel = shipment.parcels[number] = _Parcel(row=row, carrier=carrier, number=number)
        elif not (sku and parcel.names_units):  # a repeated number adds a SKU to its parcel, nothing else
            self.error(
                row,
                "tracking_number",
                _("Tracking number %(number)s is also on row %(row)d. Rows share a tracking number only to list "
                  "the SKUs of one parcel, each with its SKU and quantity.") % {"number": number, "row": parcel.row},
                dispatch=dispatch,
            )  # fmt: skip
            return
        elif carrier_lookup(carrier) != carrier_lookup(parcel.carrier):
            self.error(
                row,
                "carrier",
                _("Row %(row)d gives this parcel the carrier “%(carrier)s”.")
                % {"row": parcel.row, "carrier": spreadsheets.shown(parcel.carrier)},
                dispatch=dispatch,
            )
            return
        parcel.names_units = parcel.names_units or bool(sku or quantity_text)
        if sku and quantity is not None:
            parcel.units.append((row, sku, quantity))

    def _quantity(self, row: int, sku: str, text: str, dispatch: str) -> int | None:
        if not sku and not text:
            return None
        if not sku:
            self.error(row, "sku", _("Give the SKU the quantity is of."), dispatch=dispatch)
            return None
        if not text:
            self.error(row, "quantity", _("Give how many units of %(sku)s this parcel holds.") % {"sku": sku},
                       dispatch=dispatch)  # fmt: skip
            return None
        value = text[:-2] if text.endswith(".0") else text  # Excel's 2.0
        if not _WHOLE.fullmatch(value) or int(value) < 1:
            self.error(
                row,
                "quantity",
                _("“%(value)s” is not a whole number of units (1 or more).") % {"value": spreadsheets.shown(text)},
                dispatch=dispatch,
            )
            return None
        return int(value)

    # -------------------------------------------------------------- against the dispatches

    def shipment(
        self, shipment: _Shipment, dispatch: Dispatch | None, lines: list[_Line], skus: dict[int, str],
        used: set[str],
    ) -> list[ParcelSpec] | None:  # fmt: skip
        """The parcels of one dispatch as ``dispatch_ship`` takes them, or None after reporting why not."""
        if dispatch is None:
            for row in shipment.rows:
                self.error(
                    row,
                    "dispatch",
                    _("You have no dispatch %(number)s; check the number.") % {"number": shipment.number},
                    dispatch=shipment.number,
                )
            return None
        if dispatch.status not in (D.PENDING, D.ACCEPTED):
            self.error(
                shipment.rows[0],
                "dispatch",
                _("Dispatch %(number)s is %(status)s and cannot ship.")
                % {"number": dispatch.number, "status": dispatch.get_status_display().lower()},
                dispatch=shipment.number,
            )
            return None
        parcels = list(shipment.parcels.values())
        if not parcels:  # every row of it was refused above already
            return None
        specs = self._specs(shipment, parcels, lines, skus)
        problems = parcels_problems(
            dispatch=dispatch, parcels=[spec for spec, _parcel in specs], lines=lines, used_numbers=used
        )
        self._report(shipment, [parcel for _spec, parcel in specs], problems)
        if shipment.number in self.bad_dispatches:
            return None
        for spec, parcel in specs:
            carrier = carrier_lookup(spec.carrier)
            if carrier is not None and (warning := tracking_warning(carrier.code, spec.tracking_number)):
                self.warnings.append(RowError(parcel.row, "carrier", warning))
        return [spec for spec, _parcel in specs]

    def _specs(
        self, shipment: _Shipment, parcels: list[_Parcel], lines: list[_Line], skus: dict[int, str]
    ) -> list[tuple[ParcelSpec, _Parcel]]:
        open_parcels = [parcel for parcel in parcels if not parcel.names_units]
        if len(parcels) > 1 and len(open_parcels) == len(parcels):
            self.error(
                shipment.rows[0],
                "sku",
                _("Dispatch %(number)s has %(count)d parcels (rows) but no SKU: give each row the SKU and quantity "
                  "its parcel holds, or ship the dispatch in one parcel (one row).")
                % {"number": shipment.number, "count": len(parcels)},
                dispatch=shipment.number,
            )  # fmt: skip
            open_parcels = open_parcels[:1]
        for parcel in open_parcels[1:]:
            self.error(
                parcel.row,
                "sku",
                _("Dispatch %(number)s ships in several parcels: say which SKU and quantity this one holds "
                  "(only one parcel may hold “the rest”).") % {"number": shipment.number},
                dispatch=shipment.number,
            )  # fmt: skip
        # Units of each SKU are given to its lines in line order, parcel by parcel.
        left: dict[str, list[list[int]]] = defaultdict(list)  # sku (casefolded) → [[line id, units left], …]
        for line in lines:
            left[skus[line.pk].casefold()].append([line.pk, line.quantity])
        specs: list[tuple[ParcelSpec, _Parcel]] = []
        for parcel in parcels:
            if not parcel.names_units:
                specs.append((ParcelSpec(parcel.carrier, parcel.number, None), parcel))
                continue
            units: dict[int, int] = defaultdict(int)
            for row, sku, quantity in parcel.units:
                self._allocate(shipment, row, sku, quantity, left=left, units=units, lines=lines, skus=skus)
            specs.append((ParcelSpec(parcel.carrier, parcel.number, dict(units)), parcel))
        if not open_parcels and shipment.number not in self.bad_dispatches:
            missing = {sku: sum(units for _pk, units in pairs) for sku, pairs in left.items()}
            for sku_key, units in missing.items():
                if units:
                    sku = next(skus[line.pk] for line in lines if skus[line.pk].casefold() == sku_key)
                    self.error(
                        shipment.rows[0],
                        "quantity",
                        _("No row of dispatch %(number)s holds %(units)d unit(s) of SKU %(sku)s; every unit "
                          "must be in a parcel.") % {"number": shipment.number, "units": units, "sku": sku},
                        dispatch=shipment.number,
                    )  # fmt: skip
        return specs

    def _allocate(
        self, shipment: _Shipment, row: int, sku: str, quantity: int, *, left: dict[str, list[list[int]]],
        units: dict[int, int], lines: list[_Line], skus: dict[int, str],
    ) -> None:  # fmt: skip
        pairs = left.get(sku.casefold())
        if not pairs:
            on_it = ", ".join(dict.fromkeys(skus[line.pk] for line in lines))
            self.error(
                row,
                "sku",
                _("SKU %(sku)s is not on dispatch %(number)s (it has %(skus)s).")
                % {"sku": spreadsheets.shown(sku), "number": shipment.number, "skus": on_it},
                dispatch=shipment.number,
            )
            return
        available = sum(pair[1] for pair in pairs)
        if quantity > available:
            total = sum(line.quantity for line in lines if skus[line.pk].casefold() == sku.casefold())
            self.error(
                row,
                "quantity",
                _("Dispatch %(number)s has %(total)d unit(s) of %(sku)s; the rows give more (%(left)d left "
                  "for this row).") % {"number": shipment.number, "total": total, "sku": sku, "left": available},
                dispatch=shipment.number,
            )  # fmt: skip
            return
        for pair in pairs:
            take = min(quantity, pair[1])
            if take:
                units[pair[0]] += take
                pair[1] -= take
                quantity -= take

    def _report(self, shipment: _Shipment, parcels: list[_Parcel], problems: Sequence[Problem]) -> None:
        spoken_for = shipment.number in self.bad_dispatches  # the units were reported in SKU terms already
        for problem in problems:
            if problem.field == "lines" and (spoken_for or problem.parcel is None):
                continue
            row = parcels[problem.parcel].row if problem.parcel is not None else shipment.rows[0]
            column = {"lines": "sku", "dispatch": "dispatch"}.get(problem.field, problem.field)
            self.error(row, column, problem.message, dispatch=shipment.number)

    def sorted_errors(self) -> list[RowError]:
        order = {name: i for i, name in enumerate(COLUMNS)}
        errors = sorted(self.errors, key=lambda e: (e.row, order.get(e.column, -1)))
        return spreadsheets.listed_errors(errors, total=self.error_count, limit=MAX_ERRORS)


# ------------------------------------------------------------------ the upload


def too_large() -> UploadReport:
    """The report for a file over MAX_BYTES (checked before it is read)."""
    return refused(
        _("The file is larger than %(mb)d MB; split it into smaller files.") % {"mb": MAX_BYTES // (1024 * 1024)}
    )


def read_upload(content: bytes, filename: str) -> tuple[dict[str, int], list[tuple[int, list[Cell]]]] | UploadReport:
    if len(content) > MAX_BYTES:
        return too_large()
    try:
        header, rows = spreadsheets.read_table(content=content, filename=filename, column_name=column_name)
    except spreadsheets.TableError as exc:
        return refused(str(exc))
    columns, errors = spreadsheets.read_header(
        header, column_name=column_name, required={name: CHINESE_HEADERS[name] for name in REQUIRED}
    )
    if ("sku" in columns) != ("quantity" in columns):
        have, lacking = ("sku", "quantity") if "sku" in columns else ("quantity", "sku")
        errors.append(
            RowError(1, lacking, _("The column “%(have)s” needs the column “%(lacking)s” beside it.")
                     % {"have": have, "lacking": lacking})
        )  # fmt: skip
    if errors:
        return UploadReport(rows=len(rows), errors=errors, error_count=len(errors))
    if len(rows) > MAX_ROWS:
        return refused(
            _("The file has %(rows)s rows; upload at most %(max)s rows at a time.")
            % {"rows": f"{len(rows):,}", "max": f"{MAX_ROWS:,}"},
            rows=len(rows),
        )
    if not rows:
        return refused(_("The file has a header but no rows."))
    return columns, rows


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def tracking_upload(
    *, supplier: Supplier, content: bytes, filename: str, actor=None, progress: Progress | None = None
) -> UploadReport:
    """Check the whole file, then ship every dispatch it names, or nothing. Never raises for bad content.

    Scoped to ``supplier``: a row naming another supplier's dispatch is
    reported as an unknown dispatch. ``progress(phase, done, total)`` is called
    as the rows are checked and the dispatches written.
    """
    progress = progress or (lambda phase, done, total: None)
    read = read_upload(content, filename)
    if isinstance(read, UploadReport):
        return read
    columns, rows = read
    check = _Check(columns)
    for number, cells in rows:
        check.row(number, cells)
    progress("checking", 0, len(check.shipments))
    if not check.shipments:
        report = refused(_("No row gives a carrier and tracking number."), rows=len(rows))
        report.skipped = check.skipped
        return report
    try:
        with transaction.atomic():
            report = _check_and_ship(check, supplier=supplier, actor=actor, progress=progress, rows=len(rows))
            if not report.ok:
                transaction.set_rollback(True)
    except IntegrityError:
        # A number taken by another upload between the check and the write (the unique constraint holds).
        logger.warning("tracking upload raced on a tracking number", extra={"supplier": supplier.pk})
        return refused(
            _("A tracking number of the file was used on another dispatch meanwhile; nothing was shipped. "
              "Upload the file again to see which."),
            rows=len(rows),
        )  # fmt: skip
    return report


def _check_and_ship(check: _Check, *, supplier: Supplier, actor, progress: Progress, rows: int) -> UploadReport:
    # Locked in id order across the chunks, as every writer locks dispatches (a number is its id, zero-padded).
    numbers = sorted(check.shipments, key=lambda number: (len(number), number))
    dispatches: dict[str, Dispatch] = {}
    for chunk in chunked(numbers, _QUERY_CHUNK):
        locked = (
            Dispatch.objects.select_for_update()
            .filter(supplier_id=supplier.pk, number__in=chunk)
            .only("pk", "number", "status", "supplier_id")
            .order_by("pk")
        )
        dispatches.update((d.number, d) for d in locked)
    ids = [d.pk for d in dispatches.values()]
    lines: dict[int, list[_Line]] = defaultdict(list)
    skus: dict[int, str] = {}
    for chunk in chunked(ids, _QUERY_CHUNK):
        for pk, dispatch_id, quantity, sku in (
            DispatchLine.objects.filter(dispatch_id__in=chunk)
            .order_by("pk")
            .values_list("pk", "dispatch_id", "quantity", "product__sku")
        ):
            lines[dispatch_id].append(_Line(pk, quantity))
            skus[pk] = sku
    used: set[str] = set()
    for chunk in chunked(list(check.numbers), _QUERY_CHUNK):
        used.update(Parcel.objects.filter(tracking_number__in=chunk).values_list("tracking_number", flat=True))
    shipments: list[tuple[Dispatch, list[ParcelSpec]]] = []
    for index, shipment in enumerate(check.shipments.values()):
        dispatch = dispatches.get(shipment.number)
        specs = check.shipment(shipment, dispatch, lines[dispatch.pk] if dispatch else [], skus, used)
        if specs is not None and dispatch is not None:
            shipments.append((dispatch, specs))
        if index and index % WRITE_CHUNK == 0:
            progress("checking", index, len(check.shipments))
    report = UploadReport(rows=rows, skipped=check.skipped, warnings=sorted(check.warnings, key=lambda w: w.row))
    if check.error_count:
        report.errors, report.error_count = check.sorted_errors(), check.error_count
        return report
    for start in range(0, len(shipments), WRITE_CHUNK):
        chunk = shipments[start : start + WRITE_CHUNK]
        report.parcels += dispatches_ship(shipments=chunk, lines=lines, actor=actor)
        report.dispatches.extend(dispatch.number for dispatch, _specs in chunk)
        progress("shipping", start + len(chunk), len(shipments))
    return report


# ------------------------------------------------------------------ the template


def _template_columns() -> tuple[list[str], bool]:
    chinese = (translation.get_language() or "").lower().startswith("zh")
    return [CHINESE_HEADERS[c] if chinese else c for c in COLUMNS], chinese


def _template_rows(supplier: Supplier) -> list[dict[str, object]]:
    """The supplier's open dispatches, soonest ship-by first, to be filled in; an example when there are none."""
    columns, _chinese = _template_columns()
    numbers = list(
        Dispatch.objects.filter(supplier_id=supplier.pk, status__in=(D.PENDING, D.ACCEPTED))
        .order_by("ship_by", "pk")
        .values_list("number", flat=True)[:TEMPLATE_ROWS]
    )
    if numbers:
        return [{columns[0]: number} for number in numbers]
    return [
        dict(zip(columns, ("D00000001", "SF", "SF1234567890123", "", ""), strict=True)),
        dict(zip(columns, ("D00000002", "ZTO", "75312345678901", "SKU-A", "2"), strict=True)),
        dict(zip(columns, ("D00000002", "ZTO", "75312345678902", "SKU-B", "1"), strict=True)),
    ]


def template_csv(*, supplier: Supplier) -> bytes:
    """The upload template as CSV (UTF-8 with a BOM, for Excel): the header and the supplier's open dispatches."""
    columns, _chinese = _template_columns()
    return spreadsheets.template_csv(columns=columns, rows=_template_rows(supplier))


def template_xlsx(*, supplier: Supplier) -> bytes:
    """The upload template as an Excel workbook: the same as ``template_csv``, every column text."""
    columns, _chinese = _template_columns()
    return spreadsheets.template_xlsx(columns=columns, rows=_template_rows(supplier), sheet_title=_("Tracking"))


__all__ = [
    "CHINESE_HEADERS",
    "COLUMNS",
    "COLUMN_HELP",
    "MAX_BYTES",
    "MAX_ROWS",
    "UploadReport",
    "read_upload",
    "refused",
    "template_csv",
    "template_xlsx",
    "too_large",
    "tracking_upload",
]
