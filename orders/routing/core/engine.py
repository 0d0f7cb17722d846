"""The routing engine: a pure, deterministic function from an order to a decision per line, with reasons.

No database, no clock, no I/O: the caller loads the catalog, stock and rule
set of a batch once, routes, and stores what comes back. The same inputs
give equal results, which is what makes decisions replayable and rule sets
simulatable.

How an order is routed:

1. Each line's listing SKU is mapped to its products (a bundle becomes one
   line per component, quantities multiplied); an unmapped SKU always holds
   the order.
2. Gift rules add zero-price lines for what was bought.
3. Hold rules are checked; a held order still gets its decisions (for the
   order page and simulation) but reserves no stock.
4. Each product line walks its source path in the sourcing strategy's order:
   the first usable source is chosen, every other one gets a reason. With the
   "whole" split policy one supplier that can ship every line is preferred.
5. Stock is claimed per order as lines are routed, so two lines of one order
   never count the same unit, and reserved in the shared ledger only when the
   order is not held, so two orders of one batch never reserve the same unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from orders.routing.core.merging import merge_key
from orders.routing.core.rules import CompiledRules, SortContext, Strategy, compile_rules, region_rank
from orders.routing.core.types import (
    Catalog,
    LineDecision,
    OrderSnapshot,
    Reason,
    RoutingResult,
    RuleSet,
    Source,
    SourceVerdict,
    StockLedger,
)

_NOT_SERVED = 3  # region_rank of a source that does not serve the address

_INACTIVE = Reason("inactive")
_SUPPLIER_INACTIVE = Reason("supplier_inactive")
_REJECTED_BEFORE = Reason("rejected_before")
_WHOLE_IMPOSSIBLE = Reason("whole_order_impossible")
_NOTHING_TO_SHIP = Reason("nothing_to_ship")

# A candidate is a source with how well it covers the order's region (see region_rank).
Candidate = tuple[Source, int]


def _supplier_param(supplier_id: int | None) -> str:
    return "" if supplier_id is None else str(supplier_id)


class _CatalogIndex:
    """Per-batch caches over the catalog: candidates per (product, region), sorted once."""

    __slots__ = ("_ordered", "_paths", "_references", "catalog", "chosen_reason", "shared", "strategy")

    def __init__(self, catalog: Catalog, strategy: Strategy) -> None:
        self.catalog = catalog
        self.strategy = strategy
        self._paths: dict[int, tuple[Source, ...]] = {}
        self._references: dict[int, str] = {}
        self._ordered: dict[tuple[int, str, str], tuple[Candidate, ...]] = {}
        # Verdicts and reasons that depend only on a few values (sources, quantities) are made once
        # per batch and shared: most lines of a batch repeat them, and results are immutable.
        self.shared: dict[tuple, object] = {}
        self.chosen_reason = Reason("chosen", MappingProxyType({"strategy": strategy.name}))

    def _path(self, product_id: int) -> tuple[Source, ...]:
        """Sources of a product in the strategy's order when it needs neither region nor stock, else by path."""
        path = self._paths.get(product_id)
        if path is None:
            by_position = sorted(self.catalog.sources.get(product_id, ()), key=lambda s: (s.position, s.source_id))
            reference = next(
                (s.currency for s in by_position if s.active), by_position[0].currency if by_position else ""
            )
            self._references[product_id] = reference
            if not (self.strategy.uses_region or self.strategy.uses_stock):
                ctx = self.context(product_id=product_id, country="", province="", needed=0, available=_untracked)
                by_position.sort(key=lambda s: self.strategy.key(s, ctx))
            path = self._paths[product_id] = tuple(by_position)
        return path

    def context(
        self, *, product_id: int, country: str, province: str, needed: int, available: Callable[[int], int | None]
    ) -> SortContext:
        if product_id not in self._references:
            self._path(product_id)
        return SortContext(
            records=self.catalog.supplier_records,
            currency=self._references[product_id],
            country=country,
            province=province,
            needed=needed,
            available=available,
        )

    def candidates(self, product_id: int, country: str, province: str) -> tuple[Candidate, ...]:
        """The product's sources with their region rank, in strategy order unless the strategy reads stock."""
        key = (product_id, country, province)
        found = self._ordered.get(key)
        if found is None:
            path = self._path(product_id)
            if self.strategy.uses_region:
                ctx = self.context(
                    product_id=product_id, country=country, province=province, needed=0, available=_untracked
                )
                path = tuple(sorted(path, key=lambda s: self.strategy.key(s, ctx)))
            found = self._ordered[key] = tuple((s, region_rank(s, country, province)) for s in path)
        return found


def _untracked(source_id: int) -> int | None:
    return None


class _Item:
    """One product to route: an order line, a bundle component or a gift."""

    __slots__ = ("is_gift", "line_id", "product_id", "quantity", "reasons")

    def __init__(
        self, line_id: int | None, product_id: int, quantity: int, is_gift: bool, reasons: tuple[Reason, ...]
    ) -> None:
        self.line_id = line_id
        self.product_id = product_id
        self.quantity = quantity
        self.is_gift = is_gift
        self.reasons = reasons


class _Walk:
    """What one order's lines share while they walk their source paths."""

    __slots__ = ("country", "exclude", "explain_key", "index", "province", "region_reason", "stock", "strategy")

    def __init__(
        self, *, order: OrderSnapshot, index: _CatalogIndex, stock: StockLedger, exclude: frozenset[int]
    ) -> None:
        address = order.address
        self.country = address.country.strip().casefold()
        self.province = address.province.strip().casefold()
        self.index = index
        self.strategy = index.strategy
        self.stock = stock
        self.exclude = exclude
        self.region_reason = Reason(
            "region_not_served", MappingProxyType({"country": address.country, "province": address.province})
        )
        # Why one source was not chosen over another depends on the address only for a regional strategy.
        self.explain_key = (self.country, self.province) if self.strategy.uses_region else ()

    def context(self, item: _Item, claims: Mapping[int, int]) -> SortContext:
        stock = self.stock

        def available(source_id: int) -> int | None:
            have = stock.available(source_id)
            return None if have is None else have - claims.get(source_id, 0)

        return self.index.context(
            product_id=item.product_id,
            country=self.country,
            province=self.province,
            needed=item.quantity,
            available=available,
        )

    def candidates(self, item: _Item, claims: Mapping[int, int]) -> tuple[tuple[Candidate, ...], SortContext | None]:
        """The item's candidates in strategy order, and the sort context when building it was needed."""
        candidates = self.index.candidates(item.product_id, self.country, self.province)
        if not self.strategy.uses_stock:
            return candidates, None
        ctx = self.context(item, claims)
        key = self.strategy.key
        return tuple(sorted(candidates, key=lambda c: key(c[0], ctx))), ctx

    def usable(self, candidate: Candidate, needed: int, claims: Mapping[int, int]) -> bool:
        source, rank = candidate
        if not source.active or not source.supplier_active or rank == _NOT_SERVED or source.source_id in self.exclude:
            return False
        have = self.stock.available(source.source_id)
        return have is None or have - claims.get(source.source_id, 0) >= needed

    def can_ship_all(self, items: list[_Item], claims: Mapping[int, int], supplier: int | None) -> bool:
        """Whether ``walk(whole=True, supplier=…)`` would find a source for every item, without the verdicts.

        Most orders have no one supplier for every line: finding that out
        should not cost an explanation for every source of every line.
        Picks exactly what walk picks: the first usable source of the supplier.
        """
        trial = dict(claims)
        for item in items:
            candidates, _ = self.candidates(item, trial)
            for candidate in candidates:
                if candidate[0].supplier_id == supplier and self.usable(candidate, item.quantity, trial):
                    source_id = candidate[0].source_id
                    trial[source_id] = trial.get(source_id, 0) + item.quantity
                    break
            else:
                return False
        return True

    def unusable(self, source: Source, rank: int) -> tuple[Reason, ...]:
        """Every reason a source cannot ship to this order whatever the stock (all of them, for the record)."""
        reasons = []
        if source.source_id in self.exclude:
            reasons.append(_REJECTED_BEFORE)
        if not source.active:
            reasons.append(_INACTIVE)
        if not source.supplier_active:
            reasons.append(_SUPPLIER_INACTIVE)
        if rank == _NOT_SERVED:
            reasons.append(self.region_reason)
        return tuple(reasons)

    def walk(
        self, item: _Item, claims: dict[int, int], *, whole: bool = False, supplier: int | None = None
    ) -> tuple[Source | None, bool, tuple[SourceVerdict, ...]]:
        """The first usable source (of ``supplier`` when shipping the ``whole`` order from one), whether
        its stock is tracked, and a verdict for every source on the path.

        Claims the chosen source's quantity in ``claims``.
        """
        candidates, ctx = self.candidates(item, claims)
        needed = item.quantity
        available = self.stock.available
        verdicts: list[SourceVerdict] = []
        chosen: Source | None = None
        chosen_tracked = True
        for source, rank in candidates:
            source_id, supplier_id = source.source_id, source.supplier_id
            if not source.active or not source.supplier_active or rank == _NOT_SERVED or source_id in self.exclude:
                verdicts.append(SourceVerdict(source_id, supplier_id, False, self.unusable(source, rank)))
                continue
            have = available(source_id)
            if have is not None:
                have -= claims.get(source_id, 0)
                if have < needed:
                    verdicts.append(self._no_stock(source, max(have, 0), needed))
                    continue
            if whole and supplier_id != supplier:
                verdict = self._not_whole(source, supplier)
            elif chosen is None:
                chosen, chosen_tracked = source, have is not None
                verdict = self._chosen(source, chosen_tracked)
            elif self.strategy.uses_stock:
                ctx = ctx or self.context(item, claims)
                verdict = SourceVerdict(source_id, supplier_id, False, (self.strategy.explain(source, chosen, ctx),))
            else:
                # Without stock in the sort, the explanation depends on the two sources (and the region).
                key = ("explain", source_id, chosen.source_id, *self.explain_key)
                verdict = self.index.shared.get(key)
                if verdict is None:
                    ctx = ctx or self.context(item, claims)
                    reason = self.strategy.explain(source, chosen, ctx)
                    verdict = self.index.shared[key] = SourceVerdict(source_id, supplier_id, False, (reason,))
            verdicts.append(verdict)
        if chosen is not None:
            claims[chosen.source_id] = claims.get(chosen.source_id, 0) + needed
        return chosen, chosen_tracked, tuple(verdicts)

    def _no_stock(self, source: Source, have: int, needed: int) -> SourceVerdict:
        key = ("no_stock", source.source_id, have, needed)
        verdict = self.index.shared.get(key)
        if verdict is None:
            reason = Reason("no_stock", {"available": str(have), "needed": str(needed)})
            verdict = self.index.shared[key] = SourceVerdict(source.source_id, source.supplier_id, False, (reason,))
        return verdict

    def _not_whole(self, source: Source, supplier: int | None) -> SourceVerdict:
        key = ("not_whole", source.source_id, supplier)
        verdict = self.index.shared.get(key)
        if verdict is None:
            params = {"supplier": _supplier_param(source.supplier_id), "chosen_supplier": _supplier_param(supplier)}
            reason = Reason("not_whole_order_supplier", params)
            verdict = self.index.shared[key] = SourceVerdict(source.source_id, source.supplier_id, False, (reason,))
        return verdict

    def _chosen(self, source: Source, tracked: bool) -> SourceVerdict:
        key = ("chosen", source.source_id, tracked)
        verdict = self.index.shared.get(key)
        if verdict is None:
            reasons = (self.index.chosen_reason,)
            if not tracked:
                reasons += (Reason("stock_not_tracked", {"source": str(source.source_id)}),)
            verdict = self.index.shared[key] = SourceVerdict(source.source_id, source.supplier_id, True, reasons)
        return verdict

    def decision(
        self,
        item: _Item,
        chosen: Source | None,
        tracked: bool,
        verdicts: tuple[SourceVerdict, ...],
        extra: tuple[Reason, ...],
    ) -> LineDecision:
        if chosen is None:
            product = self.index.catalog.products[item.product_id]
            reasons = (*item.reasons, Reason("no_source_left", {"product": product.sku}), *extra)
            return LineDecision(
                item.line_id, item.product_id, item.quantity, item.is_gift, None, None, None, None, verdicts, reasons
            )
        shared = self.index.shared
        key = ("routed", chosen.source_id, tracked)
        routed = shared.get(key)
        if routed is None:
            routed = (
                Reason(
                    "routed",
                    {
                        "source": str(chosen.source_id),
                        "supplier": _supplier_param(chosen.supplier_id),
                        "position": str(chosen.position),
                        "strategy": self.strategy.name,
                    },
                ),
            )
            if not tracked:
                routed += (Reason("stock_not_tracked", {"source": str(chosen.source_id)}),)
            shared[key] = routed
        reasons = (*item.reasons, *routed)
        return LineDecision(
            item.line_id,
            item.product_id,
            item.quantity,
            item.is_gift,
            chosen.source_id,
            chosen.supplier_id,
            chosen.cost_price,
            chosen.currency,
            verdicts,
            reasons + extra,
        )


def _route_split(
    walk: _Walk, items: list[_Item], claims: dict[int, int], extra: tuple[Reason, ...]
) -> list[LineDecision]:
    return [walk.decision(item, *walk.walk(item, claims), extra) for item in items]


def _route_whole(walk: _Walk, items: list[_Item], claims: dict[int, int]) -> list[LineDecision] | None:
    """Every line from one supplier (the own warehouse counts as one), or None when no supplier can ship them all.

    Suppliers are tried in the order the strategy ranks them for the first line.
    """
    first = items[0]
    candidates, _ = walk.candidates(first, claims)
    suppliers: list[int | None] = []
    for candidate in candidates:
        supplier_id = candidate[0].supplier_id
        if supplier_id not in suppliers and walk.usable(candidate, first.quantity, claims):
            suppliers.append(supplier_id)
    for supplier_id in suppliers:
        if not walk.can_ship_all(items, claims, supplier_id):
            continue
        trial = dict(claims)
        walked = []
        for item in items:
            chosen, tracked, verdicts = walk.walk(item, trial, whole=True, supplier=supplier_id)
            if chosen is None:
                break
            walked.append((item, chosen, tracked, verdicts))
        else:
            claims.clear()
            claims.update(trial)
            extra = (Reason("whole_order_supplier", {"supplier": _supplier_param(supplier_id)}),)
            return [walk.decision(item, chosen, tracked, verdicts, extra) for item, chosen, tracked, verdicts in walked]
    return None


class _Router:
    """A compiled rule set and catalog index: everything that is the same for every order of a batch."""

    __slots__ = ("index", "rules", "stock", "unmapped_rule")

    def __init__(self, *, ruleset: RuleSet, catalog: Catalog, stock: StockLedger) -> None:
        self.rules: CompiledRules = compile_rules(ruleset)
        self.index = _CatalogIndex(catalog, self.rules.strategy)
        self.stock = stock
        self.unmapped_rule = next((hold for hold in self.rules.holds if hold.names_unmapped), None)

    def _items(self, order: OrderSnapshot, slots: list, hold_reasons: list[Reason]) -> dict[int, int]:
        """Expand lines into ``slots`` (decisions for unmapped lines, items for the rest); quantities bought per product."""
        listings = self.index.catalog.listings
        bought: dict[int, int] = {}
        for line in order.lines:
            target = listings.get(line.listing_sku)
            if target is None:
                params = {"listing_sku": line.listing_sku, "line": str(line.line_id)}
                if self.unmapped_rule is not None:
                    params["rule"], params["rule_name"] = str(self.unmapped_rule.rule_id), self.unmapped_rule.name
                reason = Reason("unmapped_sku", params)
                hold_reasons.append(reason)
                slots.append(
                    LineDecision(line.line_id, None, line.quantity, False, None, None, None, None, (), (reason,))
                )
                continue
            bundle = target.is_bundle
            for component in target.components:
                quantity = line.quantity * component.quantity
                bought[component.product_id] = bought.get(component.product_id, 0) + quantity
                reasons: tuple[Reason, ...] = ()
                if bundle:
                    reasons = (
                        Reason(
                            "bundle_component",
                            {
                                "listing_sku": line.listing_sku,
                                "per_bundle": str(component.quantity),
                                "bundles": str(line.quantity),
                            },
                        ),
                    )
                slots.append(_Item(line.line_id, component.product_id, quantity, False, reasons))
        return bought

    def _add_gifts(self, order: OrderSnapshot, bought: Mapping[int, int], slots: list, fired: set[int]) -> None:
        for gift in self.rules.gifts:
            units = gift.units(bought=bought, placed_at=order.placed_at)
            if not units:
                continue
            fired.add(gift.rule_id)
            reason = Reason(
                "gift_added",
                {
                    "rule": str(gift.rule_id),
                    "rule_name": gift.name,
                    "product": str(gift.gift_product_id),
                    "quantity": str(units),
                    "for_product": str(gift.product_id),
                    "bought": str(bought[gift.product_id]),
                },
            )
            slots.append(_Item(None, gift.gift_product_id, units, True, (reason,)))

    def _routable(self, slots: list, hold_reasons: list[Reason]) -> list[_Item]:
        """Items whose product can be routed; the others are decided here (and hold the order if shipping needs them)."""
        products = self.index.catalog.products
        routable: list[_Item] = []
        for place, slot in enumerate(slots):
            if isinstance(slot, LineDecision):
                continue
            product = products.get(slot.product_id)
            if product is None:
                problem = Reason("product_unknown", {"product_id": str(slot.product_id)})
            elif not product.active:
                problem = Reason("product_inactive", {"product": product.sku, "product_id": str(product.product_id)})
            elif slot.quantity <= 0:
                problem = _NOTHING_TO_SHIP
            else:
                routable.append(slot)
                continue
            if problem is not _NOTHING_TO_SHIP:
                hold_reasons.append(problem)
            slots[place] = LineDecision(
                slot.line_id, slot.product_id, slot.quantity, slot.is_gift, None, None, None, None, (),
                (*slot.reasons, problem),
            )  # fmt: skip
        return routable

    def _source(
        self, order: OrderSnapshot, routable: list[_Item], exclude: frozenset[int], claims: dict[int, int]
    ) -> list[LineDecision]:
        """A decision per routable item, in item order, claiming stock in ``claims``."""
        walk = _Walk(order=order, index=self.index, stock=self.stock, exclude=exclude)
        if self.rules.split_policy != "whole":
            return _route_split(walk, routable, claims, ())
        whole = _route_whole(walk, routable, claims)
        return whole if whole is not None else _route_split(walk, routable, claims, (_WHOLE_IMPOSSIBLE,))

    def route(self, order: OrderSnapshot, *, now: dt.datetime, exclude: frozenset[int]) -> RoutingResult:
        rules = self.rules
        hold_reasons: list[Reason] = list(rules.invalid)
        fired: set[int] = set()
        slots: list[LineDecision | _Item] = []

        bought = self._items(order, slots, hold_reasons)
        if any(isinstance(slot, LineDecision) for slot in slots):
            fired.update(rules.unmapped_rule_ids)
        self._add_gifts(order, bought, slots, fired)
        for hold in rules.holds:
            matched = hold.check(order)
            if matched:
                fired.add(hold.rule_id)
                hold_reasons.extend(matched)

        routable = self._routable(slots, hold_reasons)
        claims: dict[int, int] = {}
        decisions: list[LineDecision] = []
        if routable:
            fired.update(i for i in (rules.strategy_rule_id, rules.split_rule_id) if i is not None)
            decisions = self._source(order, routable, exclude, claims)
            hold_reasons.extend(
                reason
                for decision in decisions
                if decision.source_id is None
                for reason in decision.reasons
                if reason.code == "no_source_left"
            )
        by_item = dict(zip(map(id, routable), decisions, strict=True))
        lines = tuple(slot if isinstance(slot, LineDecision) else by_item[id(slot)] for slot in slots)

        held = bool(hold_reasons)
        if not held:
            for source_id, quantity in claims.items():
                self.stock.reserve(source_id, quantity)

        key = window = None
        if rules.merge_window_hours is not None:
            key, window = merge_key(order=order), rules.merge_window_hours
            if key is not None and rules.merge_rule_id is not None:
                fired.add(rules.merge_rule_id)

        return RoutingResult(
            order_id=order.order_id,
            ruleset_version=rules.version,
            held=held,
            hold_reasons=tuple(hold_reasons),
            fired_rule_ids=tuple(sorted(fired, key=rules.order.__getitem__)),
            lines=lines,
            merge_key=key,
            merge_window_hours=window,
            routed_at=now,
        )


def route_order(
    *,
    order: OrderSnapshot,
    ruleset: RuleSet,
    catalog: Catalog,
    stock: StockLedger,
    now: dt.datetime,
    exclude_sources: frozenset[int] = frozenset(),
) -> RoutingResult:
    """Route one order: a decision per product line, the rules that fired, and whether it is held.

    Deterministic in its inputs. Reserves the chosen quantities from ``stock``
    only when the order is not held, and never more than the ledger holds.
    ``exclude_sources`` are sources the supplier already rejected: they are
    skipped ("rejected_before") so the lines fall through to the next source
    on the path, or hold the order ("no_source_left") when none is left.
    ``now`` is only recorded as ``routed_at``; gift windows are judged by
    ``order.placed_at``.
    """
    router = _Router(ruleset=ruleset, catalog=catalog, stock=stock)
    return router.route(order, now=now, exclude=exclude_sources)


def route_batch(
    *,
    orders: Iterable[OrderSnapshot],
    ruleset: RuleSet,
    catalog: Catalog,
    stock: StockLedger,
    now: dt.datetime,
    exclude_sources: Mapping[int, frozenset[int]] | None = None,
) -> list[RoutingResult]:
    """Route many orders against one shared ledger, oldest first; results come back in that order.

    Orders are taken by (placed_at, order_id) so the earliest buyer gets scarce
    stock and a re-run is identical. The rule set is compiled and each
    product's candidate sources are sorted once for the whole batch.
    ``exclude_sources`` maps an order id to the sources rejected for it.
    """
    router = _Router(ruleset=ruleset, catalog=catalog, stock=stock)
    excluded = exclude_sources or {}
    none: frozenset[int] = frozenset()
    return [
        router.route(order, now=now, exclude=excluded.get(order.order_id, none))
        for order in sorted(orders, key=lambda o: (o.placed_at, o.order_id))
    ]
