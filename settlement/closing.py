"""Closing a month: one statement per (supplier, currency), its lines and totals, written set-based in SQL.

What a close bills (times compared with the month's bounds in the tenant's time zone):

- shipped: every line of a dispatch of a supplier (not the own warehouse) that shipped in the month, at
  quantity × unit cost; and, late, every line that shipped in an earlier month already closed without it
  (a shipment recorded after its month closed; at most LATE_MONTHS back): such a line carries the ship date in its description.
  A dispatch line is billed as shipped once, ever (a unique index says so).
- return: every ReturnRecord of the month made against a dispatch line that shipped from a supplier, at
  min(returned, dispatched) × the line's unit cost, negative, pointing back (``origin``) to the shipped line.
  ReturnRecord says nothing of fault: every such return is taken as chargeable to the supplier.
- adjustment / penalty: the period's approved adjustments, with their ``origin``.
- penalty: each dispatch billed in the period that shipped after its ship-by deadline, when the supplier's
  terms carry a late-shipment penalty (its current terms, in its currency), negative, once per dispatch.

Each line's amount is rounded half-up to its currency's minor unit first; a statement's total is the sum of
its lines, so the sum of the parts is the whole. A close runs in one transaction after the period was
claimed (open → closing, committed): a worker that dies leaves the period closing, and the next run
resumes it from the start; every INSERT skips what is there already, so a second run changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import MINOR_UNITS
from core.states import actor_name
from core.tasks import enqueue_named
from orders.models import ReturnRecord
from settlement.models import Adjustment, Period, Statement, StatementLine
from settlement.periods import period_bounds, previous_month, tenant_time_zone
from suppliers.models import Dispatch, DispatchLine, Supplier

logger = logging.getLogger(__name__)

STEPS = ("statements", "shipped", "returns", "adjustments", "penalties", "totals", "closed")
KEEP_SECONDS = 7 * 24 * 3600
CLOSE_TASK = "settlement.close_period"
# How far back a close looks for shipments recorded after their month closed (late shipments).
LATE_MONTHS = 3


@dataclass
class CloseSummary:
    statements: int = 0
    shipped: int = 0
    returns: int = 0
    adjustments: int = 0
    penalties: int = 0


# ---------------------------------------------------------------- progress (per tenant: the cache key carries the schema)


def _key(period_id: int) -> str:
    return f"settlement-close:{period_id}"


def close_progress(*, period_id: int) -> dict | None:
    """The close as the page shows it: state (queued, running, done, failed), step, steps done of all,
    percent, counts, error; None when no close of that period is remembered."""
    job = cache.get(_key(period_id))
    if job is None:
        return None
    return {**job, "percent": int(100 * job["done"] / len(STEPS))}


def _progress_save(period_id: int, **values) -> dict:
    job = cache.get(_key(period_id)) or {
        "period_id": period_id, "state": "queued", "step": "", "done": 0, "total": len(STEPS), "error": "",
        **asdict(CloseSummary()),
    }  # fmt: skip
    job.update(values)
    cache.set(_key(period_id), job, timeout=KEEP_SECONDS)
    return job


# ---------------------------------------------------------------- claiming


def _refusal(period: Period) -> str | None:
    """Why ``period`` (locked) may not start closing, or None."""
    if period.status == Period.Status.CLOSED:
        return _("%(month)s is closed already.") % {"month": period}
    _start, end = period_bounds(month=period.month)
    if timezone.now() < end:
        return _("%(month)s has not ended yet in the tenant's time zone.") % {"month": period}
    first_open = (
        Period.objects.filter(month__lt=period.month).exclude(status=Period.Status.CLOSED).order_by("month").first()
    )
    if first_open is not None:
        return _("Close %(month)s first: months close in order.") % {"month": first_open}
    if (
        Period.objects.filter(month__lt=period.month, status=Period.Status.CLOSED).exists()
        and not Period.objects.filter(month=previous_month(period.month), status=Period.Status.CLOSED).exists()
    ):
        return _("Close %(month)s first: months close in order.") % {"month": previous_month(period.month)}
    pending = Adjustment.objects.filter(period=period, approved_at__isnull=True).count()
    if pending:
        return _("%(count)s adjustments of %(month)s wait for approval: approve or delete them first.") % {
            "count": pending,
            "month": period,
        }
    return None


def period_close_claim(*, period: Period) -> Period:
    """Move the period from open to closing (committed), or leave a closing one as it is (to resume).

    Raises ValidationError, changing nothing, when the period is closed, its month has not ended in the
    tenant's time zone, an earlier month is not closed, or adjustments of it wait for approval.
    """
    with transaction.atomic():
        locked = Period.objects.select_for_update().get(pk=period.pk)
        if locked.status != Period.Status.CLOSING:
            problem = _refusal(locked)
            if problem:
                raise ValidationError(problem, code="period_not_closable")
            locked.status = Period.Status.CLOSING
            locked.closing_started_at = timezone.now()
            locked.save(update_fields=["status", "closing_started_at"])
    period.status, period.closing_started_at = locked.status, locked.closing_started_at
    return locked


# ---------------------------------------------------------------- the SQL

_T = {
    "period": Period._meta.db_table,
    "statement": Statement._meta.db_table,
    "line": StatementLine._meta.db_table,
    "adjustment": Adjustment._meta.db_table,
    "dispatch": Dispatch._meta.db_table,
    "dispatch_line": DispatchLine._meta.db_table,
    "supplier": Supplier._meta.db_table,
    "return": ReturnRecord._meta.db_table,
}

# The currency's decimals: a JSON object of those that differ from 2 (core.money.MINOR_UNITS).
_PLACES = "COALESCE((%(minor_units)s::jsonb ->> {currency})::int, 2)"

# Dispatch lines to bill as shipped in this period: shipped in the month, or late (shipped in an earlier,
# closed month, and never billed).
_SHIPPED = """
    SELECT dl.id AS dispatch_line_id, d.supplier_id, dl.cost_currency AS currency, dl.quantity, dl.unit_cost,
           d.number, dl.listing_sku, d.shipped_at, d.shipped_at < %(start)s AS late
    FROM {dispatch_line} dl
    JOIN {dispatch} d ON d.id = dl.dispatch_id
    WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL
      AND d.shipped_at >= %(billed_from)s AND d.shipped_at < %(end)s
      AND NOT EXISTS (SELECT 1 FROM {line} x WHERE x.dispatch_line_id = dl.id AND x.kind = 'shipped')
"""

_RETURNS = """
    SELECT r.id AS return_id, d.supplier_id, dl.cost_currency AS currency, dl.id AS dispatch_line_id,
           LEAST(r.quantity, dl.quantity) AS quantity, dl.unit_cost, d.number, dl.listing_sku
    FROM {return} r
    JOIN {dispatch_line} dl ON dl.id = r.dispatch_line_id
    JOIN {dispatch} d ON d.id = dl.dispatch_id
    WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL
      AND r.created >= %(start)s AND r.created < %(end)s
      AND NOT EXISTS (SELECT 1 FROM {line} x WHERE x.return_record_id = r.id)
"""

# Dispatches shipped after their ship-by deadline, of suppliers whose terms carry a late-shipment penalty
# (billed in the supplier's currency, once per dispatch, in the period the shipment is billed in).
_PENALTIES = """
    SELECT d.id AS dispatch_id, d.supplier_id, s.currency, s.late_ship_penalty AS penalty, d.number,
           d.shipped_at, d.ship_by
    FROM {dispatch} d
    JOIN {supplier} s ON s.id = d.supplier_id
    WHERE d.status = 'shipped' AND s.late_ship_penalty > 0 AND d.ship_by IS NOT NULL AND d.shipped_at > d.ship_by
      AND d.shipped_at >= %(billed_from)s AND d.shipped_at < %(end)s
      AND NOT EXISTS (SELECT 1 FROM {line} x WHERE x.dispatch_id = d.id AND x.kind = 'penalty')
"""

_ADJUSTMENTS = """
    SELECT a.id AS adjustment_id, a.supplier_id, a.currency, a.kind, a.amount, a.reason, a.origin_id
    FROM {adjustment} a
    WHERE a.period_id = %(period)s AND a.approved_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {line} x WHERE x.adjustment_id = a.id)
"""

# Statements and shipped lines in one SQL statement, so that the billable set (a million lines) is computed
# once: the statements the period needs (for lines shipped, returned or adjusted) are inserted first, then
# the shipped lines, in dispatch-line order: the indexes on dispatch_line_id then grow at their right end,
# and the foreign-key check of each line (a lookup and a row lock in the dispatch lines) walks that table
# in order, which measured some 10% faster than grouping the lines by statement.
_INSERT_SHIPPED = """
    WITH billable AS MATERIALIZED ({shipped}),
    keys AS (  -- GROUP BY, not UNION: the planner then expects few statements (and hashes them, once)
        SELECT supplier_id, currency FROM (
            SELECT supplier_id, currency FROM billable
            UNION ALL SELECT supplier_id, currency FROM ({returns}) r
            UNION ALL SELECT supplier_id, currency FROM ({adjustments}) a
            UNION ALL SELECT supplier_id, currency FROM ({penalties}) p
        ) k
        GROUP BY supplier_id, currency
    ),
    created AS (
        INSERT INTO {statement} (period_id, supplier_id, currency, number, status, total, payment_reference,
                                 created, updated)
        SELECT %(period)s, k.supplier_id, k.currency, 'ST-' || %(yyyymm)s || '-' || s.code || '-' || k.currency,
               'draft', 0, '', %(now)s, %(now)s
        FROM keys k
        JOIN {supplier} s ON s.id = k.supplier_id
        ORDER BY k.supplier_id, k.currency
        ON CONFLICT (period_id, supplier_id, currency) DO NOTHING
        RETURNING id, supplier_id, currency
    ),
    statements AS (  -- the new ones, and those a run that died left behind (a CTE's INSERT is not seen here)
        SELECT id, supplier_id, currency FROM created
        UNION ALL
        SELECT id, supplier_id, currency FROM {statement} WHERE period_id = %(period)s
    ),
    billed AS (
        INSERT INTO {line} (statement_id, kind, dispatch_line_id, quantity, unit_cost, amount, description)
        SELECT st.id, 'shipped', b.dispatch_line_id, b.quantity, b.unit_cost,
               round(b.quantity * b.unit_cost, {places_b}),
               left(b.number || ' ' || b.listing_sku || CASE WHEN b.late
                    THEN ' · ' || %(late_note)s || ' ' || to_char(b.shipped_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')
                    ELSE '' END, 300)
        FROM billable b
        JOIN statements st ON st.supplier_id = b.supplier_id AND st.currency = b.currency
        ORDER BY b.dispatch_line_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM billed)
"""

# The statement of a return or an adjustment is looked up per row (by the unique index on period, supplier
# and currency): a join would be planned on the statistics of the statements table, which know nothing yet
# of the statements this close just wrote, and a nested loop over them is a scan of every shipped dispatch.
_STATEMENT_OF_B = """(SELECT st.id FROM {statement} st
    WHERE st.period_id = %(period)s AND st.supplier_id = b.supplier_id AND st.currency = b.currency)"""

_INSERT_RETURNS = """
    INSERT INTO {line} (statement_id, kind, dispatch_line_id, return_record_id, quantity, unit_cost, amount,
                        description, origin_id)
    SELECT {statement_of_b}, 'return', b.dispatch_line_id, b.return_id, b.quantity, b.unit_cost,
           -round(b.quantity * b.unit_cost, {places_b}),
           left(%(return_note)s || ' ' || b.number || ' ' || b.listing_sku, 300), o.id
    FROM ({returns}) b
    LEFT JOIN {line} o ON o.dispatch_line_id = b.dispatch_line_id AND o.kind = 'shipped'
    ORDER BY b.return_id
"""

_INSERT_ADJUSTMENTS = """
    INSERT INTO {line} (statement_id, kind, adjustment_id, amount, description, origin_id)
    SELECT {statement_of_b}, b.kind, b.adjustment_id, round(b.amount, {places_b}), left(b.reason, 300), b.origin_id
    FROM ({adjustments}) b
    ORDER BY b.adjustment_id
"""

_INSERT_PENALTIES = """
    INSERT INTO {line} (statement_id, kind, dispatch_id, amount, description)
    SELECT {statement_of_b}, 'penalty', b.dispatch_id, -round(b.penalty, {places_b}),
           left(b.number || ' ' || %(penalty_note)s || ' ' || to_char(b.shipped_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI')
                || ' > ' || to_char(b.ship_by AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI'), 300)
    FROM ({penalties}) b
    ORDER BY b.dispatch_id
"""

_TOTALS = """
    UPDATE {statement} st SET total = t.total, updated = %(now)s
    FROM (
        SELECT l.statement_id, round(SUM(l.amount), {places_s}) AS total
        FROM {line} l JOIN {statement} s ON s.id = l.statement_id
        WHERE s.period_id = %(period)s
        GROUP BY l.statement_id, s.currency
    ) t
    WHERE st.id = t.statement_id AND st.total IS DISTINCT FROM t.total
"""


# Settings for the close's statements only, put back after them (a caller's transaction may go on).
# work_mem: the billable set, its sort and the trigger's transition table (a million rows, some 200 MB) stay
# in memory instead of spilling to disk in 4 MB runs. enable_mergejoin: the planner cannot know that the
# statements a CTE inserts are a few hundred, and would sort the million billable lines to merge-join them
# (a second sort, 1 s); hashing the statements is what it should do.
_SETTINGS = {"work_mem": "256MB", "enable_mergejoin": "off"}
_SETTINGS_NOW = "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name"
_SETTING_SET = "SELECT set_config(%s, %s, true)"
# The lines' foreign keys (Django declares them deferred) checked immediately: their million checks, about
# half the close's time, run at the end of each INSERT, in the step the progress shows, rather than all at
# once in COMMIT. Only those: SET CONSTRAINTS ALL would also fire whatever checks the caller's transaction
# has pending.
_DEFERRED_FOREIGN_KEYS = """
    SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint
    WHERE conrelid = %s::regclass AND contype = 'f' AND condeferrable AND condeferred
"""
# The planner must know what the lines table holds before the close reads it (a failed close rolled back
# leaves it counted as empty but long: a nested loop over it is then a scan per line), and again after
# the million shipped lines, which the returns step looks up: statistics a close does not refresh are a
# plan that takes minutes instead of a second. ANALYZE samples (30,000 rows), and sees this transaction's.
_ANALYZE = "ANALYZE {line}, {statement}"


def _sql(template: str) -> str:
    parts = {
        "shipped": _SHIPPED.format(**_T),
        "returns": _RETURNS.format(**_T),
        "adjustments": _ADJUSTMENTS.format(**_T),
        "penalties": _PENALTIES.format(**_T),
        "places_b": _PLACES.format(currency="b.currency"),
        "places_s": _PLACES.format(currency="s.currency"),
        "statement_of_b": _STATEMENT_OF_B.format(**_T),
    }
    return template.format(**_T, **parts)


def _billed_from(period: Period, start):
    """Where shipments billable in this period begin: the month's start, or, for shipments recorded after their
    month closed, the first closed month among the LATE_MONTHS before it (so a close reads a bounded stretch of
    history however long the tenant has used Relay; a shipment recorded later still is billed by adjustment)."""
    earliest = period.month
    for _n in range(LATE_MONTHS):
        earliest = previous_month(earliest)
    first_closed = (
        Period.objects.filter(status=Period.Status.CLOSED, month__lt=period.month, month__gte=earliest)
        .order_by("month")
        .first()
    )
    return period_bounds(month=first_closed.month)[0] if first_closed else start


def _step_done(on_step: Callable | None, step: str, summary: CloseSummary) -> None:
    if on_step:
        on_step(step, summary)


def period_close(
    *, period: Period, actor=None, actor_label: str = "finance", on_step: Callable | None = None
) -> CloseSummary:
    """Close ``period``: its statements, lines and totals, then the period closed. Set-based SQL throughout.

    Claims the period first (period_close_claim: open → closing, committed); a closing period is resumed.
    The rest is one transaction, the period row locked. ``on_step(step, summary)`` is called after each step.
    Raises ValidationError, changing nothing, when the period may not close (closed already, month not over,
    an earlier month open, adjustments waiting for approval). Returns what it wrote.
    """
    period_close_claim(period=period)
    tz = tenant_time_zone()
    summary = CloseSummary()
    with transaction.atomic():
        locked = Period.objects.select_for_update().get(pk=period.pk)
        if locked.status != Period.Status.CLOSING:  # another run closed it while this one waited for the lock
            raise ValidationError(_("%(month)s is closed already.") % {"month": locked}, code="period_not_closable")
        start, end = period_bounds(month=locked.month, tz=tz)
        now = timezone.now()
        params = {
            "period": locked.pk,
            "start": start,
            "end": end,
            "billed_from": _billed_from(locked, start),
            "tz": str(tz),
            "yyyymm": locked.month.strftime("%Y%m"),
            "now": now,
            "minor_units": json.dumps(dict(MINOR_UNITS)),
            "late_note": _("shipped late, on"),
            "return_note": _("Return"),
            "penalty_note": _("late-shipment penalty: shipped"),
        }
        with connection.cursor() as cursor:
            cursor.execute(_SETTINGS_NOW, [list(_SETTINGS)])
            settings_before = cursor.fetchall()
            for name, value in _SETTINGS.items():
                cursor.execute(_SETTING_SET, [name, value])
            cursor.execute(_DEFERRED_FOREIGN_KEYS, [_T["line"]])
            (foreign_keys,) = cursor.fetchone()
            if foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {foreign_keys} IMMEDIATE")
            cursor.execute(_sql(_ANALYZE))
            cursor.execute(_sql(_INSERT_SHIPPED), params)
            summary.statements, summary.shipped = cursor.fetchone()
            cursor.execute(_sql(_ANALYZE))
            _step_done(on_step, "statements", summary)
            _step_done(on_step, "shipped", summary)
            cursor.execute(_sql(_INSERT_RETURNS), params)
            summary.returns = cursor.rowcount
            _step_done(on_step, "returns", summary)
            cursor.execute(_sql(_INSERT_ADJUSTMENTS), params)
            summary.adjustments = cursor.rowcount
            _step_done(on_step, "adjustments", summary)
            cursor.execute(_sql(_INSERT_PENALTIES), params)
            summary.penalties = cursor.rowcount
            _step_done(on_step, "penalties", summary)
            cursor.execute(_sql(_TOTALS), params)
            _step_done(on_step, "totals", summary)
            if foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {foreign_keys} DEFERRED")
            for name, value in settings_before:
                cursor.execute(_SETTING_SET, [name, value])
        locked.status = Period.Status.CLOSED
        locked.closed_at = now
        locked.closed_by = actor if getattr(actor, "pk", None) else None
        locked.closed_by_label = actor_name(actor, actor_label)[:120]
        locked.save(update_fields=["status", "closed_at", "closed_by", "closed_by_label"])
    _step_done(on_step, "closed", summary)
    period.status, period.closed_at, period.closed_by_id = locked.status, locked.closed_at, locked.closed_by_id
    logger.info("period closed", extra={"period": str(locked), **asdict(summary)})
    return summary


def period_close_run(*, period_id: int, actor=None) -> dict:
    """The task's work: close the period, saving progress after each step; a closed period is left alone."""
    period = Period.objects.get(pk=period_id)
    if period.status == Period.Status.CLOSED:
        return _progress_save(period_id, state="done", step="closed", done=len(STEPS))

    def step_done(step: str, summary: CloseSummary) -> None:
        _progress_save(period_id, state="running", step=step, done=STEPS.index(step) + 1, **asdict(summary))

    _progress_save(period_id, state="running", step="", done=0, error="")
    try:
        period_close(period=period, actor=actor, on_step=step_done)
    except Exception as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _progress_save(period_id, state="failed", error=message[:300])
        logger.exception("period close failed", extra={"period": str(period)})
        raise
    return _progress_save(period_id, state="done")


def period_close_start(*, period: Period, actor) -> dict:
    """Claim the period (open → closing) and queue its close as a task (sent after commit); returns the
    progress the page shows. Raises ValidationError as period_close_claim does."""
    period_close_claim(period=period)
    job = _progress_save(period.pk, state="queued", step="", done=0, error="")
    # By name: settlement.tasks imports this module.
    enqueue_named(CLOSE_TASK, period.pk, getattr(actor, "pk", None))
    return job
