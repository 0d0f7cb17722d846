"""settlement.close: seconds to close one month of a million shipped dispatch lines.

The month (the last one that has ended, Asia/Shanghai) holds LINES shipped dispatch lines (two per
dispatch, one order per dispatch) over 200 suppliers billing in USD, CNY, EUR or JPY, at unit costs with
four decimals (so that rounding to the minor unit matters); about 1% of them returned in the month (a few
for more units than were dispatched); ADJUSTMENTS approved adjustments and penalties. Around them, what a
live tenant also has and the close must leave alone: dispatches shipped the month before and after,
pending and cancelled ones, and the own warehouse's. Everything is written by SQL on the server
(generate_series, as bench_portal does), then VACUUM ANALYZEd: these rows would have been written over
a month, and autovacuum (its insert threshold) would have vacuumed and analyzed them long before the close.

Each of ROUNDS repetitions closes a fresh, open period: the settlement tables are emptied (TRUNCATE, which
the closed-period triggers do not watch), the period and its adjustments written anew and ANALYZEd, and
the Django connection closed, so the close runs on a new server backend (no cached plans or catalog); the
server's shared buffers and the OS page cache stay as warm as the data generation left them (they are
shared with other databases on this server and cannot be dropped from here). The close is the real
service, settlement.closing.period_close, the code the Celery task runs; after each repetition the sum over
the statements is checked against shipped cost − returns + adjustments, computed directly per currency,
and each billable line against exactly one shipped statement line. ``server_cpu``: the CPU seconds of the
close's server process (when the server runs on this machine), which other work on the machine disturbs
much less than the wall time the figure is.

What this leaves out: no earlier month is closed, so the statement lines table holds no history (the
shipped-once check and the late-shipment scan have nothing to look through) and the statements table
holds only this month's.

Baseline in the same run, ``settlement.close.naive``: the straightforward ORM close, a Python loop over
the lines (iterate the shipped lines with their dispatch, build StatementLine objects, bulk_create them per
supplier, sum totals in Python, one query per return for the line it points back to), over the lines of
NAIVE_SUPPLIERS suppliers (about 50,000 lines), in a transaction rolled back at its end; its time is scaled
to the LINES of the full month and says so in its unit.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests.bench.run import figures

LINES = int(os.environ.get("BENCH_CLOSE_LINES", "1000000"))
DISPATCHES = LINES // 2  # two lines each
NOISE = DISPATCHES // 10  # other dispatches: shipped before or after the month, open, cancelled, own warehouse
SUPPLIERS = 200
PRODUCTS = 1000
RETURN_EVERY = 100  # one billable line in a hundred comes back in the month
ADJUSTMENTS = 300
ROUNDS = int(os.environ.get("BENCH_CLOSE_ROUNDS", "3"))
NAIVE_SUPPLIERS = int(os.environ.get("BENCH_CLOSE_NAIVE_SUPPLIERS", "10"))
SLUG = "bench-settlement"
GENERATED = ("suppliers_supplier", "inventory_product", "inventory_source", "orders_order", "suppliers_dispatch",
             "suppliers_dispatchline", "orders_returnrecord")  # fmt: skip
# The currency supplier number {s} (0-based) bills in: USD (half of them), CNY, EUR or JPY.
_CURRENCY = "CASE WHEN ({s}) % 20 < 10 THEN 'USD' WHEN ({s}) % 20 < 16 THEN 'CNY' WHEN ({s}) % 20 < 19 THEN 'EUR' ELSE 'JPY' END"


def _tenant():
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_provision(
            slug=SLUG, name="Bench settlement", owner_email="o@bench.test", owner_password="bench-password-2026"
        )
    return tenant


def _month() -> dt.date:
    """The last month that has ended in the tenant's time zone."""
    from django.utils import timezone

    from settlement.periods import month_of, previous_month

    return previous_month(month_of(timezone.now()))


def _run(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"  {' '.join(sql.split()[:3])}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _truncate_settlement() -> None:
    """Empty the settlement tables: TRUNCATE fires none of the closed-period triggers (they watch rows)."""
    _run(
        [
            """
            TRUNCATE settlement_statementdispute, settlement_statementevent, settlement_exportfile,
                     settlement_statementline, settlement_statement, settlement_adjustment, settlement_period
                     RESTART IDENTITY CASCADE
            """
        ]
    )


def _truncate() -> None:
    _truncate_settlement()
    _run(
        [
            """
            TRUNCATE orders_returnrecord, suppliers_parcelline, suppliers_parcel, suppliers_dispatchevent,
                     suppliers_dispatchline, suppliers_dispatch, orders_orderline, orders_order, inventory_stock,
                     inventory_source, inventory_product, suppliers_supplieruser, suppliers_supplier, channels_store
                     RESTART IDENTITY CASCADE
            """
        ]
    )


def _generate(start: dt.datetime, end: dt.datetime) -> None:
    """Suppliers, products, orders, dispatches, lines and returns, all in SQL, with ids chosen here.

    Dispatch n (0-based; id n + 1) of the first DISPATCHES ships in the month from supplier n % SUPPLIERS,
    its two lines of two of that supplier's products; the NOISE after them, by n % 5: shipped the month
    before, shipped the month after, pending, cancelled, shipped in the month from the own warehouse.
    """
    from channels.models import Channel, Store

    store = Store.objects.create(name="Bench settlement", channel=Channel.SPREADSHEET)
    total = DISPATCHES + NOISE
    currency = _CURRENCY
    # Literals, not parameters: the statements use % (modulo), which parameters would make %%.
    params = {"start": f"timestamptz '{start.isoformat()}'", "end": f"timestamptz '{end.isoformat()}'"}
    _run(
        [
            f"""
            INSERT INTO suppliers_supplier (id, name, code, contact_name, contact_email, contact_phone, currency,
                payment_terms_days, accept_within_hours, ship_within_hours, share_buyer_email, active, created)
            SELECT s + 1, 'Supplier ' || s, 'S' || lpad(s::text, 3, '0'), '', '', '', {currency.format(s="s")},
                   30, 24, 72, false, true, now()
            FROM generate_series(0, {SUPPLIERS - 1}) s
            """,
            f"""
            INSERT INTO inventory_product (id, sku, name, attributes, active, created, updated)
            SELECT p + 1, 'P' || lpad(p::text, 4, '0'), 'Product ' || p, '{{}}'::jsonb, true, now(), now()
            FROM generate_series(0, {PRODUCTS - 1}) p
            """,
            # Product p is sourced from supplier p % SUPPLIERS, in its currency.
            f"""
            INSERT INTO inventory_source (id, product_id, position, supplier_id, cost_price, currency, regions,
                lead_time_days, active, created, updated)
            SELECT p + 1, p + 1, 1, p % {SUPPLIERS} + 1, 5.5, {currency.format(s=f"(p % {SUPPLIERS})")},
                   '[]'::jsonb, 0, true, now(), now()
            FROM generate_series(0, {PRODUCTS - 1}) p
            """,
            f"""
            INSERT INTO orders_order (id, store_id, external_id, order_number, buyer_name, buyer_email, buyer_phone,
                ship_name, ship_country, ship_province, ship_city, ship_district, ship_line1, ship_line2,
                ship_postal_code, ship_phone, currency, subtotal, discount_total, shipping_total, tax_total, total,
                financial_status, fulfillment_status, note, tags, placed_at, channel_updated_at, raw, created,
                updated, status)
            SELECT n + 1, {store.pk}, 'E' || n, '#' || (100000 + n), 'Buyer ' || (n % 997), '', '', '', 'CN', '',
                   'Hangzhou', '', n || ' Wensan Rd', '', '310000', '', 'USD', 20, 0, 0, 0, 20, 'paid', '', '', '',
                   {params["start"]} + (n % {DISPATCHES}) * ({params["end"]} - {params["start"]}) / {DISPATCHES} - interval '1 day',
                   {params["start"]}, ''::bytea, now(), now(), 'routed'
            FROM generate_series(0, {total - 1}) n
            """,
            f"""
            INSERT INTO suppliers_dispatch (id, number, supplier_id, status, merge_key, ruleset_version, reason,
                reject_code, ship_to, buyer_name, buyer_email, accept_by, ship_by, promised_ship_date, accepted_at,
                shipped_at, created, updated)
            SELECT n + 1, 'D' || lpad((n + 1)::text, 8, '0'),
                   CASE WHEN n >= {DISPATCHES} AND n % 5 = 4 THEN NULL ELSE n % {SUPPLIERS} + 1 END,
                   CASE WHEN n < {DISPATCHES} THEN 'shipped' WHEN n % 5 = 2 THEN 'pending'
                        WHEN n % 5 = 3 THEN 'cancelled' ELSE 'shipped' END,
                   '', NULL, '', '', '{{"name": "Buyer", "city": "Hangzhou", "country": "CN"}}'::jsonb, 'Buyer', '',
                   NULL, NULL, NULL, NULL,
                   CASE WHEN n < {DISPATCHES} OR n % 5 = 4 THEN t.at
                        WHEN n % 5 = 0 THEN t.at - ({params["end"]} - {params["start"]})
                        WHEN n % 5 = 1 THEN t.at + ({params["end"]} - {params["start"]}) END,
                   t.at - interval '1 day', t.at
            FROM generate_series(0, {total - 1}) n,
                 LATERAL (SELECT {params["start"]} + (n % {DISPATCHES}) * ({params["end"]} - {params["start"]}) / {DISPATCHES} AS at) t
            """,
            # Line k of dispatch n: one of its supplier's five products; 1 to 3 units at a cost with 4 places
            # (JPY: hundreds of yen with cents, rounded to whole yen).
            f"""
            INSERT INTO suppliers_dispatchline (id, dispatch_id, order_id, order_line_id, listing_sku, product_id,
                source_id, quantity, is_gift, unit_cost, cost_currency, reserved)
            SELECT 2 * n + k + 1, n + 1, n + 1, NULL, 'L-P' || lpad(p::text, 4, '0'), p + 1, p + 1,
                   1 + (2 * n + k) % 3, false,
                   CASE WHEN {currency.format(s="s")} = 'JPY' THEN 100 + ((2 * n + k)::bigint * 7919 % 100000) / 100.0
                        ELSE 0.5 + ((2 * n + k)::bigint * 7919 % 200000) / 10000.0 END,
                   {currency.format(s="s")}, 0
            FROM generate_series(0, {total - 1}) n, generate_series(0, 1) k,
                 LATERAL (SELECT n % {SUPPLIERS} AS s) s,
                 LATERAL (SELECT n % {SUPPLIERS} + {SUPPLIERS} * ((n / {SUPPLIERS} + k) % {PRODUCTS // SUPPLIERS}) AS p) p
            """,
            # One billable line in RETURN_EVERY comes back two days after it shipped (still in the month);
            # one return in ten claims more units than were dispatched.
            f"""
            INSERT INTO orders_returnrecord (order_id, order_line_id, dispatch_line_id, listing_sku, quantity, amount,
                currency, reason, created)
            SELECT dl.order_id, NULL, dl.id, dl.listing_sku,
                   CASE WHEN dl.id % {RETURN_EVERY * 10} = 0 THEN dl.quantity + 2 ELSE 1 END, 20, 'USD', 'returned',
                   LEAST(d.shipped_at + interval '2 days', {params["end"]} - interval '1 minute')
            FROM suppliers_dispatchline dl JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
            WHERE dl.id % {RETURN_EVERY} = 0 AND dl.dispatch_id <= {DISPATCHES}
            ORDER BY dl.id
            """,
            "SELECT setval(pg_get_serial_sequence('suppliers_supplier', 'id'), (SELECT max(id) FROM suppliers_supplier))",
            "SELECT setval(pg_get_serial_sequence('inventory_product', 'id'), (SELECT max(id) FROM inventory_product))",
            "SELECT setval(pg_get_serial_sequence('inventory_source', 'id'), (SELECT max(id) FROM inventory_source))",
            "SELECT setval(pg_get_serial_sequence('orders_order', 'id'), (SELECT max(id) FROM orders_order))",
            "SELECT setval(pg_get_serial_sequence('suppliers_dispatch', 'id'), (SELECT max(id) FROM suppliers_dispatch))",
            "SELECT setval(pg_get_serial_sequence('suppliers_dispatchline', 'id'), "
            "(SELECT max(id) FROM suppliers_dispatchline))",
        ]
    )
    _run([f"VACUUM (ANALYZE) {table}" for table in GENERATED])


def _open_period(month: dt.date):
    """The month's period, open, with ADJUSTMENTS approved adjustments (a quarter of them penalties)."""
    from settlement.models import Period

    period = Period.objects.create(month=month)
    _run(
        [
            f"""
            INSERT INTO settlement_adjustment (period_id, supplier_id, currency, kind, amount, reason, origin_id,
                created_by_id, approved_by_id, approved_at, created)
            SELECT {period.pk}, i % {SUPPLIERS} + 1, {_CURRENCY.format(s=f"i % {SUPPLIERS}")},
                   CASE WHEN i % 4 = 0 THEN 'penalty' ELSE 'adjustment' END,
                   CASE WHEN i % 4 = 0 THEN -(1 + i * 37 % 5000) / 100.0
                        ELSE (CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END) * (1 + i * 53 % 20000) / 100.0 END,
                   CASE WHEN i % 4 = 0 THEN 'late shipments' ELSE 'freight correction ' || i END,
                   NULL, NULL, NULL, now(), now()
            FROM generate_series(0, {ADJUSTMENTS - 1}) i
            """,
            "ANALYZE settlement_period, settlement_adjustment, settlement_statement, settlement_statementline",
        ]
    )
    return period


def _expected(period, start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
    """Per currency: shipped cost − chargeable returns + adjustments, each amount rounded half-up to the
    currency's minor unit, computed straight from the source rows (not from what the close wrote)."""
    from django.db import connection

    from core.money import quantum

    sums: dict[str, Decimal] = defaultdict(Decimal)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT dl.cost_currency, dl.quantity, dl.unit_cost, 1 FROM suppliers_dispatchline dl
            JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
            WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL AND d.shipped_at >= %(start)s
              AND d.shipped_at < %(end)s
            UNION ALL
            SELECT dl.cost_currency, LEAST(r.quantity, dl.quantity), dl.unit_cost, -1 FROM orders_returnrecord r
            JOIN suppliers_dispatchline dl ON dl.id = r.dispatch_line_id
            JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
            WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL AND r.created >= %(start)s
              AND r.created < %(end)s
            UNION ALL
            SELECT a.currency, 1, a.amount, 1 FROM settlement_adjustment a
            WHERE a.period_id = %(period)s AND a.approved_at IS NOT NULL
            """,
            {"start": start, "end": end, "period": period.pk},
        )
        for currency, quantity, unit_cost, sign in cursor:
            sums[currency] += sign * (quantity * unit_cost).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return dict(sums)


def _check(period, start: dt.datetime, end: dt.datetime, summary) -> dict:
    """The invariants after a close; raises when one does not hold."""
    from django.db import connection
    from django.db.models import Sum

    from settlement.models import Statement

    got = {
        row["currency"]: row["t"]
        for row in Statement.objects.filter(period=period).values("currency").annotate(t=Sum("total"))
    }
    expected = _expected(period, start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM settlement_statement s WHERE s.period_id = %(period)s AND s.total <> (
                   SELECT coalesce(sum(l.amount), 0) FROM settlement_statementline l WHERE l.statement_id = s.id)),
              (SELECT count(*) FROM suppliers_dispatchline dl JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
               WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL AND d.shipped_at >= %(start)s
                 AND d.shipped_at < %(end)s),
              (SELECT count(*) FROM settlement_statementline l JOIN settlement_statement s ON s.id = l.statement_id
               WHERE s.period_id = %(period)s AND l.kind = 'shipped'),
              (SELECT count(DISTINCT l.dispatch_line_id) FROM settlement_statementline l
               JOIN settlement_statement s ON s.id = l.statement_id
               JOIN suppliers_dispatchline dl ON dl.id = l.dispatch_line_id
               JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
               WHERE s.period_id = %(period)s AND l.kind = 'shipped' AND d.status = 'shipped'
                 AND d.supplier_id = s.supplier_id AND d.shipped_at >= %(start)s AND d.shipped_at < %(end)s)
            """,
            {"period": period.pk, "start": start, "end": end},
        )
        off_totals, billable, billed, billed_right = cursor.fetchone()
    check = {
        "sum_over_statements": {k: str(v) for k, v in sorted(got.items())},
        "shipped_minus_returns_plus_adjustments": {k: str(v) for k, v in sorted(expected.items())},
        "billable_lines": billable,
        "shipped_lines_billed": billed,
        "statements_whose_total_is_not_the_sum_of_their_lines": off_totals,
    }
    print(f"  check: {check}", file=sys.stderr)
    if got != expected or off_totals or not (billable == billed == billed_right == summary.shipped):
        raise RuntimeError(f"the close broke an invariant: {check}, {summary}")
    return check


def _naive_close(period, supplier_ids: list[int]) -> int:
    """A first version's close, a Python loop over lines, for ``supplier_ids``; rolled back. Returns the
    number of shipped lines it billed."""
    from django.db import transaction

    from core.money import quantum
    from orders.models import ReturnRecord
    from settlement.models import Adjustment, Statement, StatementLine
    from settlement.periods import period_bounds
    from suppliers.models import DispatchLine

    start, end = period_bounds(month=period.month)
    statements: dict[tuple[int, str], Statement] = {}
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    codes: dict[int, str] = {}

    def statement_for(supplier, currency: str) -> Statement:
        key = (supplier.pk, currency)
        if key not in statements:
            statements[key] = Statement.objects.create(
                period=period, supplier=supplier, currency=currency,
                number=f"ST-{period.month:%Y%m}-{supplier.code}-{currency}",
            )  # fmt: skip
            codes[supplier.pk] = supplier.code
        return statements[key]

    def amount_of(quantity: int, unit_cost: Decimal, currency: str) -> Decimal:
        return (quantity * unit_cost).quantize(quantum(currency), rounding=ROUND_HALF_UP)

    with transaction.atomic():
        billed = 0
        shipped: dict[int, StatementLine] = {}
        pending: dict[int, list[StatementLine]] = defaultdict(list)
        lines = (
            DispatchLine.objects.filter(
                dispatch__status="shipped", dispatch__supplier_id__in=supplier_ids,
                dispatch__shipped_at__gte=start, dispatch__shipped_at__lt=end,
            )
            .select_related("dispatch", "dispatch__supplier")
            .order_by("dispatch__supplier_id", "id")
        )  # fmt: skip
        current = None
        for line in lines.iterator(chunk_size=2000):
            supplier = line.dispatch.supplier
            if current is not None and supplier.pk != current:
                created = StatementLine.objects.bulk_create(pending.pop(current), batch_size=1000)
                shipped.update((sl.dispatch_line_id, sl) for sl in created)
            current = supplier.pk
            statement = statement_for(supplier, line.cost_currency)
            amount = amount_of(line.quantity, line.unit_cost, line.cost_currency)
            totals[(supplier.pk, line.cost_currency)] += amount
            pending[supplier.pk].append(
                StatementLine(
                    statement=statement, kind="shipped", dispatch_line=line, quantity=line.quantity,
                    unit_cost=line.unit_cost, amount=amount,
                    description=f"{line.dispatch.number} {line.listing_sku}"[:300],
                )
            )  # fmt: skip
            billed += 1
        for rest in pending.values():
            created = StatementLine.objects.bulk_create(rest, batch_size=1000)
            shipped.update((sl.dispatch_line_id, sl) for sl in created)

        returns = ReturnRecord.objects.filter(
            created__gte=start, created__lt=end, dispatch_line__dispatch__status="shipped",
            dispatch_line__dispatch__supplier_id__in=supplier_ids,
        ).select_related("dispatch_line__dispatch__supplier")  # fmt: skip
        for record in returns:
            line = record.dispatch_line
            supplier = line.dispatch.supplier
            quantity = min(record.quantity, line.quantity)
            amount = -amount_of(quantity, line.unit_cost, line.cost_currency)
            origin = StatementLine.objects.filter(dispatch_line=line, kind="shipped").first()
            StatementLine.objects.create(
                statement=statement_for(supplier, line.cost_currency), kind="return", dispatch_line=line,
                return_record=record, quantity=quantity, unit_cost=line.unit_cost, amount=amount,
                description=f"Return {line.dispatch.number} {line.listing_sku}"[:300], origin=origin,
            )  # fmt: skip
            totals[(supplier.pk, line.cost_currency)] += amount

        for adjustment in Adjustment.objects.filter(
            period=period, approved_at__isnull=False, supplier_id__in=supplier_ids
        ).select_related("supplier"):
            amount = adjustment.amount.quantize(quantum(adjustment.currency), rounding=ROUND_HALF_UP)
            StatementLine.objects.create(
                statement=statement_for(adjustment.supplier, adjustment.currency), kind=adjustment.kind,
                adjustment=adjustment, amount=amount, description=adjustment.reason[:300], origin=adjustment.origin,
            )  # fmt: skip
            totals[(adjustment.supplier_id, adjustment.currency)] += amount

        for key, statement in statements.items():
            statement.total = totals[key]
            statement.save(update_fields=["total", "updated"])
        transaction.set_rollback(True)
    return billed


def _backend_cpu() -> float | None:
    """CPU seconds the server process of this connection has used, when the server runs on this machine:
    a figure other processes on the machine disturb much less than wall time does."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(samples: list[float]) -> dict:
    return {
        "value": round(statistics.median(samples), 2),
        "min": round(min(samples), 2),
        "max": round(max(samples), 2),
        "runs": [round(s, 2) for s in samples],
    }


@figures("settlement.close", "settlement.close.naive")
def bench_settlement_close() -> list[dict]:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from settlement.closing import period_close
    from settlement.periods import period_bounds
    from suppliers.models import Supplier

    tenant = _tenant()
    with tenant_context(tenant):
        month = _month()
        start, end = period_bounds(month=month)
        _truncate()
        print(f"writing {LINES} shipped dispatch lines over {SUPPLIERS} suppliers, {month:%Y-%m}", file=sys.stderr)
        started = time.perf_counter()
        _generate(start, end)
        print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        naive_ids = list(Supplier.objects.order_by("pk").values_list("pk", flat=True)[:NAIVE_SUPPLIERS])
        close_times, cpu_times, naive_times, naive_lines, check = [], [], [], 0, {}
        for round_ in range(ROUNDS):
            _truncate_settlement()
            period = _open_period(month)

            connection.close()  # the naive close on a new backend too
            print(f"round {round_ + 1}: the naive close of {NAIVE_SUPPLIERS} suppliers", file=sys.stderr)
            started = time.perf_counter()
            naive_lines = _naive_close(period, naive_ids)
            naive_times.append(time.perf_counter() - started)
            print(f"  {naive_lines} lines in {naive_times[-1]:.1f} s", file=sys.stderr)

            connection.close()  # the close on a new backend: no cached plan or catalog
            print(f"round {round_ + 1}: period_close", file=sys.stderr)
            cpu = _backend_cpu()
            started = time.perf_counter()

            def step_done(step: str, _summary, started: float = started) -> None:
                print(f"    {step} at {time.perf_counter() - started:.1f} s", file=sys.stderr)

            summary = period_close(period=period, actor=None, actor_label="bench", on_step=step_done)
            close_times.append(time.perf_counter() - started)
            if cpu is not None:
                cpu_times.append(_backend_cpu() - cpu)
            print(f"  {summary} in {close_times[-1]:.1f} s (server CPU {cpu_times[-1:]} s)", file=sys.stderr)
            check = _check(period, start, end, summary)
        _truncate_settlement()
        _truncate()

    scale = check["billable_lines"] / naive_lines
    naive_scaled = [t * scale for t in naive_times]
    naive_unit = f"s (extrapolated from {naive_lines:,} lines)"
    return [
        {
            "name": "settlement.close",
            **_stats(close_times),
            "unit": "s",
            "baseline": round(statistics.median(naive_scaled), 2),
            "baseline_name": f"settlement.close.naive: Python loop over lines, {naive_unit}",
            "server_cpu": _stats(cpu_times) if cpu_times else None,
            "lines": check["billable_lines"],
            "returns": summary.returns,
            "adjustments": summary.adjustments,
            "statements": summary.statements,
            "suppliers": SUPPLIERS,
            "check": check,
        },
        {
            "name": "settlement.close.naive",
            **_stats(naive_scaled),
            "unit": naive_unit,
            "measured": _stats(naive_times),
            "measured_lines": naive_lines,
        },
    ]
