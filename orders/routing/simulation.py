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
- ``diffs``: the first ``MAX_DIFFS`` orders decided differently, one entry each:
  {order, number, store, placed (ISO), total (decimal string), currency,
  held: [active, draft], reasons: [[codes active], [codes draft]],
  lines: [{sku, quantity, gift, from, to}] — the lines that move, keyed like ``moves``}
- ``diffs_total``: how many orders were decided differently (``diffs`` may hold fewer)
- ``active_version``: the version compared with (null: no active set, defaults)

The simulation page lists ``diffs`` with filters (``simulation_differences``) and
downloads them (``differences_export_table``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import ExportTable
from core.listing import Sort, Sorts
from core.money import round_money
from core.tasks import enqueue, tenant_task
from orders.models import Order, OrderLine, RuleSet, Simulation
from orders.routing.core import engine
from orders.routing.core.types import Catalog, LineDecision, OrderSnapshot, RoutingResult, StockLedger
from orders.routing.explain import hold_code_label
from orders.routing.loading import active_ruleset, load_catalog, load_stock, order_snapshots, ruleset_snapshot
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

CHUNK = 2000
MAX_DAYS = 366
CHANGED_SAMPLE = 50
# Orders decided differently that the result lists one by one (the page pages them, the download has them all).
MAX_DIFFS = 10_000

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
        self.diffs: list[dict] = []

    @staticmethod
    def _cost(result: RoutingResult, into: dict[str, Decimal]) -> None:
        for line in result.lines:
            if line.source_id is not None and line.unit_cost is not None and line.cost_currency:
                into[line.cost_currency] += line.unit_cost * line.quantity

    def add(
        self,
        active: RoutingResult,
        draft: RoutingResult,
        *,
        order: OrderSnapshot | None = None,
        number: str = "",
        catalog: Catalog | None = None,
    ) -> None:
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
        moved_lines: list[tuple[LineDecision, str, str]] = []
        before, after = _keyed(active.lines), _keyed(draft.lines)
        for key in sorted(before.keys() | after.keys(), key=lambda k: (k[2], k[0] or 0, k[1] or 0)):
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
                moved_lines.append((new or old, *move))
        if changed:
            self.changed += 1
            if len(self.changed_ids) < CHANGED_SAMPLE:
                self.changed_ids.append(active.order_id)
            if len(self.diffs) < MAX_DIFFS:
                self.diffs.append(_diff_entry(active, draft, moved_lines, order=order, number=number, catalog=catalog))

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
            "diffs": self.diffs,
            "diffs_total": self.changed,
        }


def _diff_entry(
    active: RoutingResult,
    draft: RoutingResult,
    moved: list[tuple[LineDecision, str, str]],
    *,
    order: OrderSnapshot | None,
    number: str,
    catalog: Catalog | None,
) -> dict:
    """One order decided differently, as ``Simulation.result["diffs"]`` keeps it (plain JSON)."""
    listing_skus = {line.line_id: line.listing_sku for line in order.lines} if order else {}
    products = catalog.products if catalog else {}

    def sku(line: LineDecision) -> str:
        product = products.get(line.product_id) if line.product_id is not None else None
        return product.sku if product else listing_skus.get(line.line_id, "")

    return {
        "order": active.order_id,
        "number": number,
        "store": order.store_id if order else None,
        "placed": order.placed_at.isoformat() if order else "",
        "total": str(order.total) if order else "",
        "currency": order.currency if order else "",
        "held": [active.held, draft.held],
        "reasons": [sorted({r.code for r in active.hold_reasons}), sorted({r.code for r in draft.hold_reasons})],
        "lines": [
            {"sku": sku(line), "quantity": line.quantity, "gift": line.is_gift, "from": src, "to": dst}
            for line, src, dst in moved
        ],
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
            loaded = list(
                Order.objects.filter(pk__in=chunk).select_related("store").prefetch_related("lines").defer("raw")
            )
            numbers = {o.pk: o.order_number for o in loaded}
            snapshots = order_snapshots(loaded)
            by_id = {snapshot.order_id: snapshot for snapshot in snapshots}
            before = engine.route_batch(orders=snapshots, ruleset=active, catalog=catalog, stock=ledger_active, now=now)
            after = engine.route_batch(orders=snapshots, ruleset=draft, catalog=catalog, stock=ledger_draft, now=now)
            drafted = {result.order_id: result for result in after}
            for old in before:
                tally.add(
                    old, drafted[old.order_id], order=by_id.get(old.order_id), number=numbers.get(old.order_id, ""),
                    catalog=catalog,
                )  # fmt: skip
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


# ---------------------------------------------------------------------------
# The differences, listed and downloaded

CHANGE_HELD, CHANGE_RELEASED, CHANGE_MOVED = "held", "released", "moved"
DIFF_SORTS = Sorts(
    {"placed": ("placed",), "number": ("number",), "total": ("total",)}, default="-placed", unique="order"
)


@dataclass(frozen=True)
class DiffFilters:
    """What the simulation page narrows the differences to; empty values filter nothing."""

    change: str = ""  # CHANGE_HELD, CHANGE_RELEASED or CHANGE_MOVED
    supplier: str = ""  # a key of result["suppliers"]: a line moves from or to it
    store_id: int | None = None
    q: str = ""  # part of the order number


def diff_changes(entry: Mapping) -> list[str]:
    """What changed for one order of ``result["diffs"]``: newly held, no longer held, lines that move."""
    held_active, held_draft = entry.get("held") or (False, False)
    changes = []
    if held_draft and not held_active:
        changes.append(CHANGE_HELD)
    if held_active and not held_draft:
        changes.append(CHANGE_RELEASED)
    if entry.get("lines"):
        changes.append(CHANGE_MOVED)
    return changes


def _decimal(text: object) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _sort_value(entry: Mapping, key: str) -> tuple:
    if key == "total":
        return (_decimal(entry.get("total")), entry.get("order") or 0)
    return (str(entry.get(key) or ""), entry.get("order") or 0)


def simulation_differences(
    result: Mapping, filters: DiffFilters = DiffFilters(), sort: Sort | None = None
) -> list[dict]:
    """The orders a finished simulation decided differently that match ``filters``, in ``sort`` order
    (newest placed first by default). Reads only ``result``; an older result without ``diffs`` gives []."""
    sort = sort or DIFF_SORTS.parse(None)
    q = filters.q.strip().casefold()
    rows = []
    for entry in result.get("diffs") or ():
        if filters.change and filters.change not in diff_changes(entry):
            continue
        if filters.supplier and not any(
            filters.supplier in (line.get("from"), line.get("to")) for line in entry.get("lines") or ()
        ):
            continue
        if filters.store_id is not None and entry.get("store") != filters.store_id:
            continue
        if q and q not in str(entry.get("number") or "").casefold():
            continue
        rows.append(entry)
    rows.sort(key=lambda entry: _sort_value(entry, sort.key), reverse=sort.descending)
    return rows


def change_label(change: str) -> str:
    labels = {
        CHANGE_HELD: _("Newly held"),
        CHANGE_RELEASED: _("No longer held"),
        CHANGE_MOVED: _("Lines move to another source"),
    }
    return labels.get(change, change)


def supplier_key_label(key: str, names: Mapping[str, str]) -> str:
    """A from/to key of ``moves`` and ``diffs`` as a reader knows it, in the active language."""
    fixed = {OWN: _("Own warehouse"), NONE: _("No source"), ABSENT: _("Not in the order")}
    if key in fixed:
        return fixed[key]
    return names.get(key) or _("supplier #%(id)s") % {"id": key}


def _money(entry: Mapping) -> Decimal | None:
    """The order total as stored, rounded to its currency's minor unit (None when there is none)."""
    if entry.get("total") in (None, ""):
        return None
    try:
        return round_money(_decimal(entry["total"]), entry.get("currency") or "")
    except ValueError:
        return _decimal(entry["total"])


def placed_of(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def differences_export_table(
    rows: list[dict], *, suppliers: Mapping[str, str], stores: Mapping[int, str], title: str
) -> ExportTable:
    """The differences as a download: one row per line that moves, one row for an order whose hold alone changes.

    Totals are Decimals with a currency column, placed times aware datetimes; labels in the active language.
    """
    yes, no = _("Yes"), _("No")

    def reasons(codes) -> str:
        return ", ".join(hold_code_label(code) for code in codes or ())

    def generate() -> Iterator[tuple]:
        for entry in rows:
            held_active, held_draft = entry.get("held") or (False, False)
            reasons_active, reasons_draft = entry.get("reasons") or ([], [])
            head = (
                entry.get("number") or f"#{entry.get('order')}",
                stores.get(entry.get("store"), ""),
                placed_of(entry.get("placed") or ""),
                _money(entry),
                entry.get("currency") or "",
                ", ".join(change_label(c) for c in diff_changes(entry)),
                yes if held_active else no,
                yes if held_draft else no,
                reasons(reasons_active),
                reasons(reasons_draft),
            )
            lines = entry.get("lines") or ()
            if not lines:
                yield (*head, "", None, "", "")
            for line in lines:
                yield (
                    *head,
                    line.get("sku") or "",
                    line.get("quantity"),
                    supplier_key_label(line.get("from") or "", suppliers),
                    supplier_key_label(line.get("to") or "", suppliers),
                )

    currencies = {entry.get("currency") for entry in rows}
    count = sum(max(1, len(entry.get("lines") or ())) for entry in rows)
    return ExportTable(
        title=title,
        columns=[
            _("Order"), _("Store"), _("Placed"), _("Total"), _("Currency"), _("What changes"), _("Held now"),
            _("Held with the draft"), _("Hold reasons now"), _("Hold reasons with the draft"), _("Product"),
            _("Quantity"), _("From"), _("To"),
        ],
        count=count,
        rows=generate(),
        currency=currencies.pop() if len(currencies) == 1 else "",
    )  # fmt: skip
