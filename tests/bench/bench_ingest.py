"""ingest.*: Shopify-format orders from files through normalise, apportion and upsert.

20,000 orders (about 60,000 lines) made by the sandbox shop are written as
pages of 250 to JSON files (Shopify's ``{"orders": [...]}`` bodies), then read
back as bytes and handed to ``channels.ingest.ingest_pages`` the way a sync
hands it the response bodies it fetched (as for pulled pages: decode, skip what
is held, normalise, quarantine what cannot be read, one COPY and merge per page).
Re-ingesting the same files must add no row.

Each figure is the median of REPS repetitions in this run, with min and max:
``ingest.first`` into empty tables (emptied between repetitions), then
``ingest.repeat`` of the same files over them. ``ingest.ceiling`` is the limit
the first ingest is read against: the very rows it wrote (orders and lines, raw
payloads included) written again into the emptied tables by a bare COPY each.
``ingest.worker_rss_mb`` is the peak resident memory of this process (the one
doing the ingest, helper thread included) during each first ingest; the orders
are made up in a process of their own so that their memory is not counted.

Baseline in the same run: the naive way, one ``save()`` per order and per line
(get-or-create by external id, apportionment included), over a slice of the
same orders so the run stays short; its rate is orders per second all the same.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

from tests.bench.run import REPS, figures, rss_mb, rss_peak_reset, spread

ORDERS = int(os.environ.get("BENCH_INGEST_ORDERS", "20000"))
NAIVE_ORDERS = int(os.environ.get("BENCH_INGEST_NAIVE_ORDERS", "2000"))
PAGE = 250
SLUG = "bench-ingest"


def _tenant():
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_provision(
            slug=SLUG, name="Bench ingest", owner_email="o@bench.test", owner_password="bench-password-2026"
        )
    return tenant


def _generate(folder: Path) -> list[Path]:
    """The page files, made in a process of its own: its memory goes with it, so the peak resident memory
    measured during the ingest is the ingest's (the made-up orders would otherwise stay in this heap)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_write_pages, (folder,))


def _write_pages(folder: Path) -> list[Path]:
    from channels.sandbox.generator import SandboxShop

    # Weighted to about 3 lines an order, the benchmark's 60,000 lines for 20,000 orders.
    shop = SandboxShop(seed=7, rate_per_minute=0, line_count_weights=(10, 20, 35, 20, 15))
    paths = []
    made = 0
    while made < ORDERS:
        batch = shop.generate(min(PAGE, ORDERS - made), spread_seconds=86400 * 30)
        path = folder / f"orders-{len(paths):04d}.json"
        path.write_bytes(orjson.dumps({"orders": batch}))
        paths.append(path)
        made += len(batch)
    return paths


def _ingest(store, adapter, paths: list[Path]) -> tuple[float, int]:
    from channels.ingest import ingest_pages

    def pages():
        for path in paths:
            yield path.read_bytes()  # as a sync's fetch returns the response body

    started = time.perf_counter()
    seen = sum(
        result.seen
        for result in ingest_pages(store=store, adapter=adapter, pages=pages(), durable=False, hand_on=False)
    )
    return time.perf_counter() - started, seen


def _naive(store, adapter, paths: list[Path]) -> tuple[float, int]:
    """One save per order and per line, the way a first draft would write it."""
    from decimal import Decimal

    from django.db import transaction

    from orders.apportionment import apportion_order
    from orders.models import Order, OrderLine, pack_payload

    started = time.perf_counter()
    done = 0
    for path in paths:
        for payload in orjson.loads(path.read_bytes())["orders"]:
            if done >= NAIVE_ORDERS:
                return time.perf_counter() - started, done
            order = adapter.normalise(payload)
            with transaction.atomic():
                row = Order.objects.filter(store=store, external_id=order.external_id).first()
                if row is not None and row.channel_updated_at >= order.updated_at:
                    done += 1
                    continue
                row = row or Order(store=store, external_id=order.external_id)
                address = order.shipping_address
                row.order_number = order.order_number
                row.buyer_name, row.buyer_email, row.buyer_phone = (
                    order.buyer_name,
                    order.buyer_email,
                    order.buyer_phone,
                )
                row.ship_name, row.ship_country, row.ship_province = address.name, address.country, address.province
                row.ship_city, row.ship_district = address.city, address.district
                row.ship_line1, row.ship_line2, row.ship_postal_code = address.line1, address.line2, address.postal_code
                row.currency, row.subtotal, row.discount_total = order.currency, order.subtotal, order.discount_total
                row.shipping_total, row.tax_total, row.total = order.shipping_total, order.tax_total, order.total
                row.financial_status, row.fulfillment_status = order.financial_status, order.fulfillment_status
                row.cancelled_at, row.note, row.tags = order.cancelled_at, order.note or "", ",".join(order.tags)
                row.placed_at, row.channel_updated_at = order.placed_at, order.updated_at
                row.raw = pack_payload(payload)
                row.save()
                line_discounts = sum((line.line_discount for line in order.lines), Decimal(0))
                shares = apportion_order(
                    lines=[(line.unit_price * line.quantity, line.line_discount) for line in order.lines],
                    order_discount=order.discount_total - line_discounts,
                    shipping=order.shipping_total,
                    currency=order.currency,
                )
                for position, (line, share) in enumerate(zip(order.lines, shares, strict=True), start=1):
                    line_row = OrderLine.objects.filter(order=row, external_id=line.external_id).first()
                    line_row = line_row or OrderLine(order=row, external_id=line.external_id)
                    line_row.position, line_row.listing_sku, line_row.title = position, line.listing_sku, line.title
                    line_row.quantity, line_row.unit_price = line.quantity, line.unit_price
                    line_row.line_discount, line_row.discount_share = line.line_discount, share.order_discount_share
                    line_row.shipping_share, line_row.net_amount = share.shipping_share, share.net
                    line_row.save()
            done += 1
    return time.perf_counter() - started, done


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders_orderline, orders_order CASCADE")


def _counts() -> tuple[int, int]:
    from orders.models import Order, OrderLine

    return Order.objects.count(), OrderLine.objects.count()


_TABLES = ("orders_order", "orders_orderline")


def _dump() -> dict[str, bytes]:
    """The rows the ingest wrote, every column, in COPY's binary format (what the ceiling writes back)."""
    from django.db import connection

    dumped = {}
    with connection.cursor() as cursor:
        for table in _TABLES:
            buffer = io.BytesIO()
            cursor.cursor.copy_expert(f"COPY {table} TO STDOUT WITH (FORMAT binary)", buffer)
            dumped[table] = buffer.getvalue()
    return dumped


def _ceiling(dumped: dict[str, bytes]) -> float:
    """Seconds to write ``dumped`` into the emptied tables by a bare COPY each, in one lazily committed transaction."""
    from django.db import connection, transaction

    from core.bulk import commit_lazily

    _truncate()
    started = time.perf_counter()
    with transaction.atomic():
        commit_lazily()
        with connection.cursor() as cursor:
            for table in _TABLES:
                cursor.cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT binary)", io.BytesIO(dumped[table]))
    return time.perf_counter() - started


@figures("ingest.first", "ingest.repeat", "ingest.repeat.new_rows", "ingest.ceiling", "ingest.worker_rss_mb")
def bench_ingest():
    from django.db import connection
    from django_tenants.utils import schema_context

    from channels.adapters.shopify import ShopifyAdapter
    from channels.models import Channel, Store

    tenant = _tenant()
    with tempfile.TemporaryDirectory() as folder, schema_context(tenant.schema_name):
        print(f"generating {ORDERS} orders", file=sys.stderr)
        paths = _generate(Path(folder))
        _truncate()
        Store.objects.all().delete()
        fast = Store.objects.create(name="Bench fast", channel=Channel.SHOPIFY, base_url="http://127.0.0.1:1")
        naive = Store.objects.create(name="Bench naive", channel=Channel.SHOPIFY, base_url="http://127.0.0.1:1")
        adapter = ShopifyAdapter(base_url=fast.base_url, credentials={"access_token": "bench"})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        first_rates, rss, seen = [], [], 0
        for rep in range(REPS):
            _truncate()
            rss_peak_reset()
            first_s, seen = _ingest(fast, adapter, paths)
            rss.append(rss_mb())
            first_rates.append(seen / first_s)
            print(f"first {rep + 1}/{REPS}: {seen / first_s:.0f} orders/s", file=sys.stderr)
        orders_after_first, lines_after_first = _counts()
        dumped = _dump()
        repeat_rates = []
        for rep in range(REPS):
            repeat_s, repeat_seen = _ingest(fast, adapter, paths)
            repeat_rates.append(repeat_seen / repeat_s)
            print(f"repeat {rep + 1}/{REPS}: {repeat_seen / repeat_s:.0f} orders/s", file=sys.stderr)
        orders_after_repeat, lines_after_repeat = _counts()
        ceiling_rates = [orders_after_first / _ceiling(dumped) for _ in range(REPS)]
        _truncate()
        naive_s, naive_done = _naive(naive, adapter, paths)
        adapter.close()
        _truncate()

    new_rows = (orders_after_repeat - orders_after_first) + (lines_after_repeat - lines_after_first)
    naive_rate = round(naive_done / naive_s, 1)
    naive_name = f"naive one save per object ({naive_done} orders)"
    ceiling = spread(ceiling_rates)
    first = spread(first_rates)
    return [
        {
            "name": "ingest.first",
            **first,
            "unit": "orders/s",
            "baseline": naive_rate,
            "baseline_name": naive_name,
            "ceiling": ceiling["value"],
            "of_ceiling": round(first["value"] / ceiling["value"], 2),
            "orders": orders_after_first,
            "lines": lines_after_first,
        },
        {
            "name": "ingest.repeat",
            **spread(repeat_rates),
            "unit": "orders/s",
            "baseline": naive_rate,
            "baseline_name": naive_name,
        },
        {"name": "ingest.repeat.new_rows", "value": new_rows, "unit": "rows"},
        {
            "name": "ingest.ceiling",
            **ceiling,
            "unit": "orders/s",
            "what": "the same orders and lines (raw included) written by a bare COPY into the emptied tables",
        },
        {"name": "ingest.worker_rss_mb", **spread(rss), "unit": "MB", "what": "peak RSS during ingest.first"},
    ]
