"""Users live in their tenant's schema; a Profile gives each one role."""

from __future__ import annotations

from django.conf import settings
from django.db import models
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
