"""Receivables against payouts (对账) and write-off (核销), per store and month, computed in SQL.

An order's expected receivable is what the buyer paid after apportionment, minus refunds: ``total −
refunded_total`` (both from the channel), and nothing for an order cancelled, voided or refunded in full on the
channel. What was received for it is the sum of its matched payout items' gross amounts: charges (+), refunds
(−) and chargebacks (−); fees are shown beside it, not taken off (they are the provider's cost, not the buyer's
debt). Each order of the month (placed in it, in the tenant's time zone) is in exactly one state:

- ``matched``: received = expected;
- ``differs``: something was received but not the expected amount (``difference`` = received − expected);
- ``unpaid``: something is expected and nothing matched yet (in Relay but not paid);
- ``nothing_due``: nothing expected and nothing received;
- ``written_off``: closed by a write-off (核销), whatever the difference was then.

Items no order of the store matches are ``in payout but not in Relay``. A write-off is allowed for matched
orders and for orders that differ by no more than the store's tolerance; it records expected, received, fees and
the difference, once per order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import Store
from core.exports import ExportTable
from core.money import round_money
from core.states import actor_name
from settlement.models import PayoutItem, PayoutSettings
from settlement.payouts import payout_settings_for, store_locked
from settlement.periods import parse_month, period_bounds

STATES = {
    "matched": gettext_lazy("Matched"),
    "differs": gettext_lazy("Amount differs"),
    "unpaid": gettext_lazy("In Relay, not paid"),
    "nothing_due": gettext_lazy("Nothing due"),
    "written_off": gettext_lazy("Written off"),
}
PAYOUT_ONLY = "payout_only"
MONEY_KINDS = ("charge", "refund", "chargeback")

# One row per order of the store placed in [start, end); optional filters by state, ids and search text.
_ROWS = """
WITH scope AS (
    SELECT o.id, o.order_number, o.currency, o.placed_at, o.total, o.refunded_total, o.financial_status,
           o.cancelled_at IS NOT NULL AS cancelled,
           CASE WHEN o.cancelled_at IS NOT NULL OR o.financial_status IN ('voided', 'refunded') THEN 0
                ELSE o.total - o.refunded_total END AS expected
    FROM orders_order o
    WHERE o.store_id = %(store)s AND {where}
), paid AS (
    SELECT i.order_id,
           sum(i.amount) FILTER (WHERE i.kind = 'charge') AS charged,
           sum(i.amount) FILTER (WHERE i.kind = 'refund') AS refunded,
           sum(i.amount) FILTER (WHERE i.kind = 'chargeback') AS chargebacks,
           sum(i.fee) AS fees,
           count(*) AS items
    FROM settlement_payoutitem i JOIN scope s ON s.id = i.order_id
    GROUP BY i.order_id
), rows AS (
    SELECT s.id, s.order_number, s.currency, s.placed_at, s.expected,
           coalesce(p.charged, 0) AS charged, coalesce(p.refunded, 0) AS refunded,
           coalesce(p.chargebacks, 0) AS chargebacks, coalesce(p.fees, 0) AS fees,
           coalesce(p.charged, 0) + coalesce(p.refunded, 0) + coalesce(p.chargebacks, 0) AS received,
           coalesce(p.items, 0) AS items, w.id AS write_off_id, w.difference AS written_difference,
           CASE WHEN w.id IS NOT NULL THEN 'written_off'
                WHEN p.order_id IS NULL AND s.expected = 0 THEN 'nothing_due'
                WHEN p.order_id IS NULL THEN 'unpaid'
                WHEN coalesce(p.charged, 0) + coalesce(p.refunded, 0) + coalesce(p.chargebacks, 0) = s.expected
                    THEN 'matched'
                ELSE 'differs' END AS state
    FROM scope s LEFT JOIN paid p ON p.order_id = s.id
    LEFT JOIN settlement_writeoff w ON w.order_id = s.id
)
"""
_COLUMNS = (
    "id", "order_number", "currency", "placed_at", "expected", "charged", "refunded", "chargebacks", "fees",
    "received", "items", "write_off_id", "written_difference", "state",
)  # fmt: skip


@dataclass(frozen=True)
class ReconcileRow:
    id: int
    order_number: str
    currency: str
    placed_at: dt.datetime
    expected: Decimal
    charged: Decimal
    refunded: Decimal
    chargebacks: Decimal
    fees: Decimal
    received: Decimal
    items: int
    write_off_id: int | None
    written_difference: Decimal | None
    state: str

    @property
    def difference(self) -> Decimal:
        return self.received - self.expected

    @property
    def state_label(self) -> str:
        return str(STATES[self.state])


@dataclass(frozen=True)
class Scope:
    """What a reconciliation looks at: one store's orders placed in one month (tenant time zone)."""

    store: Store
    month: dt.date

    def params(self) -> dict:
        start, end = period_bounds(month=self.month)
        return {"store": self.store.pk, "start": start, "end": end}


# The statements' tails, after the rows CTE; {columns}, {condition} and {writable} are filled from constants.
_PAGE = "SELECT {columns} FROM rows {condition} ORDER BY placed_at, id LIMIT %(limit)s OFFSET %(offset)s"
_COUNT = "SELECT count(*) FROM rows {condition}"
_BY_ID = "SELECT {columns} FROM rows ORDER BY id"
_STATE_TOTALS = (
    "SELECT state, currency, count(*), sum(expected), sum(received), sum(fees) FROM rows "
    "GROUP BY state, currency ORDER BY state, currency"
)
_WRITABLE = "WHERE state IN ('matched', 'differs') AND abs(received - expected) <= %(tolerance)s"
_WRITABLE_COUNT = "SELECT count(*) FROM rows {writable}"
_INSERT_WRITE_OFFS = (
    "INSERT INTO settlement_writeoff (order_id, store_id, currency, expected, received, fees, difference, note,"
    " by_id, by_label, at) SELECT id, %(store)s, currency, expected, received, fees, received - expected,"
    " %(note)s, %(by)s, %(by_label)s, %(at)s FROM rows {writable} ON CONFLICT (order_id) DO NOTHING"
)


def _query(scope: Scope, *, select: str, state: str = "", search: str = "", order_ids: Sequence[int] = ()):
    """The rows CTE for the scope (or for ``order_ids`` of its store) followed by ``select``, one of the tails
    above; ``state`` filters by state where the tail has {condition}."""
    params = scope.params()
    where = ["o.placed_at >= %(start)s", "o.placed_at < %(end)s"]
    if order_ids:
        where = ["o.id = ANY(%(ids)s)"]
        params["ids"] = list(order_ids)
    if search:
        where.append("o.order_number ILIKE %(search)s")
        params["search"] = f"%{search.strip()}%"
    condition = ""
    if state:
        params["state"] = state
        condition = "WHERE state = %(state)s"
    tail = select.format(columns=", ".join(_COLUMNS), condition=condition, writable=_WRITABLE)
    return _ROWS.format(where=" AND ".join(where)) + tail, params


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reconcile_rows(
    *, scope: Scope, state: str = "", search: str = "", offset: int = 0, limit: int = 100
) -> list[ReconcileRow]:
    """One page of the scope's orders (oldest first), of one state or all."""
    sql, params = _query(scope, select=_PAGE, state=state, search=search)
    params.update(limit=limit, offset=offset)
    return [ReconcileRow(*row) for row in _fetch(sql, params)]


def reconcile_count(*, scope: Scope, state: str = "", search: str = "") -> int:
    sql, params = _query(scope, select=_COUNT, state=state, search=search)
    return _fetch(sql, params)[0][0]


@dataclass
class StateTotal:
    state: str
    currency: str
    orders: int
    expected: Decimal
    received: Decimal
    fees: Decimal

    @property
    def difference(self) -> Decimal:
        return self.received - self.expected

    @property
    def label(self) -> str:
        return str(STATES.get(self.state, self.state))


@dataclass
class KindTotal:
    kind: str
    currency: str
    items: int
    amount: Decimal
    fees: Decimal
    unmatched: int

    @property
    def label(self) -> str:
        return str(PayoutItem.Kind(self.kind).label)


@dataclass
class Summary:
    states: list[StateTotal] = field(default_factory=list)
    kinds: list[KindTotal] = field(default_factory=list)  # every payout item of the month by kind: fees,
    # refunds, chargebacks and transfers shown apart from the charges
    payout_only: int = 0
    tolerance: Decimal = Decimal(0)
    writable: int = 0  # orders a "write off all within tolerance" would close


def reconcile_summary(*, scope: Scope) -> Summary:
    """Per state and currency: orders, expected, received, fees; and the month's payout items by kind."""
    summary = Summary(tolerance=tolerance_of(store=scope.store))
    sql, params = _query(scope, select=_STATE_TOTALS)
    summary.states = [StateTotal(*row) for row in _fetch(sql, params)]
    summary.writable = writable_count(scope=scope, tolerance=summary.tolerance)
    params = scope.params()
    rows = _fetch(
        """
        SELECT kind, currency, count(*), sum(amount), sum(fee), count(*) FILTER (WHERE order_id IS NULL)
        FROM settlement_payoutitem
        WHERE store_id = %(store)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
        GROUP BY kind, currency ORDER BY kind, currency
        """,
        params,
    )
    summary.kinds = [KindTotal(*row) for row in rows]
    summary.payout_only = sum(k.unmatched for k in summary.kinds if k.kind in MONEY_KINDS)
    return summary


def payout_only_items(*, scope: Scope, offset: int = 0, limit: int = 100):
    """The month's charges, refunds and chargebacks no order of the store matches (in payout, not in Relay)."""
    start, end = period_bounds(month=scope.month)
    return PayoutItem.objects.filter(
        store=scope.store,
        order__isnull=True,
        kind__in=MONEY_KINDS,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).select_related("payout_import")[offset : offset + limit]


# ---------------------------------------------------------------- write-off (核销)


def tolerance_of(*, store: Store) -> Decimal:
    return PayoutSettings.objects.filter(store=store).values_list("tolerance", flat=True).first() or Decimal(0)


def tolerance_set(*, store: Store, tolerance: Decimal) -> PayoutSettings:
    """The largest |received − expected| a write-off accepts for the store's orders (in their currency)."""
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    settings_row = payout_settings_for(store=store)
    settings_row.tolerance = tolerance
    settings_row.save(update_fields=["tolerance", "updated"])
    return settings_row


def writable_count(*, scope: Scope, tolerance: Decimal | None = None) -> int:
    sql, params = _query(scope, select=_WRITABLE_COUNT)
    params["tolerance"] = tolerance_of(store=scope.store) if tolerance is None else tolerance
    return _fetch(sql, params)[0][0]


@dataclass
class WriteOffReport:
    written: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (order number, reason)


def _insert_write_offs(sql: str, params: dict, *, store: Store, tolerance: Decimal, user, note: str) -> int:
    params.update(
        tolerance=tolerance,
        by=getattr(user, "pk", None),
        by_label=actor_name(user, "finance")[:120],
        note=note[:300],
        at=timezone.now(),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@transaction.atomic
def write_off_orders(*, store: Store, order_ids: Sequence[int], user, note: str = "") -> WriteOffReport:
    """Write off the given orders of ``store``; each one not matched or differing by more than the tolerance
    is refused with the reason and nothing is written for it. Orders of another store are unknown."""
    report = WriteOffReport()
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return report
    store_locked(store)
    scope = Scope(store=store, month=dt.date.today().replace(day=1))
    sql, params = _query(scope, select=_BY_ID, order_ids=ids)
    rows = [ReconcileRow(*row) for row in _fetch(sql, params)]
    tolerance = tolerance_of(store=store)
    for row in rows:
        reason = _write_off_refusal(row, tolerance)
        if reason:
            report.refused.append((row.order_number, reason))
    unknown = len(ids) - len(rows)
    if unknown:
        report.refused.append(("", _("%(n)s of the orders are not this store's.") % {"n": unknown}))
    sql, params = _query(scope, select=_INSERT_WRITE_OFFS, order_ids=ids)
    report.written = _insert_write_offs(sql, params, store=store, tolerance=tolerance, user=user, note=note)
    return report


def _write_off_refusal(row: ReconcileRow, tolerance: Decimal) -> str:
    if row.state == "written_off":
        return _("It is written off already.")
    if row.state == "unpaid":
        return _("Nothing was paid for it yet.")
    if row.state == "nothing_due":
        return _("Nothing is due and nothing was paid: there is nothing to write off.")
    if abs(row.difference) > tolerance:
        return _("It differs by %(diff)s, more than the tolerance of %(tol)s.") % {
            "diff": row.difference,
            "tol": tolerance,
        }
    return ""


@transaction.atomic
def write_off_within_tolerance(*, scope: Scope, user, note: str = "") -> int:
    """Write off every order of the scope that is matched or differs by no more than the tolerance (set-based)."""
    store_locked(scope.store)
    sql, params = _query(scope, select=_INSERT_WRITE_OFFS)
    tolerance = tolerance_of(store=scope.store)
    return _insert_write_offs(sql, params, store=scope.store, tolerance=tolerance, user=user, note=note)


@transaction.atomic
def write_off_undo(*, store: Store, order_id: int) -> bool:
    """Reopen an order's reconciliation (its write-off is removed); False when it had none."""
    deleted, _rows = store.write_offs.filter(order_id=order_id).delete()
    return bool(deleted)


# ---------------------------------------------------------------- export


# The longest search text the pages, the API and the export read (an order number or payout reference).
SEARCH_CHARS = 64


def export_table(params: dict, count: int | None = None) -> ExportTable:
    """The scope's orders (all, or one state, or those matching a search) for settlement.exports: params store,
    month ("YYYY-MM"), state, q — the same rows the page shows."""
    store_id, month_text = str(params.get("store", "")), str(params.get("month", ""))
    store = Store.objects.filter(pk=int(store_id)).first() if store_id.isdigit() else None
    if store is None:
        raise ValidationError({"store": [_("Choose a store.")]})
    try:
        month = parse_month(month_text)
    except ValueError:
        raise ValidationError({"month": [_("Give the month as YYYY-MM.")]}) from None
    state = str(params.get("state", ""))
    if state and state not in STATES:
        raise ValidationError({"state": [_("Unknown state: %(state)s.") % {"state": state}]})
    search = str(params.get("q", "")).strip()[:SEARCH_CHARS]
    scope = Scope(store=store, month=month)
    if count is None:
        count = reconcile_count(scope=scope, state=state, search=search)

    def rows() -> Iterator[list]:
        offset = 0
        while True:
            page = reconcile_rows(scope=scope, state=state, search=search, offset=offset, limit=5_000)
            for row in page:
                amounts = (row.expected, row.charged, row.refunded, row.chargebacks, row.received, row.difference,
                           row.fees)  # fmt: skip
                # Stored with 4 places: written with the currency's decimals, as the page shows them.
                money = [round_money(a, row.currency) if a is not None else None for a in amounts]
                yield [row.order_number, row.placed_at, row.currency, *money, row.state_label]
            if len(page) < 5_000:
                return
            offset += len(page)

    columns = [
        _("Order"), _("Placed"), _("Currency"), _("Expected"), _("Charged"), _("Refunded"), _("Chargebacks"),
        _("Received"), _("Difference"), _("Fees"), _("State"),
    ]  # fmt: skip
    title = _("Reconciliation %(store)s %(month)s") % {"store": store.name, "month": month_text}
    return ExportTable(title=title, columns=columns, count=count, rows=rows())
