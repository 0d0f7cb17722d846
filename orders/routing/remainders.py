"""Remainder routing: what is left of an order some of whose lines a supplier already accepted or shipped.

Those lines are left alone; only what no live dispatch line covers (lines of
rejected dispatches, lines that found no source) is routed, one synthetic
line per product, without hold or gift rules: the order passed review when it
was first routed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import NamedTuple

from orders.routing.core import engine
from orders.routing.core.rules import GIFT, HOLD
from orders.routing.core.types import (
    Catalog,
    Component,
    LineSnapshot,
    ListingTarget,
    OrderSnapshot,
    RoutingResult,
    RuleSet,
    StockLedger,
)
from suppliers.dispatches import LIVE, StoredLine
from suppliers.models import Dispatch

D = Dispatch.Status


class Remainder(NamedTuple):
    """One product of an order still to route, and how many."""

    order_line_id: int | None
    product_id: int
    is_gift: bool
    quantity: int
    listing_sku: str


def line_key(order_line_id: int | None, product_id: int, is_gift: bool) -> tuple:
    return (order_line_id, product_id, is_gift)


def without(ruleset: RuleSet, kinds: set[str]) -> RuleSet:
    """The rule set less the rules of these kinds."""
    return RuleSet(version=ruleset.version, rules=tuple(r for r in ruleset.rules if r.kind not in kinds))


def synthetic_sku(product_id: int) -> str:
    # A listing key no channel can send (a NUL byte): routes one unit of a product per unit of the line.
    return f"\x00{product_id}"


def remainder_of(*, stored: list[StoredLine], current_lines: list[dict]) -> list[Remainder]:
    """What of an order no live dispatch line covers: rejected lines and lines that found no source."""
    wanted: dict[tuple, tuple[int, str]] = {}

    def want(key: tuple, quantity: int, sku: str) -> None:
        held = wanted.get(key)
        if held is None or held[0] < quantity:
            wanted[key] = (quantity, sku)

    for line in stored:
        if line.status == D.REJECTED:
            want(line_key(line.order_line_id, line.product_id, line.is_gift), line.quantity, line.listing_sku)
    for item in current_lines:
        if item.get("source_id") is None and item.get("product_id") is not None:
            key = line_key(item.get("line_id"), item["product_id"], bool(item.get("is_gift")))
            want(key, int(item["quantity"]), item.get("listing_sku") or "")
    covered: dict[tuple, int] = defaultdict(int)
    for line in stored:
        if line.status in LIVE:
            covered[line_key(line.order_line_id, line.product_id, line.is_gift)] += line.quantity
    left = []
    for key, (quantity, sku) in sorted(wanted.items(), key=lambda kv: tuple(-1 if v is None else v for v in kv[0])):
        rest = quantity - covered.get(key, 0)
        if rest > 0:
            left.append(Remainder(key[0], key[1], key[2], rest, sku))
    return left


def remainders_route(
    remainders: Mapping[int, list[Remainder]],
    *,
    snapshots: Mapping[int, OrderSnapshot],
    ruleset: RuleSet,
    catalog: Catalog,
    ledger: StockLedger,
    excluded: Mapping[int, frozenset[int]],
    now: dt.datetime,
) -> list[tuple[RoutingResult, dict[int, Remainder]]]:
    """Route what is left of partly accepted orders: one synthetic line per product, no hold or gift rules.

    Each result comes with its remainder by synthetic line id, to map the decisions back to the order's lines.
    """
    if not remainders:
        return []
    synthetic = {
        synthetic_sku(r.product_id): ListingTarget(components=(Component(r.product_id, 1),))
        for left in remainders.values()
        for r in left
    }
    catalog = replace(catalog, listings={**catalog.listings, **synthetic})
    snaps = [
        replace(
            snapshots[pk],
            lines=tuple(
                LineSnapshot(i, synthetic_sku(r.product_id), r.quantity, Decimal(0), Decimal(0))
                for i, r in enumerate(left)
            ),
        )
        for pk, left in remainders.items()
    ]
    results = engine.route_batch(
        orders=snaps,
        ruleset=without(ruleset, {HOLD, GIFT}),
        catalog=catalog,
        stock=ledger,
        now=now,
        exclude_sources=excluded,
    )
    return [(result, dict(enumerate(remainders[result.order_id]))) for result in results]
