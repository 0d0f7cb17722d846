"""Writes of suppliers by the merchant: create and edit the companies that ship."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from suppliers.models import Supplier

_UNSET: object = object()


def _clean_code(code: str, *, exclude_pk: int | None = None) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("A code is required.")})
    if len(code) > 32:
        raise ValidationError({"code": _("The code is longer than 32 characters.")})
    # Codes are typed into spreadsheets; "sup-1" and "SUP-1" must not name two suppliers.
    taken = Supplier.objects.filter(code__iexact=code)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"code": _("Another supplier already has the code %(code)s.") % {"code": code}})
    return code


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A name is required.")})
    if len(name) > 200:
        raise ValidationError({"name": _("The name is longer than 200 characters.")})
    return name


def supplier_create(*, name: str, code: str, contact_email: str = "", active: bool = True) -> Supplier:
    """Create a supplier. Raises ValidationError (by field) for a blank name or a code already used (any case)."""
    supplier = Supplier(
        name=_clean_name(name), code=_clean_code(code), contact_email=(contact_email or "").strip(), active=active
    )
    supplier.full_clean(validate_unique=False)
    with transaction.atomic():
        supplier.save()
    return supplier


def supplier_update(
    *,
    supplier: Supplier,
    name: str | object = _UNSET,
    code: str | object = _UNSET,
    contact_email: str | object = _UNSET,
    active: bool | object = _UNSET,
) -> Supplier:
    """Change the given fields of a supplier; the same checks as ``supplier_create``."""
    fields: list[str] = []
    if name is not _UNSET:
        supplier.name = _clean_name(name)  # type: ignore[arg-type]
        fields.append("name")
    if code is not _UNSET:
        supplier.code = _clean_code(code, exclude_pk=supplier.pk)  # type: ignore[arg-type]
        fields.append("code")
    if contact_email is not _UNSET:
        supplier.contact_email = (contact_email or "").strip()  # type: ignore[union-attr]
        fields.append("contact_email")
    if active is not _UNSET:
        supplier.active = bool(active)
        fields.append("active")
    if fields:
        supplier.full_clean(validate_unique=False)
        supplier.save(update_fields=fields)
    return supplier
