"""A payload as an adapter hands it to the ingest: a decoded document (a dict), or an order's bytes as received.

Where an adapter reads response bodies itself (Shopify), each order comes as a
``RawPayload``: its JSON exactly as the channel sent it, which is what Relay
stores (never dumped again), and what the adapter decoded of it for
normalising. Other adapters hand dicts, as they always did.
"""

from __future__ import annotations

from typing import Any

import orjson


class RawPayload:
    """One order's JSON as the channel sent it (``data``, bytes-like, kept as it came for the stored copy) and
    what the adapter decoded of it for normalising (``decoded``: its own structs, or None to read ``data``)."""

    __slots__ = ("data", "decoded")

    def __init__(self, data: bytes | memoryview, decoded: Any = None):
        self.data = data
        self.decoded = decoded


def payload_stored(payload: Any) -> Any:
    """What is stored of a payload as the order's raw copy: a RawPayload's bytes, a document as it is."""
    return payload.data if isinstance(payload, RawPayload) else payload


def payload_document(payload: Any) -> Any:
    """A payload as a document (for quarantine and reading): a dict as it is, a RawPayload's JSON decoded.

    Bytes that are not JSON become ``{"unreadable": <their text>}``, so they can still be kept and shown.
    """
    if not isinstance(payload, RawPayload):
        return payload
    data = bytes(payload.data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return {"unreadable": data.decode("utf-8", errors="replace")[:100_000]}
