"""route.batch: orders routed per second, dispatches and reservations included.

20,000 ingested orders (about 60,000 lines) are routed with 20 active rules
(holds, gifts, cheapest sourcing, whole-order split policy, a merge window),
1,000 products with three sources each among 50 suppliers, stock tracked on
every source. Routing runs the production path: a real Celery worker with as
many pool processes as the machine has cores (BENCH_ROUTE_WORKERS) takes the
tasks ingest sends (``orders.tasks.enqueue_after_ingest``: one
``orders.after_ingest`` per chunk of 1,000 orders), and the clock stops when
no order is left new. Each repetition re-creates the orders and frees the
stock first. BENCH_ROUTE_WORKERS=0 routes the chunks one after another in
this process instead (for a profiler).

``route.ceiling``: the rows the fast path wrote (dispatches, dispatch lines,
decisions, transitions) written again by bare COPY, as orders per second.
``route.worker_rss_mb``: the peak resident memory of the busiest pool process
while routing (and of the whole worker, main process included, beside it).

Baseline in the same run: the naive way, per line: look up the listing, its
components, each product's sources and their stock, then save a dispatch, a
dispatch line, the stock and the order one row at a time, over a slice of
other orders so the run stays short; its rate is orders per second all the same.

BENCH_ROUTE_SPLIT=split runs the same rules with the split policy instead of
"whole" (which makes the engine try every supplier for the whole order first).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.bench.run import REPS, figures, rss_mb, rss_peak_reset, spread

ORDERS = int(os.environ.get("BENCH_ROUTE_ORDERS", "20000"))
NAIVE_ORDERS = int(os.environ.get("BENCH_ROUTE_NAIVE_ORDERS", "1000"))
PRODUCTS = 1000
SUPPLIERS = 50
WORKERS = int(os.environ.get("BENCH_ROUTE_WORKERS", str(os.cpu_count() or 1)))
CHUNK = 1000  # in-process only; the tasks' chunk is orders.tasks.ROUTE_CHUNK
# What the fast path writes, for the ceiling.
WRITTEN = ("suppliers_dispatch", "suppliers_dispatchline", "orders_routingdecision", "orders_transition")
SLUG = "bench-route"
T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _tenant():
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = tenant_provision(
            slug=SLUG, name="Bench route", owner_email="o@bench.test", owner_password="bench-password-2026"
        )
    return tenant


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            TRUNCATE orders_returnrecord, orders_transition, orders_routingdecision, suppliers_dispatchline,
                     suppliers_dispatch, orders_orderline, orders_order, inventory_stock, inventory_source,
                     inventory_listingcomponent, inventory_listing, inventory_product, suppliers_supplier,
                     orders_rule, orders_simulation, orders_ruleset, channels_store CASCADE
            """
        )


def _catalog(rng: random.Random) -> list[str]:
    """Suppliers, products with three sources each and stock, listings (5% bundles); returns listing SKUs."""
    from inventory.models import Listing, ListingComponent, Product, Source, Stock
    from suppliers.models import Supplier

    suppliers = Supplier.objects.bulk_create(
        [Supplier(name=f"Supplier {n}", code=f"S{n:03d}") for n in range(SUPPLIERS)]
    )
    products = Product.objects.bulk_create([Product(sku=f"P{n:04d}", name=f"Product {n}") for n in range(PRODUCTS)])
    sources = []
    for product in products:
        for position, supplier in enumerate(rng.sample(suppliers, 3), start=1):
            regions = [{"country": "US"}] if position == 1 and rng.random() < 0.2 else []
            sources.append(
                Source(
                    product=product,
                    position=position,
                    supplier=supplier,
                    cost_price=Decimal(rng.randint(100, 5000)) / 100,
                    currency="USD",
                    regions=regions,
                )
            )
    sources = Source.objects.bulk_create(sources)
    Stock.objects.bulk_create([Stock(source=s, on_hand=rng.randint(0, 400)) for s in sources])
    listings = Listing.objects.bulk_create(
        [Listing(listing_sku=f"L-{p.sku}") for p in products]
        + [Listing(listing_sku=f"BUNDLE-{n}") for n in range(PRODUCTS // 20)]
    )
    components = [
        ListingComponent(listing=listing, product=product)
        for listing, product in zip(listings[:PRODUCTS], products, strict=True)
    ]
    for listing in listings[PRODUCTS:]:
        for product in rng.sample(products, 2):
            components.append(ListingComponent(listing=listing, product=product, quantity=rng.randint(1, 2)))
    ListingComponent.objects.bulk_create(components)
    return [listing.listing_sku for listing in listings]


def _rules(rng: random.Random) -> None:
    from inventory.models import Product
    from orders.models import Rule, RuleSet

    pids = list(Product.objects.values_list("pk", flat=True))
    ruleset = RuleSet.objects.create(version=1, status=RuleSet.Status.ACTIVE)
    rules = [
        ("hold", {"total_above": "2500.00"}),
        ("hold", {"address_incomplete": True}),
        ("hold", {"note_contains": ["fraud", "chargeback", "刷单"]}),
        ("hold", {"channels": ["woocommerce"]}),
        ("hold", {"tags": ["review"]}),
        ("hold", {"unmapped_sku": True}),
        ("hold", {"note_contains": ["call me"]}),
        ("hold", {"tags": ["wholesale", "b2b"]}),
        ("hold", {"total_above": "9000.00", "currency": "EUR"}),
        ("hold", {"store_ids": [999999]}),
    ]
    for _ in range(7):
        product, gift = rng.sample(pids, 2)
        rules.append(
            (
                "gift",
                {
                    "product_id": product,
                    "min_quantity": 1,
                    "gift_product_id": gift,
                    "gift_quantity": 1,
                    "per_order_cap": 2,
                    "starts": "2026-01-01T00:00:00+00:00",
                    "ends": "2027-01-01T00:00:00+00:00",
                },
            )
        )
    rules += [
        ("sourcing", {"strategy": "cheapest"}),
        ("split", {"policy": os.environ.get("BENCH_ROUTE_SPLIT", "whole")}),
        ("merge", {"window_hours": 24}),
    ]
    Rule.objects.bulk_create(
        [
            Rule(ruleset=ruleset, position=n, kind=kind, name=f"{kind} {n}", params=params)
            for n, (kind, params) in enumerate(rules, start=1)
        ]
    )
    assert len(rules) == 20


def _orders(store, rng: random.Random, listing_skus: list[str], count: int, prefix: str) -> int:
    """``count`` orders of 1–5 lines (3 on average) through the ingest upsert; returns the lines written."""
    from orders.canonical import Address, ChannelOrder, ChannelOrderLine
    from orders.services import orders_upsert

    buyers = [(f"buyer{n}@example.com", f"{n} Market St") for n in range(count // 2)]
    lines_written = 0
    batch = []
    for n in range(count):
        lines = tuple(
            ChannelOrderLine(
                external_id=str(k),
                listing_sku=rng.choice(listing_skus),
                title="Item",
                quantity=rng.randint(1, 3),
                unit_price=Decimal(rng.randint(500, 20000)) / 100,
            )
            for k in range(rng.choice((1, 2, 3, 3, 4, 5)))
        )
        lines_written += len(lines)
        subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        email, street = rng.choice(buyers)
        placed = T0 + dt.timedelta(seconds=n * 60)
        batch.append(
            (
                ChannelOrder(
                    external_id=f"{prefix}{n}",
                    order_number=f"#{prefix}{n}",
                    currency="USD",
                    placed_at=placed,
                    updated_at=placed,
                    lines=lines,
                    subtotal=subtotal,
                    discount_total=Decimal(0),
                    shipping_total=Decimal("5.00"),
                    tax_total=Decimal(0),
                    total=subtotal + Decimal("5.00"),
                    buyer_name="Buyer",
                    buyer_email=email,
                    shipping_address=Address(
                        name="Buyer", country="US", province="CA", city="San Francisco", line1=street
                    ),
                    note="call me before delivery" if rng.random() < 0.01 else "",
                    tags=("review",) if rng.random() < 0.01 else (),
                ),
                {},
            )
        )
        if len(batch) == 1000:
            orders_upsert(store_id=store.pk, orders=batch)
            batch = []
    if batch:
        orders_upsert(store_id=store.pk, orders=batch)
    return lines_written


def _naive(order_ids: list[int]) -> float:
    """Route one line at a time: a query per lookup and a save per row, path order, no rules."""
    from django.db import transaction
    from django.utils import timezone

    from inventory.models import ListingComponent, Source, Stock
    from orders.models import Order, RoutingDecision
    from suppliers.models import Dispatch, DispatchLine

    started = time.perf_counter()
    for order_id in order_ids:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            dispatches: dict[int | None, Dispatch] = {}
            decided = []
            for line in order.lines.all():
                for component in ListingComponent.objects.filter(listing__listing_sku=line.listing_sku):
                    quantity = line.quantity * component.quantity
                    chosen = None
                    for source in Source.objects.filter(product_id=component.product_id, active=True).order_by(
                        "position"
                    ):
                        stock = Stock.objects.select_for_update().filter(source=source).first()
                        if stock is None or stock.on_hand - stock.reserved >= quantity:
                            chosen = (source, stock)
                            break
                    if chosen is None:
                        continue
                    source, stock = chosen
                    dispatch = dispatches.get(source.supplier_id)
                    if dispatch is None:
                        dispatch = Dispatch(number=f"N{order_id}-{len(dispatches)}", supplier_id=source.supplier_id)
                        dispatch.save()
                        dispatches[source.supplier_id] = dispatch
                    DispatchLine(
                        dispatch=dispatch,
                        order=order,
                        order_line=line,
                        listing_sku=line.listing_sku,
                        product_id=component.product_id,
                        source=source,
                        quantity=quantity,
                        unit_cost=source.cost_price,
                        cost_currency=source.currency,
                        reserved=quantity if stock else 0,
                    ).save()
                    if stock is not None:
                        stock.reserved += quantity
                        stock.save()
                    decided.append({"line_id": line.pk, "source_id": source.pk})
            RoutingDecision.objects.filter(order=order, is_current=True).update(is_current=False)
            RoutingDecision(order=order, held=False, lines=decided, trigger="naive").save()
            order.status, order.routed_at = Order.Status.ROUTED, timezone.now()
            order.save()
    return time.perf_counter() - started


def _reset_orders() -> None:
    """Remove the orders and what routing wrote of them; free the stock (catalog, rules and stores stay)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            TRUNCATE orders_returnrecord, orders_transition, orders_routingdecision, suppliers_dispatchline,
                     suppliers_dispatch, orders_orderline, orders_order CASCADE
            """
        )
        cursor.execute("UPDATE inventory_stock SET reserved = 0")


def _worker_pids(pid: int) -> list[int]:
    """The Celery worker's main process and its pool's children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(child) for child in children)]


class _Worker:
    """A real Celery worker (prefork, ``WORKERS`` pool processes) on the bench database and its own Redis db."""

    def __init__(self) -> None:
        from erp import runtime
        from erp.celery import app

        self.redis_url = os.environ.get("REDIS_URL") or runtime.redis_url(db=5)
        # This process sends the tasks: to the broker the worker reads, whatever the settings loaded. A pool an
        # earlier benchmark opened (one that sent a task) would still send to the settings' broker: dropped, as
        # Celery drops it after a fork.
        app.conf.broker_url = self.redis_url
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        workdir = Path(__file__).resolve().parents[2] / "var" / "bench" / "route"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "worker.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> _Worker:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()  # another run's tasks are not this run's
        env = {**os.environ, "REDIS_URL": self.redis_url}
        with open(self.log, "w") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--concurrency",
                 str(WORKERS), "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=Path(__file__).resolve().parents[2], env=env, stdout=handle, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(self.pids()) < WORKERS + 1 or " ready." not in self.log.read_text(errors="replace"):
            self.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: see {self.log}")
            time.sleep(0.1)
        return self

    def pids(self) -> list[int]:
        return _worker_pids(self.process.pid) if self.process else []

    def check(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the worker died: see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _route_in_workers(worker: _Worker, store, fast_ids: list[int]) -> float:
    """Send the routing as ingest does and wait until no order is left new; returns the seconds it took."""
    from orders.models import Order
    from orders.tasks import enqueue_after_ingest

    started = time.perf_counter()
    enqueue_after_ingest(order_ids=fast_ids)  # no transaction open: sent at once, a task per chunk
    deadline = time.monotonic() + 900
    while Order.objects.filter(store=store, status=Order.Status.NEW).exists():
        worker.check()
        if time.monotonic() > deadline:
            raise RuntimeError("routing did not finish in 15 minutes")
        time.sleep(0.02)
    return time.perf_counter() - started


def _route_here(fast_ids: list[int]) -> float:
    from orders.routing.services import route_orders

    started = time.perf_counter()
    for start in range(0, len(fast_ids), CHUNK):
        route_orders(order_ids=fast_ids[start : start + CHUNK], trigger="ingest")
    return time.perf_counter() - started


def _ceiling(first_transition: int) -> float:
    """Write the rows routing wrote again by bare COPY, in one transaction; returns the seconds of the COPYs."""
    from django.db import connection, transaction

    buffers = {}
    with connection.cursor() as cursor:
        for table in WRITTEN:
            buffers[table] = io.BytesIO()
            where = f" WHERE id > {int(first_transition)}" if table == "orders_transition" else ""
            cursor.cursor.copy_expert(f"COPY (SELECT * FROM {table}{where}) TO STDOUT", buffers[table])
        cursor.execute("DELETE FROM orders_transition WHERE id > %s", [first_transition])
        cursor.execute("TRUNCATE suppliers_dispatchline, orders_routingdecision, suppliers_dispatch CASCADE")
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        for table in WRITTEN:
            buffers[table].seek(0)
            cursor.cursor.copy_expert(f"COPY {table} FROM STDIN", buffers[table])
        seconds = time.perf_counter() - started
    return seconds


@figures("route.batch", "route.ceiling", "route.worker_rss_mb")
def bench_route():
    import contextlib

    from django.db import connection
    from django.db.models import Count, Max
    from django_tenants.utils import schema_context

    from channels.models import Channel, Store
    from orders.models import Order, Transition
    from suppliers.models import Dispatch, DispatchLine

    tenant = _tenant()
    reps: list[dict] = []
    with schema_context(tenant.schema_name):
        rng = random.Random(11)
        _truncate()
        listing_skus = _catalog(rng)
        _rules(rng)
        fast = Store.objects.create(name="Bench fast", channel=Channel.SHOPIFY)
        naive = Store.objects.create(name="Bench naive", channel=Channel.SHOPIFY)
        with _Worker() if WORKERS else contextlib.nullcontext() as worker:
            for rep in range(REPS):
                _reset_orders()
                print(f"rep {rep + 1}: ingesting {ORDERS} orders", file=sys.stderr)
                lines = _orders(fast, random.Random(1000 + rep), listing_skus, ORDERS, "F")
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
                fast_ids = sorted(Order.objects.filter(store=fast).values_list("pk", flat=True))
                first_transition = Transition.objects.aggregate(last=Max("pk"))["last"] or 0
                print(f"rep {rep + 1}: routing with {WORKERS or 'no'} worker processes", file=sys.stderr)
                pids = worker.pids() if worker else []
                for pid in pids:
                    rss_peak_reset(pid)
                seconds = _route_in_workers(worker, fast, fast_ids) if worker else _route_here(fast_ids)
                peaks = [rss_mb(pid) for pid in pids]
                counts = Order.objects.filter(store=fast).values_list("status").annotate(n=Count("pk"))
                result = {
                    "seconds": seconds,
                    "lines": lines,
                    "statuses": dict(counts),
                    "dispatches": Dispatch.objects.count(),
                    "dispatch_lines": DispatchLine.objects.count(),
                    "rss": max(peaks[1:], default=0.0),
                    "rss_total": sum(peaks),
                }
                result["ceiling_seconds"] = _ceiling(first_transition)
                print(f"rep {rep + 1}: {result}", file=sys.stderr)
                reps.append(result)
        _reset_orders()
        _orders(naive, rng, listing_skus, NAIVE_ORDERS, "N")
        naive_ids = sorted(Order.objects.filter(store=naive).values_list("pk", flat=True))
        print("routing the naive way", file=sys.stderr)
        naive_s = _naive(naive_ids)
        _truncate()

    last = reps[-1]
    return [
        {
            "name": "route.batch",
            **spread([ORDERS / r["seconds"] for r in reps]),
            "unit": "orders/s",
            "baseline": round(len(naive_ids) / naive_s, 1),
            "baseline_name": f"naive per line, a query per lookup and a save per row ({len(naive_ids)} orders)",
            "ceiling": round(spread([ORDERS / r["ceiling_seconds"] for r in reps])["value"], 1),
            "worker_processes": WORKERS,
            "orders": ORDERS,
            "lines": last["lines"],
            "statuses": last["statuses"],
            "dispatches": last["dispatches"],
            "dispatch_lines": last["dispatch_lines"],
            "seconds": spread([r["seconds"] for r in reps], digits=2),
        },
        {
            "name": "route.ceiling",
            **spread([ORDERS / r["ceiling_seconds"] for r in reps]),
            "unit": "orders/s",
            "written": "dispatches, dispatch lines, decisions, transitions by bare COPY (text), one transaction",
        },
        {
            "name": "route.worker_rss_mb",
            **spread([r["rss"] for r in reps]),
            "unit": "MB",
            "what": "peak RSS of the busiest pool process while routing",
            "worker_total_mb": spread([r["rss_total"] for r in reps]),
            "worker_processes": WORKERS,
        },
    ]
