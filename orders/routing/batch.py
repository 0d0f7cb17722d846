"""Routing a batch of orders: load once, decide with the pure engine, write in bulk.

Set-based: the orders, the rule set, the catalog and the stock a batch needs
are loaded once, the engine (orders.routing.core) decides, and the results
are written with bulk statements through the owning apps' services
(suppliers.dispatches for dispatches, inventory.stock for reservations), so
the number of queries does not grow with the number of orders.

Locks are always taken in the same order, each set in primary-key order:
orders, then dispatches, then stock. Stock rows are read FOR UPDATE before the
engine runs, so what it reserves is really there when the batch commits;
the database's ``reserved <= on_hand`` check stays the last word.

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
from dataclasses import dataclass, field, replace
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
from orders.routing.core.types import (
    Catalog,
    Component,
    LineSnapshot,
    ListingTarget,
    RoutingResult,
    RuleSet,
    StockLedger,
    describe,
)
from orders.routing.decisions import JsonMemo, line_decision_json, reasons_json
from orders.routing.loading import (
    active_ruleset,
    load_catalog,
    order_rows,
    ruleset_snapshot,
    ship_to_snapshot,
    snapshot_from_row,
)
from orders.states import orders_transition
from suppliers.dispatches import (
    LIVE,
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


def _key(order_line_id: int | None, product_id: int, is_gift: bool) -> tuple:
    return (order_line_id, product_id, is_gift)


def _match(want: _Want) -> tuple:
    return (want.order_line_id, want.product_id, want.is_gift, want.source_id, want.quantity, want.reserved)


def _match_stored(line: StoredLine) -> tuple:
    return (line.order_line_id, line.product_id, line.is_gift, line.source_id, line.quantity, line.reserved)


# ---------------------------------------------------------------------------
# Routing a batch


def _without(ruleset: RuleSet, kinds: set[str]) -> RuleSet:
    return RuleSet(version=ruleset.version, rules=tuple(r for r in ruleset.rules if r.kind not in kinds))


def _gift_products(ruleset: RuleSet) -> set[int]:
    found = set()
    for rule in ruleset.rules:
        value = rule.params.get("gift_product_id") if rule.kind == GIFT and rule.enabled else None
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


def _synthetic_sku(product_id: int) -> str:
    # A listing key no channel can send (a NUL byte): routes one unit of a product per unit of the line.
    return f"\x00{product_id}"


class _Remainder(NamedTuple):
    order_line_id: int | None
    product_id: int
    is_gift: bool
    quantity: int
    listing_sku: str


def _remainder(*, stored: list[StoredLine], current_lines: list[dict]) -> list[_Remainder]:
    """What of an order no live dispatch line covers: rejected lines and lines that found no source."""
    wanted: dict[tuple, tuple[int, str]] = {}

    def want(key: tuple, quantity: int, sku: str) -> None:
        held = wanted.get(key)
        if held is None or held[0] < quantity:
            wanted[key] = (quantity, sku)

    for line in stored:
        if line.status == D.REJECTED:
            want(_key(line.order_line_id, line.product_id, line.is_gift), line.quantity, line.listing_sku)
    for item in current_lines:
        if item.get("source_id") is None and item.get("product_id") is not None:
            key = _key(item.get("line_id"), item["product_id"], bool(item.get("is_gift")))
            want(key, int(item["quantity"]), item.get("listing_sku") or "")
    covered: dict[tuple, int] = defaultdict(int)
    for line in stored:
        if line.status in LIVE:
            covered[_key(line.order_line_id, line.product_id, line.is_gift)] += line.quantity
    left = []
    for key, (quantity, sku) in sorted(wanted.items(), key=lambda kv: tuple(-1 if v is None else v for v in kv[0])):
        rest = quantity - covered.get(key, 0)
        if rest > 0:
            left.append(_Remainder(key[0], key[1], key[2], rest, sku))
    return left


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
        self.tracked: set[int] = set()
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

        ruleset = ruleset_snapshot(active_ruleset())
        full_rules = _without(ruleset, {HOLD}) if self.ignore_holds else ruleset
        self.window = compile_rules(full_rules).merge_window_hours
        ids = sorted(self.orders)
        for line in dispatch_lines_of_orders(order_ids=ids):
            self.stored.setdefault(line.order_id, []).append(line)
        self.current = {
            row["order_id"]: row
            for row in RoutingDecision.objects.filter(order_id__in=ids, is_current=True).values(
                "order_id", "ruleset_version", "held", "hold_reasons", "fired_rule_ids", "lines", "merge_key"
            )
        }
        snapshots = {row["pk"]: snapshot_from_row(row, lines_of.get(row["pk"], ())) for row in rows}
        merge_keys = {merge_key(order=snap) for snap in snapshots.values()} if self.window else set()
        self._lock_dispatches(sorted(k for k in merge_keys if k))

        excluded, whole, remainders = self._modes(ids)
        product_ids = _gift_products(full_rules) | {r.product_id for left in remainders.values() for r in left}
        skus = {line[3] for pk in whole for line in lines_of.get(pk, ()) if line[3]}
        catalog = load_catalog(listing_skus=skus, product_ids=product_ids)
        if listings_auto_map(listing_skus=skus - set(catalog.listings)):
            catalog = load_catalog(listing_skus=skus, product_ids=product_ids)
        levels = stock_levels(source_ids=[s.source_id for path in catalog.sources.values() for s in path], lock=True)
        self.tracked = set(levels)
        ledger = StockLedger({sid: on_hand - reserved for sid, (on_hand, reserved) in levels.items()})
        # What a re-routed order holds is available to it again; the lines it keeps take it straight back.
        for pk in whole:
            for line in self.stored.get(pk, ()):
                if line.status == D.PENDING and line.reserved:
                    ledger.release(line.source_id, line.reserved)

        routed = engine.route_batch(
            orders=[snapshots[pk] for pk in whole],
            ruleset=full_rules,
            catalog=catalog,
            stock=ledger,
            now=self.now,
            exclude_sources=excluded,
        )
        results: list[tuple[RoutingResult, dict[int, _Remainder] | None]] = [(result, None) for result in routed]
        if remainders:
            results += self._route_remainders(
                remainders, snapshots=snapshots, ruleset=ruleset, catalog=catalog, ledger=ledger, excluded=excluded
            )
        for result, remainder in results:
            self._collect(result, remainder)
        self._apply()
        return self.summary

    def _lock_dispatches(self, merge_keys: list[str]) -> None:
        """Lock the orders' open dispatches and those they may merge into; the locked status is the truth."""
        maybe_pending = sorted(
            {
                line.dispatch_id
                for lines in self.stored.values()
                for line in lines
                if line.status in (D.PENDING, D.ACCEPTED)
            }
        )
        if not (maybe_pending or merge_keys):
            return
        since = self.now - dt.timedelta(hours=self.window or 0)
        self.locked = dispatches_lock(ids=maybe_pending, merge_keys=merge_keys, since=since)
        # A supplier may have accepted a dispatch since its lines were read.
        self.stored = {
            pk: [line._replace(status=self.locked[line.dispatch_id].status) if line.dispatch_id in self.locked else line for line in lines]
            for pk, lines in self.stored.items()
        }  # fmt: skip
        if self.window:
            # The newest pending dispatch per (merge key, supplier) created within the window.
            since = self.now - dt.timedelta(hours=self.window)
            for d in sorted(self.locked.values(), key=lambda d: (d.created, d.pk)):
                if d.status == D.PENDING and d.merge_key and d.created >= since:
                    self.merge_targets[(d.merge_key, d.supplier_id)] = d

    def _modes(self, ids: list[int]) -> tuple[dict[int, frozenset[int]], list[int], dict[int, list[_Remainder]]]:
        """Rejected sources per order, the orders routed whole, and the remainder of the others."""
        excluded: dict[int, frozenset[int]] = {}
        whole: list[int] = []
        remainders: dict[int, list[_Remainder]] = {}
        for pk in ids:
            mine = self.stored.get(pk, [])
            rejected = frozenset(line.source_id for line in mine if line.status == D.REJECTED)
            if rejected:
                excluded[pk] = rejected
            if not any(line.status in FIXED for line in mine):
                whole.append(pk)
                continue
            left = _remainder(stored=mine, current_lines=(self.current.get(pk) or {}).get("lines") or [])
            if left:
                remainders[pk] = left
            else:
                self.summary.skipped += 1
        return excluded, whole, remainders

    def _route_remainders(
        self, remainders, *, snapshots, ruleset: RuleSet, catalog: Catalog, ledger: StockLedger, excluded
    ) -> list[tuple[RoutingResult, dict[int, _Remainder]]]:
        """Route what is left of partly accepted orders: one synthetic line per product, no hold or gift rules."""
        synthetic = {
            _synthetic_sku(r.product_id): ListingTarget(components=(Component(r.product_id, 1),))
            for left in remainders.values()
            for r in left
        }
        catalog = replace(catalog, listings={**catalog.listings, **synthetic})
        snaps = [
            replace(
                snapshots[pk],
                lines=tuple(
                    LineSnapshot(i, _synthetic_sku(r.product_id), r.quantity, Decimal(0), Decimal(0))
                    for i, r in enumerate(left)
                ),
            )
            for pk, left in remainders.items()
        ]
        results = engine.route_batch(
            orders=snaps,
            ruleset=_without(ruleset, {HOLD, GIFT}),
            catalog=catalog,
            stock=ledger,
            now=self.now,
            exclude_sources=excluded,
        )
        return [(result, dict(enumerate(remainders[result.order_id]))) for result in results]

    # -- deciding what to write ---------------------------------------------

    def _wants(self, result: RoutingResult, remainder: dict[int, _Remainder] | None) -> tuple[list[_Want], list[dict]]:
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

    def _collect(self, result: RoutingResult, remainder: dict[int, _Remainder] | None) -> None:
        order = self.orders[result.order_id]
        version = result.ruleset_version or None
        wants, stored_lines = self._wants(result, remainder)
        pending = [line for line in self.stored.get(order.pk, ()) if line.status == D.PENDING]
        released_before = len(self.released)
        if remainder is None:
            wants = self._keep_or_release(wants, pending)
        merge_key = result.merge_key or ""
        self._place(order, wants, pending, merge_key, version)
        changed = bool(wants) or len(self.released) > released_before

        record = {
            "ruleset_version": version,
            "held": result.held,
            "hold_reasons": reasons_json(result.hold_reasons),
            "fired_rule_ids": list(result.fired_rule_ids),
            "lines": stored_lines,
            "merge_key": merge_key,
        }
        previous = self.current.get(order.pk)
        if previous is None or any(previous[name] != value for name, value in record.items()):
            self.decisions.append(
                (
                    order.pk,
                    version,
                    result.held,
                    json_text(record["hold_reasons"]),
                    json_text(record["fired_rule_ids"]),
                    pack_json(stored_lines),
                    merge_key,
                    self.trigger,
                    True,
                    self.now,
                )
            )
            changed = True

        if result.held:
            self.summary.held += 1
            self.reasons[order.pk] = "; ".join(describe(r) for r in result.hold_reasons)
        else:
            self.summary.routed += 1
            text = TRIGGER_TEXT.get(self.trigger, self.trigger)
            self.reasons[order.pk] = ROUTED_WITH % {"trigger": text, "version": result.ruleset_version}
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
