"""Routing rules as data: validation for the rule editor, compilation for the engine, sourcing strategies.

A stored rule is a kind plus JSON-shaped params. ``validate_rule`` says in
plain words what is wrong with one; ``compile_rules`` turns a rule set into
the small callables the engine runs per order. A sourcing strategy is a name
mapped to a pure sort key and a pure "why not this one" explanation.

Of the sourcing, split and merge rules only the first enabled one of each kind
applies: they have no condition, so a later one could never be reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orders.routing.core.types import (
    OrderSnapshot,
    Reason,
    Rule,
    RuleSet,
    Source,
    SupplierRecord,
)

HOLD, GIFT, SOURCING, SPLIT, MERGE = "hold", "gift", "sourcing", "split", "merge"
RULE_KINDS = (HOLD, GIFT, SOURCING, SPLIT, MERGE)
SPLIT_POLICIES = ("split", "whole")
DEFAULT_STRATEGY = "path_order"
MAX_MERGE_WINDOW_HOURS = 24 * 30

# Which address fields a carrier cannot do without, whatever the country.
REQUIRED_ADDRESS_FIELDS = ("name", "country", "city", "line1")

_HOLD_PARAMS = (
    "total_above",
    "currency",
    "address_incomplete",
    "note_contains",
    "channels",
    "store_ids",
    "unmapped_sku",
    "tags",
)
_GIFT_PARAMS = ("product_id", "min_quantity", "gift_product_id", "gift_quantity", "starts", "ends", "per_order_cap")
_PARAMS = {
    HOLD: _HOLD_PARAMS,
    GIFT: _GIFT_PARAMS,
    SOURCING: ("strategy",),
    SPLIT: ("policy",),
    MERGE: ("window_hours",),
}


# ---------------------------------------------------------------------------
# Sourcing strategies


@dataclass(frozen=True, slots=True)
class SortContext:
    """What a strategy may look at besides the source itself."""

    records: Mapping[int, SupplierRecord]
    currency: str  # the product path's reference currency: that of its first active source
    country: str  # the order's, casefolded
    province: str  # the order's, casefolded
    needed: int
    available: Callable[[int], int | None]  # stock left for this order, None = not tracked


def region_rank(source: Source, country: str, province: str) -> int:
    """0 = names the province, 1 = names the country, 2 = serves everywhere, 3 = does not serve it.

    Codes and names are both accepted by comparing casefolded text exactly;
    ``country`` and ``province`` are already casefolded.
    """
    if not source.regions:
        return 2
    best = 3
    for region in source.regions:
        if region.country.casefold() != country:
            continue
        if not region.province:
            best = min(best, 1)
        elif region.province.casefold() == province:
            return 0
    return best


def supplier_record(source: Source, records: Mapping[int, SupplierRecord]) -> SupplierRecord | None:
    """The record rates are worth comparing: none for the own warehouse or a supplier that shipped nothing."""
    if source.supplier_id is None:
        return None
    record = records.get(source.supplier_id)
    return record if record is not None and record.shipped > 0 else None


def _path_order_key(source: Source, ctx: SortContext) -> tuple:
    return (source.position, source.source_id)


def _cheapest_key(source: Source, ctx: SortContext) -> tuple:
    # Costs are compared only within one currency (no conversion here); a source
    # priced in another currency stays allowed, after the comparable ones, by path.
    if source.currency == ctx.currency:
        return (0, source.cost_price, source.position, source.source_id)
    return (1, Decimal(0), source.position, source.source_id)


def _region_first_key(source: Source, ctx: SortContext) -> tuple:
    return (region_rank(source, ctx.country, ctx.province), source.position, source.source_id)


def _stock_tier(source_id: int, ctx: SortContext) -> int:
    available = ctx.available(source_id)
    if available is None:
        return 1
    return 0 if available >= ctx.needed else 2


def _in_stock_first_key(source: Source, ctx: SortContext) -> tuple:
    return (_stock_tier(source.source_id, ctx), source.position, source.source_id)


def _record_key(source: Source, ctx: SortContext) -> tuple:
    record = supplier_record(source, ctx.records)
    # An unknown record is not evidence of a good one: known records rank first.
    if record is None:
        return (1, 0.0, 0.0)
    return (0, record.rejection_rate, -record.on_time_rate)


def _best_record_key(source: Source, ctx: SortContext) -> tuple:
    return (*_record_key(source, ctx), source.position, source.source_id)


def _supplier_param(supplier_id: int | None) -> str:
    return "" if supplier_id is None else str(supplier_id)


def later_on_path(source: Source, chosen: Source) -> Reason:
    return Reason("later_on_path", {"position": str(source.position), "chosen_position": str(chosen.position)})


def _explain_path_order(source: Source, chosen: Source, ctx: SortContext) -> Reason:
    return later_on_path(source, chosen)


def _explain_cheapest(source: Source, chosen: Source, ctx: SortContext) -> Reason:
    if source.currency != chosen.currency:
        return Reason("other_currency", {"currency": source.currency, "chosen_currency": chosen.currency})
    if source.cost_price > chosen.cost_price:
        return Reason(
            "costlier",
            {"cost": str(source.cost_price), "chosen_cost": str(chosen.cost_price), "currency": source.currency},
        )
    return later_on_path(source, chosen)


_SCOPES = ("province", "country", "everywhere", "nowhere")


def _explain_region_first(source: Source, chosen: Source, ctx: SortContext) -> Reason:
    rank = region_rank(source, ctx.country, ctx.province)
    chosen_rank = region_rank(chosen, ctx.country, ctx.province)
    if rank > chosen_rank:
        return Reason("less_specific_region", {"scope": _SCOPES[rank], "chosen_scope": _SCOPES[chosen_rank]})
    return later_on_path(source, chosen)


def _explain_in_stock_first(source: Source, chosen: Source, ctx: SortContext) -> Reason:
    if _stock_tier(source.source_id, ctx) > _stock_tier(chosen.source_id, ctx):
        return Reason("stock_not_confirmed")
    return later_on_path(source, chosen)


def _rate(value: float) -> str:
    return f"{value:.1%}"


def _explain_best_record(source: Source, chosen: Source, ctx: SortContext) -> Reason:
    if _record_key(source, ctx) <= _record_key(chosen, ctx):
        return later_on_path(source, chosen)
    record = supplier_record(source, ctx.records)
    if record is None:
        return Reason("no_record", {"supplier": _supplier_param(source.supplier_id)})
    best = supplier_record(chosen, ctx.records)
    assert best is not None  # a known record ranks before an unknown one
    return Reason(
        "worse_record",
        {
            "supplier": _supplier_param(source.supplier_id),
            "chosen_supplier": _supplier_param(chosen.supplier_id),
            "rejection_rate": _rate(record.rejection_rate),
            "on_time_rate": _rate(record.on_time_rate),
            "chosen_rejection_rate": _rate(best.rejection_rate),
            "chosen_on_time_rate": _rate(best.on_time_rate),
        },
    )


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    key: Callable[[Source, SortContext], tuple]  # ascending = preferred
    # Why a usable source that sorts after the chosen one was not chosen.
    explain: Callable[[Source, Source, SortContext], Reason]
    uses_region: bool = False  # the order depends on the order's address: cached per product and region
    uses_stock: bool = False  # the order changes as stock is consumed: never cached
    uses_records: bool = False  # reads the suppliers' records (Catalog.supplier_records, loaded only then)


STRATEGIES: dict[str, Strategy] = {
    "path_order": Strategy("path_order", _path_order_key, _explain_path_order),
    "cheapest": Strategy("cheapest", _cheapest_key, _explain_cheapest),
    "region_first": Strategy("region_first", _region_first_key, _explain_region_first, uses_region=True),
    "in_stock_first": Strategy("in_stock_first", _in_stock_first_key, _explain_in_stock_first, uses_stock=True),
    "best_record": Strategy("best_record", _best_record_key, _explain_best_record, uses_records=True),
}


# ---------------------------------------------------------------------------
# Validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _str_list_problem(name: str, value: Any) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return f"{name} must be a non-empty list."
    if not all(isinstance(v, str) and v.strip() for v in value):
        return f"{name} must contain only non-empty text."
    return None


def _hold_total_problems(params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "total_above" in params:
        amount = _as_decimal(params["total_above"])
        if amount is None:
            problems.append("The total limit must be an amount, such as “500.00”.")
        elif amount < 0:
            problems.append("The total limit cannot be negative.")
    if "currency" in params:
        currency = params["currency"]
        if "total_above" not in params:
            problems.append("A currency only makes sense together with a total limit.")
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            problems.append("The currency must be a three-letter code, such as “USD”.")
    return problems


def _validate_hold(params: Mapping[str, Any]) -> list[str]:
    problems = _hold_total_problems(params)
    conditions = int("total_above" in params)
    for flag in ("address_incomplete", "unmapped_sku"):
        if flag not in params:
            continue
        if not isinstance(params[flag], bool):
            problems.append(f"{flag} must be true or false.")
        conditions += params[flag] is True
    for name in ("note_contains", "channels", "tags"):
        if name in params:
            conditions += 1
            problem = _str_list_problem(name, params[name])
            if problem:
                problems.append(problem)
    if "store_ids" in params:
        conditions += 1
        ids = params["store_ids"]
        if not isinstance(ids, list | tuple) or not ids or not all(_is_int(v) for v in ids):
            problems.append("store_ids must be a non-empty list of store ids.")
    if conditions == 0:
        problems.append("A hold rule needs at least one condition.")
    return problems


def _validate_gift(params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name in ("product_id", "gift_product_id"):
        if not _is_int(params.get(name)):
            problems.append(f"{name} must be a product id.")
    for name in ("min_quantity", "gift_quantity"):
        value = params.get(name)
        if not _is_int(value) or value < 1:
            problems.append(f"{name} must be a whole number of at least 1.")
    cap = params.get("per_order_cap")
    if cap is not None and (not _is_int(cap) or cap < 1):
        problems.append("per_order_cap must be empty or a whole number of at least 1.")
    window = {}
    for name in ("starts", "ends"):
        value = params.get(name)
        if value is None:
            continue
        moment = _as_datetime(value)
        if moment is None:
            problems.append(f"{name} must be empty or a date and time, such as “2026-11-11T00:00:00+08:00”.")
        elif moment.tzinfo is None:
            problems.append(f"{name} must include a time zone offset.")
        else:
            window[name] = moment
    if len(window) == 2 and window["starts"] >= window["ends"]:
        problems.append("The gift window must start before it ends.")
    return problems


def _validate_sourcing(params: Mapping[str, Any]) -> list[str]:
    strategy = params.get("strategy", DEFAULT_STRATEGY)
    if strategy not in STRATEGIES:
        return [f"Unknown strategy “{strategy}”; choose one of {', '.join(STRATEGIES)}."]
    return []


def _validate_split(params: Mapping[str, Any]) -> list[str]:
    if params.get("policy") not in SPLIT_POLICIES:
        return ["The split policy must be “split” or “whole”."]
    return []


def _validate_merge(params: Mapping[str, Any]) -> list[str]:
    hours = params.get("window_hours")
    if not _is_int(hours) or not 1 <= hours <= MAX_MERGE_WINDOW_HOURS:
        return [f"window_hours must be a whole number of hours from 1 to {MAX_MERGE_WINDOW_HOURS}."]
    return []


_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    HOLD: _validate_hold,
    GIFT: _validate_gift,
    SOURCING: _validate_sourcing,
    SPLIT: _validate_split,
    MERGE: _validate_merge,
}


def validate_rule(kind: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem with one rule, in plain English; an empty list means the rule can be saved."""
    validator = _VALIDATORS.get(kind)
    if validator is None:
        return [f"Unknown rule kind “{kind}”; choose one of {', '.join(RULE_KINDS)}."]
    if not isinstance(params, Mapping):
        return ["The rule's settings must be a set of named values."]
    unknown = sorted(set(params) - set(_PARAMS[kind]))
    problems = [f"Unknown setting “{name}” for a {kind} rule." for name in unknown]
    return problems + validator(params)


def _label(rule: Rule) -> str:
    return f"Rule “{rule.name}”" if rule.name else f"Rule #{rule.rule_id}"


def validate_ruleset(ruleset: RuleSet) -> list[str]:
    """Problems of every rule, each prefixed by the rule, plus enabled rules that can never apply."""
    problems: list[str] = []
    first_of_kind: dict[str, Rule] = {}
    for rule in ruleset.rules:
        problems.extend(f"{_label(rule)}: {p}" for p in validate_rule(rule.kind, rule.params))
        if not rule.enabled or rule.kind not in (SOURCING, SPLIT, MERGE):
            continue
        if rule.kind in first_of_kind:
            earlier = _label(first_of_kind[rule.kind])
            problems.append(
                f"{_label(rule)}: never applies, {earlier} comes first and decides the {rule.kind} setting."
            )
        else:
            first_of_kind[rule.kind] = rule
    return problems


# ---------------------------------------------------------------------------
# Compilation

# A hold condition reads the order and returns its reason params when it matches.
Condition = Callable[[OrderSnapshot], "dict[str, str] | None"]


def _total_above(limit: Decimal, currency: str | None) -> Condition:
    def check(order: OrderSnapshot) -> dict[str, str] | None:
        if currency is not None and order.currency != currency:
            return None
        if order.total > limit:
            return {"total": str(order.total), "limit": str(limit), "currency": order.currency}
        return None

    return check


def _address_incomplete(order: OrderSnapshot) -> dict[str, str] | None:
    address = order.address
    missing = [name for name in REQUIRED_ADDRESS_FIELDS if not getattr(address, name).strip()]
    return {"missing": ", ".join(missing)} if missing else None


def _note_contains(words: tuple[str, ...]) -> Condition:
    def check(order: OrderSnapshot) -> dict[str, str] | None:
        if not order.buyer_note:
            return None
        # Substring, not whole words: Chinese notes have no spaces between words.
        note = order.buyer_note.casefold()
        found = [word for word in words if word.casefold() in note]
        return {"words": ", ".join(found)} if found else None

    return check


def _channel_in(channels: frozenset[str]) -> Condition:
    def check(order: OrderSnapshot) -> dict[str, str] | None:
        return {"channel": order.channel} if order.channel.casefold() in channels else None

    return check


def _store_in(store_ids: frozenset[int]) -> Condition:
    def check(order: OrderSnapshot) -> dict[str, str] | None:
        return {"store": str(order.store_id)} if order.store_id in store_ids else None

    return check


def _tagged(tags: frozenset[str]) -> Condition:
    def check(order: OrderSnapshot) -> dict[str, str] | None:
        found = [tag for tag in order.tags if tag.casefold() in tags]
        return {"tags": ", ".join(found)} if found else None

    return check


@dataclass(frozen=True, slots=True)
class HoldRule:
    rule_id: int
    name: str
    conditions: tuple[tuple[str, Condition], ...]  # (reason code, check)
    names_unmapped: bool  # unmapped SKUs always hold; this rule just claims them

    def check(self, order: OrderSnapshot) -> list[Reason]:
        """A reason for every condition of this rule the order meets."""
        reasons = []
        for code, condition in self.conditions:
            params = condition(order)
            if params is not None:
                params["rule"] = str(self.rule_id)
                params["rule_name"] = self.name
                reasons.append(Reason(code, params))
        return reasons


@dataclass(frozen=True, slots=True)
class GiftRule:
    rule_id: int
    name: str
    product_id: int
    min_quantity: int
    gift_product_id: int
    gift_quantity: int
    starts: dt.datetime | None
    ends: dt.datetime | None  # exclusive
    per_order_cap: int | None

    def units(self, *, bought: Mapping[int, int], placed_at: dt.datetime) -> int:
        """Gift units earned: gift_quantity per full min_quantity bought, capped; 0 outside the window."""
        # The window is judged by when the buyer ordered, so a re-route after the
        # promotion ended keeps the gift the buyer was promised.
        if self.starts is not None and placed_at < self.starts:
            return 0
        if self.ends is not None and placed_at >= self.ends:
            return 0
        quantity = bought.get(self.product_id, 0)
        if quantity < self.min_quantity:
            return 0
        units = (quantity // self.min_quantity) * self.gift_quantity
        return units if self.per_order_cap is None else min(units, self.per_order_cap)


@dataclass(frozen=True, slots=True)
class CompiledRules:
    version: int
    holds: tuple[HoldRule, ...]
    gifts: tuple[GiftRule, ...]
    strategy: Strategy
    strategy_rule_id: int | None
    split_policy: str
    split_rule_id: int | None
    merge_window_hours: int | None
    merge_rule_id: int | None
    invalid: tuple[Reason, ...]  # enabled rules that cannot be applied: every order is held for them
    unmapped_rule_ids: tuple[int, ...]  # hold rules that name unmapped SKUs
    order: Mapping[int, int]  # rule id -> place in the rule set, to report fired rules in order


def _hold_rule(rule: Rule) -> HoldRule:
    params = rule.params
    conditions: list[tuple[str, Condition]] = []
    if "total_above" in params:
        limit = _as_decimal(params["total_above"])
        assert limit is not None  # validated
        conditions.append(("hold_total_above", _total_above(limit, params.get("currency"))))
    if params.get("address_incomplete"):
        conditions.append(("hold_address_incomplete", _address_incomplete))
    if "note_contains" in params:
        conditions.append(("hold_note_contains", _note_contains(tuple(params["note_contains"]))))
    if "channels" in params:
        conditions.append(("hold_channel", _channel_in(frozenset(c.casefold() for c in params["channels"]))))
    if "store_ids" in params:
        conditions.append(("hold_store", _store_in(frozenset(params["store_ids"]))))
    if "tags" in params:
        conditions.append(("hold_tag", _tagged(frozenset(t.casefold() for t in params["tags"]))))
    return HoldRule(rule.rule_id, rule.name, tuple(conditions), bool(params.get("unmapped_sku")))


def _gift_rule(rule: Rule) -> GiftRule:
    params = rule.params
    return GiftRule(
        rule_id=rule.rule_id,
        name=rule.name,
        product_id=params["product_id"],
        min_quantity=params["min_quantity"],
        gift_product_id=params["gift_product_id"],
        gift_quantity=params["gift_quantity"],
        starts=_as_datetime(params.get("starts")),
        ends=_as_datetime(params.get("ends")),
        per_order_cap=params.get("per_order_cap"),
    )


def compile_rules(ruleset: RuleSet) -> CompiledRules:
    """The enabled rules of a rule set, ready to run; disabled rules are left out.

    Never raises for a bad rule: an enabled rule that fails validation becomes a
    ``rule_invalid`` reason that holds every order, because silently skipping a
    broken hold rule would dispatch orders the merchant wanted to review.
    """
    holds: list[HoldRule] = []
    gifts: list[GiftRule] = []
    invalid: list[Reason] = []
    firsts: dict[str, Rule] = {}
    for rule in ruleset.rules:
        if not rule.enabled:
            continue
        problems = validate_rule(rule.kind, rule.params)
        if problems:
            invalid.append(
                Reason(
                    "rule_invalid", {"rule": str(rule.rule_id), "rule_name": rule.name, "problem": " ".join(problems)}
                )
            )
            continue
        if rule.kind == HOLD:
            holds.append(_hold_rule(rule))
        elif rule.kind == GIFT:
            gifts.append(_gift_rule(rule))
        else:
            firsts.setdefault(rule.kind, rule)
    sourcing, split, merge = firsts.get(SOURCING), firsts.get(SPLIT), firsts.get(MERGE)
    return CompiledRules(
        version=ruleset.version,
        holds=tuple(holds),
        gifts=tuple(gifts),
        strategy=STRATEGIES[sourcing.params.get("strategy", DEFAULT_STRATEGY) if sourcing else DEFAULT_STRATEGY],
        strategy_rule_id=sourcing.rule_id if sourcing else None,
        split_policy=split.params["policy"] if split else "split",
        split_rule_id=split.rule_id if split else None,
        merge_window_hours=merge.params["window_hours"] if merge else None,
        merge_rule_id=merge.rule_id if merge else None,
        invalid=tuple(invalid),
        unmapped_rule_ids=tuple(hold.rule_id for hold in holds if hold.names_unmapped),
        order={rule.rule_id: place for place, rule in enumerate(ruleset.rules)},
    )
