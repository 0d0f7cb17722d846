"""Routing a batch of orders: load once, decide with the pure engine, write in bulk.

Set-based: the orders, the rule set, the catalog and the stock a batch needs
are loaded once, the engine (orders.routing.core) decides, and the results
are written with bulk statements through the owning apps' services
(suppliers.dispatches for dispatches, inventory.stock for reservations), so
the number of queries does not grow with the number of orders.

Several batches route at once (one task per chunk, on several worker
processes), so the engine, the costly part, runs without holding stock or
dispatches: it decides against the stock as read. Then the batch locks, always
in the same order, each set in primary-key order: orders (from the start),
merge groups (advisory locks, sorted), dispatches, stock. Under those locks it
checks each order's reservations against the stock as locked, oldest first,
and routes again only the orders whose reservations no longer fit or whose
dispatches a supplier moved meanwhile. What it reserves is really there when
the batch commits; the database's ``reserved <= on_hand`` check stays the last
word. Batches sharing no merge group and no scarce stock only queue for the
short write at the end.

How an order is routed depends on what its dispatches already did:

- nothing accepted or shipped yet ("whole" routing): the whole order is
  decided again; pending dispatch lines that match the new decision are
  kept, the others are released (their stock given back) and new ones made.
  Running it twice changes nothing the second time.
- some lines accepted or shipped ("remainder" routing): those are left
  alone, and only what is not covered by a live dispatch (lines of rejected
  dispatches, lines that found no source) is routed, without hold or gift
  rules: the order passed review when it was first routed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from core.bulk import copy_rows, json_text
from inventory.listings import listings_auto_map
from inventory.stock import stock_levels, stock_reserve
from orders.models import Order, RoutingDecision, pack_json
from orders.phrases import LINES_MOVED, ROUTED_WITH, TRIGGER_TEXT
from orders.routing.core import engine
from orders.routing.core.merging import merge_key
from orders.routing.core.rules import GIFT, HOLD, compile_rules
from orders.routing.core.types import Catalog, OrderSnapshot, RoutingResult, RuleSet, StockLedger, describe
from orders.routing.decisions import JsonMemo, line_decision_json, reasons_json
from orders.routing.loading import (
    active_ruleset,
    load_catalog,
    order_rows,
    ruleset_snapshot,
    ship_to_snapshot,
    snapshot_from_row,
)
from orders.routing.remainders import Remainder, remainder_of, remainders_route, without
from orders.states import orders_transition
from suppliers.dispatches import (
    LockedDispatch,
    NewDispatch,
    NewLine,
    StoredLine,
    dispatch_ids_allocate,
    dispatch_lines_insert,
    dispatch_lines_of_orders,
    dispatch_lines_release,
    dispatches_insert,
    dispatches_lock,
)
from suppliers.models import Dispatch

S = Order.Status
D = Dispatch.Status

ROUTING = "routing"
FIXED = (D.ACCEPTED, D.SHIPPED)  # what routing no longer moves
TRIGGERS = ("ingest", "manual", "release", "reroute", "mapping", "rejection")
_DECISION_COLUMNS = (
    "order_id", "ruleset_version", "held", "hold_reasons", "fired_rule_ids", "lines", "merge_key", "trigger",
    "is_current", "created",
)  # fmt: skip


@dataclass
class RouteSummary:
    """What a routing call did: orders routed or held, dispatches made, orders it left alone."""

    routed: int = 0
    held: int = 0
    dispatches_created: int = 0
    skipped: int = 0  # not in a state this call routes (or nothing left to route)
    unchanged: int = 0  # routed again to exactly what they had (counted in routed/held too)
    order_ids: list[int] = field(default_factory=list)  # the orders it routed or held

    def add(self, other: RouteSummary) -> RouteSummary:
        self.routed += other.routed
        self.held += other.held
        self.dispatches_created += other.dispatches_created
        self.skipped += other.skipped
        self.unchanged += other.unchanged
        self.order_ids.extend(other.order_ids)
        return self


class _Want(NamedTuple):
    """A line routing wants shipped: what, how many, from where."""

    order_line_id: int | None
    product_id: int
    is_gift: bool
    source_id: int
    supplier_id: int | None
    quantity: int
    unit_cost: Decimal
    cost_currency: str
    listing_sku: str
    reserved: int  # units it holds in Stock.reserved: its quantity when the source's stock is tracked


def _match(want: _Want) -> tuple:
    return (want.order_line_id, want.product_id, want.is_gift, want.source_id, want.quantity, want.reserved)


def _match_stored(line: StoredLine) -> tuple:
    return (line.order_line_id, line.product_id, line.is_gift, line.source_id, line.quantity, line.reserved)


# ---------------------------------------------------------------------------
# Routing a batch


def _gift_products(ruleset: RuleSet) -> set[int]:
    found = set()
    for rule in ruleset.rules:
        value = rule.params.get("gift_product_id") if rule.kind == GIFT and rule.enabled else None
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


def _claims(result: RoutingResult) -> dict[int, int]:
    """The units an engine result takes from each source (none when held), as the engine reserved them."""
    claims: dict[int, int] = defaultdict(int)
    if not result.held:
        for decision in result.lines:
            if decision.source_id is not None and decision.quantity > 0:
                claims[decision.source_id] += decision.quantity
    return claims


def _take(ledger: StockLedger, claims: dict[int, int]) -> bool:
    """Reserve all of ``claims`` from ``ledger``, or nothing when any source has too little; says which."""
    for source_id, quantity in claims.items():
        have = ledger.available(source_id)
        if have is not None and have < quantity:
            return False
    for source_id, quantity in claims.items():
        ledger.reserve(source_id, quantity)
    return True


class _Prepared(NamedTuple):
    """An engine result with what it writes of its order: lines wanted, the decision row if it changed, the reason."""

    result: RoutingResult
    remainder: dict[int, Remainder] | None
    wants: list[_Want]
    decision: tuple | None
    reason: str


class _Modes(NamedTuple):
    """How each order of a batch is routed: rejected sources per order, whole orders, remainders, nothing left."""

    excluded: dict[int, frozenset[int]]
    whole: list[int]
    remainders: dict[int, list[Remainder]]
    empty: list[int]

    def only(self, ids: set[int]) -> _Modes:
        return _Modes(
            {pk: v for pk, v in self.excluded.items() if pk in ids},
            [pk for pk in self.whole if pk in ids],
            {pk: v for pk, v in self.remainders.items() if pk in ids},
            [pk for pk in self.empty if pk in ids],
        )


@dataclass(slots=True)
class _OrderState:
    """What a batch tracks of a locked order: a model instance costs ten times as much to make."""

    pk: int
    order_number: str
    status: str
    auto_routed: bool | None
    routed_at: dt.datetime | None = None
    updated: dt.datetime | None = None


class _Batch:
    """One routing call: everything loaded once, the engine run once per mode, everything written in bulk."""

    def __init__(self, *, trigger: str, actor, ignore_holds: bool, statuses: frozenset[str]) -> None:
        self.trigger = trigger
        self.actor = actor
        self.ignore_holds = ignore_holds
        self.statuses = statuses
        self.now = timezone.now()
        self.summary = RouteSummary()
        self.orders: dict[int, _OrderState] = {}
        self.rows: dict[int, dict] = {}  # order id -> its row (order_rows)
        self.sku_of_line: dict[int, str] = {}
        self.stored: dict[int, list[StoredLine]] = {}  # order id -> its dispatch lines
        self.current: dict[int, dict] = {}  # order id -> its current decision
        self.locked: dict[int, LockedDispatch] = {}
        self.window: int | None = None
        self.records = False  # whether the rule set's strategy reads the suppliers' records
        self.tracked: set[int] = set()
        self.ruleset = RuleSet(version=0, rules=())
        self.full_rules = self.ruleset
        self.snapshots: dict[int, OrderSnapshot] = {}
        self.catalog = Catalog(listings={}, products={}, sources={})
        # What _write collects, then _apply writes.
        # (supplier id, merge key, version, the order whose buyer and address the dispatch snapshots)
        self.new_dispatches: list[tuple[int | None, str, int | None, int]] = []
        self.new_lines: list[tuple[LockedDispatch | int, _Want, int]] = []  # (dispatch or index in new_dispatches, …)
        self.released: list[StoredLine] = []
        self.decisions: list[tuple] = []  # rows of orders_routingdecision
        self.moves: dict[tuple[str, bool], list[Order]] = defaultdict(list)
        self.reasons: dict[int, str] = {}
        self.merge_targets: dict[tuple[str, int | None], LockedDispatch | int] = {}
        self.json_memo = JsonMemo()

    def run(self, order_ids: Sequence[int]) -> RouteSummary:
        requested = set(order_ids)
        rows, lines_of = order_rows(order_ids=requested, lock=True)
        rows = [row for row in rows if row["status"] in self.statuses]
        self.summary.skipped = len(requested) - len(rows)
        if not rows:
            return self.summary
        self.rows = {row["pk"]: row for row in rows}
        self.orders = {
            row["pk"]: _OrderState(
                pk=row["pk"], order_number=row["order_number"], status=row["status"], auto_routed=row["auto_routed"]
            )
            for row in rows
        }
        self.sku_of_line = {line[0]: line[3] for row in rows for line in lines_of.get(row["pk"], ())}

        self.ruleset = ruleset_snapshot(active_ruleset())
        self.full_rules = without(self.ruleset, {HOLD}) if self.ignore_holds else self.ruleset
        compiled = compile_rules(self.full_rules)
        self.window, self.records = compiled.merge_window_hours, compiled.strategy.uses_records
        ids = sorted(self.orders)
        for line in dispatch_lines_of_orders(order_ids=ids):
            self.stored.setdefault(line.order_id, []).append(line)
        self.current = {
            row["order_id"]: row
            for row in RoutingDecision.objects.filter(order_id__in=ids, is_current=True).values(
                "order_id", "ruleset_version", "held", "hold_reasons", "fired_rule_ids", "lines", "merge_key"
            )
        }
        self.snapshots = {row["pk"]: snapshot_from_row(row, lines_of.get(row["pk"], ())) for row in rows}
        merge_keys = {merge_key(order=snap) for snap in self.snapshots.values()} if self.window else set()

        # Decide without holding dispatches or stock: other batches route at the same time.
        modes = self._modes(ids)
        self.catalog = self._catalog(modes, lines_of)
        source_ids = [s.source_id for path in self.catalog.sources.values() for s in path]
        seen = stock_levels(source_ids=source_ids, lock=False)
        self.tracked = set(seen)
        results = self._route(modes, self._ledger(seen, modes))
        prepared = [self._prepare(result, remainder) for result, remainder in results]

        # Then lock, check what was decided against what is locked, and route again what no longer holds.
        drifted = self._lock_dispatches(sorted(k for k in merge_keys if k))
        if drifted:
            modes = self._modes(ids)
        levels = stock_levels(source_ids=source_ids, lock=True)
        if set(levels) != self.tracked:  # a source's stock began or stopped being tracked meanwhile
            self.tracked = set(levels)
            prepared = [self._prepare(p.result, p.remainder) for p in prepared]
        ledger = self._ledger(levels, modes)
        routed = set(modes.whole) | set(modes.remainders)
        kept, again = [], set()
        for item in prepared:
            pk = item.result.order_id
            if pk in routed and pk not in drifted and _take(ledger, _claims(item.result)):
                kept.append(item)
            else:
                again.add(pk)
        if again & routed:
            kept += [self._prepare(*pair) for pair in self._route(modes.only(again & routed), ledger)]
        self.summary.skipped += len(modes.empty)
        for item in kept:
            self._collect(item)
        self._apply()
        return self.summary

    def _catalog(self, modes: _Modes, lines_of: dict[int, list[tuple]]) -> Catalog:
        """The listings and products the batch may route, also for an order a supplier moves before the locks."""
        whole_skus = {line[3] for pk in modes.whole for line in lines_of.get(pk, ()) if line[3]}
        skus = {line[3] for lines in lines_of.values() for line in lines if line[3]}
        product_ids = _gift_products(self.full_rules) | {
            r.product_id for left in modes.remainders.values() for r in left
        }
        product_ids |= {line.product_id for lines in self.stored.values() for line in lines}
        catalog = load_catalog(listing_skus=skus, product_ids=product_ids, records=self.records)
        if listings_auto_map(listing_skus=whole_skus - set(catalog.listings)):
            catalog = load_catalog(listing_skus=skus, product_ids=product_ids, records=self.records)
        return catalog

    def _ledger(self, levels: dict[int, tuple[int, int]], modes: _Modes) -> StockLedger:
        """The stock available to the batch: what is free, plus what the orders routed whole hold now."""
        ledger = StockLedger({sid: on_hand - reserved for sid, (on_hand, reserved) in levels.items()})
        # What a re-routed order holds is available to it again; the lines it keeps take it straight back.
        for pk in modes.whole:
            for line in self.stored.get(pk, ()):
                if line.status == D.PENDING and line.reserved:
                    ledger.release(line.source_id, line.reserved)
        return ledger

    def _route(self, modes: _Modes, ledger: StockLedger) -> list[tuple[RoutingResult, dict[int, Remainder] | None]]:
        """The engine's results for these orders against ``ledger`` (which it draws down)."""
        routed = engine.route_batch(
            orders=[self.snapshots[pk] for pk in modes.whole],
            ruleset=self.full_rules,
            catalog=self.catalog,
            stock=ledger,
            now=self.now,
            exclude_sources=modes.excluded,
        )
        results: list[tuple[RoutingResult, dict[int, Remainder] | None]] = [(result, None) for result in routed]
        results += remainders_route(
            modes.remainders,
            snapshots=self.snapshots,
            ruleset=self.ruleset,
            catalog=self.catalog,
            ledger=ledger,
            excluded=modes.excluded,
            now=self.now,
        )
        return results

    def _lock_dispatches(self, merge_keys: list[str]) -> set[int]:
        """Lock the orders' open dispatches and those they may merge into; the locked status is the truth.

        Returns the orders a supplier moved a dispatch of since their lines were read.
        """
        maybe_pending = sorted(
            {
                line.dispatch_id
                for lines in self.stored.values()
                for line in lines
                if line.status in (D.PENDING, D.ACCEPTED)
            }
        )
        if not (maybe_pending or merge_keys):
            return set()
        since = self.now - dt.timedelta(hours=self.window or 0)
        self.locked = dispatches_lock(ids=maybe_pending, merge_keys=merge_keys, since=since)
        drifted = set()
        for pk, lines in self.stored.items():
            if any(
                line.dispatch_id in self.locked and self.locked[line.dispatch_id].status != line.status
                for line in lines
            ):
                drifted.add(pk)
                self.stored[pk] = [
                    line._replace(status=self.locked[line.dispatch_id].status) if line.dispatch_id in self.locked else line
                    for line in lines
                ]  # fmt: skip
        if self.window:
            # The newest pending dispatch per (merge key, supplier) created within the window.
            for d in sorted(self.locked.values(), key=lambda d: (d.created, d.pk)):
                if d.status == D.PENDING and d.merge_key and d.created >= since:
                    self.merge_targets[(d.merge_key, d.supplier_id)] = d
        return drifted

    def _modes(self, ids: list[int]) -> _Modes:
        """Rejected sources per order, the orders routed whole, the remainder of the others, those with none."""
        modes = _Modes({}, [], {}, [])
        for pk in ids:
            mine = self.stored.get(pk, [])
            rejected = frozenset(line.source_id for line in mine if line.status == D.REJECTED)
            if rejected:
                modes.excluded[pk] = rejected
            if not any(line.status in FIXED for line in mine):
                modes.whole.append(pk)
                continue
            left = remainder_of(stored=mine, current_lines=(self.current.get(pk) or {}).get("lines") or [])
            if left:
                modes.remainders[pk] = left
            else:
                modes.empty.append(pk)
        return modes

    # -- deciding what to write ---------------------------------------------

    def _wants(self, result: RoutingResult, remainder: dict[int, Remainder] | None) -> tuple[list[_Want], list[dict]]:
        """The lines to ship (none when held) and the decision's lines as stored, in the order's own terms."""
        wants: list[_Want] = []
        stored: list[dict] = []
        for decision in result.lines:
            if remainder is None:
                line_id, is_gift = decision.line_id, decision.is_gift
                sku = self.sku_of_line.get(line_id, "") if line_id is not None else ""
            else:
                item = remainder[decision.line_id]
                line_id, is_gift, sku = item.order_line_id, item.is_gift, item.listing_sku
            stored.append(
                line_decision_json(decision, line_id=line_id, is_gift=is_gift, listing_sku=sku, memo=self.json_memo)
            )
            if result.held or decision.source_id is None:
                continue
            wants.append(
                _Want(
                    order_line_id=line_id,
                    product_id=decision.product_id,
                    is_gift=is_gift,
                    source_id=decision.source_id,
                    supplier_id=decision.supplier_id,
                    quantity=decision.quantity,
                    unit_cost=decision.unit_cost,
                    cost_currency=decision.cost_currency or "",
                    listing_sku=sku,
                    reserved=decision.quantity if decision.source_id in self.tracked else 0,
                )
            )
        return wants, stored

    def _keep_or_release(self, wants: list[_Want], pending: list[StoredLine]) -> list[_Want]:
        """Whole routing: pending lines equal to a wanted one stay; the others are released. Returns what is new."""
        open_lines: dict[tuple, list[StoredLine]] = defaultdict(list)
        for line in pending:
            open_lines[_match_stored(line)].append(line)
        fresh = []
        for want in wants:
            same = open_lines.get(_match(want))
            if same:
                same.pop(0)
            else:
                fresh.append(want)
        self.released.extend(line for lines in open_lines.values() for line in lines)
        return fresh

    def _place(self, order: Order, wants: list[_Want], pending: list[StoredLine], merge_key: str, version) -> None:
        """New lines join the order's pending dispatch of their supplier, else a merge, else a new dispatch."""
        own: dict[int | None, LockedDispatch | int] = {}
        for line in pending:
            dispatch = self.locked[line.dispatch_id]
            own.setdefault(dispatch.supplier_id, dispatch)
        for want in wants:
            target = own.get(want.supplier_id)
            if target is None and merge_key:
                target = self.merge_targets.get((merge_key, want.supplier_id))
            if target is None:
                target = len(self.new_dispatches)
                self.new_dispatches.append((want.supplier_id, merge_key, version, order.pk))
                if merge_key:
                    self.merge_targets[(merge_key, want.supplier_id)] = target
            own[want.supplier_id] = target
            self.new_lines.append((target, want, order.pk))

    def _target_status(self, order: Order, result: RoutingResult) -> str:
        if result.held:
            return S.HELD
        if order.status in (S.NEW, S.HELD):
            shipped = any(line.status == D.SHIPPED for line in self.stored.get(order.pk, ()))
            return S.PARTIALLY_SHIPPED if shipped else S.ROUTED
        return order.status

    def _prepare(self, result: RoutingResult, remainder: dict[int, Remainder] | None) -> _Prepared:
        """What a result will write of its order, but its dispatches: done before the locks, to hold them short."""
        order = self.orders[result.order_id]
        version = result.ruleset_version or None
        wants, stored_lines = self._wants(result, remainder)
        merge_key = result.merge_key or ""
        record = {
            "ruleset_version": version,
            "held": result.held,
            "hold_reasons": reasons_json(result.hold_reasons),
            "fired_rule_ids": list(result.fired_rule_ids),
            "lines": stored_lines,
            "merge_key": merge_key,
        }
        previous = self.current.get(order.pk)
        decision = None
        if previous is None or any(previous[name] != value for name, value in record.items()):
            decision = (
                order.pk, version, result.held, json_text(record["hold_reasons"]), json_text(record["fired_rule_ids"]),
                pack_json(stored_lines), merge_key, self.trigger, True, self.now,
            )  # fmt: skip
        if result.held:
            reason = "; ".join(describe(r) for r in result.hold_reasons)
        else:
            text = TRIGGER_TEXT.get(self.trigger, self.trigger)
            reason = ROUTED_WITH % {"trigger": text, "version": result.ruleset_version}
        return _Prepared(result, remainder, wants, decision, reason)

    def _collect(self, prepared: _Prepared) -> None:
        result, remainder, wants = prepared.result, prepared.remainder, prepared.wants
        order = self.orders[result.order_id]
        pending = [line for line in self.stored.get(order.pk, ()) if line.status == D.PENDING]
        released_before = len(self.released)
        if remainder is None:
            wants = self._keep_or_release(wants, pending)
        self._place(order, wants, pending, result.merge_key or "", result.ruleset_version or None)
        changed = bool(wants) or len(self.released) > released_before
        if prepared.decision is not None:
            self.decisions.append(prepared.decision)
            changed = True
        if result.held:
            self.summary.held += 1
        else:
            self.summary.routed += 1
        self.reasons[order.pk] = prepared.reason
        status = self._target_status(order, result)
        if status != order.status:
            if status == S.HELD:
                auto = False
            elif self.trigger == "ingest" and order.status == S.NEW:
                auto = True  # passed every hold rule with no human touch
            else:
                auto = bool(order.auto_routed)
            self.moves[(status, auto)].append(order)
            changed = True
        self.summary.order_ids.append(order.pk)
        if not changed:
            self.summary.unchanged += 1

    # -- writing -------------------------------------------------------------

    def _apply(self) -> None:
        ids = dispatch_ids_allocate(count=len(self.new_dispatches))
        dispatches_insert(
            dispatches=(
                NewDispatch(pk, supplier_id, merge_key, version, *ship_to_snapshot(self.rows[order_id]))
                for pk, (supplier_id, merge_key, version, order_id) in zip(ids, self.new_dispatches, strict=True)
            ),
            now=self.now,
        )
        self.summary.dispatches_created = len(ids)

        deltas: dict[int, int] = defaultdict(int)
        rows = []
        receiving: set[int] = set()
        for target, want, order_id in self.new_lines:
            dispatch_id = ids[target] if isinstance(target, int) else target.pk
            receiving.add(dispatch_id)
            deltas[want.source_id] += want.reserved
            rows.append(
                NewLine(
                    dispatch_id, order_id, want.order_line_id, want.listing_sku, want.product_id, want.source_id,
                    want.quantity, want.is_gift, want.unit_cost, want.cost_currency, want.reserved,
                )
            )  # fmt: skip
        for line in self.released:
            deltas[line.source_id] -= line.reserved
        # The dispatches are locked (_lock_dispatches): a released line's dispatch may be cancelled.
        dispatch_lines_release(
            released=self.released,
            receiving=receiving,
            actor=self.actor,
            actor_label=ROUTING,
            reason=LINES_MOVED % {"trigger": TRIGGER_TEXT.get(self.trigger, self.trigger)},
        )
        dispatch_lines_insert(lines=rows)
        stock_reserve(deltas=deltas)

        if self.decisions:
            replaced = [row[0] for row in self.decisions if row[0] in self.current]
            if replaced:
                RoutingDecision.objects.filter(order_id__in=replaced, is_current=True).update(is_current=False)
            copy_rows("orders_routingdecision", _DECISION_COLUMNS, self.decisions)

        for (status, auto), orders in sorted(self.moves.items()):
            extra: dict[str, object] = {"auto_routed": auto}
            if status != S.HELD:
                extra["routed_at"] = self.now
            orders_transition(
                orders=orders, to=status, actor=self.actor, actor_label=ROUTING, reasons=self.reasons, extra=extra
            )


def route_batch(
    *, order_ids: Iterable[int], trigger: str, actor, ignore_holds: bool, statuses: Iterable[str]
) -> RouteSummary:
    """Route the orders among ``order_ids`` whose status is in ``statuses``, in the caller's transaction."""
    batch = _Batch(trigger=trigger, actor=actor, ignore_holds=ignore_holds, statuses=frozenset(statuses))
    return batch.run(list(order_ids))
