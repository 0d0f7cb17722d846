"""Writing orders: the idempotent, set-based upsert of canonical orders.

An order is keyed by (store, external id), enforced by a unique constraint:
the same payload ingested twice, by pull and webhook at once or by two
workers, is one order. A payload replaces the stored order only when the
channel updated it later than the version we hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from channels.canonical import ChannelOrder
from orders.apportionment import apportion_order
from orders.models import pack_payload

_ORDER_COLUMNS = (
    "store_id", "external_id", "order_number", "buyer_name", "buyer_email", "buyer_phone",
    "ship_name", "ship_country", "ship_province", "ship_city", "ship_district", "ship_line1",
    "ship_line2", "ship_postal_code", "ship_phone", "currency", "subtotal", "discount_total",
    "shipping_total", "tax_total", "total", "financial_status", "fulfillment_status", "cancelled_at",
    "note", "tags", "placed_at", "channel_updated_at", "raw", "created", "updated",
)  # fmt: skip
_LINE_COLUMNS = (
    "order_id", "external_id", "position", "listing_sku", "title", "quantity", "unit_price",
    "line_discount", "discount_share", "shipping_share", "net_amount",
)  # fmt: skip
_ORDER_UPDATABLE = [c for c in _ORDER_COLUMNS if c not in {"store_id", "external_id", "created"}]
_LINE_UPDATABLE = [c for c in _LINE_COLUMNS if c not in {"order_id", "external_id"}]


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
        pack_payload(raw), now, now,
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


@dataclass
class PreparedOrders:
    """A batch of orders computed down to its rows, ready to write (see orders_prepare)."""

    store_id: int
    versions: dict[str, dt.datetime]  # external id -> the channel's updated_at, newest per order
    rows: dict[str, tuple]  # external id -> orders_order row, in external-id order
    lines: dict[str, list[tuple]]  # external id -> its lines' columns after order_id

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
        versions={key: newest[key][0].updated_at for key in keys},
        rows={key: _order_row(store_id, *newest[key], now) for key in keys},
        lines={key: _line_values(newest[key][0]) for key in keys},
    )


def _fresh(prepared: PreparedOrders) -> list[str]:
    """The external ids whose version is newer than what we hold (or that we do not hold).

    Only a shortcut (re-reads and overlap windows cost one SELECT instead of a
    write per order): the conditional upsert stays the authority when two
    writers race.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, channel_updated_at FROM orders_order WHERE store_id = %s AND external_id = ANY(%s)",
            [prepared.store_id, list(prepared.rows)],
        )
        stale = {key for key, stored in cursor.fetchall() if prepared.versions[key] <= stored}
    return [key for key in prepared.rows if key not in stale]


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
    keys = _fresh(prepared)
    if not keys:
        return UpsertResult(unchanged=received)
    rows = [prepared.rows[key] for key in keys]
    lines_of = prepared.lines

    result = UpsertResult()
    with transaction.atomic(), connection.cursor() as cursor:
        # Column names are the module's constants, never input.
        returned = execute_values(
            cursor.cursor,
            f"""
            INSERT INTO orders_order ({", ".join(_ORDER_COLUMNS)}) VALUES %s
            ON CONFLICT (store_id, external_id) DO UPDATE SET
                {", ".join(f"{c} = EXCLUDED.{c}" for c in _ORDER_UPDATABLE)}
            WHERE orders_order.channel_updated_at < EXCLUDED.channel_updated_at
            RETURNING id, external_id, (xmax = 0) AS inserted
            """,  # noqa: S608
            rows,
            template=None,
            page_size=1000,
            fetch=True,
        )
        line_rows: list[tuple] = []
        updated_ids: list[int] = []
        for order_id, external_id, inserted in returned:
            result.changed_ids[external_id] = order_id
            if inserted:
                result.created += 1
            else:
                result.updated += 1
                updated_ids.append(order_id)
            line_rows.extend((order_id, *values) for values in lines_of[external_id])
        result.unchanged = received - result.created - result.updated
        if line_rows:
            line_rows.sort(key=lambda row: (row[0], row[1]))
            execute_values(
                cursor.cursor,
                f"""
                INSERT INTO orders_orderline ({", ".join(_LINE_COLUMNS)}) VALUES %s
                ON CONFLICT (order_id, external_id) DO UPDATE SET
                    {", ".join(f"{c} = EXCLUDED.{c}" for c in _LINE_UPDATABLE)}
                """,  # noqa: S608
                line_rows,
                page_size=2000,
            )
        if updated_ids:
            updated_set = set(updated_ids)
            keep = [(row[0], row[1]) for row in line_rows if row[0] in updated_set]
            cursor.execute(
                """
                DELETE FROM orders_orderline l
                WHERE l.order_id = ANY(%s)
                  AND (l.order_id, l.external_id) NOT IN (SELECT * FROM unnest(%s::bigint[], %s::varchar[]))
                """,
                [updated_ids, [k[0] for k in keep], [k[1] for k in keep]],
            )
    return result
