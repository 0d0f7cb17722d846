"""Writing many rows at once with COPY, for the batch paths where the ORM's bulk_create is the bottleneck.

Rows go into the current tenant schema (the connection's search path) in
one COPY per call. Values are what the columns hold: JSON columns take
already-serialised text (see ``json_text``), bytea columns bytes, money
Decimals, times aware datetimes. Callers pass column names as constants,
never input.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

import orjson
from django.db import connection


def json_text(value) -> str:
    """A JSON column's value as COPY takes it (orjson: Decimals and datetimes must be converted first)."""
    return orjson.dumps(value).decode()


# COPY's text format: a tab between columns, a backslash escapes these four and itself, \N is NULL.
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")


def _text(value: str) -> str:
    # Most strings need no escaping: a search is cheaper than a translation.
    return value.translate(_ESCAPE) if _SPECIAL.search(value) else value


def _converters() -> dict:
    """How the text format takes each kind of value. A fresh table per COPY: times are memoised in it (a batch
    writes the same few moments thousands of times, and isoformat is the costliest conversion)."""
    moments: dict[dt.datetime, str] = {}

    def moment(value: dt.datetime) -> str:
        text = moments.get(value)
        if text is None:
            text = moments[value] = value.isoformat()
        return text

    return {
        str: _text,
        int: int.__str__,
        type(None): lambda value: r"\N",
        bool: lambda value: "t" if value else "f",
        dt.datetime: moment,
        Decimal: lambda value: format(value, "f"),
        bytes: lambda value: "\\\\x" + value.hex(),  # bytea's hex input, its backslash escaped
    }


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` into ``table`` (text format, NULL as ``\\N``); returns how many were written."""
    get = _converters().get
    # One dict lookup per value (by exact type) instead of a chain of isinstance checks: the hot loop of big
    # batches. Any other type (a TextChoices member, a date) goes as its str().
    lines = ["\t".join([to(v) if (to := get(type(v))) else _text(str(v)) for v in row]) for row in rows]
    if not lines:
        return 0
    lines.append("")
    copy_buffer(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN", "\n".join(lines).encode(), note=f"{len(lines) - 1} rows"
    )
    return len(lines) - 1


def copy_buffer(sql: str, data: bytes, *, note: str) -> None:
    """Run the ``COPY … FROM STDIN`` statement ``sql`` with ``data`` on the current connection, logged with ``note``
    instead of the data.

    One read of the whole buffer: psycopg2 reads the file ``size`` bytes at a time and takes the interpreter lock
    back for each piece, a wait behind any busy thread (ingest's page of about a megabyte in 8 KB pieces waited
    ~130 times for the thread preparing the next page). wrap_database_errors: a refused row raises Django's
    IntegrityError (…) as any other query does.
    """
    started = time.monotonic()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, io.BytesIO(data), size=max(len(data), 8192))
    _log_raw(f"{sql} -- {note}", started)


def chunked(items: Sequence, size: int) -> Iterator[list]:
    """``items`` in lists of at most ``size``, in order: a query per chunk keeps IN lists and memory bounded."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def sequence_ids(table: str, *, count: int) -> list[int]:
    """``count`` new ids from ``table``'s own id sequence, for rows written by COPY: unique under any
    concurrency, no lock needed (a rolled-back transaction leaves a gap, as any insert does)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _log_raw(sql: str, started: float) -> None:
    # psycopg2's own cursor is not Django's wrapper: log the statement the way the wrapper would,
    # so that tests counting queries (CaptureQueriesContext) see it.
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def execute_large(cursor, sql: str, params: Sequence) -> None:
    """Run ``sql`` whose parameters are large (a page of orders as JSON) on ``cursor`` (Django's).

    Straight to psycopg2, so that a debug cursor never copies megabytes of
    parameters into its log; logged without them the way Django's wrapper
    would, so that tests counting queries still see it. Read the results
    from ``cursor`` as usual.
    """
    started = time.monotonic()
    cursor.cursor.execute(sql, params)
    _log_raw(f"{sql} -- parameters left out", started)


# Asynchronous commit for one transaction: its COMMIT returns before the WAL
# reaches disk. Safe for rows that can be re-derived (pulled orders are
# re-read by the next sync's overlap window); a crash can lose the last few
# hundred milliseconds of such commits, never corrupt them or reorder them.
# Never for a write whose loss would go unnoticed (the sync cursor, money).
LAZY_COMMIT_SQL = "SET LOCAL synchronous_commit TO OFF"


def commit_lazily() -> None:
    """Let the current transaction commit without waiting for its WAL flush (see LAZY_COMMIT_SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(LAZY_COMMIT_SQL)
