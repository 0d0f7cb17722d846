"""The canonical order, as every channel's orders land in Relay."""

from __future__ import annotations

import zlib

import orjson
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 3}


def pack_payload(payload) -> bytes:
    """A raw payload as stored: compressed here, where it is cheap, not by PostgreSQL."""
    return zlib.compress(orjson.dumps(payload, default=str), 1)


def unpack_payload(packed) -> dict:
    return orjson.loads(zlib.decompress(bytes(packed))) if packed else {}


class Order(models.Model):
    store = models.ForeignKey("channels.Store", on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=64)
    order_number = models.CharField(_("order number"), max_length=64)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.CharField(max_length=254, blank=True)
    buyer_phone = models.CharField(max_length=64, blank=True)
    ship_name = models.CharField(max_length=200, blank=True)
    ship_country = models.CharField(max_length=2, blank=True)
    ship_province = models.CharField(max_length=100, blank=True)
    ship_city = models.CharField(max_length=100, blank=True)
    ship_district = models.CharField(max_length=100, blank=True)
    ship_line1 = models.CharField(max_length=300, blank=True)
    ship_line2 = models.CharField(max_length=300, blank=True)
    ship_postal_code = models.CharField(max_length=32, blank=True)
    ship_phone = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    discount_total = models.DecimalField(**MONEY)
    shipping_total = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    financial_status = models.CharField(max_length=32, blank=True)
    fulfillment_status = models.CharField(max_length=32, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    tags = models.CharField(max_length=500, blank=True)
    placed_at = models.DateTimeField()
    # The channel's own last-update time: decides whether a payload is newer.
    channel_updated_at = models.DateTimeField()
    # The channel's payload as received, for audit and replay: zlib-compressed
    # JSON (see pack_payload); read it with raw_payload().
    raw = models.BinaryField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="order_once_per_store")]
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="order_placed_idx"),
            models.Index(fields=["store", "-placed_at", "-id"], name="order_store_placed_idx"),
            models.Index(fields=["store", "channel_updated_at"], name="order_store_updated_idx"),
            # Prefix search (LIKE 'q%') uses these in any collation.
            models.Index(fields=["order_number"], opclasses=["varchar_pattern_ops"], name="order_number_prefix_idx"),
            models.Index(OpClass(Lower("buyer_email"), name="varchar_pattern_ops"), name="order_email_prefix_idx"),
            models.Index(OpClass(Lower("buyer_name"), name="varchar_pattern_ops"), name="order_buyer_prefix_idx"),
        ]

    def __str__(self) -> str:
        return self.order_number

    def raw_payload(self) -> dict:
        return unpack_payload(self.raw)

    @property
    def status_label(self) -> str:
        if self.cancelled_at:
            return str(_("Cancelled"))
        return self.financial_status or "—"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    listing_sku = models.CharField(_("listing SKU"), max_length=120, blank=True)
    title = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    line_discount = models.DecimalField(**MONEY)
    # Order-level discount and shipping spread over lines to the cent (orders.apportionment).
    discount_share = models.DecimalField(**MONEY)
    shipping_share = models.DecimalField(**MONEY)
    net_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="order_line_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_sku} × {self.quantity}"

    @property
    def gross(self):
        return self.unit_price * self.quantity
