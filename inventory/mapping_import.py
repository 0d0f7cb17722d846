"""Bulk import of listing mappings from CSV or XLSX: all or nothing.

One row is one product of a listing SKU: ``listing_sku``, ``product_sku``, ``quantity`` (blank = 1). Several rows
of one listing SKU make a bundle. The rows of a listing SKU replace what it shipped before; listings the file
does not name are left alone. A listing SKU whose rows all leave the product SKU blank is skipped, so the
unmapped queue's download can be imported with only the rows the merchant filled in.

Every row is checked first; any problem and nothing is written, the report naming each by spreadsheet row (the
header is row 1), column and reason. Otherwise every mapping is written in one transaction; a listing that
already ships exactly this writes nothing, so importing the same file twice changes nothing the second time.
Held orders waiting for the listings that changed are routed again after the commit (one task).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import spreadsheets
from core.bulk import chunked
from core.exports import FORMULA_STARTS
from core.spreadsheets import Cell, RowError, SheetReport
from core.tasks import enqueue_named
from inventory.models import Listing, ListingComponent, Product
from inventory.services import REROUTE_HELD_FOR_LISTINGS

COLUMNS: tuple[str, ...] = ("listing_sku", "product_sku", "quantity")
CHINESE_HEADERS: Mapping[str, str] = MappingProxyType(
    {"listing_sku": "商品编码", "product_sku": "货品编码", "quantity": "数量"}
)
COLUMN_HELP: Mapping[str, object] = MappingProxyType(
    {
        "listing_sku": gettext_lazy(
            "Required. The SKU as the sales channel sends it; repeat it on each row of a bundle."
        ),
        "product_sku": gettext_lazy("The product it ships. Blank on every row of a listing SKU: that SKU is skipped."),
        "quantity": gettext_lazy("Units of the product in one listing, a whole number (default 1)."),
    }
)
MAX_QUANTITY = 10_000
MAX_ERRORS = 1_000
_QUERY_CHUNK = 5_000
PROGRESS_EVERY = 500  # rows checked between two progress reports

# progress(phase, done, total): "checking" counts rows, "writing" counts the two write steps.
Progress = Callable[[str, int, int], None]
_ALIASES = MappingProxyType(spreadsheets.header_aliases(COLUMNS, CHINESE_HEADERS))
_WHOLE = re.compile(r"\d+")


def _text(cells: list[Cell], index: int | None) -> str:
    """A cell's trimmed text, without the apostrophe our exports put before formula-like text ("'+SET" → "+SET")."""
    text = spreadsheets.cell_text(cells, index)
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def column_name(cell: Cell) -> str | None:
    return _ALIASES.get(spreadsheets.header_key(cell)) if isinstance(cell, str) else None


@dataclass
class MappingImportReport(SheetReport):
    listings_created: int = 0
    listings_updated: int = 0
    listings_unchanged: int = 0
    listings_skipped: int = 0

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data


def _failed(rows: int, errors: list[RowError]) -> MappingImportReport:
    return MappingImportReport(rows=rows, errors=spreadsheets.listed_errors(errors), error_count=len(errors))


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    pass


def mappings_import(
    *, content: bytes, filename: str, actor=None, progress: Progress | None = None
) -> MappingImportReport:
    """Validate the whole file, then write every mapping in it or none. Never raises for bad content.

    ``progress(phase, done, total)``, when given, hears how far the check ("checking", rows) and the write
    ("writing", steps) have come; a worker's progress page shows it.
    """
    progress = progress or _no_progress
    try:
        header, rows = spreadsheets.read_table(content=content, filename=filename, column_name=column_name)
    except spreadsheets.TableError as exc:
        return _failed(0, [RowError(0, "", str(exc))])
    columns, errors = spreadsheets.read_header(
        header, column_name=column_name, required={"listing_sku": CHINESE_HEADERS["listing_sku"],
                                                   "product_sku": CHINESE_HEADERS["product_sku"]}
    )  # fmt: skip
    if errors:
        return _failed(len(rows), errors)
    if not rows:
        return _failed(0, [RowError(0, "", _("The file has a header but no mapping rows."))])

    wanted, blank_only = _parse_rows(rows, columns, errors, progress)
    components = _resolve(wanted, errors)
    progress("checking", len(rows), len(rows))
    if errors:
        return _failed(len(rows), errors)
    if not components:
        return _failed(len(rows), [RowError(0, "", _("No row gives a product SKU: nothing to import."))])
    progress("writing", 0, 2)
    report = _write(components, actor=actor)
    progress("writing", 2, 2)
    report.rows = len(rows)
    report.listings_skipped = len(blank_only)
    return report


def _parse_rows(
    rows: list[tuple[int, list[Cell]]], columns: dict[str, int], errors: list[RowError], progress: Progress
) -> tuple[dict[str, list[tuple[int, str, int]]], set[str]]:
    """Each listing SKU's (row number, product SKU, quantity) in file order, and the listing SKUs whose rows all
    leave the product blank; problems are added to ``errors``."""
    # listing SKU -> [(row number, product SKU, quantity)], in file order
    wanted: dict[str, list[tuple[int, str, int]]] = {}
    blank_only: set[str] = set()
    for done, (number, cells) in enumerate(rows, start=1):
        if done % PROGRESS_EVERY == 0:
            progress("checking", done, len(rows))
        listing_sku = _text(cells, columns.get("listing_sku"))
        product_sku = _text(cells, columns.get("product_sku"))
        quantity_text = spreadsheets.cell_text(cells, columns.get("quantity"))
        if not listing_sku:
            errors.append(RowError(number, "listing_sku", _("A listing SKU is required.")))
            continue
        if len(listing_sku) > 120:
            errors.append(RowError(number, "listing_sku", _("The SKU is longer than 120 characters.")))
            continue
        if not product_sku:
            if quantity_text:
                errors.append(RowError(number, "product_sku", _("Give the product SKU for this quantity.")))
            elif listing_sku not in wanted:
                blank_only.add(listing_sku)
            continue
        quantity = 1
        if quantity_text:
            if not _WHOLE.fullmatch(quantity_text) or not 1 <= int(quantity_text) <= MAX_QUANTITY:
                errors.append(
                    RowError(
                        number,
                        "quantity",
                        _("“%(value)s” is not a whole number from 1 to %(max)s.")
                        % {"value": spreadsheets.shown(quantity_text), "max": MAX_QUANTITY},
                    )
                )
                continue
            quantity = int(quantity_text)
        blank_only.discard(listing_sku)
        wanted.setdefault(listing_sku, []).append((number, product_sku, quantity))

    return wanted, blank_only


def _resolve(wanted: dict[str, list[tuple[int, str, int]]], errors: list[RowError]) -> dict[str, dict[int, int]]:
    """Each listing SKU's product id → quantity; unknown products and a product twice are added to ``errors``."""
    products: dict[str, Product] = {}
    skus = sorted({sku for lines in wanted.values() for _n, sku, _q in lines})
    for chunk in chunked(skus, _QUERY_CHUNK):
        products.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    components: dict[str, dict[int, int]] = {}
    for listing_sku, lines in wanted.items():
        seen: dict[int, int] = {}
        for number, sku, quantity in lines:
            product = products.get(sku)
            if product is None:
                errors.append(RowError(number, "product_sku", _("No product has the SKU %(sku)s.") % {"sku": sku}))
            elif product.pk in seen:
                errors.append(
                    RowError(
                        number,
                        "product_sku",
                        _("The product %(sku)s is listed twice; give it once with the total quantity.") % {"sku": sku},
                    )
                )
            else:
                seen[product.pk] = quantity
        components[listing_sku] = seen
    return components


def _write(components: dict[str, dict[int, int]], *, actor) -> MappingImportReport:
    report = MappingImportReport()
    with transaction.atomic():
        existing: dict[str, Listing] = {}
        for chunk in chunked(sorted(components), _QUERY_CHUNK):
            existing.update(
                {listing.listing_sku: listing for listing in Listing.objects.select_for_update().filter(listing_sku__in=chunk)}
            )  # fmt: skip
        current: dict[int, dict[int, int]] = {}
        for chunk in chunked([listing.pk for listing in existing.values()], _QUERY_CHUNK):
            for listing_id, product_id, quantity in ListingComponent.objects.filter(listing_id__in=chunk).values_list(
                "listing_id", "product_id", "quantity"
            ):
                current.setdefault(listing_id, {})[product_id] = quantity
        changed = [
            existing[sku] for sku in components if sku in existing and current.get(existing[sku].pk) != components[sku]
        ]
        report.listings_unchanged = sum(1 for sku in components if sku in existing) - len(changed)
        created = Listing.objects.bulk_create([Listing(listing_sku=sku) for sku in components if sku not in existing])
        for chunk in chunked([listing.pk for listing in changed], _QUERY_CHUNK):
            ListingComponent.objects.filter(listing_id__in=chunk).delete()
            Listing.objects.filter(pk__in=chunk).update(auto_mapped=False)
        ListingComponent.objects.bulk_create(
            [
                ListingComponent(listing_id=listing.pk, product_id=product_id, quantity=quantity)
                for listing in [*created, *changed]
                for product_id, quantity in components[listing.listing_sku].items()
            ],
            batch_size=1_000,
        )
        report.listings_created, report.listings_updated = len(created), len(changed)
        skus = sorted(listing.listing_sku for listing in [*created, *changed])
        if skus:
            enqueue_named(REROUTE_HELD_FOR_LISTINGS, listing_skus=skus, actor_id=getattr(actor, "pk", None))
    return report


def template_rows() -> list[dict[str, object]]:
    """The template's example rows: a plain mapping, and a bundle of two products."""
    return [
        {"listing_sku": "SHOP-TEE-RED-M", "product_sku": "TEE-RED-M", "quantity": 1},
        {"listing_sku": "GIFT-SET-01", "product_sku": "TEE-RED-M", "quantity": 1},
        {"listing_sku": "GIFT-SET-01", "product_sku": "MUG-01", "quantity": 2},
    ]


def template_csv() -> bytes:
    return spreadsheets.template_csv(columns=COLUMNS, rows=template_rows())


def template_xlsx() -> bytes:
    return spreadsheets.template_xlsx(
        columns=COLUMNS, rows=template_rows(), sheet_title="mappings", number_formats={"quantity": "0"}
    )
