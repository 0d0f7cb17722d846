"""Stock writes that routing and the order lifecycle make in bulk: reservations taken, given back, consumed.

Every function here changes many ``Stock`` rows in one relative statement
(the same as ``F("reserved") + delta`` per row), touching rows in source
order so that concurrent batches lock them in one order. The database's
``reserved <= on_hand`` check stays the last word: a reservation beyond what
is on hand fails the whole statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection

from inventory.models import Stock


def stock_levels(*, source_ids: Iterable[int], lock: bool) -> dict[int, tuple[int, int]]:
    """(on_hand, reserved) per source that has a Stock row; ``lock`` holds the rows FOR UPDATE, in id order."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    # An array, not an IN list: a batch asks for thousands of sources, and the ORM would prepare each id in Python.
    sql = f"SELECT source_id, on_hand, reserved FROM {Stock._meta.db_table} WHERE source_id = ANY(%s) ORDER BY id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql + (" FOR UPDATE" if lock else ""), [ids])
        return {source_id: (on_hand, reserved) for source_id, on_hand, reserved in cursor.fetchall()}


def _apply(deltas: Mapping[int, int], *, consume: bool) -> int:
    rows = sorted((source_id, delta) for source_id, delta in deltas.items() if delta)
    if not rows:
        return 0
    set_on_hand = ", on_hand = s.on_hand + v.delta" if consume else ""
    # One statement for any number of sources: two arrays unnested side by side.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE inventory_stock s SET reserved = s.reserved + v.delta{set_on_hand}, updated = now()
            FROM unnest(%s::bigint[], %s::integer[]) AS v(source_id, delta) WHERE s.source_id = v.source_id
            """,  # noqa: S608 - the only interpolation is a constant
            [[source_id for source_id, _ in rows], [delta for _, delta in rows]],
        )
        return cursor.rowcount


def stock_reserve(*, deltas: Mapping[int, int]) -> int:
    """Add ``delta`` units to each source's reservation (negative gives them back); returns rows changed.

    Raises IntegrityError (the database's check) when a source would reserve
    more than it has on hand, and nothing of the statement is applied.
    """
    return _apply(deltas, consume=False)


def stock_consume(*, units: Mapping[int, int]) -> int:
    """Shipped: ``units`` per source leave the warehouse, out of its reservation (on hand and reserved both drop)."""
    return _apply({source_id: -count for source_id, count in units.items()}, consume=True)
