"""Keyset pagination: each page is found from the last row of the one before, so page 10,000 costs
what page 1 does, and rows added meanwhile never shift a page."""

from __future__ import annotations

import base64
import functools
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def _directions(ordering: Sequence[str]) -> list[tuple[str, bool]]:
    return [(name.lstrip("-"), name.startswith("-")) for name in ordering]


def _plain(value):
    """A key value as JSON holds it: dates as ISO text, Decimals as their exact text (to_python reads both back)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _encode(row, fields: list[tuple[str, bool]]) -> str:
    values = [getattr(row, name) for name, _descending in fields]
    text = json.dumps([_plain(value) for value in values])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode(cursor: str, qs: QuerySet, fields: list[tuple[str, bool]]) -> list | None:
    """The cursor's key values as the model's fields hold them; None for a cursor we did not make."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(fields):
            return None
        model_fields = [qs.model._meta.get_field("id" if name == "pk" else name) for name, _ in fields]
        return [field.to_python(value) for field, value in zip(model_fields, values, strict=True)]
    except (ValueError, TypeError, ValidationError):
        return None


def _beyond(fields: list[tuple[str, bool]], values: list, *, backwards: bool) -> Q:
    """Rows after the key in the ordering (before it when ``backwards``), compared field by field."""
    alternatives = []
    for index, (name, descending) in enumerate(fields):
        lookup = "lt" if descending != backwards else "gt"
        equal = {field: value for (field, _d), value in zip(fields[:index], values[:index], strict=True)}
        alternatives.append(Q(**equal, **{f"{name}__{lookup}": values[index]}))
    return functools.reduce(operator.or_, alternatives)


def keyset_page(qs: QuerySet, *, ordering: Sequence[str], after: str = "", before: str = "", size: int) -> KeysetPage:
    """One page of ``qs`` in ``ordering`` (which must end in a unique field), after or before a cursor.

    A cursor that cannot be read gives the first page rather than an error.
    """
    fields = _directions(ordering)
    qs = qs.order_by(*ordering)
    if after and (key := _decode(after, qs, fields)) is not None:
        rows = list(qs.filter(_beyond(fields, key, backwards=False))[: size + 1])
        has_more, has_prev = len(rows) > size, True
        rows = rows[:size]
    elif before and (key := _decode(before, qs, fields)) is not None:
        reverse = [name[1:] if name.startswith("-") else "-" + name for name in ordering]
        rows = list(qs.filter(_beyond(fields, key, backwards=True)).order_by(*reverse)[: size + 1])
        has_prev = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_more = True
    else:
        rows = list(qs[: size + 1])
        has_more, has_prev = len(rows) > size, False
        rows = rows[:size]
    return KeysetPage(
        rows=rows,
        next_cursor=_encode(rows[-1], fields) if rows and has_more else None,
        prev_cursor=_encode(rows[0], fields) if rows and has_prev else None,
    )
