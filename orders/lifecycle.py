"""The order's life after ingest: routing into dispatches, holds, re-routes, rejections, shipping, cancellation.

Each public function is one service in one transaction. Routing a batch is
set-based: the orders, the rule set, the catalog and the stock it needs are
loaded once, the pure engine (orders.routing) decides, and the results are
written with bulk statements, so the number of queries does not grow with
the number of orders.

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
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from psycopg2.extras import execute_values

from core.bulk import copy_rows, json_text
from core.memory import collector_paused
from core.states import actor_name
from inventory.models import Listing, ListingComponent, Product
from orders.models import Order, OrderLine, ReturnRecord, RoutingDecision, Transition, pack_json
from orders.routing.core import engine
from orders.routing.core.rules import GIFT, HOLD, compile_rules
from orders.routing.core.types import (
    Catalog,
    Component,
    LineDecision,
    LineSnapshot,
    ListingTarget,
    Reason,
    RoutingResult,
    RuleSet,
    SourceVerdict,
    StockLedger,
    describe,
)
from orders.routing.loading import (
    active_ruleset,
    load_catalog,
    order_rows,
    ruleset_snapshot,
    snapshot_from_row,
    stock_levels,
)
from orders.states import orders_transition
from suppliers.dispatch_states import dispatch_transition, dispatches_transition
from suppliers.models import Dispatch, DispatchLine

logger = logging.getLogger(__name__)

S = Order.Status
D = Dispatch.Status

ROUTING = "routing"
LIVE = (D.PENDING, D.ACCEPTED, D.SHIPPED)
FIXED = (D.ACCEPTED, D.SHIPPED)  # what routing no longer moves
TRIGGERS = ("ingest", "manual", "release", "reroute", "mapping", "rejection")
_TRIGGER_TEXT = {
    "ingest": "Routed on ingest",
    "manual": "Routed by hand",
    "release": "Released from hold",
    "reroute": "Re-routed",
    "mapping": "Re-routed after a listing mapping changed",
    "rejection": "Re-routed after a supplier rejected it",
}
_DISPATCH_COLUMNS = (
    "id",
    "number",
    "supplier_id",
    "status",
    "merge_key",
    "ruleset_version",
    "reason",
    "created",
    "updated",
)
_LINE_COLUMNS = (
    "dispatch_id", "order_id", "order_line_id", "listing_sku", "product_id", "source_id", "quantity", "is_gift",
    "unit_cost", "cost_currency", "reserved",
)  # fmt: skip
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


@dataclass
class CancelSummary:
    cancelled: int = 0
    intercepted_dispatches: int = 0  # dispatches cancelled before shipping
    returns: int = 0  # ReturnRecords made for lines that had shipped
    skipped: int = 0  # cancelled already, or unknown


# ---------------------------------------------------------------------------
# Decisions as stored JSON


def reason_json(reason: Reason) -> dict:
    return {"code": reason.code, "params": dict(reason.params)}


def _reasons(reasons: Iterable[Reason]) -> list[dict]:
    return [{"code": r.code, "params": dict(r.params)} for r in reasons]


class JsonMemo:
    """The JSON forms of reasons and verdicts already converted, by identity.

    The engine shares one immutable Reason or SourceVerdict between every line
    it applies to, so a batch converts each once. Holds the objects it saw, so
    their ids stay theirs while the memo lives; the dicts it returns are shared
    too and must not be changed.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, tuple[object, object]] = {}

    def reason(self, reason: Reason) -> dict:
        hit = self._seen.get(id(reason))
        if hit is None:
            hit = self._seen[id(reason)] = (reason, {"code": reason.code, "params": dict(reason.params)})
        return hit[1]

    def verdict(self, verdict: SourceVerdict) -> dict:
        hit = self._seen.get(id(verdict))
        if hit is None:
            as_json = {
                "source_id": verdict.source_id,
                "supplier_id": verdict.supplier_id,
                "chosen": verdict.chosen,
                "reasons": [self.reason(r) for r in verdict.reasons],
            }
            hit = self._seen[id(verdict)] = (verdict, as_json)
        return hit[1]


def line_decision_json(
    decision: LineDecision, *, line_id: int | None, is_gift: bool, listing_sku: str, memo: JsonMemo | None = None
) -> dict:
    """One LineDecision as RoutingDecision.lines stores it (money as text, reasons as codes with params).

    Pass a batch's ``memo`` to convert the reasons and verdicts lines share only once.
    """
    if memo is None:
        memo = JsonMemo()
    reason = memo.reason
    return {
        "line_id": line_id,
        "listing_sku": listing_sku,
        "product_id": decision.product_id,
        "quantity": decision.quantity,
        "is_gift": is_gift,
        "source_id": decision.source_id,
        "supplier_id": decision.supplier_id,
        "unit_cost": None if decision.unit_cost is None else str(decision.unit_cost),
        "cost_currency": decision.cost_currency,
        "reasons": [reason(r) for r in decision.reasons],
        "considered": [memo.verdict(v) for v in decision.considered],
    }


def decision_lines_json(result: RoutingResult, *, listing_skus: dict[int, str] | None = None) -> list[dict]:
    """The lines of an engine result as RoutingDecision.lines stores them."""
    skus = listing_skus or {}
    memo = JsonMemo()
    return [
        line_decision_json(d, line_id=d.line_id, is_gift=d.is_gift, listing_sku=skus.get(d.line_id, ""), memo=memo)
        for d in result.lines
    ]


# ---------------------------------------------------------------------------
# What routing reads about existing dispatch lines


class _Stored(NamedTuple):
    pk: int
    dispatch_id: int
    order_id: int
    order_line_id: int | None
    product_id: int
    source_id: int
    quantity: int
    is_gift: bool
    reserved: int
    listing_sku: str
    status: str  # the dispatch's


_STORED_FIELDS = (
    "pk", "dispatch_id", "order_id", "order_line_id", "product_id", "source_id", "quantity",
    "is_gift", "reserved", "listing_sku", "dispatch__status",
)  # fmt: skip


def _stored_lines(order_ids: Sequence[int]) -> list[_Stored]:
    return [
        _Stored(*row)
        for row in DispatchLine.objects.filter(order_id__in=order_ids).order_by("pk").values_list(*_STORED_FIELDS)
    ]


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


def _match_stored(line: _Stored) -> tuple:
    return (line.order_line_id, line.product_id, line.is_gift, line.source_id, line.quantity, line.reserved)


# ---------------------------------------------------------------------------
# Writing


def _stock_add(deltas: dict[int, int], *, on_hand: bool = False) -> None:
    """Add ``delta`` to Stock.reserved (and to on_hand too, when shipping) per source, in one relative UPDATE.

    The same as ``F("reserved") + delta`` per row, for any number of rows in one
    statement; rows are touched in source order. The database's check refuses
    a reservation beyond what is on hand.
    """
    rows = sorted((source_id, delta) for source_id, delta in deltas.items() if delta)
    if not rows:
        return
    set_on_hand = ", on_hand = s.on_hand + v.delta" if on_hand else ""
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"""
            UPDATE inventory_stock s SET reserved = s.reserved + v.delta{set_on_hand}, updated = now()
            FROM (VALUES %s) AS v(source_id, delta) WHERE s.source_id = v.source_id
            """,  # noqa: S608 - the only interpolation is a constant
            rows,
            template="(%s::bigint, %s::integer)",
            page_size=5000,
        )


def _allocate_dispatch_ids(count: int) -> list[int]:
    """Ids for new dispatches, from the table's own sequence: unique under any concurrency, no lock needed."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('suppliers_dispatch', 'id')) FROM generate_series(1, %s)", [count]
        )
        return [row[0] for row in cursor.fetchall()]


def dispatch_number(dispatch_id: int) -> str:
    """The dispatch's readable number: D and its id, zero-padded to eight digits."""
    return f"D{dispatch_id:08d}"


def _lock_orders(order_ids: Iterable[int]) -> list[Order]:
    ids = sorted(set(order_ids))
    if not ids:
        return []
    return list(
        Order.objects.select_for_update(of=("self",))
        .select_related("store")
        .prefetch_related("lines")
        .filter(pk__in=ids)
        .order_by("pk")
    )


# ---------------------------------------------------------------------------
# Exact-SKU auto-mapping


def _auto_map(unmapped: set[str]) -> int:
    """Map listing SKUs that nothing maps yet but that equal a product's SKU to that product.

    ``unmapped`` are SKUs the catalog has no components for. A listing row
    without components (an unmapped queue entry) is mapped too. Safe against
    a concurrent ingest doing the same: rows are inserted with ON CONFLICT DO
    NOTHING, which waits for the other transaction. Returns how many SKUs are
    mapped now, by this call or by that other one: the catalog must be read again.
    """
    missing = {sku for sku in unmapped if sku}
    if not missing:
        return 0
    products = dict(Product.objects.filter(sku__in=missing).values_list("sku", "pk"))
    if not products:
        return 0
    Listing.objects.bulk_create(
        [Listing(listing_sku=sku, auto_mapped=True) for sku in sorted(products)], ignore_conflicts=True
    )
    empty = dict(
        Listing.objects.filter(listing_sku__in=products, components__isnull=True).values_list("listing_sku", "pk")
    )
    if empty:
        Listing.objects.filter(pk__in=empty.values()).update(auto_mapped=True)
        ListingComponent.objects.bulk_create(
            [ListingComponent(listing_id=pk, product_id=products[sku], quantity=1) for sku, pk in empty.items()],
            ignore_conflicts=True,
        )
    return len(products)


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


def _remainder(*, stored: list[_Stored], current_lines: list[dict]) -> list[_Remainder]:
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


class _Locked(NamedTuple):
    """A dispatch routing locked (its own, or one its orders may merge into), as far as routing reads it."""

    pk: int
    supplier_id: int | None
    status: str
    merge_key: str
    created: dt.datetime


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
        self.sku_of_line: dict[int, str] = {}
        self.stored: dict[int, list[_Stored]] = {}  # order id -> its dispatch lines
        self.current: dict[int, dict] = {}  # order id -> its current decision
        self.locked: dict[int, _Locked] = {}
        self.window: int | None = None
        self.tracked: set[int] = set()
        # What _write collects, then _apply writes.
        self.new_dispatches: list[tuple[int | None, str, int | None]] = []  # (supplier id, merge key, version)
        self.new_lines: list[tuple[_Locked | int, _Want, int]] = []  # (dispatch or index in new_dispatches, …)
        self.released: list[_Stored] = []
        self.decisions: list[tuple] = []  # rows of orders_routingdecision
        self.moves: dict[tuple[str, bool], list[Order]] = defaultdict(list)
        self.reasons: dict[int, str] = {}
        self.merge_targets: dict[tuple[str, int | None], _Locked | int] = {}
        self.json_memo = JsonMemo()

    def run(self, order_ids: Sequence[int]) -> RouteSummary:
        requested = set(order_ids)
        rows, lines_of = order_rows(order_ids=requested, lock=True)
        rows = [row for row in rows if row["status"] in self.statuses]
        self.summary.skipped = len(requested) - len(rows)
        if not rows:
            return self.summary
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
        for line in _stored_lines(ids):
            self.stored.setdefault(line.order_id, []).append(line)
        self.current = {
            row["order_id"]: row
            for row in RoutingDecision.objects.filter(order_id__in=ids, is_current=True).values(
                "order_id", "ruleset_version", "held", "hold_reasons", "fired_rule_ids", "lines", "merge_key"
            )
        }
        snapshots = {row["pk"]: snapshot_from_row(row, lines_of.get(row["pk"], ())) for row in rows}
        merge_keys = {engine.merge_key(order=snap) for snap in snapshots.values()} if self.window else set()
        self._lock_dispatches(sorted(k for k in merge_keys if k))

        excluded, whole, remainders = self._modes(ids)
        product_ids = _gift_products(full_rules) | {r.product_id for left in remainders.values() for r in left}
        skus = {line[3] for pk in whole for line in lines_of.get(pk, ()) if line[3]}
        catalog = load_catalog(listing_skus=skus, product_ids=product_ids)
        if _auto_map(skus - set(catalog.listings)):
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
        # Arrays, not IN lists: a batch's thousand merge keys are one parameter. Plain rows, not models:
        # a batch locks thousands of merge candidates and reads five columns of them.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT id, supplier_id, status, merge_key, created FROM suppliers_dispatch
                WHERE id = ANY(%s) OR (status = %s AND merge_key = ANY(%s) AND created >= %s)
                ORDER BY id FOR UPDATE
                """,
                [maybe_pending, D.PENDING, merge_keys, since],
            )
            self.locked = {row[0]: _Locked(*row) for row in cursor.fetchall()}
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

    def _keep_or_release(self, wants: list[_Want], pending: list[_Stored]) -> list[_Want]:
        """Whole routing: pending lines equal to a wanted one stay; the others are released. Returns what is new."""
        open_lines: dict[tuple, list[_Stored]] = defaultdict(list)
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

    def _place(self, order: Order, wants: list[_Want], pending: list[_Stored], merge_key: str, version) -> None:
        """New lines join the order's pending dispatch of their supplier, else a merge, else a new dispatch."""
        own: dict[int | None, _Locked | int] = {}
        for line in pending:
            dispatch = self.locked[line.dispatch_id]
            own.setdefault(dispatch.supplier_id, dispatch)
        for want in wants:
            target = own.get(want.supplier_id)
            if target is None and merge_key:
                target = self.merge_targets.get((merge_key, want.supplier_id))
            if target is None:
                target = len(self.new_dispatches)
                self.new_dispatches.append((want.supplier_id, merge_key, version))
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
            "hold_reasons": _reasons(result.hold_reasons),
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
            text = _TRIGGER_TEXT.get(self.trigger, self.trigger)
            self.reasons[order.pk] = f"{text}, rule set v{result.ruleset_version}."
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
        now = self.now
        ids = _allocate_dispatch_ids(len(self.new_dispatches))
        copy_rows(
            "suppliers_dispatch",
            _DISPATCH_COLUMNS,
            (
                (pk, dispatch_number(pk), supplier_id, D.PENDING, merge_key, version, "", now, now)
                for pk, (supplier_id, merge_key, version) in zip(ids, self.new_dispatches, strict=True)
            ),
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
                (
                    dispatch_id, order_id, want.order_line_id, want.listing_sku, want.product_id, want.source_id,
                    want.quantity, want.is_gift, want.unit_cost, want.cost_currency, want.reserved,
                )
            )  # fmt: skip
        for line in self.released:
            deltas[line.source_id] -= line.reserved
        if self.released:
            self._release(receiving)
        copy_rows("suppliers_dispatchline", _LINE_COLUMNS, rows)
        _stock_add(deltas)

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

    def _release(self, receiving: set[int]) -> None:
        """Released lines: a dispatch left with none is cancelled (its lines stay as the record, holding
        nothing); from a dispatch that keeps others, they are taken off."""
        totals = dict(
            DispatchLine.objects.filter(dispatch_id__in={line.dispatch_id for line in self.released})
            .values("dispatch_id")
            .annotate(n=Count("id"))
            .values_list("dispatch_id", "n")
            .order_by()
        )
        gone: dict[int, int] = defaultdict(int)
        for line in self.released:
            gone[line.dispatch_id] += 1
        emptied = sorted(pk for pk, n in gone.items() if n == totals.get(pk) and pk not in receiving)
        kept_as_record = {line.pk for line in self.released if line.dispatch_id in set(emptied)}
        DispatchLine.objects.filter(pk__in=sorted(kept_as_record)).update(reserved=0)
        taken_off = sorted({line.pk for line in self.released} - kept_as_record)
        if taken_off:
            DispatchLine.objects.filter(pk__in=taken_off).delete()
        if not emptied:
            return
        dispatches_transition(
            dispatches=list(Dispatch.objects.filter(pk__in=emptied).order_by("pk")),  # locked by _lock_dispatches
            to=D.CANCELLED,
            actor=self.actor,
            actor_label=ROUTING,
            reason=_TRIGGER_TEXT.get(self.trigger, self.trigger) + ": its lines moved elsewhere.",
        )


def _route(
    *, order_ids: Iterable[int], trigger: str, actor, ignore_holds: bool, statuses: Iterable[str]
) -> RouteSummary:
    batch = _Batch(trigger=trigger, actor=actor, ignore_holds=ignore_holds, statuses=frozenset(statuses))
    with collector_paused():
        return batch.run(list(order_ids))


# ---------------------------------------------------------------------------
# Services


@transaction.atomic
def route_orders(*, order_ids: Sequence[int], trigger: str, actor=None, ignore_holds: bool = False) -> RouteSummary:
    """Route new and held orders into dispatches, in one transaction, set-based.

    Orders in any other state are skipped (counted). Listing SKUs equal to a
    product SKU are mapped first. Each order gets a stored decision; one that
    passes every hold rule gets a dispatch per supplier (or joins a pending
    dispatch of its merge group) with its stock reserved and becomes routed,
    ``auto_routed`` when it came in by ingest; the others are held with their
    reasons. Safe to run twice and against concurrent callers: rows are locked
    and already-routed orders are skipped.
    """
    return _route(
        order_ids=order_ids, trigger=trigger, actor=actor, ignore_holds=ignore_holds, statuses=(S.NEW, S.HELD)
    )


@transaction.atomic
def release_holds(*, order_ids: Sequence[int], actor) -> RouteSummary:
    """A person reviewed held orders: route them ignoring the hold rules.

    Unmapped SKUs and lines with no usable source still hold. Released orders
    are never counted as auto-routed.
    """
    return _route(order_ids=order_ids, trigger="release", actor=actor, ignore_holds=True, statuses=(S.HELD,))


@transaction.atomic
def reroute_orders(*, order_ids: Sequence[int], actor=None, trigger: str = "reroute") -> RouteSummary:
    """Route orders that have not shipped again under today's rules, catalog and stock. Idempotent.

    Pending dispatch lines the new decision keeps stay as they are; the others
    are released (stock given back; a dispatch left empty is cancelled) and the
    new lines join the order's pending dispatch of that supplier, or a new one:
    never a second dispatch for the same order and supplier. Lines a supplier
    accepted or shipped are not moved. Run twice, the second run changes nothing.
    """
    statuses = (S.NEW, S.HELD, S.ROUTED, S.PARTIALLY_SHIPPED)
    return _route(order_ids=order_ids, trigger=trigger, actor=actor, ignore_holds=False, statuses=statuses)


@transaction.atomic
def reroute_held_for_listings(*, listing_skus: Iterable[str], actor=None) -> RouteSummary:
    """After a listing mapping was made or changed: route again the held orders that sell those listing SKUs."""
    skus = sorted({sku for sku in listing_skus if sku})
    if not skus:
        return RouteSummary()
    order_ids = list(
        OrderLine.objects.filter(listing_sku__in=skus, order__status=S.HELD)
        .values_list("order_id", flat=True)
        .distinct()
        .order_by("order_id")
    )
    return _route(order_ids=order_ids, trigger="mapping", actor=actor, ignore_holds=False, statuses=(S.HELD,))


def _order_ids_of(dispatch: Dispatch) -> list[int]:
    return list(
        DispatchLine.objects.filter(dispatch_id=dispatch.pk).values_list("order_id", flat=True).distinct().order_by()
    )


@transaction.atomic
def dispatch_reject(*, dispatch: Dispatch, reason: str, actor=None) -> RouteSummary:
    """The supplier will not ship: the dispatch is rejected, its stock released, its lines routed on.

    Each line goes to the next usable source on its path (the rejected
    sources are excluded for those orders from now on); an order whose lines
    have none left is held with ``no_source_left``. Hold rules are not applied
    again. Raises IllegalTransition (nothing changed) unless the dispatch is
    pending or accepted.
    """
    _lock_orders(_order_ids_of(dispatch))
    dispatch = dispatch_transition(
        dispatch=dispatch, to=D.REJECTED, actor=actor, actor_label="supplier", reason=reason or "Rejected."
    )
    lines = list(
        DispatchLine.objects.filter(dispatch_id=dispatch.pk, reserved__gt=0).values_list("source_id", "reserved")
    )
    deltas: dict[int, int] = defaultdict(int)
    for source_id, reserved in lines:
        deltas[source_id] -= reserved
    _stock_add(deltas)
    DispatchLine.objects.filter(dispatch_id=dispatch.pk, reserved__gt=0).update(reserved=0)
    return _route(
        order_ids=_order_ids_of(dispatch),
        trigger="rejection",
        actor=actor,
        ignore_holds=True,
        statuses=(S.ROUTED, S.PARTIALLY_SHIPPED),
    )


@transaction.atomic
def dispatch_accept(*, dispatch: Dispatch, actor=None) -> Dispatch:
    """The supplier will ship it. Raises IllegalTransition unless the dispatch is pending."""
    return dispatch_transition(dispatch=dispatch, to=D.ACCEPTED, actor=actor, actor_label="supplier")


def _shipping_state(order: Order, statuses: list[str]) -> str:
    if order.status == S.HELD:
        return S.HELD  # what is left still needs a person; the timeline shows what shipped
    open_left = any(status in (D.PENDING, D.ACCEPTED) for status in statuses)
    return S.PARTIALLY_SHIPPED if open_left else S.SHIPPED


@transaction.atomic
def dispatch_ship(*, dispatch: Dispatch, actor=None, carrier: str = "", tracking_number: str = "") -> Dispatch:
    """The supplier shipped it: the reservation is consumed (on hand and reserved both drop) and each
    order it carries becomes shipped, or partly shipped while other dispatches are open.

    Raises IllegalTransition unless the dispatch is pending or accepted.
    """
    orders = _lock_orders(_order_ids_of(dispatch))
    detail = ", ".join(
        part for part in (carrier and f"carrier {carrier}", tracking_number and f"tracking {tracking_number}") if part
    )
    dispatch = dispatch_transition(
        dispatch=dispatch,
        to=D.SHIPPED,
        actor=actor,
        actor_label="supplier",
        reason=f"Shipped ({detail})." if detail else "Shipped.",
    )
    deltas: dict[int, int] = defaultdict(int)
    for source_id, reserved in DispatchLine.objects.filter(dispatch_id=dispatch.pk, reserved__gt=0).values_list(
        "source_id", "reserved"
    ):
        deltas[source_id] -= reserved
    _stock_add(deltas, on_hand=True)
    DispatchLine.objects.filter(dispatch_id=dispatch.pk, reserved__gt=0).update(reserved=0)

    statuses: dict[int, list[str]] = defaultdict(list)
    for order_id, status in DispatchLine.objects.filter(order_id__in=[o.pk for o in orders]).values_list(
        "order_id", "dispatch__status"
    ):
        statuses[order_id].append(status)
    moves: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        to = _shipping_state(order, statuses[order.pk])
        if order.status not in (to, S.CANCELLED):
            moves[to].append(order)
    for to, group in sorted(moves.items()):
        orders_transition(
            orders=group,
            to=to,
            actor=actor,
            actor_label="supplier",
            reasons={o.pk: f"Dispatch {dispatch.number} shipped." for o in group},
        )
    return dispatch


@transaction.atomic
def orders_cancelled_on_channel(
    *, order_ids: Iterable[int], reason: str = "Cancelled on the channel."
) -> CancelSummary:
    """The buyer cancelled on the channel. Idempotent.

    What has not shipped is intercepted: open dispatches are cancelled (the
    supplier sees them cancelled) and their stock released; from a dispatch
    merged with other orders only this order's lines are taken off. What had
    shipped becomes one ReturnRecord per order line (quantity and net amount)
    for settlement. The order ends cancelled; an order cancelled already is skipped.
    """
    requested = set(order_ids)
    orders = [o for o in _lock_orders(requested) if o.status != S.CANCELLED]
    summary = CancelSummary(skipped=len(requested) - len(orders))
    if not orders:
        return summary
    ids = [o.pk for o in orders]
    stored = _stored_lines(ids)
    open_ids = sorted({line.dispatch_id for line in stored if line.status in (D.PENDING, D.ACCEPTED)})
    locked = {d.pk: d for d in Dispatch.objects.select_for_update().filter(pk__in=open_ids).order_by("pk")}
    stored = [
        line._replace(status=locked[line.dispatch_id].status) if line.dispatch_id in locked else line for line in stored
    ]
    summary.intercepted_dispatches = _intercept(
        [line for line in stored if line.status in (D.PENDING, D.ACCEPTED)], locked=locked, order_ids=ids, reason=reason
    )
    summary.returns = _returns(orders, stored, reason=reason)
    orders_transition(orders=orders, to=S.CANCELLED, actor_label="channel", reasons={o.pk: reason for o in orders})
    summary.cancelled = len(orders)
    return summary


def _intercept(open_lines: list[_Stored], *, locked: dict[int, Dispatch], order_ids: list[int], reason: str) -> int:
    """Release the open lines of cancelled orders: their dispatches are cancelled, or, when merged with
    other orders, the lines are taken off. Returns how many dispatches were cancelled."""
    deltas: dict[int, int] = defaultdict(int)
    for line in open_lines:
        deltas[line.source_id] -= line.reserved
    open_ids = sorted({line.dispatch_id for line in open_lines})
    shared = set(
        DispatchLine.objects.filter(dispatch_id__in=open_ids)
        .exclude(order_id__in=order_ids)
        .values_list("dispatch_id", flat=True)
    )
    intercepted = [locked[pk] for pk in open_ids if pk not in shared]
    DispatchLine.objects.filter(pk__in=[line.pk for line in open_lines if line.dispatch_id not in shared]).update(
        reserved=0
    )
    taken_off = [line for line in open_lines if line.dispatch_id in shared]
    if taken_off:
        Transition.objects.bulk_create(
            Transition(
                order_id=order_id,
                dispatch_id=dispatch_id,
                from_state=locked[dispatch_id].status,
                to_state=locked[dispatch_id].status,
                actor_label="channel",
                reason=f"{reason} The order's lines were taken off this merged dispatch."[:500],
            )
            for dispatch_id, order_id in sorted({(line.dispatch_id, line.order_id) for line in taken_off})
        )
        DispatchLine.objects.filter(pk__in=[line.pk for line in taken_off]).delete()
    dispatches_transition(dispatches=intercepted, to=D.CANCELLED, actor_label="channel", reason=reason)
    _stock_add(deltas)
    return len(intercepted)


def _returns(orders: list[Order], stored: list[_Stored], *, reason: str) -> int:
    """A ReturnRecord per order line that shipped (its quantity and net amount); none twice."""
    shipped_by_line: dict[int, int] = {}
    for line in stored:
        if line.status == D.SHIPPED and line.order_line_id is not None:
            shipped_by_line.setdefault(line.order_line_id, line.pk)
    returns = [
        ReturnRecord(
            order_id=order.pk,
            order_line_id=line.pk,
            dispatch_line_id=shipped_by_line[line.pk],
            listing_sku=line.listing_sku,
            quantity=line.quantity,
            amount=line.net_amount,
            currency=order.currency,
            reason=reason[:300],
        )
        for order in orders
        for line in order.lines.all()
        if line.pk in shipped_by_line
    ]
    return len(ReturnRecord.objects.bulk_create(returns, ignore_conflicts=True))


@transaction.atomic
def orders_ingested(*, order_ids: Iterable[int]) -> RouteSummary:
    """After an ingest committed: cancel what the channel cancelled, route what is new (trigger "ingest").

    Safe to run twice: cancelled orders are skipped, routed ones are no longer new.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return RouteSummary()
    cancelled = list(
        Order.objects.filter(pk__in=ids, cancelled_at__isnull=False)
        .exclude(status=S.CANCELLED)
        .values_list("pk", flat=True)
    )
    if cancelled:
        orders_cancelled_on_channel(order_ids=cancelled)
    new = list(Order.objects.filter(pk__in=ids, status=S.NEW, cancelled_at__isnull=True).values_list("pk", flat=True))
    if not new:
        return RouteSummary(skipped=len(ids))
    summary = route_orders(order_ids=new, trigger="ingest")
    summary.skipped += len(ids) - len(new)
    return summary


__all__ = [
    "TRIGGERS",
    "CancelSummary",
    "RouteSummary",
    "actor_name",
    "decision_lines_json",
    "dispatch_accept",
    "dispatch_number",
    "dispatch_reject",
    "dispatch_ship",
    "line_decision_json",
    "orders_cancelled_on_channel",
    "orders_ingested",
    "reason_json",
    "release_holds",
    "reroute_held_for_listings",
    "reroute_orders",
    "route_orders",
]
