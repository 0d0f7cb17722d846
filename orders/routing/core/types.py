"""What the routing engine reads and what it returns.

Everything here is plain data: the model layer loads a batch's catalog, stock
and rule set into these once, the engine decides, and the model layer stores
the results. Nothing here touches the database.

Reasons are codes with string parameters, not sentences, so a stored decision
can be rendered later in any language; ``describe`` is the English rendering.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

# ---------------------------------------------------------------------------
# Order


@dataclass(frozen=True, slots=True)
class AddressSnapshot:
    country: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    line1: str = ""
    postal_code: str = ""
    name: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    line_id: int
    listing_sku: str
    quantity: int
    unit_price: Decimal
    net_amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    order_id: int
    store_id: int
    channel: str
    currency: str
    total: Decimal
    placed_at: dt.datetime  # aware
    buyer_note: str
    tags: tuple[str, ...]
    buyer_email: str
    address: AddressSnapshot
    lines: tuple[LineSnapshot, ...]


# ---------------------------------------------------------------------------
# Catalog


@dataclass(frozen=True, slots=True)
class Component:
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class ListingTarget:
    """What one listing SKU ships: one component of quantity 1 is a plain mapping, anything else a bundle."""

    components: tuple[Component, ...]

    @property
    def is_bundle(self) -> bool:
        return len(self.components) != 1 or self.components[0].quantity != 1


@dataclass(frozen=True, slots=True)
class Product:
    product_id: int
    sku: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Region:
    country: str
    province: str = ""  # "" = the whole country


@dataclass(frozen=True, slots=True)
class Source:
    source_id: int
    product_id: int
    position: int  # place on the product's source path, 1 = first
    supplier_id: int | None  # None = own warehouse
    cost_price: Decimal
    currency: str
    regions: tuple[Region, ...] = ()  # empty = serves everywhere
    lead_time_days: int = 0
    active: bool = True
    supplier_active: bool = True  # a deactivated supplier gets no new dispatches


@dataclass(frozen=True, slots=True)
class SupplierRecord:
    supplier_id: int
    on_time_rate: float  # 0..1, from the supplier portal
    rejection_rate: float  # 0..1
    shipped: int  # dispatches the rates are based on; 0 = no record yet


@dataclass(frozen=True, slots=True)
class Catalog:
    listings: Mapping[str, ListingTarget]
    products: Mapping[int, Product]
    sources: Mapping[int, tuple[Source, ...]]  # by product id, any order
    supplier_records: Mapping[int, SupplierRecord] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Stock


class InsufficientStock(ValueError):
    """A reservation that would take a source's available quantity below zero."""


class StockLedger:
    """Available quantity per source, consumed as a batch is routed.

    A source with no row is not tracked: routing assumes it can ship and says so
    in the explanation. A row of 0 means none. The ledger is the batch's working
    copy; the model layer writes ``reserved`` back with ``F()`` updates.
    """

    __slots__ = ("_available", "_reserved")

    def __init__(self, available: Mapping[int, int] | None = None) -> None:
        self._available: dict[int, int] = dict(available or {})
        self._reserved: dict[int, int] = {}

    def available(self, source_id: int) -> int | None:
        return self._available.get(source_id)

    def reserve(self, source_id: int, quantity: int) -> None:
        """Take ``quantity`` from a tracked source; untracked sources have nothing to take.

        Raises InsufficientStock (and changes nothing) when the source has less.
        """
        if quantity <= 0:
            raise ValueError(f"Reservation quantity must be positive, got {quantity}.")
        have = self._available.get(source_id)
        if have is None:
            return
        if have < quantity:
            raise InsufficientStock(f"Source {source_id} has {have} available, cannot reserve {quantity}.")
        self._available[source_id] = have - quantity
        self._reserved[source_id] = self._reserved.get(source_id, 0) + quantity

    def release(self, source_id: int, quantity: int) -> None:
        """Give back a reservation (rejection, cancellation); untracked sources ignore it."""
        if quantity <= 0:
            raise ValueError(f"Release quantity must be positive, got {quantity}.")
        have = self._available.get(source_id)
        if have is None:
            return
        self._available[source_id] = have + quantity
        self._reserved[source_id] = self._reserved.get(source_id, 0) - quantity

    @property
    def reserved(self) -> dict[int, int]:
        """Net quantity reserved per tracked source since the ledger was made (a copy)."""
        return {source_id: qty for source_id, qty in self._reserved.items() if qty}


# ---------------------------------------------------------------------------
# Rules


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: int
    kind: str  # hold, gift, sourcing, split, merge
    enabled: bool
    params: Mapping[str, Any]
    name: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: int
    rules: tuple[Rule, ...]  # in the order the merchant put them


# ---------------------------------------------------------------------------
# Results

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    params: Mapping[str, str] = field(default_factory=lambda: _NO_PARAMS)


@dataclass(frozen=True, slots=True)
class SourceVerdict:
    source_id: int
    supplier_id: int | None
    chosen: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class LineDecision:
    """One product to ship for one order line, after bundle expansion; gift lines have no line_id."""

    line_id: int | None
    product_id: int | None  # None only when the listing SKU is unmapped
    quantity: int
    is_gift: bool
    source_id: int | None
    supplier_id: int | None
    unit_cost: Decimal | None
    cost_currency: str | None
    considered: tuple[SourceVerdict, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class RoutingResult:
    order_id: int
    ruleset_version: int
    held: bool
    hold_reasons: tuple[Reason, ...]
    fired_rule_ids: tuple[int, ...]
    lines: tuple[LineDecision, ...]
    merge_key: str | None
    merge_window_hours: int | None
    routed_at: dt.datetime


# ---------------------------------------------------------------------------
# Plain-English rendering

STRATEGY_LABELS = {
    "path_order": "source path order",
    "cheapest": "cheapest cost",
    "region_first": "region first",
    "in_stock_first": "in-stock first",
    "best_record": "best supplier record",
}

# str.format_map templates; the *_label keys are derived in _labelled().
REASON_TEXTS: dict[str, str] = {
    # a source on the path
    "chosen": "Chosen by {strategy_label}.",
    "inactive": "The source is inactive.",
    "supplier_inactive": "The supplier is deactivated.",
    "region_not_served": "Does not serve {region}.",
    "no_stock": "Not enough stock: {available} available, {needed} needed.",
    "rejected_before": "The supplier already rejected this order from this source.",
    "costlier": "Costs {cost} {currency}, more than the chosen {chosen_cost} {currency}.",
    "other_currency": "Priced in {currency}, which cannot be compared with the chosen source's {chosen_currency}.",
    "later_on_path": "Comes later on the source path (position {position}) than the chosen source (position {chosen_position}).",
    "worse_record": "{supplier_label} has a worse record ({rejection_rate} rejected, {on_time_rate} on time) than {chosen_supplier_label} ({chosen_rejection_rate} rejected, {chosen_on_time_rate} on time).",
    "no_record": "{supplier_label} has no shipping record yet; suppliers with a record rank first.",
    "less_specific_region": "Serves {scope}, while the chosen source names the order's {chosen_scope}.",
    "stock_not_confirmed": "Stock is not tracked here; a source with confirmed stock ranks first.",
    "not_whole_order_supplier": "The whole order goes to {chosen_supplier_label}, not {supplier_label}.",
    "stock_not_tracked": "Stock of source #{source} is not tracked; assumed available.",
    # a line
    "routed": "Routed to {supplier_label} (source #{source}, position {position}) by {strategy_label}.",
    "bundle_component": "Part of bundle {listing_sku}: {per_bundle} per bundle × {bundles}.",
    "gift_added": "Gift of {quantity} × product #{product} from {rule_label}: bought {bought} of product #{for_product}.",
    "whole_order_supplier": "The whole order ships from {supplier_label}.",
    "whole_order_impossible": "No single supplier can ship the whole order, so it is split.",
    "no_source_left": "No source left for {product}.",
    "nothing_to_ship": "The line has no quantity to ship.",
    "unmapped_sku": "Listing SKU {listing_sku} is not mapped to a product.",
    "product_inactive": "Product {product} is inactive.",
    "product_unknown": "Product #{product_id} is not in the catalog.",
    # an order held for review
    "hold_total_above": "{rule_label}: order total {total} {currency} is above {limit}.",
    "hold_address_incomplete": "{rule_label}: the address is missing {missing}.",
    "hold_note_contains": "{rule_label}: the buyer note contains “{words}”.",
    "hold_channel": "{rule_label}: the order came from channel {channel}.",
    "hold_store": "{rule_label}: the order came from store #{store}.",
    "hold_tag": "{rule_label}: the order is tagged {tags}.",
    "rule_invalid": "{rule_label} cannot be applied ({problem}); held to be safe.",
}


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _supplier_label(value: str | None) -> str:
    if value is None:
        return "?"
    return f"supplier #{value}" if value else "own warehouse"


def _labelled(params: Mapping[str, str]) -> _Missing:
    values = _Missing(params)
    values["supplier_label"] = _supplier_label(params.get("supplier"))
    values["chosen_supplier_label"] = _supplier_label(params.get("chosen_supplier"))
    values["strategy_label"] = STRATEGY_LABELS.get(params.get("strategy", ""), params.get("strategy", "?"))
    rule, name = params.get("rule", ""), params.get("rule_name", "")
    values["rule_label"] = f"Rule “{name}”" if name else (f"Rule #{rule}" if rule else "Always")
    country, province = params.get("country", ""), params.get("province", "")
    values["region"] = f"{province}, {country}" if province else (country or "an address without a country")
    return values


def describe(reason: Reason) -> str:
    """The reason as one English sentence (unknown codes fall back to the code and its parameters)."""
    template = REASON_TEXTS.get(reason.code)
    if template is None:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(reason.params.items()))
        return f"{reason.code} ({detail})" if detail else reason.code
    text = template.format_map(_labelled(reason.params))
    return text[:1].upper() + text[1:]
