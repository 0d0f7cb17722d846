"""Stores and the record of their status changes, their sync ledger, quarantined payloads and webhook deliveries."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def _webhook_token() -> str:
    return secrets.token_urlsafe(24)


class Channel(models.TextChoices):
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    SPREADSHEET = "spreadsheet", _("Spreadsheet import")
    SANDBOX = "sandbox", _("Sandbox shop")


# Which credential fields each channel needs (all encrypted, never shown back).
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    Channel.SHOPIFY: ("access_token", "webhook_secret"),
    Channel.SANDBOX: ("access_token",),
    Channel.WOOCOMMERCE: ("consumer_key", "consumer_secret", "webhook_secret"),
    Channel.SPREADSHEET: (),
}
PULL_CHANNELS = frozenset({Channel.SHOPIFY, Channel.WOOCOMMERCE, Channel.SANDBOX})


class StoreStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    NEEDS_REAUTH = "needs_reauth", _("Needs re-authorisation")


class Store(models.Model):
    Status = StoreStatus

    name = models.CharField(_("name"), max_length=120, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    base_url = models.URLField(_("API base URL"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    sync_interval_minutes = models.PositiveIntegerField(_("sync every (minutes)"), default=5)
    # Everything the channel updated before this instant is in Relay.
    sync_cursor = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_ok = models.BooleanField(null=True, blank=True)
    last_sync_message = models.CharField(max_length=500, blank=True)
    # Fernet token of a JSON object; see channels.vault. Never leaves the server.
    credentials_encrypted = models.TextField(blank=True, editable=False)
    webhook_token = models.CharField(max_length=64, unique=True, default=_webhook_token, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=StoreStatus.values), name="store_status_valid"),
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="store_channel_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def pulls(self) -> bool:
        return self.channel in PULL_CHANNELS


class StoreEvent(models.Model):
    """One change of a store's status: who or what, when, from, to, why. Written by channels.store_states only."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=StoreStatus.choices)
    to_status = models.CharField(max_length=16, choices=StoreStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=120)  # a user's e-mail, or "sync", "connection test" …
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["store", "-at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(from_status__in=StoreStatus.values), name="storeevent_from_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(to_status__in=StoreStatus.values), name="storeevent_to_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_status=models.F("to_status")), name="storeevent_changes_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.from_status}→{self.to_status}"


class SyncRunKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    MANUAL = "manual", _("Sync now")
    REPLAY = "replay", _("Replay")
    IMPORT = "import", _("File import")


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class SyncRun(models.Model):
    """One line of a store's ingestion ledger."""

    Kind = SyncRunKind
    Status = SyncRunStatus

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    orders_seen = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    orders_quarantined = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    channel_count = models.PositiveIntegerField(null=True, blank=True)
    relay_count = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["store", "-started_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SyncRunStatus.values), name="syncrun_status_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=SyncRunKind.values), name="syncrun_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.kind} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def has_gap(self) -> bool:
        """The channel counts more orders in the window than Relay holds."""
        return self.channel_count is not None and self.relay_count is not None and self.channel_count > self.relay_count


class QuarantinedPayload(models.Model):
    """A payload that could not be normalised, kept with the reason until it is re-processed."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="quarantined")
    external_id = models.CharField(max_length=64)
    payload = models.JSONField()
    reason = models.CharField(max_length=500)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_quarantine_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} #{self.external_id}: {self.reason}"


class WebhookOutcome(models.TextChoices):
    PENDING = "", _("Being applied")  # set in the same transaction that records the delivery
    CREATED = "created", _("Order created")
    UPDATED = "updated", _("Order updated")
    UNCHANGED = "unchanged", _("Nothing new")
    QUARANTINED = "quarantined", _("Quarantined")


class WebhookDelivery(models.Model):
    """Seen deliveries: a channel may deliver the same event more than once."""

    Outcome = WebhookOutcome

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_deliveries")
    delivery_id = models.CharField(max_length=128)
    topic = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=32, blank=True, choices=Outcome.choices)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "delivery_id"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=WebhookOutcome.values), name="webhookdelivery_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.topic} {self.delivery_id}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    SUCCEEDED = "succeeded", _("Imported")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class OrderImport(models.Model):
    """A spreadsheet of orders uploaded for a store; validated whole, imported all or nothing."""

    Status = ImportStatus

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ImportStatus.values), name="orderimport_status_valid"),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class PushStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PUSHED = "pushed", _("Pushed")
    FAILED = "failed", _("Failed")
    NOT_NEEDED = "not_needed", _("Not needed")  # spreadsheet stores: the shipped-orders export carries it


class FulfillmentPush(models.Model):
    """Telling one order's channel that one parcel shipped, with its tracking; retried until pushed or failed.

    One row per (parcel, order): a parcel of a merged dispatch carries lines of
    several orders. Written only by channels.fulfillment.
    """

    Status = PushStatus

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="fulfillment_pushes")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="fulfillment_pushes")
    parcel = models.ForeignKey("suppliers.Parcel", on_delete=models.CASCADE, related_name="pushes")
    status = models.CharField(_("status"), max_length=16, choices=PushStatus.choices, default=PushStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # The channel's answer: its fulfillment id once pushed, its message when it refused.
    external_id = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parcel", "order"], name="fulfillment_push_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=PushStatus.values), name="fulfillment_push_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "updated"], name="fulfillment_push_status_idx")]

    def __str__(self) -> str:
        return f"{self.parcel} → {self.order_id}: {self.status}"
