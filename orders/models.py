"""The canonical order, as every channel's orders land in Relay."""

from __future__ import annotations

import json
import zlib

import lz4.frame
import orjson
from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 3}


# lz4's frame magic: raw payloads written since lz4 replaced zlib start with it; a zlib stream starts
# with 0x78, and JSON text with neither. Rows are read whichever way they were written.
LZ4_MAGIC = b"\x04\x22\x4d\x18"


def pack_payload(payload) -> bytes:
    """A raw payload as stored: lz4-compressed here, where it is cheap, not by PostgreSQL.

    ``payload`` is the decoded document (a dict, dumped with orjson) or the JSON bytes the channel
    sent for it (bytes, bytearray or memoryview), kept byte for byte.
    """
    data = payload if isinstance(payload, bytes | bytearray | memoryview) else orjson.dumps(payload, default=str)
    return lz4.frame.compress(data)


def _unpacked(data: bytes) -> bytes:
    if data[:4] == LZ4_MAGIC:
        return lz4.frame.decompress(data)
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    return data


def unpack_payload(packed):
    """The stored payload as a document ({} for none). Bytes a channel sent that are not valid UTF-8 are
    read with the bad sequences replaced, so the audit copy stays readable."""
    if not packed:
        return {}
    data = _unpacked(bytes(packed))
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8", errors="replace"))


def pack_json(value) -> bytes:
    """A PackedJSONField's value as stored (and as COPY writes it): orjson, lz4 (a seventh of zlib's time;
    rows written with zlib before are still read)."""
    return lz4.frame.compress(orjson.dumps(value))


class PackedJSONField(models.BinaryField):
    """JSON kept compressed (lz4) in a bytea, read and written as the Python value, like a JSONField.

    For big write-once documents that no query looks inside (RoutingDecision.lines,
    a few KB of reasons per order): compressing here costs a fraction of what
    PostgreSQL spends parsing jsonb and TOAST-compressing it, on the hot write path.
    Rows written before the column was packed hold plain JSON text, read as such.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        # zlib (or lz4) packed, or plain JSON text in rows written before the column was packed.
        return orjson.loads(_unpacked(bytes(value)))

    def to_python(self, value):
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return connection.Database.Binary(pack_json(value))

    def value_to_string(self, obj) -> object:
        return self.value_from_object(obj)


class Order(models.Model):
    class Status(models.TextChoices):
        """Relay's own state of the order (the channel's are financial_status and fulfillment_status).

        Transitions live in orders.states; change ``status`` only through it.
        """

        NEW = "new", _("New")
        HELD = "held", _("Held for review")
        ROUTED = "routed", _("Routed")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        CANCELLED = "cancelled", _("Cancelled")

    # No index of its own: the unique (store, external_id) serves every lookup by store, one index less to write.
    store = models.ForeignKey("channels.Store", on_delete=models.PROTECT, related_name="orders", db_index=False)
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
    # Refunded to the buyer on the channel so far; the receivable is total − refunded_total.
    refunded_total = models.DecimalField(**MONEY, default=0, db_default=0)
    financial_status = models.CharField(max_length=32, blank=True)
    fulfillment_status = models.CharField(max_length=32, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    tags = models.CharField(max_length=500, blank=True)
    placed_at = models.DateTimeField()
    # The channel's own last-update time: decides whether a payload is newer.
    channel_updated_at = models.DateTimeField()
    # The channel's payload as received, for audit and replay: lz4-compressed
    # JSON (older rows zlib; see pack_payload); read it with raw_payload().
    # Stored EXTERNAL (migration 0009): PostgreSQL moves it out of line without
    # trying to compress what is compressed already.
    raw = models.BinaryField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # db_default: the ingest INSERT does not name these columns.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_default=Status.NEW
    )
    # Routed with no human touch (passed every hold rule the first time); for the dashboard's share.
    auto_routed = models.BooleanField(null=True, blank=True, db_default=None)
    routed_at = models.DateTimeField(null=True, blank=True, db_default=None)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="order_once_per_store"),
            models.CheckConstraint(
                condition=models.Q(status__in=["new", "held", "routed", "partially_shipped", "shipped", "cancelled"]),
                name="order_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="order_placed_idx"),
            models.Index(fields=["store", "-placed_at", "-id"], name="order_store_placed_idx"),
            models.Index(fields=["store", "channel_updated_at"], name="order_store_updated_idx"),
            models.Index(fields=["status", "placed_at"], name="order_status_placed_idx"),
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
    # No index of its own: the unique (order, external_id) serves every lookup by order, one index less to write.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
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


class RuleSet(models.Model):
    """A versioned list of routing rules: drafted, simulated, then activated; one is active at a time."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    version = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="active"), name="ruleset_one_active"),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "active", "retired"]), name="ruleset_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class RuleSetEvent(models.Model):
    """One change of a rule set's state (activated, retired): who, when, from, to, why."""

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(from_state__in=["draft", "active", "retired"])
                & models.Q(to_state__in=["draft", "active", "retired"])
                & ~models.Q(from_state=models.F("to_state")),
                name="rulesetevent_changes_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ruleset_id}: {self.from_state} → {self.to_state}"


class Rule(models.Model):
    """One rule of a rule set; kind and params as orders.routing.core.rules defines them."""

    class Kind(models.TextChoices):
        HOLD = "hold", _("Hold for review")
        GIFT = "gift", _("Gift (买赠)")
        SOURCING = "sourcing", _("Sourcing strategy")
        SPLIT = "split", _("Split policy")
        MERGE = "merge", _("Merge orders")

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField()
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ruleset", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "position"], name="rule_position_once", deferrable=models.Deferrable.DEFERRED
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.kind} #{self.position}"


class RoutingDecision(models.Model):
    """What routing decided for an order, and why: kept for every run, the newest one is current.

    Reasons are stored as codes with parameters (orders.routing.core.types.Reason),
    so the order page renders them in the reader's language.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="decisions")
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)  # null: no active rule set (defaults)
    held = models.BooleanField()
    hold_reasons = models.JSONField(default=list)  # [{"code": …, "params": {…}}]
    fired_rule_ids = models.JSONField(default=list)
    lines = PackedJSONField(default=list)  # one object per LineDecision, with considered sources
    merge_key = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=32)  # ingest, reroute, rejection, mapping, manual
    is_current = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(is_current=True), name="decision_one_current_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} decision {self.pk}"


class Transition(models.Model):
    """One change of state of an order: who or what, when, from, to, why (a dispatch's are DispatchEvents)."""

    # No index of its own: (order, at) below leads with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions", db_index=False)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120)  # "routing", "channel", "supplier", a user's e-mail
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"])]

    def __str__(self) -> str:
        return f"{self.order} {self.from_state}→{self.to_state}"


class ReturnRecord(models.Model):
    """A line cancelled or refunded after it shipped: quantity and amount, for settlement."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    order_line = models.ForeignKey(OrderLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="returns")
    dispatch_line = models.ForeignKey(
        "suppliers.DispatchLine", on_delete=models.PROTECT, null=True, blank=True, related_name="returns"
    )
    listing_sku = models.CharField(max_length=120, blank=True)
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)  # what the buyer gets back for these units
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="return_quantity_positive"),
            models.UniqueConstraint(fields=["order_line"], name="return_once_per_line"),
        ]
        # Closing a month reads the month's returns by this range (settlement.closing).
        indexes = [models.Index(fields=["created"], name="return_created_idx")]

    def __str__(self) -> str:
        return f"{self.order} return {self.listing_sku} × {self.quantity}"


class Simulation(models.Model):
    """A draft rule set run against recent orders, compared with the active one (see orders.routing.simulation)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="simulations")
    days = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    orders_total = models.PositiveIntegerField(default=0)
    orders_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "done", "failed"]), name="simulation_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"simulation {self.pk} of {self.ruleset}"
