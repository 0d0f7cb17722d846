"""Load run: `make load` (LOAD_SECONDS=180 by default). Never collected by pytest (no test_*.py here).

Starts the production shape on loopback, on a database and a Redis database of its own: migrations, the
template schema, TENANTS tenants seeded through the services (tests/load/seed.py), one Celery worker
(prefork, 2 processes, as the Procfile) and gunicorn (3 sync workers, DEBUG off with throwaway secrets and
plain HTTP). Then locust (tests/load/locustfile.py, headless, as a subprocess) has merchants, suppliers,
finance users, API clients and a channel's webhooks work at once for LOAD_SECONDS, counted from when the
last of them has signed in (the figures cover that part; sign-ins are measured apart). After the run the
worker is let drain and every tenant's orders are counted against the webhooks the server accepted.

stdout carries only `make bench`-style JSON lines (name, value, unit, …); progress goes to stderr and each
process's log to var/load/. Exit status 1 when a request failed or an accepted order is missing.

Environment: LOAD_SECONDS, LOAD_USERS (default 70), LOAD_TENANTS (default 20), LOAD_DATABASE_URL (default
the project's database name + ``_load``), LOAD_REDIS_URL (default the project's Redis, database 3),
LOAD_KEEP=1 keeps the database afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg2  # noqa: E402
import redis  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from erp import runtime  # noqa: E402
from tests.e2e.stack import (  # noqa: E402
    Stack,
    StackFailure,
    _run,
    _start,
    _stop,
    _wait,
    database_drop,
    database_recreate,
    free_port,
)

GROUPS = ("merchant", "supplier", "finance", "api", "webhook")  # and "login", measured apart
WEB_WORKERS = 3
DRAIN_SECONDS = 180
# The locustfile stops the run LOAD_SECONDS after the last sign-in; this caps the whole run in case that never comes.
WARM_UP_LIMIT = 300


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_database_url() -> str:
    if url := os.environ.get("LOAD_DATABASE_URL"):
        return url
    parts = urlsplit(os.environ.get("DATABASE_URL") or runtime.database_url())
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'relay'}_load"))


def load_redis_url() -> str:
    if url := os.environ.get("LOAD_REDIS_URL"):
        return url
    if base := os.environ.get("REDIS_URL"):
        return urlunsplit(urlsplit(base)._replace(path="/3"))
    return runtime.redis_url(db=3)


@dataclasses.dataclass
class LoadStack(Stack):
    """The e2e stack's plumbing with production settings: DEBUG off, fresh secrets, plain HTTP on loopback."""

    secrets_env: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"RELAY_TESTING", "DJANGO_SETTINGS_MODULE"}}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DEBUG="0",
            RELAY_PORT=str(self.web_port),
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="WARNING",
            SECURE_SSL_REDIRECT="0",
            SECURE_HSTS_SECONDS="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            **self.secrets_env,
        )
        return env


def _queued(client: redis.Redis) -> int:
    """Tasks waiting in the worker's queues plus those in hand and due now. A retry scheduled for later (a
    fulfillment push to the load store's made-up Shopify address, which never answers) is not work left."""
    waiting = sum(client.llen(key) for pattern in ("short*", "long*") for key in client.scan_iter(pattern))
    now = dt.datetime.now(dt.UTC)
    for raw in client.hvals("unacked"):
        eta = json.loads(raw)[0].get("headers", {}).get("eta")
        if not eta or dt.datetime.fromisoformat(eta) <= now:
            waiting += 1
    return waiting


def _drain(stack: LoadStack, *, timeout: float) -> float:
    """Wait until the worker has nothing queued or in hand for 3 s in a row; return the seconds waited."""
    client = redis.Redis.from_url(stack.redis_url)
    started = time.monotonic()
    quiet_since = None
    while time.monotonic() - started < timeout:
        stack.check_alive()
        if _queued(client) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 3:
                return time.monotonic() - started
        else:
            quiet_since = None
        time.sleep(0.5)
    raise StackFailure(f"the worker did not drain in {timeout:.0f} s ({_queued(client)} tasks left)")


def _orders_found(stack: LoadStack, plan: dict) -> tuple[dict[str, set[str]], int, int]:
    """Per tenant, the external ids of its load store's orders; and the orders and dispatches in all."""
    found: dict[str, set[str]] = {}
    orders = dispatches = 0
    with contextlib.closing(psycopg2.connect(stack.database_url)) as connection, connection.cursor() as cursor:
        for tenant in plan["tenants"]:
            cursor.execute("SET search_path TO %s, public", (tenant["schema"],))
            cursor.execute("SELECT external_id FROM orders_order WHERE store_id = %s", (tenant["store_id"],))
            found[tenant["slug"]] = {row[0] for row in cursor.fetchall()}
            orders += len(found[tenant["slug"]])
            cursor.execute("SELECT count(*) FROM suppliers_dispatch")
            dispatches += cursor.fetchone()[0]
    return found, orders, dispatches


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[94], 1)


def figures(*, samples: dict, users: int, found: dict[str, set[str]], orders: int, dispatches: int,
            drained: float) -> list[dict]:  # fmt: skip
    """The figures: throughput and p95 per group over the steady part (every user started and signed in);
    sign-ins on their own; errors over the whole run; orders accepted by webhook but not in the database."""
    rows = samples["samples"]
    since = samples["steady"][0] if samples["steady"] else samples["ended"]  # every user started and signed in
    steady = [row for row in rows if row[3] >= since and not row[0].startswith("login:")]
    window = max(samples["ended"] - since, 1e-9)
    errors = [name for name, _ms, outcome, _at in rows if outcome == "error"]
    refused = sum(1 for _name, _ms, outcome, _at in rows if outcome == "refused")
    accepted = {(slug, external) for slug, external, _outcome in samples["accepted"]}
    lost = sorted(f"{slug}:{external}" for slug, external in accepted if external not in found.get(slug, set()))
    out = [
        {
            "name": "load.requests_per_second",
            "value": round(len(steady) / window, 1),
            "unit": "req/s",
            "requests": len(steady),
            "seconds": round(window, 1),
            "users": users,
            "tenants": len(found),
        }
    ]
    for group in GROUPS:
        times = [ms for name, ms, _outcome, _at in steady if name.startswith(f"{group}:")]
        out.append({"name": f"load.p95.{group}", "value": _p95(times), "unit": "ms", "requests": len(times)})
    logins = [ms for name, ms, _outcome, _at in rows if name.startswith("login:")]
    out.append({"name": "load.p95.login", "value": _p95(logins), "unit": "ms", "requests": len(logins)})
    by_name: dict[str, int] = {}
    for name in errors:
        by_name[name] = by_name.get(name, 0) + 1
    out.append(
        {"name": "load.errors", "value": len(errors), "unit": "requests", "refused": refused, "by_name": by_name}
    )
    out.append(
        {
            "name": "load.orders_lost",
            "value": len(lost),
            "unit": "orders",
            "webhooks_accepted": len(accepted),
            "orders_in_db": orders,
            "dispatches_in_db": dispatches,
            "drain_seconds": round(drained, 1),
            "lost": lost[:20],
        }
    )
    return out


def main() -> int:
    seconds = int(os.environ.get("LOAD_SECONDS", "180"))
    users = int(os.environ.get("LOAD_USERS", "70"))
    tenants = int(os.environ.get("LOAD_TENANTS", "20"))
    workdir = ROOT / "var" / "load"
    workdir.mkdir(parents=True, exist_ok=True)
    stack = LoadStack(
        load_database_url(), load_redis_url(), web_port=free_port(), sandbox_port=0, workdir=workdir,
        secrets_env={"SECRET_KEY": secrets.token_urlsafe(50), "RELAY_FERNET_KEYS": Fernet.generate_key().decode()},
    )  # fmt: skip
    plan_path, samples_path = workdir / "plan.json", workdir / "samples.json"
    samples_path.unlink(missing_ok=True)
    redis.Redis.from_url(stack.redis_url).flushdb()  # a previous run's tasks are not this run's
    database_recreate(stack.database_url)
    try:
        env = stack.env
        started = time.monotonic()
        _run("migrate-shared", ["migrate_schemas", "--shared", "--verbosity", "0"], env, workdir)
        _run("migrate-tenant", ["migrate_schemas", "--tenant", "--verbosity", "0"], env, workdir)
        _run("ensure-template", ["ensure_template", "--verbosity", "0"], env, workdir)
        _say(f"migrated in {time.monotonic() - started:.0f} s; seeding {tenants} tenants")
        seed = f"from tests.load import seed; seed.run(tenants={tenants}, plan={str(plan_path)!r})"
        took = _run("seed", ["shell", "-c", seed], env, workdir)
        _say(f"seeded in {took:.0f} s")
        _start(
            stack,
            "worker",
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--concurrency", "2",
             "-l", "INFO", "--without-gossip", "--without-mingle"],
        )  # fmt: skip
        _start(
            stack,
            "web",
            [sys.executable, "-m", "gunicorn", "erp.wsgi:application", "--bind", f"127.0.0.1:{stack.web_port}",
             "--workers", str(WEB_WORKERS), "--timeout", "60", "--graceful-timeout", "10"],
        )  # fmt: skip
        _wait(stack, "worker", lambda: " ready." in stack.log("worker").read_text(errors="replace"), 60)
        _wait(stack, "web", lambda: httpx.get(f"{stack.public_url}/healthz", timeout=2).status_code == 200, 60)
        _say(f"worker routed the seed orders in {_drain(stack, timeout=DRAIN_SECONDS):.0f} s; load for {seconds} s")
        env = {
            **stack.env,
            "LOAD_PLAN": str(plan_path),
            "LOAD_SAMPLES": str(samples_path),
            "LOAD_SECONDS": str(seconds),
        }
        with open(stack.log("locust"), "w") as handle:
            done = subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(ROOT / "tests" / "load" / "locustfile.py"), "--headless",
                 "--users", str(users), "--spawn-rate", str(max(1, users // 10)),
                 "--run-time", f"{seconds + WARM_UP_LIMIT}s",
                 "--stop-timeout", "10", "--host", f"http://127.0.0.1:{stack.web_port}", "--only-summary",
                 "--exit-code-on-error", "0"],
                cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
        if done.returncode != 0 or not samples_path.exists():
            raise StackFailure(f"locust exited with {done.returncode}:\n{stack.log('locust').read_text()[-4000:]}")
        stack.check_alive()
        drained = _drain(stack, timeout=DRAIN_SECONDS)
        plan = json.loads(plan_path.read_text())
        found, orders, dispatches = _orders_found(stack, plan)
        samples = json.loads(samples_path.read_text())
        results = figures(
            samples=samples, users=users, found=found, orders=orders, dispatches=dispatches,
            drained=drained,
        )  # fmt: skip
    finally:
        _stop(stack.processes)
        if not os.environ.get("LOAD_KEEP"):
            database_drop(stack.database_url)
    for figure in results:
        print(json.dumps(figure), flush=True)
    failed = {f["name"]: f["value"] for f in results if f["name"] in ("load.errors", "load.orders_lost")}
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
