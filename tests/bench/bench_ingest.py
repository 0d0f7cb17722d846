"""ingest.*: Shopify-format orders from files through normalise, apportion and upsert.

20,000 orders (about 60,000 lines) made by the sandbox shop are written as
pages of 250 to JSON files, then read back and ingested into one tenant the
way a sync does it (``channels.services.ingest_pages``, as for pulled pages: normalise, quarantine
what cannot be read, one set-based upsert per page). Re-ingesting the same
files must add no row.

Baseline in the same run: the naive way, one ``save()`` per order and per line
(get-or-create by external id, apportionment included), over a slice of the
same orders so the run stays short; its rate is orders per second all the same.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

from tests.bench.run import figures

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


def _write_pages(folder: Path) -> list[Path]:
    from channels.sandbox.generator import SandboxShop

    # Weighted to about 3 lines an order, the benchmark's 60,000 lines for 20,000 orders.
    shop = SandboxShop(seed=7, rate_per_minute=0, line_count_weights=(10, 20, 35, 20, 15))
    paths = []
    made = 0
    while made < ORDERS:
        batch = shop.generate(min(PAGE, ORDERS - made), spread_seconds=86400 * 30)
        path = folder / f"orders-{len(paths):04d}.json"
        path.write_text(json.dumps({"orders": batch}))
        paths.append(path)
        made += len(batch)
    return paths


def _ingest(store, adapter, paths: list[Path]) -> tuple[float, int]:
    from channels.services import ingest_pages

    def pages():
        for path in paths:
            yield orjson.loads(path.read_bytes())["orders"]

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


@figures("ingest.first", "ingest.repeat", "ingest.repeat.new_rows")
def bench_ingest():
    from django.db import connection
    from django_tenants.utils import schema_context

    from channels.adapters.shopify import ShopifyAdapter
    from channels.models import Channel, Store

    tenant = _tenant()
    with tempfile.TemporaryDirectory() as folder, schema_context(tenant.schema_name):
        print(f"generating {ORDERS} orders", file=sys.stderr)
        paths = _write_pages(Path(folder))
        _truncate()
        Store.objects.all().delete()
        fast = Store.objects.create(name="Bench fast", channel=Channel.SHOPIFY, base_url="http://127.0.0.1:1")
        naive = Store.objects.create(name="Bench naive", channel=Channel.SHOPIFY, base_url="http://127.0.0.1:1")
        adapter = ShopifyAdapter(base_url=fast.base_url, credentials={"access_token": "bench"})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        first_s, seen = _ingest(fast, adapter, paths)
        orders_after_first, lines_after_first = _counts()
        repeat_s, _ = _ingest(fast, adapter, paths)
        orders_after_repeat, lines_after_repeat = _counts()
        naive_s, naive_done = _naive(naive, adapter, paths)
        adapter.close()
        _truncate()

    new_rows = (orders_after_repeat - orders_after_first) + (lines_after_repeat - lines_after_first)
    naive_rate = round(naive_done / naive_s, 1)
    return [
        {
            "name": "ingest.first",
            "value": round(seen / first_s, 1),
            "unit": "orders/s",
            "baseline": naive_rate,
            "baseline_name": f"naive one save per object ({naive_done} orders)",
            "orders": orders_after_first,
            "lines": lines_after_first,
            "seconds": round(first_s, 2),
        },
        {
            "name": "ingest.repeat",
            "value": round(seen / repeat_s, 1),
            "unit": "orders/s",
            "seconds": round(repeat_s, 2),
        },
        {"name": "ingest.repeat.new_rows", "value": new_rows, "unit": "rows"},
    ]
