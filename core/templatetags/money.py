"""Money in templates, through the one money module: ``{{ order.total|money:order.currency }}``."""

from __future__ import annotations

from django import template
from django.utils import translation

from core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """ "1,234.50 USD": the currency's decimals, grouped (per the active language), with the code."""
    return format_money(amount, currency, locale=translation.get_language())


@register.filter
def amount(amount, currency: str) -> str:
    """ "1,234.50": the same without the code, for a column whose currency is said once."""
    return format_money(amount, currency, code=False, locale=translation.get_language())
