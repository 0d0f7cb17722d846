"""Builders for the pure routing engine's tests: the catalog, stock, rules and orders as plain data, no database."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

from orders.routing.core import (
    AddressSnapshot,
    Catalog,
    Component,
    LineSnapshot,
    ListingTarget,
    OrderSnapshot,
    Product,
    Region,
    RoutingResult,
    Rule,
    RuleSet,
    Source,
    StockLedger,
    SupplierRecord,
    route_order,
)

T = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
OWN = None  # the own warehouse has no supplier


def address(**overrides) -> AddressSnapshot:
    values = {
        "country": "US",
        "province": "CA",
        "city": "Springfield",
        "district": "",
        "line1": "1 Main St",
        "postal_code": "94000",
        "name": "Ada Lovelace",
        "phone": "555-0100",
    }
    return AddressSnapshot(**(values | overrides))


def order(
    *lines: tuple[str, int],
    order_id: int = 1,
    placed_at: dt.datetime = T,
    total: str = "100.00",
    **overrides,
) -> OrderSnapshot:
    """An order whose lines are (listing SKU, quantity); line ids are order_id * 100 + position."""
    lines = lines or (("SKU-A", 1),)
    values = {
        "store_id": 1,
        "channel": "shopify",
        "currency": "USD",
        "buyer_note": "",
        "tags": (),
        "buyer_email": "ada@example.com",
        "address": address(),
    }
    return OrderSnapshot(
        order_id=order_id,
        total=Decimal(total),
        placed_at=placed_at,
        lines=tuple(
            LineSnapshot(order_id * 100 + n, sku, qty, Decimal("10.00"), Decimal("10.00") * qty)
            for n, (sku, qty) in enumerate(lines, 1)
        ),
        **(values | overrides),
    )


def source(
    source_id: int,
    product_id: int = 1,
    *,
    position: int | None = None,
    supplier: int | None = OWN,
    cost: str = "10.00",
    currency: str = "USD",
    regions: tuple[Region, ...] = (),
    active: bool = True,
) -> Source:
    return Source(
        source_id=source_id,
        product_id=product_id,
        position=source_id if position is None else position,
        supplier_id=supplier,
        cost_price=Decimal(cost),
        currency=currency,
        regions=regions,
        lead_time_days=2,
        active=active,
    )


def catalog(
    *sources: Source,
    listings: dict[str, tuple[tuple[int, int], ...]] | None = None,
    inactive_products: tuple[int, ...] = (),
    records: tuple[SupplierRecord, ...] = (),
) -> Catalog:
    """Products 1..9 as SKU-A..SKU-I, each listed under its own SKU, plus any extra listings given."""
    products = {pid: Product(pid, f"P{pid}", f"Product {pid}", pid not in inactive_products) for pid in range(1, 10)}
    mapped = {f"SKU-{string.ascii_uppercase[pid - 1]}": ((pid, 1),) for pid in products}
    mapped |= listings or {}
    by_product: dict[int, tuple[Source, ...]] = {}
    for s in sources:
        by_product[s.product_id] = (*by_product.get(s.product_id, ()), s)
    return Catalog(
        listings={sku: ListingTarget(tuple(Component(p, q) for p, q in comps)) for sku, comps in mapped.items()},
        products=products,
        sources=by_product,
        supplier_records={r.supplier_id: r for r in records},
    )


def rule(kind: str, rule_id: int = 1, enabled: bool = True, name: str = "", **params) -> Rule:
    return Rule(rule_id=rule_id, kind=kind, enabled=enabled, params=params, name=name)


def ruleset(*rules: Rule, version: int = 1) -> RuleSet:
    return RuleSet(version=version, rules=rules)


def route(o: OrderSnapshot, cat: Catalog, *rules: Rule, stock: StockLedger | None = None, **kwargs) -> RoutingResult:
    return route_order(order=o, ruleset=ruleset(*rules), catalog=cat, stock=stock or StockLedger(), now=T, **kwargs)


def codes(reasons) -> list[str]:
    return [r.code for r in reasons]


def verdicts(result: RoutingResult, line: int = 0) -> dict[int, list[str]]:
    """Source id -> reason codes of every source considered for one line."""
    return {v.source_id: codes(v.reasons) for v in result.lines[line].considered}


def two_supplier_catalog(**kwargs) -> Catalog:
    """Product 1: supplier 1 then 2; product 2: supplier 3 then 2. Only supplier 2 has both."""
    return catalog(
        source(1, 1, position=1, supplier=1),
        source(2, 1, position=2, supplier=2),
        source(3, 2, position=1, supplier=3),
        source(4, 2, position=2, supplier=2),
        **kwargs,
    )


def gift(rule_id: int = 7, **overrides) -> Rule:
    params = {
        "product_id": 1,
        "min_quantity": 2,
        "gift_product_id": 9,
        "gift_quantity": 1,
        "starts": None,
        "ends": None,
        "per_order_cap": None,
    }
    return Rule(rule_id, "gift", True, params | overrides, name="Buy 2 get a tote")
