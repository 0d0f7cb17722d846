"""The tenant's catalog: products, what each channel listing ships, where each product comes from, stock."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.money import format_money, round_money

COST = {"max_digits": 14, "decimal_places": 4}


class Product(models.Model):
    """One line of the SKU master."""

    sku = models.CharField(_("SKU"), max_length=120, unique=True)
    name = models.CharField(_("name"), max_length=300)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return self.sku


class Listing(models.Model):
    """A channel listing SKU and what it ships: one product, or a bundle of several with quantities."""

    listing_sku = models.CharField(_("listing SKU"), max_length=120, unique=True)
    # Made on ingest because the listing SKU equals a product SKU.
    auto_mapped = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["listing_sku"]

    def __str__(self) -> str:
        return self.listing_sku


class ListingComponent(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="components")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="listing_components")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        ordering = ["listing", "product"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "product"], name="listing_component_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="listing_component_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.listing} → {self.product} × {self.quantity}"


class Source(models.Model):
    """One place on a product's source path: a supplier (or the own warehouse) at a cost, for some regions."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sources")
    position = models.PositiveIntegerField(_("position"))
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.PROTECT, null=True, blank=True, related_name="sources"
    )  # null = own warehouse
    cost_price = models.DecimalField(_("cost price"), **COST)
    currency = models.CharField(_("currency"), max_length=3)
    # [] = serves everywhere; else [{"country": "CN", "province": "Zhejiang"}, {"country": "US"}, …]
    regions = models.JSONField(_("regions served"), default=list, blank=True)
    lead_time_days = models.PositiveIntegerField(_("lead time (days)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "position"],
                name="source_position_once",
                deferrable=models.Deferrable.DEFERRED,  # positions can be swapped in one transaction
            ),
            models.CheckConstraint(condition=models.Q(cost_price__gte=0), name="source_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"

    @property
    def cost_text(self) -> str:
        """The cost price with the currency's decimals and code ("18.50 CNY"), or all four decimals when it has
        more than the currency's ("5.125 USD")."""
        if round_money(self.cost_price, self.currency) == self.cost_price:
            return format_money(self.cost_price, self.currency)
        return f"{self.cost_price.normalize():f} {self.currency}"


class Stock(models.Model):
    """Units of a product at one source: on hand, and how many routing has reserved.

    The database refuses a reservation beyond what is on hand, so concurrent
    routing can never oversell, whatever the code above it does.
    """

    source = models.OneToOneField(Source, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved"), default=0)
    updated = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=120, blank=True)  # "supplier", a user's e-mail, "import"

    class Meta:
        ordering = ["source"]
        constraints = [
            models.CheckConstraint(condition=models.Q(reserved__lte=models.F("on_hand")), name="stock_never_oversold"),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.available} available"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class CatalogImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    SUCCEEDED = "succeeded", _("Imported")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class CatalogImportKind(models.TextChoices):
    PRODUCTS = "products", _("Products and source paths")
    MAPPINGS = "mappings", _("Listing mappings")


class CatalogImport(models.Model):
    """A catalog spreadsheet too large to import while the person waits, imported by a worker: all or nothing.

    Written only by inventory.imports_jobs. The file waits under the tenant's media folder (``file_path``,
    relative to MEDIA_ROOT) and is removed once the import has finished. ``report`` is the importer's report
    (counts, or the errors by row and column) once finished.
    """

    Status = CatalogImportStatus
    Kind = CatalogImportKind

    kind = models.CharField(_("kind"), max_length=16, choices=CatalogImportKind.choices)
    filename = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CatalogImportStatus.choices, default=CatalogImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(default=0)  # a rough count until the file is read
    language = models.CharField(max_length=16, blank=True)  # the reports are written in the uploader's language
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CatalogImportStatus.values), name="catalogimport_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CatalogImportKind.values), name="catalogimport_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class StockUploadJob(models.Model):
    """A supplier's stock file too large to check while the person waits, reported by a worker: all or nothing.

    Written only by inventory.supplier_stock. Scoped to its supplier: only that supplier's users see it. The
    file waits under the tenant's media folder (``file_path``, relative to MEDIA_ROOT) and is removed once the
    upload has finished; ``report`` is the upload's report (counts, or every error by row and column).
    """

    Status = CatalogImportStatus

    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.CASCADE, related_name="stock_upload_jobs")
    filename = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CatalogImportStatus.choices, default=CatalogImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(default=0)  # a rough count until the file is read
    language = models.CharField(max_length=16, blank=True)  # the report is written in the uploader's language
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CatalogImportStatus.values), name="stockuploadjob_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def finished(self) -> bool:
        return self.finished_at is not None
