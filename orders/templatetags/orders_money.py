"""Order pages' amounts: a discount is shown as what it takes off (``{{ x|negative|amount:currency }}``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def negative(value):
    """``value`` with its sign turned (a discount of 1.20 → −1.20); zero stays zero, text stays as it is."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    return -amount if amount else amount.copy_abs()
