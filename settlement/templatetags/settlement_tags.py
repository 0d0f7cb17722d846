"""Settlement pages: a statement state's and a timeline actor's label in the reader's language, and a value
looked up by key."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from settlement.models import Statement

register = template.Library()
_STATES = dict(Statement.Status.choices)
# What a statement's timeline stores when no person is named (settlement.statement_states).
_ACTORS = {"finance": _("finance"), "supplier": _("supplier")}


@register.filter
def actor(label: str) -> str:
    """A timeline's actor: "finance" / "supplier" in the reader's language; an e-mail as it is."""
    named = _ACTORS.get(label)
    return str(named) if named is not None else label


@register.filter
def statement_state(value: str) -> str:
    """ "confirmed" → "Confirmed" (translated); a value that is not a state is shown as it is."""
    label = _STATES.get(value)
    return str(label) if label is not None else value


@register.filter
def lookup(mapping, key):
    """``mapping[key]``, or "" when absent (a refilled form field)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""
