from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Supplier(models.Model):
    """A company that ships for the merchant, with its contacts and terms.

    The terms set each new dispatch's deadlines: accept within
    ``accept_within_hours`` of routing, ship within ``ship_within_hours`` of
    routing; ``late_ship_penalty`` is billed (negative) on the month's
    statement for each dispatch shipped after its deadline. A deactivated supplier gets no new dispatches (routing moves on
    along the path) and its users cannot log in to the portal.
    """

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=32, unique=True)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    payment_terms_days = models.PositiveIntegerField(_("payment terms (days)"), default=30)
    accept_within_hours = models.PositiveIntegerField(_("accept within (hours)"), default=24)
    ship_within_hours = models.PositiveIntegerField(_("ship within (hours)"), default=72)
    # Taken off the supplier's statement for each dispatch shipped after its ship-by deadline (its currency).
    late_ship_penalty = models.DecimalField(
        _("late-shipment penalty"), max_digits=12, decimal_places=2, default=0, db_default=0
    )
    # Whether the supplier sees the buyer's e-mail on its dispatches (the address and phone it always sees).
    share_buyer_email = models.BooleanField(_("show buyer e-mail to the supplier"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Dispatch(models.Model):
    """What one supplier (or the own warehouse) ships for one order, or for several merged orders.

    States and their transitions live in suppliers.dispatch_states; change
    ``status`` only through it, so every change is checked and recorded.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the supplier")
        ACCEPTED = "accepted", _("Accepted")
        SHIPPED = "shipped", _("Shipped")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    class RejectReason(models.TextChoices):
        OUT_OF_STOCK = "out_of_stock", _("Out of stock")
        DISCONTINUED = "discontinued", _("Discontinued")
        CANNOT_SHIP_REGION = "cannot_ship_region", _("Cannot ship to the region")
        PRICE_CHANGED = "price_changed", _("Price changed")
        OTHER = "other", _("Other")

    number = models.CharField(_("dispatch number"), max_length=32, unique=True)
    # null = own warehouse. No index of its own: the (supplier, …) indexes below lead with it.
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="dispatches", db_index=False
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # Orders of one buyer and address in one store within the merge window share a dispatch.
    merge_key = models.CharField(max_length=64, blank=True)
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)  # why rejected or cancelled
    reject_code = models.CharField(_("rejection reason"), max_length=24, choices=RejectReason.choices, blank=True)
    # The snapshot the supplier works from (DESIGN: a dispatch does not change when its order does).
    # ship_to: {"name", "phone", "line1", "line2", "district", "city", "province", "postal_code", "country"}
    ship_to = models.JSONField(_("ship to"), default=dict, blank=True)
    buyer_name = models.CharField(_("buyer"), max_length=200, blank=True)
    buyer_email = models.CharField(_("buyer e-mail"), max_length=254, blank=True)
    # Deadlines from the supplier's terms, set when the dispatch is written.
    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    ship_by = models.DateTimeField(_("ship by"), null=True, blank=True)
    promised_ship_date = models.DateField(_("promised ship date"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["supplier", "status", "-created"]),
            models.Index(fields=["merge_key", "status"]),
            # The portal's and console's lists: newest first, keyset on (created, id).
            models.Index(fields=["supplier", "-created", "-id"], name="dispatch_supplier_list_idx"),
            models.Index(fields=["-created", "-id"], name="dispatch_list_idx"),
            # Overdue: open dispatches past a deadline.
            models.Index(
                fields=["supplier", "ship_by"],
                condition=models.Q(status__in=["pending", "accepted"]),
                name="dispatch_open_ship_by_idx",
            ),
            models.Index(
                fields=["supplier", "accept_by"],
                condition=models.Q(status="pending"),
                name="dispatch_pending_accept_by_idx",
            ),
            models.Index(OpClass(Lower("buyer_name"), name="varchar_pattern_ops"), name="dispatch_buyer_prefix_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "accepted", "shipped", "rejected", "cancelled"]),
                name="dispatch_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    reject_code__in=["", "out_of_stock", "discontinued", "cannot_ship_region", "price_changed", "other"]
                ),
                name="dispatch_reject_code_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.ACCEPTED)

    def overdue_at(self, now) -> str:
        """ "accept" or "ship" when that deadline has passed with the dispatch still open, else ""."""
        if self.status == self.Status.PENDING and self.accept_by and self.accept_by < now:
            return "accept"
        if self.is_open and self.ship_by and self.ship_by < now:
            return "ship"
        return ""


class DispatchLine(models.Model):
    """One product, in a quantity, from one source, for one order line (or a gift)."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="lines")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="dispatch_lines")
    # null for a gift line, or once the channel dropped the line (listing_sku keeps what it was)
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="dispatch_lines"
    )
    listing_sku = models.CharField(max_length=120, blank=True)
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="dispatch_lines")
    source = models.ForeignKey("inventory.Source", on_delete=models.PROTECT, related_name="dispatch_lines")
    quantity = models.PositiveIntegerField()
    is_gift = models.BooleanField(default=False)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4)
    cost_currency = models.CharField(max_length=3)
    # Units this line holds in the source's Stock.reserved (0 when stock is not tracked or was released).
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["dispatch", "id"]
        indexes = [
            # The portal's search by listing SKU (prefix, any collation).
            models.Index(
                fields=["listing_sku"], opclasses=["varchar_pattern_ops"], name="dispatch_line_sku_prefix_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="dispatch_line_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("quantity")), name="dispatch_line_reserved_le_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispatch} {self.product_id} × {self.quantity}"


class DispatchEvent(models.Model):
    """One change of a dispatch's state (or a note on it, from = to): who or what, when, from, to, why.

    Written only by suppliers.dispatch_states; the order page shows the
    events of the order's dispatches in its timeline.
    """

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120)  # "routing", "channel", "supplier", a user's e-mail
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["dispatch", "at"])]

    def __str__(self) -> str:
        return f"{self.dispatch_id}: {self.from_state} → {self.to_state}"


class SupplierUser(models.Model):
    """A supplier user: the link from a tenant user (role "supplier") to the one supplier they
    work for. It lives here, not on the user's profile, so tenancy knows no supplier; create
    it through suppliers.members.supplier_user_create."""

    # "auth.User": the project's user model (not swappable; the services import it directly).
    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="supplier_link")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="users")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["supplier", "id"]

    def __str__(self) -> str:
        return f"{self.user} → {self.supplier}"


class Parcel(models.Model):
    """One box handed to a carrier for a dispatch: its carrier and tracking number, and which lines it holds.

    A dispatch ships in one or more parcels; together they hold every unit of
    its lines. A tracking number (normalised: no spaces, upper case) is used
    once in the tenant. Written only by suppliers.shipping.
    """

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="parcels")
    carrier = models.CharField(_("carrier"), max_length=24)  # a suppliers.carriers code
    tracking_number = models.CharField(_("tracking number"), max_length=40, unique=True)
    tracking_url = models.CharField(_("tracking link"), max_length=300, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["dispatch", "id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ParcelLine(models.Model):
    """How many units of one dispatch line a parcel holds."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="lines")
    dispatch_line = models.ForeignKey(DispatchLine, on_delete=models.CASCADE, related_name="parcel_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["parcel", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="parcel_line_quantity_positive"),
            models.UniqueConstraint(fields=["parcel", "dispatch_line"], name="parcel_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.parcel}: {self.dispatch_line_id} × {self.quantity}"
