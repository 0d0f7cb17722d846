"""How listing SKUs resolve to products: the one place routing asks, and the exact-SKU auto-mapping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from inventory.models import Listing, ListingComponent, Product


def listing_components(*, listing_skus: Iterable[str]) -> dict[str, list[tuple[int, int]]]:
    """(product id, quantity) per mapped listing SKU, products in id order; unmapped SKUs are absent. One query."""
    skus = sorted({sku for sku in listing_skus if sku})
    components: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if skus:
        for sku, product_id, quantity in (
            ListingComponent.objects.filter(listing__listing_sku__in=skus)
            .order_by("listing_id", "product_id")
            .values_list("listing__listing_sku", "product_id", "quantity")
        ):
            components[sku].append((product_id, quantity))
    return dict(components)


def listings_auto_map(*, listing_skus: Iterable[str]) -> int:
    """Map listing SKUs that nothing maps yet but that equal a product's SKU to that product.

    ``listing_skus`` are SKUs the caller found unmapped. A listing row without
    components (an unmapped queue entry) is mapped too. Safe against a
    concurrent ingest doing the same: rows are inserted with ON CONFLICT DO
    NOTHING, which waits for the other transaction. Returns how many SKUs are
    mapped now, by this call or by that other one: the caller must read the
    mapping again.
    """
    missing = {sku for sku in listing_skus if sku}
    if not missing:
        return 0
    products = dict(Product.objects.filter(sku__in=missing).values_list("sku", "pk"))
    if not products:
        return 0
    Listing.objects.bulk_create(
        [Listing(listing_sku=sku, auto_mapped=True) for sku in sorted(products)], ignore_conflicts=True
    )
    empty = dict(
        Listing.objects.filter(listing_sku__in=products, components__isnull=True).values_list("listing_sku", "pk")
    )
    if empty:
        Listing.objects.filter(pk__in=empty.values()).update(auto_mapped=True)
        ListingComponent.objects.bulk_create(
            [ListingComponent(listing_id=pk, product_id=products[sku], quantity=1) for sku, pk in empty.items()],
            ignore_conflicts=True,
        )
    return len(products)
