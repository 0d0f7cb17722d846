"""Writing orders: the idempotent, set-based upsert of canonical orders.

An order is keyed by (store, external id), enforced by a unique constraint:
the same payload ingested twice, by pull and webhook at once or by two
workers, is one order. A payload replaces the stored order only when the
channel updated it later than the version we hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from django.db import connection, transaction
from django.utils import timezone

from core.bulk import LAZY_COMMIT_SQL
from core.copy import binary_rows, copy_binary
from orders.apportionment import apportion_order
from orders.canonical import ChannelOrder
from orders.models import pack_payload

_ORDER_COLUMNS = (
    "store_id", "external_id", "order_number", "buyer_name", "buyer_email", "buyer_phone",
    "ship_name", "ship_country", "ship_province", "ship_city", "ship_district", "ship_line1",
    "ship_line2", "ship_postal_code", "ship_phone", "currency", "subtotal", "discount_total",
    "shipping_total", "tax_total", "total", "financial_status", "fulfillment_status", "cancelled_at",
    "note", "tags", "placed_at", "channel_updated_at", "raw", "created", "updated", "refunded_total",
)  # fmt: skip
_LINE_COLUMNS = (
    "order_id", "external_id", "position", "listing_sku", "title", "quantity", "unit_price",
    "line_discount", "discount_share", "shipping_share", "net_amount",
)  # fmt: skip
_ORDER_UPDATABLE = [c for c in _ORDER_COLUMNS if c not in {"store_id", "external_id", "created"}]
_LINE_UPDATABLE = [c for c in _LINE_COLUMNS if c not in {"order_id", "external_id"}]
# Staged inside a JSON document and read back as text (->>) with these casts; the columns not named
# are text-like (varchar takes text as it is).
_CASTS = {
    "store_id": "bigint", "subtotal": "numeric", "discount_total": "numeric", "shipping_total": "numeric",
    "tax_total": "numeric", "total": "numeric", "refunded_total": "numeric", "cancelled_at": "timestamptz",
    "placed_at": "timestamptz", "channel_updated_at": "timestamptz", "created": "timestamptz",
    "updated": "timestamptz", "position": "integer", "quantity": "integer", "unit_price": "numeric",
    "line_discount": "numeric", "discount_share": "numeric", "shipping_share": "numeric", "net_amount": "numeric",
}  # fmt: skip


def _cast(expression: str, column: str) -> str:
    cast = _CASTS.get(column)
    return f"({expression})::{cast}" if cast else expression


# A page goes into one temporary staging table (made once per connection, emptied at every commit)
# by one binary COPY, an order a row of two values: its columns (but raw) and its lines as one JSON
# array (one orjson call, not a value at a time; PostgreSQL reads it back as jsonb), and its raw
# payload as bytea (the bytes as the channel sent them, compressed: no hex to write or parse). One
# statement then merges it: orders (newer versions only) and their lines (the lines the channel no
# longer sends go in a second statement, _REMOVED_LINES); it empties the staging table itself, so a
# page written inside a longer transaction (a test, a webhook) leaves nothing for the next one. Column
# names are the module's constants, never input.
_STAGE = "pg_temp.relay_ingest_order"
_STAGE_COLUMNS = ("doc", "raw")
_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS relay_ingest_order (doc text, raw bytea)"
    # Rows stay whole up to a page: no compressing lz4 again, no TOAST rows to write and delete.
    " WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS"
)
# Where each column sits in the staged document: the order's columns but raw, then the lines' array.
_DOC_COLUMNS = tuple(c for c in _ORDER_COLUMNS if c != "raw")
_DOC_LINES = len(_DOC_COLUMNS)
_INCOMING = f"""
    SELECT {", ".join(_cast(f"d ->> {n}", c) + f" AS {c}" for n, c in enumerate(_DOC_COLUMNS))},
           raw, d -> {_DOC_LINES} AS lines
    -- OFFSET 0 keeps the subquery whole: flattened, every column would parse the document again.
    FROM (SELECT doc::jsonb AS d, raw FROM {_STAGE} OFFSET 0) AS staged
"""  # noqa: S608
_MERGE = f"""
WITH incoming AS ({_INCOMING}), upserted AS (
    -- No shortcut for versions as new as the one held: the caller skipped those before preparing them
    -- (a query that sees an older state is still right: versions held only grow), and the conditional
    -- upsert is the authority when two writers race.
    INSERT INTO orders_order ({", ".join(_ORDER_COLUMNS)})
    SELECT {", ".join(_ORDER_COLUMNS)} FROM incoming
    -- Every writer locks rows in this one order, so two writers of overlapping pages cannot deadlock.
    ORDER BY external_id COLLATE "C"
    ON CONFLICT (store_id, external_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _ORDER_UPDATABLE)}
    WHERE orders_order.channel_updated_at < EXCLUDED.channel_updated_at
    RETURNING id, external_id, (xmax = 0) AS inserted
), incoming_lines AS (
    SELECT s.external_id AS order_external_id,
           {", ".join(_cast(f"line ->> {n}", c) + f" AS {c}" for n, c in enumerate(_LINE_COLUMNS[1:]))}
    FROM incoming s, jsonb_array_elements(s.lines) AS line
), new_lines AS (
    -- The lines of an order this statement inserted: its id is new, no line of it can exist yet.
    INSERT INTO orders_orderline ({", ".join(_LINE_COLUMNS)})
    SELECT upserted.id, {", ".join(f"l.{c}" for c in _LINE_COLUMNS[1:])}
    FROM incoming_lines l JOIN upserted ON upserted.external_id = l.order_external_id AND upserted.inserted
), replaced_lines AS (
    INSERT INTO orders_orderline ({", ".join(_LINE_COLUMNS)})
    SELECT upserted.id, {", ".join(f"l.{c}" for c in _LINE_COLUMNS[1:])}
    FROM incoming_lines l JOIN upserted ON upserted.external_id = l.order_external_id AND NOT upserted.inserted
    ORDER BY upserted.id, l.external_id COLLATE "C"
    ON CONFLICT (order_id, external_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _LINE_UPDATABLE)}
), emptied AS (
    DELETE FROM {_STAGE}
)
-- For an order replaced, the external ids of the lines it now has: the lines it had besides go next.
SELECT u.id, u.external_id, u.inserted, CASE WHEN NOT u.inserted THEN ARRAY(
    SELECT l.external_id FROM incoming_lines l WHERE l.order_external_id = u.external_id
) END
FROM upserted u
"""  # noqa: S608


# The lines the channel no longer sends, of the orders the merge replaced, in a statement of its own: a
# statement reads the rows committed when it began, and the merge may have waited on a writer of the same
# order (a webhook and a pull at once) that committed since: lines of that writer, deleted by the merge
# itself, would be invisible to it and stay, mixed with the newer version's. (= ANY of an array: an index
# scan, whatever the planner guesses.)
_REMOVED_LINES = """
DELETE FROM orders_orderline o
WHERE o.order_id = ANY(%(orders)s::bigint[])
  AND NOT EXISTS (
      SELECT 1 FROM unnest(%(kept_orders)s::bigint[], %(kept_lines)s::text[]) AS kept(order_id, external_id)
      WHERE kept.order_id = o.order_id AND kept.external_id = o.external_id
  )
"""


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # external id -> order id, for every order this call created or changed
    changed_ids: dict[str, int] = field(default_factory=dict)


def _json_default(value) -> str:
    # What orjson leaves to us: a Decimal that _staged_row did not turn to text itself (none should).
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot stage {type(value).__name__}")


def _staged_row(store_id: int, order: ChannelOrder, raw, now) -> tuple[bytes, bytes]:
    """The staged row of one order: its columns (_DOC_COLUMNS) then its lines as one JSON array, and raw.

    Texts are clipped to their columns and amounts written as text (PostgreSQL reads them back exactly)
    right here, inline: a function call per text and orjson calling back for each Decimal took about a
    tenth of this row's time.
    """
    a = order.shipping_address
    doc = (
        store_id, order.external_id, (order.order_number or "")[:64], (order.buyer_name or "")[:200],
        (order.buyer_email or "")[:254], (order.buyer_phone or "")[:64], (a.name or "")[:200],
        (a.country or "")[:2], (a.province or "")[:100], (a.city or "")[:100], (a.district or "")[:100],
        (a.line1 or "")[:300], (a.line2 or "")[:300], (a.postal_code or "")[:32], (a.phone or "")[:64],
        order.currency, str(order.subtotal), str(order.discount_total), str(order.shipping_total),
        str(order.tax_total), str(order.total), (order.financial_status or "")[:32],
        (order.fulfillment_status or "")[:32], order.cancelled_at, order.note or "", ",".join(order.tags)[:500],
        order.placed_at, order.updated_at, now, now, str(order.refunded_total), _line_values(order),
    )  # fmt: skip
    return orjson.dumps(doc, default=_json_default), pack_payload(raw)


def _line_values(order: ChannelOrder) -> list[tuple]:
    """The lines' columns after order_id, with the order's discount and shipping apportioned."""
    lines = order.lines
    line_discounts = sum((line.line_discount for line in lines), Decimal(0))
    shares = apportion_order(
        lines=[(line.unit_price * line.quantity, line.line_discount) for line in lines],
        order_discount=order.discount_total - line_discounts,
        shipping=order.shipping_total,
        currency=order.currency,
    )
    return [
        (
            line.external_id,
            position,
            (line.listing_sku or "")[:120],
            (line.title or "")[:300],
            line.quantity,
            str(line.unit_price),
            str(line.line_discount),
            str(share.order_discount_share),
            str(share.shipping_share),
            str(share.net),
        )
        for position, (line, share) in enumerate(zip(lines, shares, strict=True), start=1)
    ]


@dataclass
class PreparedOrders:
    """A batch of orders computed down to its rows, ready to write (see orders_prepare).

    Rows are already encoded as COPY reads them (see orders_write): encoding is
    most of the Python work of a write, and a sync prepares on its helper thread.
    """

    store_id: int
    external_ids: list[str]  # in external-id order
    versions: list  # each order's channel update time, in the same order
    staged: bytes  # the orders (lines inside) in COPY's binary format, for the staging table (_STAGE_COLUMNS)

    def __len__(self) -> int:
        return len(self.external_ids)


def orders_prepare(*, store_id: int, orders: Sequence[tuple[ChannelOrder, object]]) -> PreparedOrders:
    """Everything the upsert computes before it writes: newest version per order, rows, apportioned lines.

    Each order comes with its raw payload: the document (a dict) or the JSON bytes the channel sent
    (bytes or memoryview, stored as they are; see pack_payload). Runs no query, so a sync can prepare
    its next page on another thread while this one writes. Raises ValueError (from apportionment) for
    amounts that cannot be spread; callers normalise first, so that is a bug, not bad input.
    """
    newest: dict[str, tuple[ChannelOrder, object]] = {}
    for order, raw in orders:
        held = newest.get(order.external_id)
        if held is None or order.updated_at > held[0].updated_at:
            newest[order.external_id] = (order, raw)
    now = timezone.now()
    keys = sorted(newest)
    rows = (_staged_row(store_id, *newest[key], now) for key in keys)
    return PreparedOrders(
        store_id=store_id,
        external_ids=keys,
        versions=[newest[key][0].updated_at for key in keys],
        staged=binary_rows(rows, width=len(_STAGE_COLUMNS)),
    )


def orders_upsert(*, store_id: int, orders: Sequence[tuple[ChannelOrder, dict]]) -> UpsertResult:
    """Insert new orders and replace older versions of known ones, in one transaction.

    ``orders`` pairs each canonical order with its raw payload (kept for audit
    and replay). Within one call the newest version of an order wins. An order
    whose stored version is as new or newer is left untouched (``unchanged``).
    Lines are upserted by (order, external id) and lines the channel no longer
    sends are removed.
    """
    return orders_write(orders_prepare(store_id=store_id, orders=orders))


def orders_write(prepared: PreparedOrders, *, durable: bool = True) -> UpsertResult:
    """Write a prepared batch (see orders_upsert): one COPY into the staging table, then one merge (and,
    when it replaced orders, one statement removing the lines their new versions no longer have).

    Rows are locked in external-id order so two concurrent batches cannot deadlock. ``durable=False``
    commits the transaction lazily (core.bulk.commit_lazily: for rows a re-pull derives again).
    Joins the caller's transaction when there is one (no savepoint: a failure fails it whole).
    """
    received = len(prepared)
    if not received:
        return UpsertResult()
    result = UpsertResult()
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # One round trip before the COPY: the staging table, and the lazy commit if asked.
            cursor.execute(_STAGING_DDL if durable else f"{LAZY_COMMIT_SQL}; {_STAGING_DDL}")
        copy_binary(_STAGE, _STAGE_COLUMNS, prepared.staged)
        replaced, kept_orders, kept_lines = [], [], []
        with connection.cursor() as cursor:
            cursor.execute(_MERGE)
            for order_id, external_id, inserted, lines in cursor.fetchall():
                result.changed_ids[external_id] = order_id
                if inserted:
                    result.created += 1
                else:
                    result.updated += 1
                    replaced.append(order_id)
                    kept_orders += [order_id] * len(lines)
                    kept_lines += lines
            if replaced:
                cursor.execute(
                    _REMOVED_LINES, {"orders": replaced, "kept_orders": kept_orders, "kept_lines": kept_lines}
                )
        result.unchanged = received - result.created - result.updated
    return result


def orders_statistics_refresh() -> None:
    """ANALYZE the orders table (a sample of at most 30,000 rows), unless a VACUUM or another ANALYZE holds
    it: with SKIP_LOCKED it never waits, and a table busy with autovacuum is left to it."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE (SKIP_LOCKED) orders_order")
