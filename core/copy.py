"""COPY from rows already encoded, for write paths that stage a batch and merge it in SQL.

``binary_rows`` encodes rows of text and bytes in COPY's binary format, for
``copy_binary``: bytes go as they are (no hex to write, no quoting for the
server to scan), which is what big bytea values want; a text value is its
UTF-8. Such rows usually go into a temporary staging table of text and bytea
columns that one ``INSERT … SELECT … ON CONFLICT`` then merges into the real
tables, casting as it goes. Table and column names are the caller's
constants, never input.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from core.bulk import copy_buffer

_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_BINARY_NULL = struct.pack(">i", -1)
_length = struct.Struct(">i").pack


def binary_rows(rows: Iterable[Sequence[str | bytes | None]], *, width: int) -> bytes:
    """Rows of ``width`` values, each text (for text/varchar columns), bytes (bytea) or None, in COPY's
    binary format for ``copy_binary``."""
    parts = [_BINARY_HEADER]
    count = struct.pack(">h", width)
    for row in rows:
        parts.append(count)
        for value in row:
            if value is None:
                parts.append(_BINARY_NULL)
                continue
            data = value.encode() if isinstance(value, str) else value
            parts.append(_length(len(data)))
            parts.append(data)
    parts.append(_BINARY_TRAILER)
    return b"".join(parts)


def copy_binary(table: str, columns: Sequence[str], data: bytes) -> None:
    """COPY ``data`` (see ``binary_rows``) into ``table``'s ``columns`` on the current connection.

    Logged the way Django's cursor logs a query (without the data), so tests counting
    queries see it; a refused row raises Django's own database errors.
    """
    copy_buffer(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)", data, note="data left out")
