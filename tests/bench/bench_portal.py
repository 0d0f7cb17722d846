"""portal.list.p95 and portal.tracking_upload: the supplier portal with a million dispatches in the tenant.

One million dispatches (one line each, one order each) over 200 suppliers,
a year of them, in the mix of states a live tenant has, are written by SQL
on the server (generate_series), then ANALYZEd.

- ``portal.list.p95``: milliseconds, server-side (the whole Django request:
  middleware, query, template), of the dispatch list of ONE supplier's user,
  the worst p95 of four kinds of page, each requested REQUESTS times: the
  first page, a deep page (40 pages in, by the keyset cursor), a filtered
  page (to ship and overdue) and searched pages (buyer name, order number,
  SKU, dispatch number in turn). Baseline in the same run: the naive list,
  OFFSET pagination with a COUNT and ``icontains`` search across the joins,
  the way a first version is usually written, timed on its queries alone.
- ``portal.tracking_upload``: rows per second for a 5,000-row XLSX of one
  supplier's dispatches (one parcel each), validated whole and applied.
  Baseline: the same kind of rows applied one by one through the shipping
  service (``dispatch_ship`` per row, its own checks and queries each).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import time

from tests.bench.run import figures

DISPATCHES = int(os.environ.get("BENCH_PORTAL_DISPATCHES", "1000000"))
SUPPLIERS = 200
PRODUCTS = 1000
REQUESTS = int(os.environ.get("BENCH_PORTAL_REQUESTS", "40"))
UPLOAD_ROWS = 5000
NAIVE_UPLOAD_ROWS = 500
SLUG = "bench-portal"
HOST = f"{SLUG}.localhost"
PASSWORD = "bench-password-2026"
FIRST = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Ada", "Grace", "Alan", "Emma", "Noah",
         "Olivia", "Liam", "Mia", "Lucas", "Sofia", "Ethan", "Chloe"]  # fmt: skip
LAST = ["Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Hui", "Smith", "Jones", "Brown", "Taylor", "Wilson",
        "Moore", "Clark", "Lewis", "Walker", "Hall", "Young", "King"]  # fmt: skip


def _tenant():
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_provision(slug=SLUG, name="Bench portal", owner_email="o@bench.test", owner_password=PASSWORD)
    return tenant


def _truncate() -> None:
    from django.contrib.auth.models import User
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            TRUNCATE suppliers_parcelline, suppliers_parcel, suppliers_dispatchevent, suppliers_dispatchline,
                     suppliers_dispatch, orders_orderline, orders_order, inventory_stock, inventory_source,
                     inventory_product, suppliers_supplieruser, suppliers_supplier, channels_store CASCADE
            """
        )
    User.objects.filter(email="s@bench.test").delete()


def _generate() -> None:
    """Suppliers, products with one source each, and DISPATCHES orders, dispatches and lines, all in SQL."""
    from django.db import connection

    from channels.models import Channel, Store

    store = Store.objects.create(name="Bench portal", channel=Channel.SPREADSHEET)
    first = "ARRAY[" + ",".join(f"'{n}'" for n in FIRST) + "]"
    last = "ARRAY[" + ",".join(f"'{n}'" for n in LAST) + "]"
    statements = [
        f"""
        INSERT INTO suppliers_supplier (name, code, contact_name, contact_email, contact_phone, currency,
            payment_terms_days, accept_within_hours, ship_within_hours, share_buyer_email, active, created)
        SELECT 'Supplier ' || s, 'S' || lpad(s::text, 3, '0'), '', '', '', 'USD', 30, 24, 72, false, true, now()
        FROM generate_series(0, {SUPPLIERS - 1}) s ORDER BY s
        """,
        f"""
        INSERT INTO inventory_product (sku, name, attributes, active, created, updated)
        SELECT 'P' || lpad(p::text, 4, '0'), 'Product ' || p, '{{}}'::jsonb, true, now(), now()
        FROM generate_series(0, {PRODUCTS - 1}) p ORDER BY p
        """,
        """
        INSERT INTO inventory_source (product_id, position, supplier_id, cost_price, currency, regions,
            lead_time_days, active, created, updated)
        SELECT p.id, 1, (SELECT id FROM suppliers_supplier ORDER BY id OFFSET (p.rn % 200) LIMIT 1),
               5.50, 'USD', '[]'::jsonb, 0, true, now(), now()
        FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM inventory_product) p
        """,
        f"""
        INSERT INTO orders_order (store_id, external_id, order_number, buyer_name, buyer_email, buyer_phone,
            ship_name, ship_country, ship_province, ship_city, ship_district, ship_line1, ship_line2,
            ship_postal_code, ship_phone, currency, subtotal, discount_total, shipping_total, tax_total, total,
            financial_status, fulfillment_status, note, tags, placed_at, channel_updated_at, raw, created, updated,
            status)
        SELECT {store.pk}, 'E' || i, '#' || (100000 + i),
               ({first})[1 + i % 20] || ' ' || ({last})[1 + (i / 20) % 20] || ' ' || (i % 997),
               'b' || i || '@example.com', '', '', 'CN', 'Zhejiang', 'Hangzhou', '', i || ' Wensan Rd', '',
               '310000', '', 'USD', 20, 0, 0, 0, 20, 'paid', '', '', '',
               timestamptz '2025-11-01' + i * interval '30 seconds',
               timestamptz '2025-11-01' + i * interval '30 seconds', ''::bytea, now(), now(), 'routed'
        FROM generate_series(1, {DISPATCHES}) i
        """,
        # Dispatch i carries order i; the supplier is the one sourcing product i % PRODUCTS.
        f"""
        INSERT INTO suppliers_dispatch (id, number, supplier_id, status, merge_key, ruleset_version, reason,
            reject_code, ship_to, buyer_name, buyer_email, accept_by, ship_by, promised_ship_date, accepted_at,
            shipped_at, created, updated)
        SELECT o.id, 'D' || lpad(o.id::text, 8, '0'), s.supplier_id,
               CASE WHEN o.n % 20 < 2 THEN 'pending' WHEN o.n % 20 < 4 THEN 'accepted'
                    WHEN o.n % 50 = 7 THEN 'rejected' WHEN o.n % 50 = 9 THEN 'cancelled' ELSE 'shipped' END,
               '', NULL, '', CASE WHEN o.n % 50 = 7 THEN 'out_of_stock' ELSE '' END,
               jsonb_build_object('name', o.buyer_name, 'line1', o.ship_line1, 'city', 'Hangzhou',
                                  'province', 'Zhejiang', 'country', 'CN', 'postal_code', '310000'),
               o.buyer_name, o.buyer_email, o.placed_at + interval '24 hours', o.placed_at + interval '72 hours',
               NULL, NULL, NULL, o.placed_at, o.placed_at
        FROM (SELECT id, id - (SELECT min(id) FROM orders_order) AS n, buyer_name, buyer_email, ship_line1, placed_at
              FROM orders_order) o
        JOIN (SELECT product_id, supplier_id, row_number() OVER (ORDER BY product_id) - 1 AS rn
              FROM inventory_source) s ON s.rn = o.n % {PRODUCTS}
        """,
        f"""
        INSERT INTO suppliers_dispatchline (dispatch_id, order_id, order_line_id, listing_sku, product_id,
            source_id, quantity, is_gift, unit_cost, cost_currency, reserved)
        SELECT d.id, d.id, NULL, p.sku, p.product_id, p.source_id, 1 + d.id % 3, false, 5.50, 'USD', 0
        FROM (SELECT id, id - (SELECT min(id) FROM suppliers_dispatch) AS n FROM suppliers_dispatch) d
        JOIN (SELECT p.id AS product_id, p.sku, s.id AS source_id, row_number() OVER (ORDER BY p.id) - 1 AS rn
              FROM inventory_product p JOIN inventory_source s ON s.product_id = p.id) p ON p.rn = d.n % {PRODUCTS}
        """,
        "SELECT setval(pg_get_serial_sequence('suppliers_dispatch', 'id'), (SELECT max(id) FROM suppliers_dispatch))",
        "ANALYZE",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"  {' '.join(sql.split()[:3])}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _time_requests(client, paths: list[str]) -> list[float]:
    samples = []
    for index in range(REQUESTS):
        path = paths[index % len(paths)]
        started = time.perf_counter()
        response = client.get(path, HTTP_HOST=HOST, secure=True)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return samples


def _naive(supplier, kinds: dict[str, list[dict]]) -> dict[str, list[float]]:
    """OFFSET pages with a COUNT, icontains search over the joins: a first version's list, queries only."""
    from django.db.models import Q

    from suppliers.models import Dispatch, DispatchLine

    result: dict[str, list[float]] = {}
    for kind, variants in kinds.items():
        samples = []
        for index in range(REQUESTS):
            params = variants[index % len(variants)]
            started = time.perf_counter()
            qs = Dispatch.objects.filter(supplier=supplier)
            if params.get("state"):
                qs = qs.filter(status="accepted")
            if params.get("overdue"):
                qs = qs.filter(ship_by__lt=dt.datetime.now(dt.UTC))
            if q := params.get("q"):
                qs = qs.filter(
                    Q(number__icontains=q)
                    | Q(buyer_name__icontains=q)
                    | Q(lines__order__order_number__icontains=q)
                    | Q(lines__product__sku__icontains=q)
                ).distinct()
            qs = qs.order_by("-created", "-id")
            count = qs.count()
            offset = params.get("page", 0) * 50
            rows = list(qs[offset : offset + 50])
            list(
                DispatchLine.objects.filter(dispatch__in=rows).values_list(
                    "dispatch_id", "order__order_number", "quantity"
                )
            )
            samples.append((time.perf_counter() - started) * 1000)
            assert count >= 0
        result[kind] = samples
    return result


def _list_figure() -> dict:
    from django.test import Client

    from suppliers.members import supplier_user_create
    from suppliers.models import Dispatch, DispatchLine, Supplier
    from suppliers.portal.selectors import DispatchFilters, portal_dispatches_page

    supplier = Supplier.objects.order_by("pk")[SUPPLIERS // 2]
    user = supplier_user_create(supplier=supplier, email="s@bench.test", password=PASSWORD, check_password=False)
    client = Client()
    client.force_login(user)

    # A deep cursor: 40 pages in, walked once by the selector as the "Older" link would.
    cursor = ""
    for _ in range(40):
        cursor = portal_dispatches_page(supplier=supplier, filters=DispatchFilters(), after=cursor).next_cursor or ""
    mine = Dispatch.objects.filter(supplier=supplier).order_by("pk")
    sample = mine[min(1234, mine.count() // 2)]
    line = DispatchLine.objects.select_related("order", "product").get(dispatch=sample)
    searches = [sample.buyer_name.split()[0], line.order.order_number, line.product.sku, sample.number]
    kinds = {
        "first": [{}],
        "deep": [{"after": cursor}],
        "filtered": [{"state": "to_ship", "overdue": "on"}],
        "searched": [{"q": q} for q in searches],
    }
    from urllib.parse import urlencode

    paths = {kind: ["/portal/dispatches/?" + urlencode(p) for p in variants] for kind, variants in kinds.items()}
    for kind_paths in paths.values():  # warm the process (templates, URL conf), not the figure
        client.get(kind_paths[0], HTTP_HOST=HOST, secure=True)
    p95s = {kind: round(_p95(_time_requests(client, kind_paths)), 2) for kind, kind_paths in paths.items()}
    naive_kinds = {
        "first": [{}],
        "deep": [{"page": 40}],
        "filtered": [{"state": "accepted", "overdue": True}],
        "searched": [{"q": q} for q in searches],
    }
    naive = {kind: round(_p95(samples), 2) for kind, samples in _naive(supplier, naive_kinds).items()}
    return {
        "name": "portal.list.p95",
        "value": max(p95s.values()),
        "unit": "ms",
        "baseline": max(naive.values()),
        "baseline_name": "naive list: OFFSET pages with COUNT, icontains across joins (queries only)",
        "by_kind": p95s,
        "baseline_by_kind": naive,
        "dispatches": Dispatch.objects.count(),
        "supplier_dispatches": Dispatch.objects.filter(supplier=supplier).count(),
        "requests_per_kind": REQUESTS,
    }


def _upload_file(rows: list[tuple[str, str, str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Dispatch", "Carrier", "Tracking number"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _open_dispatches(supplier, count: int) -> None:
    """``count`` new pending dispatches of ``supplier`` (a supplier has about 1,000 open ones; the upload needs more)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH new AS (
                SELECT nextval(pg_get_serial_sequence('suppliers_dispatch', 'id')) AS id, i
                FROM generate_series(1, %(count)s) i
            ), ins AS (
                INSERT INTO suppliers_dispatch (id, number, supplier_id, status, merge_key, ruleset_version, reason,
                    reject_code, ship_to, buyer_name, buyer_email, accept_by, ship_by, created, updated)
                SELECT id, 'D' || lpad(id::text, 8, '0'), %(supplier)s, 'pending', '', NULL, '', '',
                       '{"name": "Wang Wei", "city": "Hangzhou", "country": "CN"}'::jsonb, 'Wang Wei', '',
                       now() + interval '24 hours', now() + interval '72 hours', now(), now()
                FROM new RETURNING id
            )
            INSERT INTO suppliers_dispatchline (dispatch_id, order_id, order_line_id, listing_sku, product_id,
                source_id, quantity, is_gift, unit_cost, cost_currency, reserved)
            SELECT ins.id, (SELECT min(id) FROM orders_order) + ins.id %% 1000, NULL, p.sku, p.id, s.id, 1, false,
                   5.50, 'USD', 0
            FROM ins, LATERAL (SELECT id, product_id FROM inventory_source WHERE supplier_id = %(supplier)s
                               ORDER BY id LIMIT 1) s
            JOIN inventory_product p ON p.id = s.product_id
            """,
            {"count": count, "supplier": supplier.pk},
        )
        cursor.execute("ANALYZE suppliers_dispatch")


def _upload_figure() -> dict:
    from django.contrib.auth.models import User
    from django.db import transaction

    from suppliers.members import supplier_of
    from suppliers.models import Dispatch, Parcel
    from suppliers.shipping import ParcelSpec, dispatch_ship
    from suppliers.tracking_upload import tracking_upload

    user = User.objects.get(email="s@bench.test")
    supplier = supplier_of(user=user)
    _open_dispatches(supplier, UPLOAD_ROWS + NAIVE_UPLOAD_ROWS)
    open_ids = list(
        Dispatch.objects.filter(supplier=supplier, status__in=["pending", "accepted"])
        .order_by("pk")
        .values_list("pk", "number")
    )
    if len(open_ids) < UPLOAD_ROWS + NAIVE_UPLOAD_ROWS:
        raise RuntimeError(f"only {len(open_ids)} open dispatches for the upload")
    fast = open_ids[:UPLOAD_ROWS]
    slow = open_ids[UPLOAD_ROWS : UPLOAD_ROWS + NAIVE_UPLOAD_ROWS]
    content = _upload_file([(number, "Other", f"BENCH{pk:010d}") for pk, number in fast])
    started = time.perf_counter()
    report = tracking_upload(supplier=supplier, content=content, filename="tracking.xlsx", actor=user)
    fast_s = time.perf_counter() - started
    shipped = Parcel.objects.filter(tracking_number__startswith="BENCH").count()
    if shipped != UPLOAD_ROWS:
        raise RuntimeError(f"the upload shipped {shipped} of {UPLOAD_ROWS}: {report}")

    started = time.perf_counter()
    for pk, _number in slow:
        with transaction.atomic():
            dispatch_ship(
                dispatch=Dispatch.objects.get(pk=pk), parcels=[ParcelSpec("other", f"NAIVE{pk:010d}")], actor=user
            )
    naive_s = time.perf_counter() - started
    return {
        "name": "portal.tracking_upload",
        "value": round(UPLOAD_ROWS / fast_s, 1),
        "unit": "rows/s",
        "baseline": round(NAIVE_UPLOAD_ROWS / naive_s, 1),
        "baseline_name": f"dispatch_ship per row, its own checks and queries ({NAIVE_UPLOAD_ROWS} rows)",
        "rows": UPLOAD_ROWS,
        "seconds": round(fast_s, 2),
    }


@figures("portal.list.p95", "portal.tracking_upload")
def bench_portal() -> list[dict]:
    from django_tenants.utils import tenant_context

    tenant = _tenant()
    with tenant_context(tenant):
        _truncate()
        print(f"writing {DISPATCHES} dispatches over {SUPPLIERS} suppliers", file=sys.stderr)
        started = time.perf_counter()
        _generate()
        print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        print("timing the portal list", file=sys.stderr)
        listing = _list_figure()
        print("timing the tracking upload", file=sys.stderr)
        upload = _upload_figure()
        _truncate()
    return [listing, upload]
