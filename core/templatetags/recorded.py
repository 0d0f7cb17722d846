"""History in the reader's language: ``{{ event.reason|reworded }}`` (core.recorded)."""

from __future__ import annotations

from django import template

from core.recorded import PHRASES

register = template.Library()


@register.filter
def reworded(text: str) -> str:
    """A recorded sentence of Relay's in the active language; anything else (a person's words) as it is."""
    return PHRASES.reword(text)
