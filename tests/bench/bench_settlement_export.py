"""settlement.export_xlsx: seconds to write a 100,000-line supplier statement to XLSX.

One supplier's CNY statement of LINES lines: shipped dispatch lines (five per dispatch, one order per
dispatch, products with Chinese names) and one adjustment line in a thousand, as a month close leaves them.
Orders and dispatches are written by SQL on the server (generate_series, as bench_portal does); the dispatch
lines and the statement lines by COPY (core.bulk.copy_rows); then ANALYZEd. The period is left open, so
the closed-period triggers never stand in the way of emptying the tables.

- ``settlement.export_xlsx``: from the query to the closed file, what the export task does: the statement's
  table (settlement.exports.statement_table: the count, then the lines through a server-side cursor, dates in
  the tenant's time zone, amounts to the cent) written by core.exports.write_xlsx (openpyxl write-only:
  constant memory, formula injection neutralised, Decimals as numbers in the currency's format, header bold)
  to a file on disk. Median of ROUNDS runs, with min and max; each run on a new database backend.
- Baseline in the same run, ``settlement.export_xlsx.naive``: the same rows from the same query written with
  openpyxl in normal mode (the whole workbook in memory, each cell an object), header bold and the two money
  columns given the same number format cell by cell, as a first version is usually written.

``max_rss_mb`` is the process's peak resident memory after the streaming runs (before any naive run), and
again after the naive runs; ``cpu_s`` the median CPU time of this process (the figure less waiting for the
database and for other processes on a shared machine). openpyxl serialises with lxml when it is installed
(its documentation asks for it when writing large files); ``xml_writer`` says which one ran.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.bench.run import figures

LINES = int(os.environ.get("BENCH_EXPORT_LINES", "100000"))
LINES_PER_DISPATCH = 5
ADJUSTMENT_EVERY = 1000
PRODUCTS = 500
ROUNDS = int(os.environ.get("BENCH_EXPORT_ROUNDS", "3"))
SLUG = "bench-export"
MONTH = dt.date(2026, 10, 1)
NAMES = ["青花瓷杯", "白瓷盘", "紫砂壶", "Mug", "Plate", "Teapot", "竹编篮 Basket", "Bowl"]


def _tenant():
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_provision(
            slug=SLUG, name="Bench export", owner_email="o@bench.test", owner_password="bench-password-2026"
        )
    return tenant


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            TRUNCATE settlement_exportfile, settlement_statementdispute, settlement_statementevent,
                     settlement_statementline, settlement_statement, settlement_adjustment, settlement_period,
                     suppliers_dispatchline, suppliers_dispatch, orders_order, inventory_source, inventory_product,
                     suppliers_supplier, channels_store CASCADE
            """
        )


def _run(sql: str, params=None) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    print(f"  {' '.join(sql.split()[:3])}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _generate():
    """The supplier, its products, LINES / 5 orders and dispatches shipped in October, their lines, and the
    statement with LINES lines (total = the sum of its lines). Returns the statement."""
    from django.db import connection

    from channels.models import Channel, Store
    from core.bulk import copy_rows, sequence_ids
    from settlement.models import Period, Statement
    from suppliers.models import Supplier

    dispatches = -(-LINES // LINES_PER_DISPATCH)
    store = Store.objects.create(name="Bench export", channel=Channel.SPREADSHEET)
    supplier = Supplier.objects.create(name="景德镇青花瓷器厂", code="JDZ", currency="CNY")
    _run(
        f"""
        INSERT INTO inventory_product (sku, name, attributes, active, created, updated)
        SELECT 'JDZ-' || lpad(p::text, 4, '0'), (%(names)s::text[])[1 + p %% {len(NAMES)}] || ' ' || p, '{{}}'::jsonb,
               true, now(), now()
        FROM generate_series(0, {PRODUCTS - 1}) p ORDER BY p
        """,
        {"names": NAMES},
    )
    _run(
        f"""
        INSERT INTO inventory_source (product_id, position, supplier_id, cost_price, currency, regions,
            lead_time_days, active, created, updated)
        SELECT id, 1, {supplier.pk}, 12.5, 'CNY', '[]'::jsonb, 0, true, now(), now() FROM inventory_product
        """
    )
    _run(
        f"""
        INSERT INTO orders_order (store_id, external_id, order_number, buyer_name, buyer_email, buyer_phone,
            ship_name, ship_country, ship_province, ship_city, ship_district, ship_line1, ship_line2,
            ship_postal_code, ship_phone, currency, subtotal, discount_total, shipping_total, tax_total, total,
            financial_status, fulfillment_status, note, tags, placed_at, channel_updated_at, raw, created, updated,
            status)
        SELECT {store.pk}, 'E' || i, '#' || (100000 + i), 'Buyer ' || i, '', '', '', 'CN', '', '', '', '', '', '',
               '', 'CNY', 100, 0, 0, 0, 100, 'paid', '', '', '', timestamptz '2026-10-01' + i * interval '20 seconds',
               timestamptz '2026-10-01' + i * interval '20 seconds', ''::bytea, now(), now(), 'shipped'
        FROM generate_series(1, {dispatches}) i
        """
    )
    _run(
        f"""
        INSERT INTO suppliers_dispatch (id, number, supplier_id, status, merge_key, ruleset_version, reason,
            reject_code, ship_to, buyer_name, buyer_email, accept_by, ship_by, promised_ship_date, accepted_at,
            shipped_at, created, updated)
        SELECT o.id, 'D' || lpad(o.id::text, 8, '0'), {supplier.pk}, 'shipped', '', NULL, '', '', '{{}}'::jsonb,
               o.buyer_name, '', o.placed_at, o.placed_at, NULL, o.placed_at, o.placed_at + interval '6 hours',
               o.placed_at, o.placed_at
        FROM orders_order o
        """
    )
    _run("SELECT setval(pg_get_serial_sequence('suppliers_dispatch', 'id'), (SELECT max(id) FROM suppliers_dispatch))")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, shipped_at FROM suppliers_dispatch ORDER BY id")
        dispatch_rows = cursor.fetchall()
        cursor.execute(
            "SELECT p.id, p.sku, s.id FROM inventory_product p JOIN inventory_source s ON s.product_id = p.id ORDER BY p.id"
        )
        products = cursor.fetchall()

    started = time.perf_counter()
    line_ids = sequence_ids("suppliers_dispatchline", count=LINES)
    dispatch_lines = []
    for n, line_id in enumerate(line_ids):
        dispatch_id, _shipped = dispatch_rows[n // LINES_PER_DISPATCH]
        product_id, sku, source_id = products[n % PRODUCTS]
        quantity = 1 + n % 4
        unit_cost = Decimal("3.75") + Decimal(n % 40) / 4
        dispatch_lines.append((line_id, dispatch_id, dispatch_id, sku, product_id, source_id, quantity, False,
                               unit_cost, "CNY", 0))  # fmt: skip
    copy_rows(
        "suppliers_dispatchline",
        ("id", "dispatch_id", "order_id", "listing_sku", "product_id", "source_id", "quantity", "is_gift",
         "unit_cost", "cost_currency", "reserved"),
        dispatch_lines,
    )  # fmt: skip
    print(f"  COPY suppliers_dispatchline: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    period = Period.objects.create(month=MONTH)
    statement = Statement.objects.create(period=period, supplier=supplier, currency="CNY", number="ST-202610-JDZ-CNY")
    started = time.perf_counter()
    number_of = {dispatch_id: f"D{dispatch_id:08d}" for dispatch_id, _at in dispatch_rows}
    statement_lines, total = [], Decimal(0)
    for n, (line_id, dispatch_id, _order, sku, _p, _s, quantity, _g, unit_cost, _c, _r) in enumerate(dispatch_lines):
        if n % ADJUSTMENT_EVERY == ADJUSTMENT_EVERY - 1:
            amount = Decimal("-12.50")
            statement_lines.append((statement.pk, "adjustment", None, None, None, amount, "迟发罚款 late shipment"))
        else:
            amount = (quantity * unit_cost).quantize(Decimal("0.01"))
            statement_lines.append((statement.pk, "shipped", line_id, quantity, unit_cost, amount,
                                    f"{number_of[dispatch_id]} {sku}"))  # fmt: skip
        total += amount
    copy_rows(
        "settlement_statementline",
        ("statement_id", "kind", "dispatch_line_id", "quantity", "unit_cost", "amount", "description"),
        statement_lines,
    )
    Statement.objects.filter(pk=statement.pk).update(total=total)
    print(f"  COPY settlement_statementline: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    _run("ANALYZE")
    statement.refresh_from_db()
    return statement


def _streaming(statement, path: Path) -> tuple[float, float, int]:
    from core.exports import write_xlsx
    from settlement.exports import statement_table

    started, cpu = time.perf_counter(), time.process_time()
    table = statement_table(statement)
    with open(path, "wb") as handle:
        rows = write_xlsx(table, handle)
    return time.perf_counter() - started, time.process_time() - cpu, rows


def _naive(statement, path: Path) -> tuple[float, float, int]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from core.exports import money_number_format, safe_cell
    from settlement.exports import statement_columns, statement_rows

    started, cpu = time.perf_counter(), time.process_time()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = statement.number
    sheet.append(statement_columns())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rows = 0
    for row in statement_rows(statement):
        sheet.append([safe_cell(value) for value in row])
        rows += 1
    money = money_number_format(statement.currency)
    for unit_cost, amount in sheet.iter_rows(min_row=2, min_col=8, max_col=9):
        unit_cost.number_format = money
        amount.number_format = money
    sheet.freeze_panes = "A2"
    workbook.save(path)
    return time.perf_counter() - started, time.process_time() - cpu, rows


def _check(statement, path: Path) -> dict:
    """The file opened back: its rows and the sum of its Amount column, which must be the statement's total."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    rows, total = 0, Decimal(0)
    for row in workbook.active.iter_rows(min_row=2, values_only=True):
        rows += 1
        total += Decimal(str(row[8]))
    workbook.close()
    if rows != LINES or total.quantize(Decimal("0.01")) != statement.total:
        raise RuntimeError(
            f"the file has {rows} rows adding up to {total}; the statement {LINES} and {statement.total}"
        )
    return {"rows": rows, "total": str(statement.total), "file_mb": round(path.stat().st_size / 2**20, 1)}


def _stats(samples: list[float]) -> dict:
    return {
        "value": round(statistics.median(samples), 2),
        "min": round(min(samples), 2),
        "max": round(max(samples), 2),
        "runs": [round(s, 2) for s in samples],
    }


def _max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kilobytes on Linux


@figures("settlement.export_xlsx", "settlement.export_xlsx.naive")
def bench_settlement_export() -> list[dict]:
    from django.db import connection
    from django_tenants.utils import tenant_context
    from openpyxl.xml import LXML

    from settlement.models import Statement

    tenant = _tenant()
    with tenant_context(tenant), tempfile.TemporaryDirectory() as folder:
        _truncate()
        print(f"writing a statement of {LINES} lines", file=sys.stderr)
        started = time.perf_counter()
        statement = Statement.objects.select_related("period", "supplier").get(pk=_generate().pk)
        print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        fast, slow = Path(folder) / "streaming.xlsx", Path(folder) / "naive.xlsx"
        fast_times, naive_times, fast_cpu, naive_cpu = [], [], [], []
        for round_ in range(ROUNDS):
            connection.close()  # a new backend: no cached plan
            seconds, cpu, rows = _streaming(statement, fast)
            fast_times.append(seconds)
            fast_cpu.append(cpu)
            print(f"round {round_ + 1}: write_xlsx {rows} rows in {seconds:.1f} s ({cpu:.1f} s CPU)", file=sys.stderr)
        check = _check(statement, fast)
        rss_streaming = _max_rss_mb()
        for round_ in range(ROUNDS):
            connection.close()
            seconds, cpu, rows = _naive(statement, slow)
            naive_times.append(seconds)
            naive_cpu.append(cpu)
            print(f"round {round_ + 1}: naive {rows} rows in {seconds:.1f} s ({cpu:.1f} s CPU)", file=sys.stderr)
        naive_check = _check(statement, slow)
        rss_naive = _max_rss_mb()
        _truncate()

    baseline_name = "settlement.export_xlsx.naive: openpyxl normal mode (whole workbook in memory), same rows"
    return [
        {
            "name": "settlement.export_xlsx",
            **_stats(fast_times),
            "unit": "s",
            "baseline": round(statistics.median(naive_times), 2),
            "baseline_min": round(min(naive_times), 2),
            "baseline_max": round(max(naive_times), 2),
            "baseline_name": baseline_name,
            "target": 15,
            "xml_writer": "lxml" if LXML else "xml.etree (lxml not installed)",
            "lines": LINES,
            "check": check,
            "cpu_s": round(statistics.median(fast_cpu), 2),
            "max_rss_mb": rss_streaming,
        },
        {
            "name": "settlement.export_xlsx.naive",
            **_stats(naive_times),
            "unit": "s",
            "lines": LINES,
            "check": naive_check,
            "cpu_s": round(statistics.median(naive_cpu), 2),
            "max_rss_mb": rss_naive,
        },
    ]
