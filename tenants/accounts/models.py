"""Users live in their tenant's schema; a Profile gives each one role."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    OPERATOR = "operator", _("Operator")
    FINANCE = "finance", _("Finance")
    SUPPLIER = "supplier", _("Supplier")


# Who may enter which area. The views and API views name an area, never a role list.
AREA_ROLES: dict[str, frozenset[str]] = {
    "console": frozenset({Role.OWNER, Role.OPERATOR}),
    "finance": frozenset({Role.OWNER, Role.FINANCE}),
    "portal": frozenset({Role.SUPPLIER}),
    "admin": frozenset({Role.OWNER}),
    "account": frozenset({Role.OWNER, Role.OPERATOR, Role.FINANCE, Role.SUPPLIER}),
}


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # A supplier user's link to their supplier is kept by the suppliers app
    # (suppliers.SupplierUser, ``user.supplier_link``): the ground layer knows no supplier.
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # The language the user chose for pages and e-mails (tenants.locale); blank follows the browser.
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text=_("Blank: the browser's language."),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=[r.value for r in Role]), name="profile_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    def can_enter(self, area: str) -> bool:
        return self.role in AREA_ROLES[area]


class AuditEvent(models.Model):
    """One line of the tenant's audit log: who did what to which thing, when, from where.

    Append-only: the database refuses UPDATE and DELETE of these rows (migration 0005's trigger), so there is
    no foreign key to the user either (a deleted user must not rewrite history); ``actor_label`` keeps who it
    was at the time. Written by tenants.accounts.audit (and, for the apps' state histories, by the triggers
    that mirror each new event row). ``details`` holds states and field NAMES, never a secret's value.
    """

    class Via(models.TextChoices):
        WEB = "web", _("Browser")
        API = "api", _("API")
        WORKER = "worker", _("Background task")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("action"), max_length=64)
    actor_id = models.PositiveIntegerField(_("user id"), null=True, blank=True)
    actor_label = models.CharField(_("who"), max_length=200)  # the user's e-mail then, or "system", "routing" …
    via = models.CharField(_("via"), max_length=8, choices=Via.choices, default=Via.SYSTEM)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    target_type = models.CharField(_("target type"), max_length=32, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["actor_id", "-at"], name="audit_actor_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__regex=r"^[a-z_]+\.[a-z_]+$"), name="audit_action_valid"),
            models.CheckConstraint(
                condition=models.Q(via__in=["web", "api", "worker", "system"]), name="audit_via_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_type}:{self.target_id}"
