from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Supplier(models.Model):
    """A company that ships for the merchant. Grows with the supplier portal."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=32, unique=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
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

    number = models.CharField(_("dispatch number"), max_length=32, unique=True)
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="dispatches"
    )  # null = own warehouse
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # Orders of one buyer and address in one store within the merge window share a dispatch.
    merge_key = models.CharField(max_length=64, blank=True)
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)  # why rejected or cancelled
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["supplier", "status", "-created"]),
            models.Index(fields=["merge_key", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "accepted", "shipped", "rejected", "cancelled"]),
                name="dispatch_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.number


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
