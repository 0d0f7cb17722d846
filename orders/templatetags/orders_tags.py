"""Order pages: a discount shown as what it takes off (``{{ x|negative|amount:currency }}``), and the channel's
payment status in the reader's language (``{{ order.financial_status|payment }}``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from orders.selectors import FULFILMENT_LABELS, TRIGGER_LABELS, label_of, payment_label

register = template.Library()


@register.filter
def negative(value):
    """``value`` with its sign turned (a discount of 1.20 → −1.20); zero stays zero, text stays as it is."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    return -amount if amount else amount.copy_abs()


@register.filter
def payment(status):
    """The channel's payment status ("paid", "partially_refunded" …) translated; an unknown one as it is."""
    return payment_label(status)


@register.filter
def fulfilment(status):
    """The channel's fulfilment status ("fulfilled", "partial" …) translated; an unknown one as it is."""
    return label_of(FULFILMENT_LABELS, status)


@register.filter
def trigger(value):
    """What started a routing decision ("ingest" → "on arrival"), translated."""
    return label_of(TRIGGER_LABELS, value)
