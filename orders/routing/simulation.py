"""Simulation: what a draft rule set would have decided for recent orders, compared with the active one.

Nothing is written but the Simulation row: both rule sets route the same
orders against the same catalog, each with its own fresh copy of today's
stock, and the differences are counted. Orders are loaded in chunks so a
month of orders needs a few dozen queries, and progress is saved per chunk
for the page's progress bar.

``Simulation.result`` (JSON):

- ``orders``: compared, changed (any line moved or hold changed), held_active, held_draft
- ``holds``: more (held only by the draft), fewer (held only by the active set),
  ``by_reason``: [{code, active, draft, diff}] — orders held for each reason code
- ``lines``: compared, moved, unchanged
- ``moves``: [{from, to, lines, quantity}] — a from→to matrix of moved lines;
  ``from``/``to`` are a supplier id as text, "own" (own warehouse), "none"
  (no source) or "absent" (the line exists under one rule set only: a gift)
- ``suppliers``: {key: name} for every key in ``moves``
- ``cost``: [{currency, active, draft, diff}] — Σ unit_cost × quantity of every
  line with a source, held orders included, as decimal strings
- ``changed_orders``: the first ids of orders whose decision changed, for links
- ``active_version``: the version compared with (null: no active set, defaults)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tasks import enqueue, tenant_task
from orders.models import Order, OrderLine, RuleSet, Simulation
from orders.routing.core import engine
from orders.routing.core.types import LineDecision, RoutingResult, StockLedger
from orders.routing.loading import active_ruleset, load_catalog, load_stock, order_snapshots, ruleset_snapshot
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

CHUNK = 2000
MAX_DAYS = 366
CHANGED_SAMPLE = 50

OWN, NONE, ABSENT = "own", "none", "absent"


def simulation_start(*, ruleset: RuleSet, days: int, actor) -> Simulation:
    """Record a simulation of a draft over the last ``days`` days and run it in the background (after commit)."""
    if ruleset.status != RuleSet.Status.DRAFT:
        raise ValidationError(_("Only a draft can be simulated; version %(v)s is not one.") % {"v": ruleset.version})
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(_("Choose from 1 to %(max)s days.") % {"max": MAX_DAYS})
    simulation = Simulation.objects.create(ruleset=ruleset, days=days, created_by=actor)
    enqueue(simulate_ruleset, simulation.pk)
    return simulation


def simulation_progress(*, simulation: Simulation) -> dict:
    """What the progress bar polls (see static/js/relay.js)."""
    total, done = simulation.orders_total, simulation.orders_done
    running = simulation.status == Simulation.Status.RUNNING
    if not running:
        percent = 100
    else:
        percent = int(done * 100 / total) if total else 0
    return {
        "id": simulation.pk,
        "status": simulation.status,
        "running": running,
        "finished": not running,
        "total": total,
        "done": done,
        "seen": done,
        "percent": percent,
        "message": simulation.message,
    }


def _supplier_key(decision: LineDecision | None) -> str:
    if decision is None:
        return ABSENT
    if decision.source_id is None:
        return NONE
    return OWN if decision.supplier_id is None else str(decision.supplier_id)


def _keyed(lines: Iterable[LineDecision]) -> dict[tuple, list[LineDecision]]:
    keyed: dict[tuple, list[LineDecision]] = defaultdict(list)
    for line in lines:
        keyed[(line.line_id, line.product_id, line.is_gift)].append(line)
    return keyed


class _Tally:
    """The differences counted so far; ``result()`` is what is stored."""

    def __init__(self) -> None:
        self.orders = self.changed = self.held_active = self.held_draft = 0
        self.more = self.fewer = 0
        self.reasons_active: Counter[str] = Counter()
        self.reasons_draft: Counter[str] = Counter()
        self.lines = self.moved = 0
        self.moves: Counter[tuple[str, str]] = Counter()
        self.moved_quantity: Counter[tuple[str, str]] = Counter()
        self.cost_active: dict[str, Decimal] = defaultdict(Decimal)
        self.cost_draft: dict[str, Decimal] = defaultdict(Decimal)
        self.changed_ids: list[int] = []

    @staticmethod
    def _cost(result: RoutingResult, into: dict[str, Decimal]) -> None:
        for line in result.lines:
            if line.source_id is not None and line.unit_cost is not None and line.cost_currency:
                into[line.cost_currency] += line.unit_cost * line.quantity

    def add(self, active: RoutingResult, draft: RoutingResult) -> None:
        self.orders += 1
        self.held_active += active.held
        self.held_draft += draft.held
        self.more += draft.held and not active.held
        self.fewer += active.held and not draft.held
        self.reasons_active.update({r.code for r in active.hold_reasons})
        self.reasons_draft.update({r.code for r in draft.hold_reasons})
        self._cost(active, self.cost_active)
        self._cost(draft, self.cost_draft)

        changed = active.held != draft.held
        before, after = _keyed(active.lines), _keyed(draft.lines)
        for key in before.keys() | after.keys():
            olds, news = before.get(key, []), after.get(key, [])
            for i in range(max(len(olds), len(news))):
                old = olds[i] if i < len(olds) else None
                new = news[i] if i < len(news) else None
                self.lines += 1
                move = (_supplier_key(old), _supplier_key(new))
                if move[0] == move[1]:
                    continue
                changed = True
                self.moved += 1
                self.moves[move] += 1
                self.moved_quantity[move] += (new or old).quantity
        if changed:
            self.changed += 1
            if len(self.changed_ids) < CHANGED_SAMPLE:
                self.changed_ids.append(active.order_id)

    def result(self, *, active_version: int | None, names: dict[str, str]) -> dict:
        codes = sorted(self.reasons_active.keys() | self.reasons_draft.keys())
        currencies = sorted(self.cost_active.keys() | self.cost_draft.keys())
        moves = sorted(self.moves.items(), key=lambda item: (-item[1], item[0]))
        return {
            "active_version": active_version,
            "orders": {
                "compared": self.orders,
                "changed": self.changed,
                "held_active": self.held_active,
                "held_draft": self.held_draft,
            },
            "holds": {
                "more": self.more,
                "fewer": self.fewer,
                "by_reason": [
                    {
                        "code": code,
                        "active": self.reasons_active[code],
                        "draft": self.reasons_draft[code],
                        "diff": self.reasons_draft[code] - self.reasons_active[code],
                    }
                    for code in codes
                ],
            },
            "lines": {"compared": self.lines, "moved": self.moved, "unchanged": self.lines - self.moved},
            "moves": [
                {"from": src, "to": dst, "lines": count, "quantity": self.moved_quantity[(src, dst)]}
                for (src, dst), count in moves
            ],
            "suppliers": {key: names[key] for key in sorted({k for pair in self.moves for k in pair}) if key in names},
            "cost": [
                {
                    "currency": currency,
                    "active": str(self.cost_active[currency]),
                    "draft": str(self.cost_draft[currency]),
                    "diff": str(self.cost_draft[currency] - self.cost_active[currency]),
                }
                for currency in currencies
            ],
            "changed_orders": self.changed_ids,
        }


def _supplier_names(keys: set[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    names = {str(pk): name for pk, name in Supplier.objects.filter(pk__in=ids).values_list("pk", "name")}
    names.update({OWN: _("Own warehouse"), NONE: _("No source"), ABSENT: _("Not in the order")})
    return names


def simulation_run(*, simulation: Simulation) -> Simulation:
    """Compare the draft with the active rule set over the simulation's orders; stores the result.

    Safe to run twice: a finished simulation is returned as it is, a running
    one (a worker died) starts again from the first order. Writes nothing but
    the Simulation row. On an unexpected error the simulation is marked failed
    with a message, and the error is raised again for the task's log.
    """
    simulation.refresh_from_db()
    if simulation.status != Simulation.Status.RUNNING:
        return simulation
    try:
        now = timezone.now()
        active_model = active_ruleset()
        active, draft = ruleset_snapshot(active_model), ruleset_snapshot(simulation.ruleset)
        orders = Order.objects.filter(placed_at__gte=now - dt.timedelta(days=simulation.days)).exclude(
            status=Order.Status.CANCELLED
        )
        order_ids = list(orders.order_by("placed_at", "pk").values_list("pk", flat=True))
        Simulation.objects.filter(pk=simulation.pk).update(orders_total=len(order_ids), orders_done=0)

        skus = set(
            OrderLine.objects.filter(order__in=orders)
            .exclude(listing_sku="")
            .order_by()
            .values_list("listing_sku", flat=True)
            .distinct()
        )
        gifts = {
            rule.params.get("gift_product_id")
            for snapshot in (active, draft)
            for rule in snapshot.rules
            if rule.kind == "gift" and isinstance(rule.params.get("gift_product_id"), int)
        }
        catalog = load_catalog(listing_skus=skus, product_ids=gifts)
        source_ids = [s.source_id for sources in catalog.sources.values() for s in sources]
        stock = load_stock(source_ids=source_ids, lock=False)
        # Each rule set draws on its own copy of the same stock.
        available = {sid: stock.available(sid) for sid in source_ids if stock.available(sid) is not None}
        ledger_active, ledger_draft = StockLedger(available), StockLedger(available)

        tally = _Tally()
        for start in range(0, len(order_ids), CHUNK):
            chunk = order_ids[start : start + CHUNK]
            snapshots = order_snapshots(
                Order.objects.filter(pk__in=chunk).select_related("store").prefetch_related("lines").defer("raw")
            )
            before = engine.route_batch(orders=snapshots, ruleset=active, catalog=catalog, stock=ledger_active, now=now)
            after = engine.route_batch(orders=snapshots, ruleset=draft, catalog=catalog, stock=ledger_draft, now=now)
            drafted = {result.order_id: result for result in after}
            for old in before:
                tally.add(old, drafted[old.order_id])
            Simulation.objects.filter(pk=simulation.pk).update(orders_done=F("orders_done") + len(chunk))

        keys = {k for pair in tally.moves for k in pair}
        result = tally.result(
            active_version=active_model.version if active_model else None, names=_supplier_names(keys)
        )
        Simulation.objects.filter(pk=simulation.pk).update(
            status=Simulation.Status.DONE, result=result, finished=timezone.now(), message=""
        )
    except Exception as exc:
        logger.exception("simulation failed", extra={"simulation": simulation.pk})
        Simulation.objects.filter(pk=simulation.pk).update(
            status=Simulation.Status.FAILED,
            finished=timezone.now(),
            message=(_("The simulation stopped with an error: %(error)s") % {"error": exc})[:500],
        )
        raise
    simulation.refresh_from_db()
    return simulation


@tenant_task(name="orders.simulate_ruleset", queue="long")
def simulate_ruleset(simulation_id: int) -> str:
    simulation = Simulation.objects.filter(pk=simulation_id).first()
    if simulation is None:
        return "gone"
    return simulation_run(simulation=simulation).status
