"""Writes of suppliers by the merchant: create and edit the companies that ship, their terms, deactivate them."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.money import parse_currency
from suppliers.models import Supplier

# Terms beyond these are typing mistakes rather than terms anyone agrees to.
MAX_PAYMENT_TERMS_DAYS = 365
MAX_LATE_SHIP_PENALTY = Decimal(1_000_000)
MAX_ACCEPT_WITHIN_HOURS = 30 * 24
MAX_SHIP_WITHIN_HOURS = 90 * 24

_PHONE = re.compile(r"^[0-9+()./\-\s]*(?:(?:ext\.?|x|#)\s*[0-9]+)?$", re.IGNORECASE)


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


def _clean_text(field: str, limit: int) -> Callable[[str], str]:
    def clean(value: str) -> str:
        value = (value or "").strip()
        if len(value) > limit:
            raise ValidationError({field: _("Longer than %(limit)s characters.") % {"limit": limit}})
        return value

    return clean


def _clean_phone(phone: str) -> str:
    phone = _clean_text("contact_phone", 40)(phone)
    if phone and not (_PHONE.match(phone) and any(ch.isdigit() for ch in phone)):
        raise ValidationError({"contact_phone": _("Write the phone number with digits, spaces, + - ( ) only.")})
    return phone


def _clean_currency(currency: str) -> str:
    try:
        return parse_currency(currency)
    except ValueError as exc:
        raise ValidationError({"currency": str(exc)}) from exc


def _clean_penalty(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"late_ship_penalty": _("Enter an amount.")}) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_LATE_SHIP_PENALTY:
        raise ValidationError(
            {"late_ship_penalty": _("Enter an amount from 0 to %(high)s.") % {"high": MAX_LATE_SHIP_PENALTY - 1}}
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"late_ship_penalty": _("Give the amount to the cent.")})
    return amount


def _clean_whole(field: str, *, low: int, high: int) -> Callable[[int], int]:
    def clean(value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError({field: _("Enter a whole number.")})
        if not low <= value <= high:
            raise ValidationError({field: _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}})
        return value

    return clean


_CLEANERS: dict[str, Callable] = {
    "contact_name": _clean_text("contact_name", 120),
    "contact_email": _clean_text("contact_email", 254),
    "contact_phone": _clean_phone,
    "currency": _clean_currency,
    "payment_terms_days": _clean_whole("payment_terms_days", low=0, high=MAX_PAYMENT_TERMS_DAYS),
    "accept_within_hours": _clean_whole("accept_within_hours", low=1, high=MAX_ACCEPT_WITHIN_HOURS),
    "ship_within_hours": _clean_whole("ship_within_hours", low=1, high=MAX_SHIP_WITHIN_HOURS),
    "late_ship_penalty": _clean_penalty,
    "share_buyer_email": bool,
    "active": bool,
}


def _check_deadlines(supplier: Supplier) -> None:
    if supplier.ship_within_hours < supplier.accept_within_hours:
        raise ValidationError({"ship_within_hours": _("The time to ship cannot be shorter than the time to accept.")})


def supplier_create(
    *,
    name: str,
    code: str,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    currency: str = "USD",
    payment_terms_days: int = 30,
    accept_within_hours: int = 24,
    ship_within_hours: int = 72,
    late_ship_penalty: Decimal | str | int = 0,
    share_buyer_email: bool = False,
    active: bool = True,
) -> Supplier:
    """Create a supplier with its contacts and terms.

    Raises ValidationError (by field) for a blank name, a code already used (any
    case), a currency not in core.money's table, terms out of range (accept and
    ship within 1 hour to 30 / 90 days; ship no sooner than accept; payment 0–365
    days; a late-shipment penalty from 0, to the cent) or a malformed e-mail or phone.
    """
    given = {
        "contact_name": contact_name, "contact_email": contact_email, "contact_phone": contact_phone,
        "currency": currency, "payment_terms_days": payment_terms_days, "accept_within_hours": accept_within_hours,
        "ship_within_hours": ship_within_hours, "late_ship_penalty": late_ship_penalty,
        "share_buyer_email": share_buyer_email, "active": active,
    }  # fmt: skip
    supplier = Supplier(
        name=_clean_name(name), code=_clean_code(code), **{key: _CLEANERS[key](value) for key, value in given.items()}
    )
    _check_deadlines(supplier)
    supplier.full_clean(validate_unique=False)
    with transaction.atomic():
        supplier.save()
    return supplier


def supplier_update(*, supplier: Supplier, **changes: object) -> Supplier:
    """Change the given fields of a supplier (any of ``supplier_create``'s); the same checks.

    New terms apply to dispatches routed from now on; existing dispatches keep
    the deadlines they were written with. Raises TypeError for an unknown field.
    """
    fields: list[str] = []
    for key, value in changes.items():
        if key == "name":
            supplier.name = _clean_name(value)
        elif key == "code":
            supplier.code = _clean_code(value, exclude_pk=supplier.pk)
        elif key in _CLEANERS:
            setattr(supplier, key, _CLEANERS[key](value))
        else:
            raise TypeError(f"supplier_update() got an unexpected field {key!r}")
        fields.append(key)
    if fields:
        _check_deadlines(supplier)
        supplier.full_clean(validate_unique=False)
        supplier.save(update_fields=fields)
    return supplier


@transaction.atomic
def supplier_set_active(*, supplier: Supplier, active: bool) -> bool:
    """Deactivate or reactivate a supplier; returns whether anything changed.

    A deactivated supplier gets no new dispatches (routing moves on along each
    product's path) and its users can no longer enter the portal or use the
    API; its open dispatches stay with it until the merchant moves them.
    Compare-and-set, so two clicks change it once.
    """
    changed = Supplier.objects.filter(pk=supplier.pk, active=not active).update(active=active)
    supplier.active = active
    return bool(changed)
