"""One stack for the fault tests: the processes of `make run` (tests/e2e/stack.py) on a database of their own
(DATABASE_URL's name + ``_faults``) and a redis-server of their own (never the suite's: we restart it), with the
Celery worker run as production runs it (prefork, one pool process) so that it can be SIGKILLed mid-task.

Each sandbox shop is in this process (channels.sandbox), behind a FaultProxy, and is the channel of its own store.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery
from django.conf import settings

from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import make_server, serving
from tests.e2e.stack import MANAGE, ROOT, Stack, StackFailure, running_stack
from tests.reliability.harness import Database, FaultProxy, RedisServer, Worker, redis_client, wait_until

SHOP_ORDERS = 400  # two pages of Shopify's 250
SHOPS = ("killed", "redis", "flaky", "routing", "terminated", "lost")


@dataclass
class Faults:
    stack: Stack
    redis: RedisServer
    worker: Worker
    database: Database
    celery: Celery
    demo_schema: str
    ledger_schema: str
    stores: dict[str, int]
    proxies: dict[str, FaultProxy]
    shops: dict[str, SandboxShop]
    webhook_token: str
    webhook_store: int
    ledger_period: int
    figures: dict = field(default_factory=lambda: {"injected": 0, "survived": 0, "lost": 0, "duplicated": 0})

    def send(self, name: str, *args, schema: str | None = None, queue: str = "long") -> None:
        """Send a task by name as Relay does (the tenant in its headers), from outside the stack."""
        self.celery.send_task(name, args=list(args), headers={"_schema_name": schema or self.demo_schema}, queue=queue)

    def queues_idle(self) -> bool:
        """Nothing waiting in the worker's queues and nothing taken but unacknowledged."""
        with contextlib.closing(redis_client(self.redis.url)) as client:
            return client.llen("short") == 0 and client.llen("long") == 0 and client.hlen("unacked") == 0

    def wait_idle(self, *, timeout: float = 60) -> None:
        """Idle three times in a row, 0.2 s apart: a message the worker is taking is, for an instant, in neither
        its queue nor the unacknowledged set."""
        seen = []

        def settled() -> bool:
            seen.append(self.queues_idle())
            return seen[-3:] == [True, True, True]

        wait_until(settled, timeout=timeout, every=0.2, what="the worker's queues drain", stack=self.stack)

    def query(self, sql: str, params: tuple = (), *, ledger: bool = False) -> list[tuple]:
        return self.stack.query(sql, params, schema=self.ledger_schema if ledger else self.demo_schema)

    def scalar(self, sql: str, params: tuple = (), *, ledger: bool = False):
        return self.query(sql, params, ledger=ledger)[0][0]


def fast_clock() -> float:
    return time.monotonic() * 100


def faults_database_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'relay'}_faults"))


def run_remote(stack: Stack, code: str) -> dict:
    """Run ``code`` (tests.reliability.remote) inside the stack; its last output line, as JSON."""
    done = subprocess.run(
        [*MANAGE, "shell", "-c", f"from tests.reliability import remote; {code}"],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"remote {code} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="package")
def faults() -> Iterator[Faults]:
    started = time.monotonic()
    # Kept after the run (like var/e2e's screenshots): the stack's logs say what each fault did.
    workdir = ROOT / "var" / "reliability"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    redis = RedisServer(workdir)
    redis.start()
    shops: dict[str, SandboxShop] = {}
    proxies: dict[str, FaultProxy] = {}
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(redis.stop)
        for number, name in enumerate(SHOPS):
            shop = SandboxShop(seed=7100 + number, rate_per_minute=0)
            shop.generate(SHOP_ORDERS, spread_seconds=6 * 3600)
            shops[name] = shop
            # The call-limit bucket leaks 100 times faster than Shopify's: hundreds of fulfillment pushes after a
            # tracking upload take seconds, not minutes (the 429s under test are the proxy's).
            upstream = cleanup.enter_context(serving(make_server(shop, port=0, clock=fast_clock)))
            proxies[name] = FaultProxy(upstream)
            cleanup.callback(proxies[name].close)
        database_url = faults_database_url(settings.DATABASE_URL)
        try:
            stack = cleanup.enter_context(
                running_stack(database_url=database_url, redis_url=redis.url, workdir=workdir / "stack")
            )
        except StackFailure as exc:
            pytest.fail(f"the fault stack did not start: {exc}", pytrace=False)
        # The stack's own worker (solo pool) makes way for one run as production runs it.
        solo = stack.processes.pop("worker")
        solo.terminate()
        solo.wait(20)
        worker = Worker(stack)
        worker.start()
        cleanup.callback(worker.stop)
        shop_urls = {f"Fault shop {name}": proxies[name].url for name in SHOPS}
        made = run_remote(stack, f"remote.setup(shop_urls={shop_urls!r})")
        celery = Celery("faults", broker=redis.url, set_as_current=False)  # the suite keeps its own app
        cleanup.callback(celery.close)
        faults = Faults(
            stack=stack, redis=redis, worker=worker,
            database=Database(database_url, urlsplit(database_url).path.lstrip("/")), celery=celery,
            demo_schema=made["demo_schema"], ledger_schema=made["ledger_schema"],
            stores={name: made["stores"][f"Fault shop {name}"] for name in SHOPS}, proxies=proxies, shops=shops,
            webhook_token=made["webhook_token"], webhook_store=made["webhook_store"],
            ledger_period=made["ledger_period"],
        )  # fmt: skip
        faults.figures["setup_seconds"] = round(time.monotonic() - started, 1)
        yield faults
        faults.figures["total_seconds"] = round(time.monotonic() - started, 1)
        print(f"\nfault figures: {json.dumps(faults.figures)}")
