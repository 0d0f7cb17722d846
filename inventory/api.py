"""Catalog API: products with their source paths, sources and stock, listing mappings, bulk import."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import CurrencyField, cursor_page, offset_page, query_params
from core.countries import COUNTRIES
from core.textguard import TextGuardFormParser, TextGuardJSONParser, TextGuardMultiPartParser
from inventory import imports_jobs, selectors, services
from inventory.models import CatalogImportKind, CatalogImportStatus, Listing, Product, Source
from suppliers.models import Supplier
from tenants.accounts.permissions import area_permission

Console = area_permission("console")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


# ------------------------------------------------------------------ serializers


class StockSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField(read_only=True)
    available = serializers.IntegerField(read_only=True)


_COUNTRY = {"type": "string", "enum": sorted(COUNTRIES)}


@extend_schema_field(
    {
        "oneOf": [
            _COUNTRY,
            {
                "type": "object",
                "properties": {"country": _COUNTRY, "province": {"type": "string", "maxLength": 100}},
                "required": ["country"],
            },
        ]
    }
)
class RegionField(serializers.Field):
    """A region served: an ISO country code, or ``{"country", "province"}``; the service checks and normalises it."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class SourceSerializer(serializers.ModelSerializer):
    supplier = serializers.PrimaryKeyRelatedField(queryset=Supplier.objects.all(), allow_null=True, required=False)
    supplier_code = serializers.CharField(source="supplier.code", read_only=True, default=None, allow_null=True)
    cost_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=0)
    currency = CurrencyField()
    regions = serializers.ListField(
        child=RegionField(), required=False, help_text="countries (and provinces) served; empty serves everywhere"
    )
    stock = serializers.SerializerMethodField()
    on_hand = serializers.IntegerField(min_value=0, required=False, allow_null=True, write_only=True)

    class Meta:
        model = Source
        fields = [
            "id", "product", "position", "supplier", "supplier_code", "cost_price", "currency", "regions",
            "lead_time_days", "active", "stock", "on_hand", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["product", "position", "created", "updated"]

    def get_stock(self, source) -> dict | None:
        stock = selectors.stock_of(source)
        if stock is None:
            return None
        return {"on_hand": stock.on_hand, "reserved": stock.reserved, "available": stock.available}


class ProductSerializer(serializers.ModelSerializer):
    sources = SourceSerializer(many=True, required=False)
    attributes = serializers.DictField(required=False)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "attributes", "weight_grams", "active", "sources", "created", "updated"]
        read_only_fields = ["created", "updated"]
        # Uniqueness is the service's to check, with its own message.
        extra_kwargs = {"sku": {"validators": []}}


class ProductUpdateSerializer(ProductSerializer):
    """What PATCH takes: a product's own fields (its sources change through /sources/)."""

    sources = None

    class Meta(ProductSerializer.Meta):
        fields = [name for name in ProductSerializer.Meta.fields if name != "sources"]


class ComponentSerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False, help_text="product id; or give sku")
    sku = serializers.CharField(required=False, max_length=120)
    quantity = serializers.IntegerField(min_value=1, default=1)

    def validate(self, data):
        if "product" not in data and not data.get("sku"):
            raise ValidationError(_("Give the product's id or its sku."))
        return data


class ListingSerializer(serializers.ModelSerializer):
    components = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = ["id", "listing_sku", "auto_mapped", "components", "created", "updated"]

    def get_components(self, listing) -> list[dict]:
        return [
            {"product": c.product_id, "sku": c.product.sku, "quantity": c.quantity} for c in listing.components.all()
        ]


class ListingMapSerializer(serializers.Serializer):
    listing_sku = serializers.CharField(max_length=120)
    components = ComponentSerializer(many=True)


class ReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(), help_text="every source id of the product, in order"
    )


class ProductQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, help_text="SKU prefix or part of the name")
    active = serializers.BooleanField(required=False)
    after = serializers.CharField(required=False, allow_blank=True, help_text="cursor from `next` of the previous page")


class ListingQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True)
    offset = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class ProductImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


def _source_kwargs(data: dict) -> dict:
    fields = ("supplier", "cost_price", "currency", "regions", "lead_time_days", "active")
    return {key: data[key] for key in fields if key in data}


def _products_prefetched(qs):
    return qs.prefetch_related(
        Prefetch("sources", queryset=Source.objects.select_related("supplier", "stock").order_by("position"))
    )


# ------------------------------------------------------------------ products


@extend_schema(methods=["GET"], parameters=[ProductQuerySerializer], responses=cursor_page(ProductSerializer))
@extend_schema(methods=["POST"], request=ProductSerializer, responses={201: ProductSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def product_list(request):
    """Products by SKU with their source paths, cursor-paginated; POST creates one (with `sources`, optionally)."""
    if request.method == "GET":
        query = query_params(request, ProductQuerySerializer)
        filters = selectors.ProductFilters(q=query.get("q", ""), active=query.get("active"))
        qs = selectors.products_filter(selectors.products_for(user=request.user), filters)
        page = selectors.products_page(_products_prefetched(qs), after=query.get("after", ""))
        return Response({"next": page.next_cursor, "results": ProductSerializer(page.rows, many=True).data})
    serializer = ProductSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    sources = [_source_kwargs(s) | {"on_hand": s.get("on_hand")} for s in data.pop("sources", [])]
    product = services.product_create(**data, sources=sources, actor=request.user)
    product = _products_prefetched(Product.objects).get(pk=product.pk)
    return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], responses=ProductSerializer)
@extend_schema(methods=["PATCH"], request=ProductUpdateSerializer, responses=ProductSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([Console])
def product_detail(request, pk: int):
    product = selectors.product_get_for(user=request.user, pk=pk)
    if request.method == "DELETE":
        services.product_delete(product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)
    if request.method == "PATCH":
        serializer = ProductSerializer(product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "sources" in data:
            raise ValidationError({"sources": _("Change sources through /sources/ and /products/{id}/sources/.")})
        services.product_update(product=product, **data)
    return Response(ProductSerializer(_products_prefetched(Product.objects).get(pk=product.pk)).data)


# ------------------------------------------------------------------ sources


@extend_schema(methods=["GET"], responses=SourceSerializer(many=True))
@extend_schema(methods=["POST"], request=SourceSerializer, responses={201: SourceSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def product_sources(request, pk: int):
    """A product's source path in order; POST adds a source at its end."""
    product = selectors.product_get_for(user=request.user, pk=pk)
    if request.method == "GET":
        return Response(SourceSerializer(selectors.product_sources(product=product), many=True).data)
    serializer = SourceSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    source = services.source_create(
        product=product, **_source_kwargs(data), on_hand=data.get("on_hand"), actor=request.user
    )
    return Response(SourceSerializer(selectors.source_get_for(user=request.user, pk=source.pk)).data, status=201)


@extend_schema(request=ReorderSerializer, responses=SourceSerializer(many=True))
@api_view(["POST"])
@permission_classes([Console])
def product_sources_order(request, pk: int):
    """Put the product's sources in the given order: positions 1, 2, … follow the list."""
    product = selectors.product_get_for(user=request.user, pk=pk)
    serializer = ReorderSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    services.source_reorder(product=product, source_ids=serializer.validated_data["order"])
    return Response(SourceSerializer(selectors.product_sources(product=product), many=True).data)


@extend_schema(request=SourceSerializer, responses=SourceSerializer)
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([Console])
def source_detail(request, pk: int):
    source = selectors.source_get_for(user=request.user, pk=pk)
    if request.method == "DELETE":
        services.source_delete(source=source)
        return Response(status=status.HTTP_204_NO_CONTENT)
    if request.method == "PATCH":
        serializer = SourceSerializer(source, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "on_hand" in serializer.validated_data:
            raise ValidationError({"on_hand": _("Set stock through /sources/{id}/stock/.")})
        services.source_update(source=source, **_source_kwargs(serializer.validated_data))
        source = selectors.source_get_for(user=request.user, pk=pk)
    return Response(SourceSerializer(source).data)


@extend_schema(request=StockSerializer, responses=StockSerializer)
@api_view(["GET", "PUT", "POST"])
@permission_classes([Console])
def source_stock(request, pk: int):
    """The source's stock (404 while untracked); PUT/POST sets on hand, never below what is reserved."""
    source = selectors.source_get_for(user=request.user, pk=pk)
    if request.method == "GET":
        stock = selectors.stock_of(source)
        if stock is None:
            return Response({"detail": "Stock is not tracked at this source."}, status=404)
        return Response(StockSerializer(stock).data)
    serializer = StockSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    stock = services.stock_set(source=source, on_hand=serializer.validated_data["on_hand"], actor=request.user)
    return Response(StockSerializer(stock).data)


# ------------------------------------------------------------------ listings


@extend_schema(methods=["GET"], parameters=[ListingQuerySerializer], responses=offset_page(ListingSerializer))
@extend_schema(methods=["POST"], request=ListingMapSerializer, responses={201: ListingSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def listing_list(request):
    """Mapped listing SKUs; POST maps one (creating it or replacing its components) and re-routes held orders."""
    if request.method == "GET":
        query = query_params(request, ListingQuerySerializer)
        qs = selectors.listings_filter(selectors.listings_for(user=request.user), q=query.get("q", ""))
        offset, limit = query["offset"], query["limit"]
        rows = list(qs.order_by("listing_sku")[offset : offset + limit + 1])
        return Response(
            {
                "next_offset": offset + limit if len(rows) > limit else None,
                "results": ListingSerializer(rows[:limit], many=True).data,
            }
        )
    serializer = ListingMapSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    components = _components(data["components"])
    listing = services.listing_map(listing_sku=data["listing_sku"], components=components, actor=request.user)
    listing = selectors.listing_get_for(user=request.user, pk=listing.pk)
    return Response(ListingSerializer(listing).data, status=status.HTTP_201_CREATED)


def _components(rows: list[dict]) -> list[tuple[Product, int]]:
    ids = [row["product"] for row in rows if "product" in row]
    skus = [row["sku"].strip() for row in rows if "product" not in row]
    by_id = {p.pk: p for p in Product.objects.filter(pk__in=ids)}
    by_sku = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    components, errors = [], []
    for index, row in enumerate(rows):
        product = by_id.get(row["product"]) if "product" in row else by_sku.get(row["sku"].strip())
        if product is None:
            errors.append(f"components[{index}]: no such product ({row.get('product') or row.get('sku')}).")
        else:
            components.append((product, row["quantity"]))
    if errors:
        raise ValidationError({"components": errors})
    return components


@extend_schema(responses=ListingSerializer)
@api_view(["GET", "DELETE"])
@permission_classes([Console])
def listing_detail(request, pk: int):
    listing = selectors.listing_get_for(user=request.user, pk=pk)
    if request.method == "DELETE":
        services.listing_unmap(listing=listing, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(ListingSerializer(listing).data)


# ------------------------------------------------------------------ import


# A file over the inline size is imported by the worker: 202 with the job, whose status is read at its own address.
_IMPORT_JOB = inline_serializer(
    "CatalogImportJob",
    {
        "job": serializers.IntegerField(),
        "kind": serializers.ChoiceField(choices=CatalogImportKind.choices),
        "status": serializers.ChoiceField(choices=CatalogImportStatus.choices),
        "finished": serializers.BooleanField(),
        "report": serializers.DictField(allow_null=True),
    },
)


@extend_schema(
    request={"multipart/form-data": ProductImportUploadSerializer},
    responses={200: None, 202: _IMPORT_JOB, 400: None},
)
@api_view(["POST"])
@parser_classes([TextGuardMultiPartParser, TextGuardFormParser, TextGuardJSONParser])
@permission_classes([Console])
def product_import(request):
    """Import products and source paths from a CSV/XLSX file, all or nothing: 200 with counts, or 400 with every
    error; a file over 2,000 rows answers 202 with the job the worker imports it in (``products/import/jobs/<id>/``)."""
    selectors.products_for(user=request.user)
    serializer = ProductImportUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": _("The file is larger than 20 MB. Split it into smaller files.")})
    submission = imports_jobs.catalog_import_submit(
        kind=CatalogImportKind.PRODUCTS, content=upload.read(), filename=upload.name, actor=request.user
    )
    if submission.job is not None:
        return Response(imports_jobs.catalog_import_summary(job=submission.job), status=status.HTTP_202_ACCEPTED)
    report = submission.report
    return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


@extend_schema(operation_id="product_import_job", responses={200: _IMPORT_JOB})
@api_view(["GET"])
@permission_classes([Console])
def product_import_job(request, pk: int):
    """A product file the worker imports: its status and, once finished, its report."""
    return Response(
        imports_jobs.catalog_import_summary(job=imports_jobs.catalog_import_get_for(user=request.user, pk=pk))
    )
