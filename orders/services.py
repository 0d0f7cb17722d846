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

from core.bulk import execute_large
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
# A line as prepared: its order is not known by id yet, only by external id.
_LINE_JSON_COLUMNS = ("order_external_id", *_LINE_COLUMNS[1:])

# A page in one statement, one round trip: orders (newer versions only), their lines, and the lines
# the channel no longer sends. Rows arrive as JSON arrays of objects named like the columns, which
# PostgreSQL reads with the tables' own row types: encoding a row for it is one orjson call, and
# quoting a page is quoting two strings. Column names are the module's constants, never input.
_UPSERT = f"""
WITH incoming AS (
    SELECT r.*
    FROM json_populate_recordset(NULL::orders_order, %s::json) WITH ORDINALITY AS r
    -- A shortcut (re-reads and overlap windows then lock and write nothing): versions as new as the
    -- one we hold are left out here; the conditional upsert stays the authority when two writers race.
    WHERE NOT EXISTS (
        SELECT 1 FROM orders_order held
        WHERE held.store_id = r.store_id AND held.external_id = r.external_id
          AND held.channel_updated_at >= r.channel_updated_at
    )
), upserted AS (
    INSERT INTO orders_order ({", ".join(_ORDER_COLUMNS)})
    SELECT {", ".join(_ORDER_COLUMNS)} FROM incoming
    ORDER BY ordinality
    ON CONFLICT (store_id, external_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _ORDER_UPDATABLE)}
    WHERE orders_order.channel_updated_at < EXCLUDED.channel_updated_at
    RETURNING id, external_id, (xmax = 0) AS inserted
), incoming_lines AS (
    SELECT element.value ->> 'order_external_id' AS order_external_id, line.*
    FROM json_array_elements(%s::json) AS element,
         json_populate_record(NULL::orders_orderline, element.value) AS line
), written_lines AS (
    INSERT INTO orders_orderline ({", ".join(_LINE_COLUMNS)})
    SELECT upserted.id, {", ".join(f"l.{c}" for c in _LINE_COLUMNS[1:])}
    FROM incoming_lines l JOIN upserted ON upserted.external_id = l.order_external_id
    ORDER BY upserted.id, l.external_id
    ON CONFLICT (order_id, external_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _LINE_UPDATABLE)}
), removed_lines AS (
    DELETE FROM orders_orderline o USING upserted
    WHERE o.order_id = upserted.id AND NOT upserted.inserted
      AND NOT EXISTS (
          SELECT 1 FROM incoming_lines l
          WHERE l.order_external_id = upserted.external_id AND l.external_id = o.external_id
      )
)
SELECT id, external_id, inserted FROM upserted
"""  # noqa: S608


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # external id -> order id, for every order this call created or changed
    changed_ids: dict[str, int] = field(default_factory=dict)


def _clip(value: str, length: int) -> str:
    return (value or "")[:length]


def _order_row(store_id: int, order: ChannelOrder, raw: dict, now) -> tuple:
    address = order.shipping_address
    return (
        store_id, order.external_id, _clip(order.order_number, 64), _clip(order.buyer_name, 200),
        _clip(order.buyer_email, 254), _clip(order.buyer_phone, 64), _clip(address.name, 200),
        _clip(address.country, 2), _clip(address.province, 100), _clip(address.city, 100),
        _clip(address.district, 100), _clip(address.line1, 300), _clip(address.line2, 300),
        _clip(address.postal_code, 32), _clip(address.phone, 64), order.currency, order.subtotal,
        order.discount_total, order.shipping_total, order.tax_total, order.total,
        _clip(order.financial_status, 32), _clip(order.fulfillment_status, 32), order.cancelled_at,
        order.note or "", _clip(",".join(order.tags), 500), order.placed_at, order.updated_at,
        pack_payload(raw), now, now, order.refunded_total,
    )  # fmt: skip


def _line_values(order: ChannelOrder) -> list[tuple]:
    """The lines' columns after order_id, with the order's discount and shipping apportioned."""
    line_discounts = sum((line.line_discount for line in order.lines), Decimal(0))
    shares = apportion_order(
        lines=[(line.unit_price * line.quantity, line.line_discount) for line in order.lines],
        order_discount=order.discount_total - line_discounts,
        shipping=order.shipping_total,
        currency=order.currency,
    )
    return [
        (
            line.external_id,
            position,
            _clip(line.listing_sku, 120),
            _clip(line.title, 300),
            line.quantity,
            line.unit_price,
            line.line_discount,
            share.order_discount_share,
            share.shipping_share,
            share.net,
        )
        for position, (line, share) in enumerate(zip(order.lines, shares, strict=True), start=1)
    ]


def _json_value(value) -> str:
    # What orjson leaves to us; PostgreSQL reads both back from text exactly.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's hex input format
    raise TypeError(f"cannot write {type(value).__name__} to an order row")


def _json_row(columns: Sequence[str], values: Sequence) -> str:
    """One row as the JSON object json_populate_record reads: column name to value."""
    return orjson.dumps(dict(zip(columns, values, strict=True)), default=_json_value).decode()


@dataclass
class PreparedOrders:
    """A batch of orders computed down to its rows, ready to write (see orders_prepare).

    Rows are already encoded as JSON objects (see orders_write): encoding is
    most of the Python work of a write, and a sync prepares on its helper thread.
    """

    store_id: int
    rows: dict[str, str]  # external id -> its orders_order row as a JSON object, in external-id order
    lines: dict[str, list[str]]  # external id -> its orders_orderline rows as JSON objects (with order_external_id)

    def __len__(self) -> int:
        return len(self.rows)


def orders_prepare(*, store_id: int, orders: Sequence[tuple[ChannelOrder, dict]]) -> PreparedOrders:
    """Everything the upsert computes before it writes: newest version per order, rows, apportioned lines.

    Runs no query, so a sync can prepare its next page on another thread while
    this one writes. Raises ValueError (from apportionment) for amounts that
    cannot be spread; callers normalise first, so that is a bug, not bad input.
    """
    newest: dict[str, tuple[ChannelOrder, dict]] = {}
    for order, raw in orders:
        held = newest.get(order.external_id)
        if held is None or order.updated_at > held[0].updated_at:
            newest[order.external_id] = (order, raw)
    now = timezone.now()
    keys = sorted(newest)
    return PreparedOrders(
        store_id=store_id,
        rows={key: _json_row(_ORDER_COLUMNS, _order_row(store_id, *newest[key], now)) for key in keys},
        lines={
            key: [_json_row(_LINE_JSON_COLUMNS, (key, *values)) for values in _line_values(newest[key][0])]
            for key in keys
        },
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


def orders_write(prepared: PreparedOrders) -> UpsertResult:
    """Write a prepared batch (see orders_upsert). Rows go in external-id order so two
    concurrent batches lock them in the same order and cannot deadlock."""
    received = len(prepared)
    if not received:
        return UpsertResult()
    orders_json = "[" + ",".join(prepared.rows.values()) + "]"
    lines_json = "[" + ",".join(line for lines in prepared.lines.values() for line in lines) + "]"

    result = UpsertResult()
    with transaction.atomic(), connection.cursor() as cursor:
        execute_large(cursor, _UPSERT, [orders_json, lines_json])
        for order_id, external_id, inserted in cursor.fetchall():
            result.changed_ids[external_id] = order_id
            if inserted:
                result.created += 1
            else:
                result.updated += 1
        result.unchanged = received - result.created - result.updated
    return result
