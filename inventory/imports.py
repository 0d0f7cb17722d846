"""Bulk import of products and their source paths from CSV or XLSX: all or nothing.

One row is one product, or one place on a product's source path. Rows of one
SKU share the product columns (leave them blank after the first row, or repeat
them identically). A row with ``source_position`` describes the source at that
place of the product's path, found by (sku, source_position).

Every row is validated first, against the file and the catalog as it is. Any
problem: nothing is written and the report lists each one by spreadsheet row
(the header is row 1), column and reason. Otherwise the whole file is upserted
in one transaction; a row identical to what is stored writes nothing, so
importing the same file twice changes nothing the second time. Sources and
stock the file does not mention are left alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import spreadsheets
from core.bulk import chunked
from core.spreadsheets import Cell, RowError
from inventory.models import Product, Source, Stock
from inventory.services import actor_label, clean_cost, clean_currency, clean_regions, parse_regions, regions_text
from suppliers.models import Supplier

MAX_ERRORS = 1_000
_QUERY_CHUNK = 5_000
WRITE_CHUNK = 1_000
PROGRESS_EVERY = 500  # rows checked between two progress reports

# progress(phase, done, total): "checking" counts rows, "writing" counts the three write steps.
Progress = Callable[[str, int, int], None]

COLUMNS: tuple[str, ...] = (
    "sku",
    "name",
    "weight_grams",
    "active",
    "source_position",
    "supplier_code",
    "cost_price",
    "currency",
    "regions",
    "lead_time_days",
    "source_active",
    "on_hand",
)

CHINESE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "sku": "货品编码",
        "name": "货品名称",
        "weight_grams": "重量(克)",
        "active": "启用",
        "source_position": "货源顺序",
        "supplier_code": "供应商编码",
        "cost_price": "成本价",
        "currency": "币种",
        "regions": "服务地区",
        "lead_time_days": "备货天数",
        "source_active": "货源启用",
        "on_hand": "库存",
    }
)

# What each column holds, for the import page and the README.
COLUMN_HELP: Mapping[str, object] = MappingProxyType(
    {
        "sku": gettext_lazy("Required. Your product SKU; rows with the same SKU describe one product."),
        "name": gettext_lazy("Required on the first row of a SKU. The product name."),
        "weight_grams": gettext_lazy("Optional. Weight in grams, a whole number."),
        "active": gettext_lazy("Optional, yes or no (default yes)."),
        "source_position": gettext_lazy(
            "The place on the source path, 1 = first. Blank when the row only describes the product."
        ),
        "supplier_code": gettext_lazy("The supplier's code; blank = your own warehouse."),
        "cost_price": gettext_lazy("Required for a source. Unit cost, up to 4 decimals."),
        "currency": gettext_lazy("Required for a source. ISO code such as CNY or USD."),
        "regions": gettext_lazy('Regions served, such as "CN:Zhejiang;CN:Shanghai;US"; blank = everywhere.'),
        "lead_time_days": gettext_lazy("Optional. Days to ship, a whole number (default 0)."),
        "source_active": gettext_lazy("Optional, yes or no (default yes)."),
        "on_hand": gettext_lazy("Optional. Units on hand at this source; blank leaves stock as it is."),
    }
)

PRODUCT_COLUMNS = ("name", "weight_grams", "active")
SOURCE_COLUMNS = ("supplier_code", "cost_price", "currency", "regions", "lead_time_days", "source_active", "on_hand")
_REQUIRED_HEADER = frozenset({"sku", "name"})

_ALIASES = MappingProxyType(spreadsheets.header_aliases(COLUMNS, CHINESE_HEADERS))
_WHOLE = re.compile(r"\d+")
_YES = frozenset({"yes", "y", "true", "1", "是", "启用", "on"})
_NO = frozenset({"no", "n", "false", "0", "否", "停用", "off"})
_MAX_INT = 2_147_483_647


def column_name(cell: Cell) -> str | None:
    return _ALIASES.get(spreadsheets.header_key(cell)) if isinstance(cell, str) else None


# ------------------------------------------------------------------ the report


@dataclass
class ImportReport:
    """What an import did, or why it did nothing: ``errors`` non-empty means nothing was written."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    sources_created: int = 0
    sources_updated: int = 0
    sources_unchanged: int = 0
    stock_set: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> int:
        return (
            self.products_created + self.products_updated + self.sources_created + self.sources_updated + self.stock_set
        )

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data


# ------------------------------------------------------------------ validation


@dataclass
class _ProductRow:
    row: int
    sku: str
    values: dict[str, object] = field(default_factory=dict)  # column → value, from the first row naming it
    written: dict[str, tuple[int, str]] = field(default_factory=dict)  # column → (row, text as written)


@dataclass
class _SourceRow:
    row: int
    sku: str
    position: int
    supplier_code: str
    cost_price: Decimal
    currency: str
    regions: list[dict[str, str]]
    lead_time_days: int
    active: bool
    on_hand: int | None


class _Validation:
    def __init__(self, columns: dict[str, int], suppliers: Mapping[str, Supplier]):
        self.columns = columns
        self.suppliers = suppliers
        self.errors: list[RowError] = []
        self.error_count = 0
        self.products: dict[str, _ProductRow] = {}
        self.sources: dict[tuple[str, int], _SourceRow] = {}

    def error(self, row: int, column: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row=row, column=column, reason=reason))

    def text(self, cells: list[Cell], column: str) -> str:
        index = self.columns.get(column)
        if index is None or index >= len(cells):
            return ""
        cell = cells[index]
        return spreadsheets.shown(cell) if isinstance(cell, dt.date) else str(cell).strip()

    def row(self, number: int, cells: list[Cell]) -> None:
        extra = [c for i, c in enumerate(cells) if i not in self.columns.values() and not spreadsheets.blank(c)]
        if extra:
            self.error(
                number,
                "",
                _("The row has a value (“%(value)s”) in a column without a header.")
                % {"value": spreadsheets.shown(extra[0])},
            )
        sku = self.text(cells, "sku")
        if not sku:
            self.error(number, "sku", _("A value is required."))
        elif len(sku) > 120:
            self.error(number, "sku", _("The text is longer than %(limit)d characters.") % {"limit": 120})
            sku = ""
        product_values = self._product_values(number, cells)
        if sku:
            self._add_product(number, sku, cells, product_values)
        position_text = self.text(cells, "source_position")
        if not position_text:
            filled = [c for c in SOURCE_COLUMNS if self.text(cells, c)]
            if filled:
                self.error(
                    number,
                    "source_position",
                    _("The row describes a source (%(column)s) but gives no source_position.") % {"column": filled[0]},
                )
            return
        position = self._whole(number, "source_position", position_text, minimum=1)
        source = self._source(number, cells, sku, position)
        if source is None or not sku or position is None:
            return
        key = (sku, position)
        if key in self.sources:
            self.error(
                number,
                "source_position",
                _("Row %(row)d already describes source %(position)d of %(sku)s.")
                % {"row": self.sources[key].row, "position": position, "sku": sku},
            )
            return
        self.sources[key] = source

    def _product_values(self, number: int, cells: list[Cell]) -> dict[str, object]:
        values: dict[str, object] = {}
        name = self.text(cells, "name")
        if name:
            if len(name) > 300:
                self.error(number, "name", _("The text is longer than %(limit)d characters.") % {"limit": 300})
            else:
                values["name"] = name
        weight = self.text(cells, "weight_grams")
        if weight:
            parsed = self._whole(number, "weight_grams", weight, minimum=0)
            if parsed is not None:
                values["weight_grams"] = parsed
        active = self.text(cells, "active")
        if active:
            parsed_active = self._bool(number, "active", active)
            if parsed_active is not None:
                values["active"] = parsed_active
        return values

    def _add_product(self, number: int, sku: str, cells: list[Cell], values: dict[str, object]) -> None:
        product = self.products.get(sku)
        if product is None:
            product = self.products[sku] = _ProductRow(row=number, sku=sku)
            if "name" not in values and not self.text(cells, "name"):
                self.error(number, "name", _("A value is required on the first row of a SKU."))
        for column, value in values.items():
            written = self.text(cells, column)
            held = product.values.get(column)
            if column not in product.values:
                product.values[column] = value
                product.written[column] = (number, written)
            elif held != value:
                first_row, first_written = product.written[column]
                self.error(
                    number,
                    column,
                    _(
                        "Row %(row)d of %(sku)s says “%(first)s”, this row “%(this)s”; the rows of one product must agree."
                    )
                    % {"row": first_row, "sku": sku, "first": first_written, "this": written},
                )

    def _source(self, number: int, cells: list[Cell], sku: str, position: int | None) -> _SourceRow | None:
        ok = True
        supplier_code = self.text(cells, "supplier_code")
        if supplier_code and supplier_code.casefold() not in self.suppliers:
            self.error(
                number,
                "supplier_code",
                _("No supplier has the code “%(code)s”; add it on the Suppliers page first.")
                % {"code": spreadsheets.shown(supplier_code)},
            )
            ok = False
        parsed: dict[str, object] = {}
        for column, parse in (("currency", clean_currency), ("cost_price", clean_cost), ("regions", parse_regions)):
            text = self.text(cells, column)
            if not text and column != "regions":
                self.error(number, column, _("A value is required for a source."))
                ok = False
                continue
            try:
                parsed[column] = parse(text, field=column)
            except ValidationError as exc:
                self.error(number, column, " ".join(exc.messages))
                ok = False
        lead = self.text(cells, "lead_time_days")
        lead_time = self._whole(number, "lead_time_days", lead, minimum=0, maximum=3650) if lead else 0
        active_text = self.text(cells, "source_active")
        active = self._bool(number, "source_active", active_text) if active_text else True
        on_hand_text = self.text(cells, "on_hand")
        on_hand = self._whole(number, "on_hand", on_hand_text, minimum=0) if on_hand_text else None
        if lead_time is None or active is None or (on_hand_text and on_hand is None) or not ok or position is None:
            return None
        return _SourceRow(
            row=number,
            sku=sku,
            position=position,
            supplier_code=supplier_code,
            cost_price=parsed["cost_price"],
            currency=parsed["currency"],
            regions=parsed["regions"],
            lead_time_days=lead_time,
            active=active,
            on_hand=on_hand,
        )

    def _whole(self, number: int, column: str, text: str, *, minimum: int, maximum: int = _MAX_INT) -> int | None:
        value = text[:-2] if text.endswith(".0") else text  # Excel's 2.0
        if not _WHOLE.fullmatch(value):
            self.error(number, column, _("“%(value)s” is not a whole number.") % {"value": spreadsheets.shown(text)})
            return None
        parsed = int(value)
        if parsed < minimum or parsed > maximum:
            self.error(
                number,
                column,
                _("The number must be from %(minimum)d to %(maximum)d.") % {"minimum": minimum, "maximum": maximum},
            )
            return None
        return parsed

    def _bool(self, number: int, column: str, text: str) -> bool | None:
        key = text.casefold()
        if key in _YES:
            return True
        if key in _NO:
            return False
        self.error(number, column, _("“%(value)s” is not yes or no.") % {"value": spreadsheets.shown(text)})
        return None


def _read_header(header: list[Cell]) -> tuple[dict[str, int], list[RowError]]:
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        if spreadsheets.blank(cell):
            continue
        shown = spreadsheets.shown(cell)
        name = column_name(cell)
        if name is None:
            errors.append(
                RowError(1, shown, _("“%(value)s” is not a column of the product template.") % {"value": shown})
            )
        elif name in columns:
            errors.append(RowError(1, name, _("The column “%(name)s” appears more than once.") % {"name": name}))
        else:
            columns[name] = index
    errors.extend(
        RowError(
            1,
            name,
            _("The required column “%(name)s” (%(chinese)s) is missing.")
            % {"name": name, "chinese": CHINESE_HEADERS[name]},
        )
        for name in COLUMNS
        if name in _REQUIRED_HEADER and name not in columns
    )
    return columns, errors


# ------------------------------------------------------------------ against the catalog


def _load_catalog(skus: list[str]) -> tuple[dict[str, Product], dict[tuple[int, int], Source], dict[int, Stock]]:
    products: dict[str, Product] = {}
    for chunk in chunked(skus, _QUERY_CHUNK):
        products.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    ids = [p.pk for p in products.values()]
    sources: dict[tuple[int, int], Source] = {}
    stocks: dict[int, Stock] = {}
    for chunk in chunked(ids, _QUERY_CHUNK):
        for source in Source.objects.filter(product_id__in=chunk):
            sources[(source.product_id, source.position)] = source
        for stock in Stock.objects.filter(source__product_id__in=chunk):
            stocks[stock.source_id] = stock
    return products, sources, stocks


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    pass


def products_import(*, content: bytes, filename: str, actor=None, progress: Progress | None = None) -> ImportReport:
    """Validate the whole file, then import all of it or nothing. Never raises for bad content.

    ``progress(phase, done, total)``, when given, hears how far the check ("checking", rows) and the write
    ("writing", steps) have come; a worker's progress page shows it.
    """
    progress = progress or _no_progress
    try:
        header, rows = spreadsheets.read_table(content=content, filename=filename, column_name=column_name)
    except spreadsheets.TableError as exc:
        return ImportReport(errors=[RowError(0, "", str(exc))], error_count=1)
    columns, errors = _read_header(header)
    if errors:
        return ImportReport(rows=len(rows), errors=errors, error_count=len(errors))
    if not rows:
        return ImportReport(errors=[RowError(0, "", _("The file has a header but no product rows."))], error_count=1)
    suppliers = {s.code.casefold(): s for s in Supplier.objects.all()}
    validation = _Validation(columns, suppliers)
    for done, (number, cells) in enumerate(rows, start=1):
        validation.row(number, cells)
        if done % PROGRESS_EVERY == 0:
            progress("checking", done, len(rows))
    progress("checking", len(rows), len(rows))
    try:
        return _validate_and_write(validation, rows=len(rows), suppliers=suppliers, actor=actor, progress=progress)
    except _StockRace:
        return ImportReport(
            rows=len(rows),
            errors=[RowError(0, "", _("Stock changed while importing; nothing was imported. Import the file again."))],
            error_count=1,
        )


class _StockRace(Exception):
    pass


def _validate_and_write(
    validation: _Validation, *, rows: int, suppliers: dict[str, Supplier], actor, progress: Progress
) -> ImportReport:
    with transaction.atomic():
        products, sources, stocks = _load_catalog(list(validation.products))
        for (sku, position), row in validation.sources.items():
            product = products.get(sku)
            existing = sources.get((product.pk, position)) if product else None
            stock = stocks.get(existing.pk) if existing else None
            if row.on_hand is not None and stock is not None and row.on_hand < stock.reserved:
                validation.error(
                    row.row,
                    "on_hand",
                    _("%(reserved)d units are reserved for orders; on hand cannot be set below that.")
                    % {"reserved": stock.reserved},
                )
        if validation.error_count:
            errors = sorted(
                validation.errors, key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1)
            )
            if validation.error_count > len(errors):
                errors.append(
                    RowError(
                        0,
                        "",
                        _("%(n)s more errors are not listed; fix the ones above and import again.")
                        % {"n": f"{validation.error_count - len(errors):,}"},
                    )
                )
            return ImportReport(rows=rows, errors=errors, error_count=validation.error_count)
        report = _write(
            validation=validation,
            catalog=(products, sources, stocks),
            suppliers=suppliers,
            actor=actor,
            progress=progress,
        )
        report.rows = rows
    return report


def _write(
    *,
    validation: _Validation,
    catalog: tuple[dict, dict, dict],
    suppliers: dict[str, Supplier],
    actor,
    progress: Progress,
) -> ImportReport:
    products, sources, stocks = catalog
    now = timezone.now()
    report = ImportReport()
    progress("writing", 0, 3)
    report.products_created, report.products_updated, report.products_unchanged = _write_products(
        validation, products, now
    )
    progress("writing", 1, 3)
    stock_for, report.sources_created, report.sources_updated, report.sources_unchanged = _write_sources(
        validation, products, sources, suppliers, now
    )
    progress("writing", 2, 3)
    report.stock_set = _write_stock(stock_for, stocks, actor_label(actor) or "import", now)
    progress("writing", 3, 3)
    return report


def _write_products(validation: _Validation, products: dict[str, Product], now) -> tuple[int, int, int]:
    new, changed = [], []
    for sku, row in validation.products.items():
        product = products.get(sku)
        if product is None:
            product = products[sku] = Product(
                sku=sku,
                name=row.values["name"],
                weight_grams=row.values.get("weight_grams"),
                active=row.values.get("active", True),
            )
            new.append(product)
            continue
        wanted = {
            "name": row.values.get("name", product.name),
            "weight_grams": row.values.get("weight_grams"),
            "active": row.values.get("active", True),
        }
        if any(getattr(product, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(product, k, v)
            product.updated = now
            changed.append(product)
    Product.objects.bulk_create(new, batch_size=WRITE_CHUNK)
    Product.objects.bulk_update(changed, [*PRODUCT_COLUMNS, "updated"], batch_size=WRITE_CHUNK)
    return len(new), len(changed), len(validation.products) - len(new) - len(changed)


def _write_sources(validation: _Validation, products, sources, suppliers, now) -> tuple[list, int, int, int]:
    new, changed, stock_for = [], [], []
    for (sku, position), row in validation.sources.items():
        product = products[sku]
        supplier = suppliers.get(row.supplier_code.casefold()) if row.supplier_code else None
        wanted = {
            "supplier_id": supplier.pk if supplier else None,
            "cost_price": row.cost_price,
            "currency": row.currency,
            "regions": clean_regions(row.regions),
            "lead_time_days": row.lead_time_days,
            "active": row.active,
        }
        source = sources.get((product.pk, position))
        if source is None:
            source = Source(product=product, position=position, **wanted)
            new.append(source)
        elif any(getattr(source, k) != v for k, v in wanted.items()):  # Decimal("18.5") == Decimal("18.5000")
            for k, v in wanted.items():
                setattr(source, k, v)
            source.updated = now
            changed.append(source)
        if row.on_hand is not None:
            stock_for.append((source, row.on_hand))
    Source.objects.bulk_create(new, batch_size=WRITE_CHUNK)
    Source.objects.bulk_update(
        changed,
        ["supplier_id", "cost_price", "currency", "regions", "lead_time_days", "active", "updated"],
        batch_size=WRITE_CHUNK,
    )
    return stock_for, len(new), len(changed), len(validation.sources) - len(new) - len(changed)


def _write_stock(stock_for: list[tuple[Source, int]], stocks: dict[int, Stock], label: str, now) -> int:
    new, changed = [], 0
    for source, on_hand in stock_for:
        stock = stocks.get(source.pk)
        if stock is None:
            new.append(Stock(source=source, on_hand=on_hand, updated_by=label))
        elif stock.on_hand != on_hand:
            changed += 1
            # Checked against reserved in the same statement: a reservation made since validation cannot slip under.
            updated = Stock.objects.filter(pk=stock.pk, reserved__lte=on_hand).update(
                on_hand=on_hand, updated_by=label, updated=now
            )
            if not updated:
                raise _StockRace
    Stock.objects.bulk_create(new, batch_size=WRITE_CHUNK)
    return len(new) + changed


__all__ = ["COLUMNS", "COLUMN_HELP", "ImportReport", "Progress", "products_import", "regions_text"]
