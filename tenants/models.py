"""Tenants live in the public schema: one Tenant per merchant company, one schema each."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$",
    _("Use 3–32 lower-case letters, digits or hyphens, starting with a letter."),
)
# Host labels that would collide with the platform's own names.
RESERVED_SLUGS = frozenset(
    {"www", "api", "admin", "public", "static", "media", "mail", "app", "status", "help", "support", "template"}
)


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.CharField(_("slug"), max_length=32, unique=True, validators=[SLUG_VALIDATOR])
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", choices=_time_zone_choices)
    default_currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # The clone source for new tenants: migrated like every tenant, reachable by no host.
    is_template = models.BooleanField(default=False, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    # Schemas are created by tenants.services.tenant_provision (clone of the template).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["active", "suspended"]), name="tenant_status_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class TenantEvent(models.Model):
    """One change of a tenant's status: from what, to what, by whom, why. Written by
    tenants.services.tenant_set_status only."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=16, choices=Tenant.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Tenant.Status.choices)
    # A platform operator (a user of the public schema), or None for a command or a task.
    # Users also exist in every tenant schema under the same ids: without a constraint and
    # with DO_NOTHING, deleting a tenant's user never reaches this table; the label keeps
    # who it was once the platform user is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("by"), max_length=200)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(from_status__in=["active", "suspended"])
                & models.Q(to_status__in=["active", "suspended"]),
                name="tenant_event_status_valid",
            ),
            # An event records a move; staying put is not one.
            models.CheckConstraint(
                condition=~models.Q(from_status=models.F("to_status")), name="tenant_event_is_a_move"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.from_status} → {self.to_status}"
