"""Reads of the catalog for the console and API. Scope: the request's tenant schema and a console role."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from core.paging import keyset_page
from inventory.models import Listing, ListingComponent, Product, Source, Stock
from tenants.accounts.selectors import user_can_enter

PAGE_SIZE = 50


def _require_console(user) -> None:
    if not user_can_enter(user, "console"):
        raise PermissionDenied


# ------------------------------------------------------------------ products


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    active: bool | None = None
    source: str = ""  # "" any, "none" no active source, "own" the own warehouse, or a supplier id


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def products_for(*, user) -> QuerySet[Product]:
    _require_console(user)
    return Product.objects.all()


def product_get_for(*, user, pk: int) -> Product:
    return get_object_or_404(products_for(user=user), pk=pk)


def products_filter(qs: QuerySet[Product], filters: ProductFilters) -> QuerySet[Product]:
    if q := filters.q.strip():
        qs = qs.filter(Q(sku__istartswith=q) | Q(name__icontains=q))
    if filters.active is not None:
        qs = qs.filter(active=filters.active)
    if filters.source:
        active_sources = Source.objects.filter(product=OuterRef("pk"), active=True)
        if filters.source == "none":
            qs = qs.filter(~Exists(active_sources))
        elif filters.source == "own":
            qs = qs.filter(Exists(active_sources.filter(supplier__isnull=True)))
        elif filters.source.isdigit():
            qs = qs.filter(Exists(Source.objects.filter(product=OuterRef("pk"), supplier_id=int(filters.source))))
    return qs


def products_tab_counts(qs: QuerySet[Product]) -> dict[str, int]:
    """How many of ``qs`` (filtered except by status) are active and inactive, in one query: the tabs' badges."""
    counts = qs.order_by().aggregate(
        n_all=Count("pk"), n_active=Count("pk", filter=Q(active=True)), n_inactive=Count("pk", filter=Q(active=False))
    )
    return {key.removeprefix("n_"): value or 0 for key, value in counts.items()}


def products_with_figures(qs: QuerySet[Product]) -> QuerySet[Product]:
    """Each product with its source count, active source count and stock totals, in one query."""
    sources = Source.objects.filter(product=OuterRef("pk")).order_by().values("product")
    stock = Stock.objects.filter(source__product=OuterRef("pk")).order_by().values("source__product")
    return qs.annotate(
        source_count=Coalesce(Subquery(sources.annotate(n=Count("pk")).values("n")), Value(0)),
        active_source_count=Coalesce(
            Subquery(sources.filter(active=True).annotate(n=Count("pk")).values("n")), Value(0)
        ),
        on_hand=Subquery(stock.annotate(n=Sum("on_hand")).values("n"), output_field=IntegerField()),
        reserved=Subquery(stock.annotate(n=Sum("reserved")).values("n"), output_field=IntegerField()),
    )


def products_page(
    qs: QuerySet[Product],
    *,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    ordering: tuple[str, ...] = ("sku",),
) -> Page:
    """In ``ordering`` (by SKU unless told; non-null fields ending in a unique one), keyset-paginated: page 1,000
    costs what page 1 does."""
    page = keyset_page(products_with_figures(qs), ordering=ordering, after=after, before=before, size=size)
    return Page(rows=page.rows, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


# ------------------------------------------------------------------ sources and stock


def sources_for(*, user) -> QuerySet[Source]:
    _require_console(user)
    return Source.objects.select_related("supplier", "stock", "product")


def source_get_for(*, user, pk: int, product: Product | None = None) -> Source:
    qs = sources_for(user=user)
    if product is not None:
        qs = qs.filter(product=product)
    return get_object_or_404(qs, pk=pk)


def product_sources(*, product: Product) -> list[Source]:
    """The product's source path in order, with supplier and stock (``source.stock`` may be missing: untracked)."""
    return list(product.sources.select_related("supplier", "stock").order_by("position", "pk"))


def stock_of(source: Source) -> Stock | None:
    try:
        return source.stock
    except Stock.DoesNotExist:
        return None


# ------------------------------------------------------------------ listings


def listings_for(*, user) -> QuerySet[Listing]:
    _require_console(user)
    return Listing.objects.prefetch_related(_components_prefetch())


def _components_prefetch():
    return Prefetch("components", queryset=ListingComponent.objects.select_related("product").order_by("product__sku"))


def listing_get_for(*, user, pk: int) -> Listing:
    return get_object_or_404(listings_for(user=user), pk=pk)


def listings_filter(qs: QuerySet[Listing], *, q: str = "", kind: str = "", how: str = "") -> QuerySet[Listing]:
    """Listings whose SKU or one of whose products' SKUs starts with ``q``; ``kind`` "single" (one product, once)
    or "bundle" (several products, or one several times); ``how`` "auto" (mapped on ingest because the SKUs are
    equal) or "manual"."""
    if q := q.strip():
        qs = qs.filter(
            Q(listing_sku__istartswith=q)
            | Exists(ListingComponent.objects.filter(listing=OuterRef("pk"), product__sku__istartswith=q))
        )
    if kind in ("single", "bundle"):
        several = (
            ListingComponent.objects.filter(listing=OuterRef("pk"))
            .values("listing")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
        )
        bundle = Q(Exists(ListingComponent.objects.filter(listing=OuterRef("pk"), quantity__gt=1))) | Q(Exists(several))
        qs = qs.filter(bundle) if kind == "bundle" else qs.exclude(bundle)
    if how == "auto":
        qs = qs.filter(auto_mapped=True)
    elif how == "manual":
        qs = qs.filter(auto_mapped=False)
    return qs
