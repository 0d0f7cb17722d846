"""Dispatch pages: a recorded reason in the reader's language (``{{ dispatch.reason|reason_for_reader }}``)."""

from __future__ import annotations

from django import template

from suppliers.reasons import reason_for_reader as _reason_for_reader

register = template.Library()


@register.filter
def reason_for_reader(text: str) -> str:
    """Relay's words in a recorded reason (reject labels, "Split from …") in the active language."""
    return _reason_for_reader(text)
