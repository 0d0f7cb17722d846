"""Downloads of the catalog lists, in the columns of the matching import so a file can be edited and imported back.

- Products: the product import's columns (inventory.imports.COLUMNS), one row per place on a product's source
  path (a product without sources gets one row of its own). Importing the file unchanged changes nothing.
- Listings: the mapping import's columns (inventory.mapping_import: listing SKU, product SKU, quantity), one row per product of a listing; a
  bundle is several rows of one listing SKU. The unmapped queue's download uses the same columns, with the
  product SKU left blank for the merchant to fill in (or the product whose SKU equals the listing SKU).

Headers are the import's own: the column names in English, the import's Chinese headers in Chinese; the import
reads both. Rows are generators over ``iterator(chunk_size=…)``: memory stays flat on big catalogs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from core.exports import ExportTable, in_chunks
from inventory.imports import CHINESE_HEADERS, COLUMNS
from inventory.mapping_import import CHINESE_HEADERS as MAPPING_CHINESE_HEADERS
from inventory.mapping_import import COLUMNS as MAPPING_COLUMNS
from inventory.models import Listing, ListingComponent, Product, Source
from inventory.services import regions_text

CHUNK = 2_000


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def headers(columns: Sequence[str], chinese: Mapping[str, str]) -> list[str]:
    """The header row an import reads back: the column names, or their Chinese headers in Chinese."""
    return [chinese[column] for column in columns] if _chinese() else list(columns)


def _yes_no(value: bool) -> str:
    # Words the import reads as yes / no, in the file's language.
    if _chinese():
        return "是" if value else "否"
    return "yes" if value else "no"


# ------------------------------------------------------------------ products


def _product_rows(qs: QuerySet[Product]) -> Iterator[tuple]:
    products = qs.only("pk", "sku", "name", "weight_grams", "active").iterator(chunk_size=CHUNK)
    for chunk in in_chunks(products, CHUNK):
        sources: dict[int, list[Source]] = {}
        for source in (
            Source.objects.filter(product_id__in=[p.pk for p in chunk])
            .select_related("supplier", "stock")
            .order_by("product_id", "position", "pk")
        ):
            sources.setdefault(source.product_id, []).append(source)
        for product in chunk:
            head = (product.sku, product.name, product.weight_grams, _yes_no(product.active))
            path = sources.get(product.pk)
            if not path:
                yield (*head, None, None, None, None, None, None, None, None)
                continue
            for source in path:
                stock = getattr(source, "stock", None)
                yield (
                    *head,
                    source.position,
                    source.supplier.code if source.supplier_id else "",
                    source.cost_price,
                    source.currency,
                    regions_text(source.regions),
                    source.lead_time_days,
                    _yes_no(source.active),
                    stock.on_hand if stock is not None else None,
                )


def products_table(qs: QuerySet[Product]) -> ExportTable:
    """The products of ``qs`` (filtered and ordered as the list shows them) with their source paths, in the
    product import's columns."""
    currencies = set(Source.objects.filter(product__in=qs.order_by().values("pk")).values_list("currency", flat=True))
    return ExportTable(
        title=_("Products"),
        columns=headers(COLUMNS, CHINESE_HEADERS),
        count=qs.count(),
        rows=_product_rows(qs),
        currency=currencies.pop() if len(currencies) == 1 else "",
    )


# ------------------------------------------------------------------ listings


def _listing_rows(qs: QuerySet[Listing]) -> Iterator[tuple]:
    listings = qs.prefetch_related(None).only("pk", "listing_sku").iterator(chunk_size=CHUNK)
    for chunk in in_chunks(listings, CHUNK):
        components: dict[int, list[tuple[str, int]]] = {}
        for listing_id, sku, quantity in (
            ListingComponent.objects.filter(listing_id__in=[listing.pk for listing in chunk])
            .order_by("listing_id", "product__sku")
            .values_list("listing_id", "product__sku", "quantity")
        ):
            components.setdefault(listing_id, []).append((sku, quantity))
        for listing in chunk:
            for sku, quantity in components.get(listing.pk, [("", None)]):
                yield (listing.listing_sku, sku, quantity)


def listings_table(qs: QuerySet[Listing]) -> ExportTable:
    """The mapped listings of ``qs`` in the mapping columns: one row per product of each listing."""
    return ExportTable(
        title=_("Listings"),
        columns=headers(MAPPING_COLUMNS, MAPPING_CHINESE_HEADERS),
        count=ListingComponent.objects.filter(listing__in=qs.order_by().values("pk")).count(),
        rows=_listing_rows(qs),
    )


def unmapped_table(
    rows: Sequence[Mapping[str, object]], *, product_skus: Mapping[int, str] | None = None
) -> ExportTable:
    """The unmapped queue (orders.routing.selectors.unmapped_listing_skus rows) in the mapping columns, to be
    filled in and imported: the product SKU is blank, or the SKU of the product that has the listing's own SKU
    (``product_id`` in the row), with quantity 1."""
    product_skus = product_skus or {}

    def generate() -> Iterator[tuple]:
        for row in rows:
            product_id = row.get("product_id")
            if product_id:
                yield (row["listing_sku"], product_skus.get(product_id, row["listing_sku"]), 1)
            else:
                yield (row["listing_sku"], "", None)

    return ExportTable(
        title=_("Unmapped listing SKUs"),
        columns=headers(MAPPING_COLUMNS, MAPPING_CHINESE_HEADERS),
        count=len(rows),
        rows=generate(),
    )
