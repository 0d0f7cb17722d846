"""Writing many rows at once with COPY, for the batch paths where the ORM's bulk_create is the bottleneck.

Rows go into the current tenant schema (the connection's search path) in
one COPY per call. Values are what the columns hold: JSON columns take
already-serialised text (see ``json_text``), bytea columns bytes, money
Decimals, times aware datetimes. Callers pass column names as constants,
never input.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

import orjson
from django.db import connection


def json_text(value) -> str:
    """A JSON column's value as COPY takes it (orjson: Decimals and datetimes must be converted first)."""
    return orjson.dumps(value).decode()


def _cell(value) -> object:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's hex input format
    return value


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` into ``table`` (CSV, NULL as ``\\N``); returns how many were written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        count += 1
    if not count:
        return 0
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )
    return count
