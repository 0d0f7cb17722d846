"""webhook.to_dispatch: seconds from a Shopify orders/create webhook's POST to its dispatch in the API.

The running stack of production: gunicorn (3 sync workers, as docker-compose.yml) and the Procfile's Celery workers
(prefork: --concurrency 2 on the short queue, 1 on the long one) on the bench database and Redis database REDIS_DB of the project's Redis server
(flushed first: the worker takes this run's tasks only), plus one more gunicorn worker that only the poller reads
through. One tenant with the demo's catalog (every sandbox SKU a product with its source path: suppliers with
untracked stock, the own warehouse last with stock on hand), an active rule set (a hold that no order here
reaches, cheapest sourcing), and a new Shopify store with a webhook secret each run (the bench's Fernet key is
new each run). The catalog's SKUs are the listings' SKUs, so ingest maps every line.

Each repetition: signed webhooks for new orders (one to three lines) at RATE a second for SECONDS, each POST sent
at its due time by SENDERS threads (a slow answer does not delay the next one), and one poller that reads the
merchant's dispatch list (GET /api/v1/dispatches/ with an API token: one call a poll, newest first, a next page
only while it may hold a pending order's dispatch) every POLL seconds. An order's time is from just before its
POST to the poll that first shows a dispatch naming it. An accepted order still without a dispatch SETTLE seconds
after the last POST is lost; it counts in the percentiles at SETTLE (a floor, not its time). created_p95 beside
it: from the POST to the dispatch's own creation time as the API gives it (the server's clock, the same
machine's), which leaves out how late the poll saw it.

Figures: the median across REPS repetitions of each repetition's p95 (min, max beside it), the same for p50 and
the slowest order, the orders counted and lost in all, the POST's own p95 (what the channel waits for), the rate
the senders achieved; and the worker's peak resident memory (VmHWM of its processes, reset before each
repetition: all of them, and the largest pool process).

Environment: BENCH_WEBHOOK_SECONDS (default 20), BENCH_WEBHOOK_RATE (default 20 a second),
BENCH_WEBHOOK_CONCURRENCY (the short queue worker's, default 2), BENCH_WEBHOOK_WEB_WORKERS (default 3). What-ifs:
BENCH_WEBHOOK_BUSY=N sends N long tasks (bench.occupy: a pool process held for the whole repetition, as a catalog
import or a month close holds one) as each repetition starts; BENCH_WEBHOOK_LAYOUT=shared runs one worker for both
queues (the layout before the Procfile split them) instead of a worker per queue.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from erp.celery import app as celery_app
from tests.bench.run import REPS, figures, rss_mb, rss_peak_reset, spread

SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "20"))
RATE = float(os.environ.get("BENCH_WEBHOOK_RATE", "20"))
CONCURRENCY = int(os.environ.get("BENCH_WEBHOOK_CONCURRENCY", "2"))
WEB_WORKERS = int(os.environ.get("BENCH_WEBHOOK_WEB_WORKERS", "3"))
LAYOUT = os.environ.get("BENCH_WEBHOOK_LAYOUT", "split")
BUSY = int(os.environ.get("BENCH_WEBHOOK_BUSY", "0"))
REDIS_DB = 4  # the stack's broker: `make run` uses 0, the suite 1, its e2e stack 2, `make load` 3
SENDERS = 16  # enough that the rate holds while a POST takes up to 0.8 s
POLL = 0.1
SETTLE = 30.0
MAX_PAGES = 20  # a poll reads at most this many pages of 50 (a backlog far past the target)
SLUG = "bench-webhook"
OWNER = f"owner@{SLUG}.test"
HOLD_OVER = "100000.00"  # CNY: a hold rule the engine evaluates on every order, which none of these reaches


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tenant_ready() -> dict:
    """The tenant, its catalog and rules (made once per bench database), a new store and a fresh API token."""
    import secrets

    from django.contrib.auth.models import User
    from django_tenants.utils import schema_context

    from channels.services import store_create
    from erp.demo import demo_catalog
    from orders.models import RuleSet
    from orders.routing.rulesets import rule_add, ruleset_activate, ruleset_draft_create
    from tenants.accounts.services import token_create
    from tenants.models import Tenant
    from tenants.services import tenant_provision

    tenant = Tenant.objects.filter(slug=SLUG).first() or tenant_provision(
        slug=SLUG, name="Bench webhook", owner_email=OWNER, owner_password="bench-password-2026"
    )
    with schema_context(tenant.schema_name):
        demo_catalog()
        owner = User.objects.get(username=OWNER)
        if not RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).exists():
            draft = ruleset_draft_create(actor=owner)
            rule_add(
                ruleset=draft, kind="hold", name="Review huge orders",
                params={"total_above": HOLD_OVER, "currency": "CNY"}, actor=owner,
            )  # fmt: skip
            rule_add(ruleset=draft, kind="sourcing", name="Cheapest", params={"strategy": "cheapest"}, actor=owner)
            ruleset_activate(ruleset=draft, actor=owner, note="bench webhook")
        secret = f"whsec-bench-{secrets.token_hex(12)}"
        store = store_create(
            name=f"Bench webhook {time.time_ns()}", channel="shopify", base_url="https://bench-shop.invalid",
            credentials={"access_token": f"shpat_bench_{secrets.token_hex(12)}", "webhook_secret": secret},
        )  # fmt: skip
        token = token_create(user=owner)
    return {
        "host": tenant.domains.first().domain,
        "webhook": f"/webhooks/{store.webhook_token}/",
        "secret": secret,
        "token": token,
    }


@celery_app.task(name="bench.occupy", queue="long")
def occupy(seconds: float) -> None:
    """A long task on the long queue (a stand-in for a catalog import or a month close): holds a pool process.
    The stack's workers import this module (--include) to know it."""
    time.sleep(seconds)


def _stack_redis_url() -> str:
    """Database REDIS_DB of the project's Redis server (REDIS_URL's, else the embedded one): the stack's own, as it
    is flushed first (never the database `make run` or the suite use)."""
    from urllib.parse import urlsplit, urlunsplit

    from erp import runtime

    if base := os.environ.get("REDIS_URL"):
        return urlunsplit(urlsplit(base)._replace(path=f"/{REDIS_DB}"))
    return runtime.redis_url(db=REDIS_DB)


def _worker_pids(pid: int) -> list[int]:
    """The Celery worker's main process and its pool's children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(child) for child in children)]


def _quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class _Rep:
    """One repetition: senders post on schedule, one poller watches the dispatch list."""

    def __init__(self, *, base_url: str, api_url: str, tenant: dict, first_id: int, count: int):
        self.base_url = base_url
        self.api_url = api_url
        self.tenant = tenant
        self.count = count
        self.ids = [first_id + i for i in range(self.count)]
        self.lock = threading.Lock()
        self.posted: dict[str, float] = {}  # order number -> monotonic time just before its POST
        self.wall: dict[str, float] = {}  # order number -> wall clock of the POST (to know how far to page)
        self.post_seconds: list[float] = []
        self.refused: list[str] = []
        self.seen: dict[str, float] = {}  # order number -> seconds from POST to its dispatch in the list
        self.created: dict[str, float] = {}  # order number -> seconds from POST to its dispatch's creation (server)
        self.polls = 0
        self.pages = 0
        self.sending = True

    def _send(self, slots) -> None:
        import httpx

        from tests.load.seed import signature, webhook_body

        with httpx.Client(base_url=self.base_url, headers={"Host": self.tenant["host"]}, timeout=30) as client:
            for index in slots:
                order_id = self.ids[index]
                body = webhook_body(order_id, at=dt.datetime.now(dt.UTC))
                headers = {
                    "Content-Type": "application/json",
                    "X-Shopify-Hmac-Sha256": signature(body, self.tenant["secret"]),
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Event-Id": f"bench-{order_id}",
                }
                due = self.started + index / RATE
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                number = f"#{order_id}"
                with self.lock:
                    self.posted[number] = time.monotonic()
                    self.wall[number] = time.time()
                try:
                    response = client.post(self.tenant["webhook"], content=body, headers=headers)
                    answer = "" if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    answer = repr(exc)
                with self.lock:
                    self.post_seconds.append(time.monotonic() - self.posted[number])
                    if answer:
                        if not self.refused:
                            _say(f"webhook {number} refused: {answer}")
                        self.refused.append(number)
                        del self.posted[number]

    def _poll(self) -> None:
        import httpx

        headers = {"Host": self.tenant["host"], "Authorization": f"Token {self.tenant['token']}"}
        with httpx.Client(base_url=self.api_url, headers=headers, timeout=30) as client:
            while True:
                with self.lock:
                    pending = {n for n in self.posted if n not in self.seen}
                    oldest = min((self.wall[n] for n in pending), default=None)
                if not pending and not self.sending:
                    return
                if self.settle_deadline and time.monotonic() > self.settle_deadline:
                    return
                if pending:
                    self._poll_once(client, oldest)
                time.sleep(POLL)

    def _poll_once(self, client, oldest: float) -> None:
        after = ""
        for _page in range(MAX_PAGES):
            response = client.get("/api/v1/dispatches/", params={"after": after} if after else None)
            at = time.monotonic()
            self.pages += 1
            response.raise_for_status()
            data = response.json()
            rows = data["results"]
            with self.lock:
                for row in rows:
                    for order in row["orders"]:
                        number = order["number"]
                        if number in self.posted and number not in self.seen:
                            self.seen[number] = at - self.posted[number]
                            created = dt.datetime.fromisoformat(row["created"]).timestamp()
                            self.created[number] = created - self.wall[number]
            # Newest first: a further page only while this one reaches back to the oldest pending POST (1 s early,
            # as a dispatch's creation time is its transaction's).
            if not rows or not data["next"]:
                break
            last = dt.datetime.fromisoformat(rows[-1]["created"]).timestamp()
            if last < oldest - 1.0:
                break
            after = data["next"]
        self.polls += 1

    def run(self) -> dict:
        self.settle_deadline = 0.0
        self.started = time.monotonic() + 0.2
        slots = [range(k, self.count, SENDERS) for k in range(SENDERS)]
        senders = [threading.Thread(target=self._send, args=(s,), daemon=True) for s in slots]
        poller = threading.Thread(target=self._poll, daemon=True)
        for thread in [*senders, poller]:
            thread.start()
        for thread in senders:
            thread.join()
        sent = time.monotonic()
        self.settle_deadline = sent + SETTLE
        self.sending = False
        poller.join()
        lost = [n for n in self.posted if n not in self.seen]
        times = sorted([*self.seen.values(), *([SETTLE] * len(lost))])
        return {
            "p50": _quantile(times, 50),
            "p95": _quantile(times, 95),
            "max": times[-1] if times else 0.0,
            "count": len(self.posted),
            "lost": len(lost),
            "refused": len(self.refused),
            "post_p95": _quantile(self.post_seconds, 95),
            "created_p95": _quantile(sorted(self.created.values()), 95),
            "send_seconds": sent - self.started,
            "rate": self.count / max(sent - self.started, 1e-9),
            "polls": self.polls,
            "pages": self.pages,
        }


@figures("webhook.to_dispatch.p95", "webhook.worker_rss_mb")
def bench_webhook_to_dispatch():
    import secrets as secrets_module

    import httpx
    import redis
    from django.db import connections

    from tests.e2e.stack import _start, _stop, _wait, free_port
    from tests.load.run import LoadStack, _drain

    tenant = _tenant_ready()
    connections.close_all()
    redis_url = _stack_redis_url()
    redis.Redis.from_url(redis_url).flushdb()  # another run's tasks are not this run's
    workdir = Path(__file__).resolve().parents[2] / "var" / "bench" / "webhook"
    workdir.mkdir(parents=True, exist_ok=True)
    stack = LoadStack(
        os.environ["DATABASE_URL"], redis_url, web_port=free_port(), sandbox_port=0, workdir=workdir,
        secrets_env={"SECRET_KEY": os.environ["SECRET_KEY"], "RELAY_FERNET_KEYS": os.environ["RELAY_FERNET_KEYS"]},
    )  # fmt: skip
    reps = []
    rss = []
    try:
        celery = [sys.executable, "-m", "celery", "-A", "erp", "worker", "-l", "INFO", "--without-gossip",
                  "--without-mingle", "--include", "tests.bench.bench_webhook"]  # fmt: skip
        if LAYOUT == "split":  # the Procfile's: webhooks' short tasks never wait behind a long one
            _start(stack, "worker", [*celery, "-n", "short@%h", "-Q", "short", "--concurrency", str(CONCURRENCY)])
            _start(stack, "worker-long", [*celery, "-n", "long@%h", "-Q", "long", "--concurrency", "1"])
        else:  # one worker for both queues, as before the split
            _start(stack, "worker", [*celery, "-Q", "short,long", "--concurrency", str(CONCURRENCY)])
        _start(
            stack, "web",
            [sys.executable, "-m", "gunicorn", "erp.wsgi:application", "--bind", f"127.0.0.1:{stack.web_port}",
             "--workers", str(WEB_WORKERS), "--timeout", "60", "--graceful-timeout", "10"],
        )  # fmt: skip
        # The poller reads through a web process of its own, so that its reads do not queue behind the POSTs
        # they measure (gunicorn's sync workers take one request at a time) and never slow them down.
        api_port = free_port()
        _start(
            stack, "api",
            [sys.executable, "-m", "gunicorn", "erp.wsgi:application", "--bind", f"127.0.0.1:{api_port}",
             "--workers", "1", "--timeout", "60", "--graceful-timeout", "10"],
        )  # fmt: skip
        _wait(stack, "worker", lambda: " ready." in stack.log("worker").read_text(errors="replace"), 60)
        for port in (stack.web_port, api_port):
            _wait(
                stack,
                "web",
                lambda p=port: httpx.get(f"http://localhost:{p}/healthz", timeout=2).status_code == 200,
                60,
            )
        base_url = f"http://127.0.0.1:{stack.web_port}"
        api_url = f"http://127.0.0.1:{api_port}"
        # Order ids no earlier run of this database used (Shopify's are large integers too).
        first_ids = itertools.count(int(time.time()) * 1000 + secrets_module.randbelow(500), int(SECONDS * RATE) + 1)
        # A few warm-up orders through the whole path: the web workers and the pool's children load their code.
        _Rep(base_url=base_url, api_url=api_url, tenant=tenant, first_id=next(first_ids), count=SENDERS).run()
        _drain(stack, timeout=60)
        worker = stack.processes["worker"].pid
        for rep in range(REPS):
            pids = _worker_pids(worker)
            for pid in pids:
                rss_peak_reset(pid)
            for _ in range(BUSY):
                occupy.apply_async(args=[SECONDS + 5])
            result = _Rep(
                base_url=base_url, api_url=api_url, tenant=tenant, first_id=next(first_ids), count=int(SECONDS * RATE)
            ).run()
            result["worker_rss_mb"] = round(sum(rss_mb(pid) for pid in pids), 1)
            result["worker_child_rss_mb"] = max(rss_mb(pid) for pid in pids[1:]) if len(pids) > 1 else 0.0
            _say(f"webhook rep {rep + 1}: {json.dumps({k: round(v, 3) for k, v in result.items()})}")
            reps.append(result)
            rss.append(result["worker_rss_mb"])
            _drain(stack, timeout=120)
        stack.check_alive()
    finally:
        _stop(stack.processes)

    def of(key: str) -> dict:
        return spread([r[key] for r in reps], digits=2)

    return [
        {
            "name": "webhook.to_dispatch.p95",
            **of("p95"),
            "unit": "s",
            "p50": of("p50"),
            "slowest": of("max"),
            "count": sum(r["count"] for r in reps),
            "lost": sum(r["lost"] for r in reps),
            "refused": sum(r["refused"] for r in reps),
            "post_p95": of("post_p95"),
            "created_p95": of("created_p95"),
            "rate_per_second": RATE,
            "seconds": SECONDS,
            "web_workers": WEB_WORKERS,
            "worker_concurrency": CONCURRENCY,
            "layout": LAYOUT,
            "busy": BUSY,
            "rate_achieved": of("rate"),
            "polls": sum(r["polls"] for r in reps),
            "pages": sum(r["pages"] for r in reps),
        },
        {
            "name": "webhook.worker_rss_mb",
            **spread(rss),
            "unit": "MB",
            "child_peak": spread([r["worker_child_rss_mb"] for r in reps]),
            "processes": 1 + CONCURRENCY,
        },
    ]
