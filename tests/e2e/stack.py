"""The real stack of `make run` as subprocesses, on a database and a Redis database of its own.

What `make run` does (Makefile, Procfile), in this order: migrate the shared schema and the tenants, make the
template schema, provision the demo tenant (plus what the journeys need: tests/e2e/seed.py), then start the
sandbox shop, one Celery worker and the web server (runserver, DEBUG=1). Each is waited for; a process that
dies or never gets ready fails the start with the tail of its log.

``python -m tests.e2e.stack`` keeps a stack up until Ctrl-C (for writing a journey by hand).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
DEMO_PASSWORD = "relay-demo-2026"  # erp/management/commands/provision_demo.py
SANDBOX_TOKEN = "sandbox-token"  # channels/sandbox/server.py
LOG_TAIL = 4000


class StackFailure(RuntimeError):
    """A part of the stack did not start; the message carries its log's tail."""


def stack_database_url(database_url: str) -> str:
    """The stack's database: the suite's name with ``_e2e`` after it, on the same server."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") or "relay"
    return urlunsplit(parts._replace(path=f"/{name}_e2e"))


def stack_redis_url(redis_url: str) -> str:
    """The stack's Redis database: the next number after the suite's (its worker never takes the suite's tasks)."""
    parts = urlsplit(redis_url)
    number = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + 1) % 16}"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _maintenance(database_url: str):
    parts = urlsplit(database_url)
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    return connection


def database_recreate(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with contextlib.closing(_maintenance(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')


def database_drop(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with contextlib.closing(_maintenance(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-LOG_TAIL:]
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Stack:
    """A running stack: where its pieces listen, its logs, and a way to read its database."""

    database_url: str
    redis_url: str
    web_port: int
    sandbox_port: int
    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        return f"http://localhost:{self.web_port}"

    def tenant_url(self, slug: str) -> str:
        return f"http://{slug}.localhost:{self.web_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def logs_tail(self) -> str:
        return "\n".join(f"--- {name}.log\n{_tail(self.log(name))}" for name in ("web", "worker", "sandbox"))

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackFailure(f"{name} exited with {process.returncode}:\n{_tail(self.log(name))}")

    def schema(self, slug: str) -> str:
        """The PostgreSQL schema of the tenant ``slug``."""
        with contextlib.closing(psycopg2.connect(self.database_url)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT schema_name FROM public.tenants_tenant WHERE slug = %s", (slug,))
            return cursor.fetchone()[0]

    def query(self, sql: str, params: tuple = (), *, tenant: str = "demo", schema: str | None = None) -> list[tuple]:
        """Rows of one read-only query in a tenant's schema (set-up and checks of a journey, never what a page
        shows): the tenant ``tenant``'s, or ``schema`` ("public") when given."""
        schema = schema or self.schema(tenant)
        with contextlib.closing(psycopg2.connect(self.database_url)) as connection, connection.cursor() as cursor:
            cursor.execute("SET search_path TO %s, public", (schema,))
            cursor.execute(sql, params)
            return cursor.fetchall()

    @property
    def env(self) -> dict[str, str]:
        return stack_env(self.database_url, self.redis_url, web_port=self.web_port)


def stack_env(database_url: str, redis_url: str, *, web_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"RELAY_TESTING", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="1",
        RELAY_PORT=str(web_port),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    return env


def _run(name: str, args: list[str], env: dict[str, str], workdir: Path) -> float:
    log = workdir / f"{name}.log"
    started = time.monotonic()
    with open(log, "w") as handle:
        done = subprocess.run([*MANAGE, *args], check=False, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise StackFailure(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{_tail(log)}")
    return time.monotonic() - started


def _start(stack: Stack, name: str, args: list[str]) -> None:
    with open(stack.log(name), "w") as handle:
        stack.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=stack.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(stack: Stack, name: str, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(httpx.HTTPError, OSError):
            if ready():
                return
        time.sleep(0.2)
    raise StackFailure(f"{name} not ready after {timeout:.0f} s:\n{_tail(stack.log(name))}")


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextlib.contextmanager
def running_stack(*, database_url: str, redis_url: str, workdir: Path, keep_database: bool = False) -> Iterator[Stack]:
    """Set up the stack's database from nothing, start its processes, yield it; stop them and drop the database."""
    workdir.mkdir(parents=True, exist_ok=True)
    stack = Stack(database_url, redis_url, web_port=free_port(), sandbox_port=free_port(), workdir=workdir)
    env = stack.env
    timings: dict[str, float] = {}
    database_recreate(database_url)
    try:
        timings["migrate"] = _run("migrate-shared", ["migrate_schemas", "--shared", "--verbosity", "0"], env, workdir)
        timings["migrate"] += _run("migrate-tenant", ["migrate_schemas", "--tenant", "--verbosity", "0"], env, workdir)
        timings["template"] = _run("ensure-template", ["ensure_template", "--verbosity", "0"], env, workdir)
        state = workdir / "sandbox" / "shop.json"
        state.parent.mkdir(exist_ok=True)
        timings["demo"] = _run("provision-demo", ["provision_demo", "--sandbox-state", str(state)], env, workdir)
        seed = f"from tests.e2e import seed; seed.run(sandbox_url={stack.sandbox_url!r})"
        timings["seed"] = _run("seed", ["shell", "-c", seed], env, workdir)
        # The Procfile's processes; the shop after provision_demo, which writes its state file first.
        _start(
            stack, "sandbox", [*MANAGE, "run_sandbox_shop", "--port", str(stack.sandbox_port), "--state", str(state)]
        )
        _start(
            stack,
            "worker",
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "solo",
             "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        )  # fmt: skip
        _start(stack, "web", [*MANAGE, "runserver", f"127.0.0.1:{stack.web_port}", "--noreload"])
        started = time.monotonic()
        _wait(stack, "sandbox", lambda: httpx.get(f"{stack.sandbox_url}/admin/orders", timeout=2).status_code, 30)
        _wait(stack, "worker", lambda: " ready." in stack.log("worker").read_text(errors="replace"), 60)
        _wait(stack, "web", lambda: httpx.get(f"{stack.public_url}/healthz", timeout=2).status_code == 200, 60)
        timings["start"] = time.monotonic() - started
        (workdir / "timings.txt").write_text("".join(f"{k} {v:.1f}s\n" for k, v in timings.items()))
        yield stack
    finally:
        _stop(stack.processes)
        if not keep_database:
            database_drop(database_url)


def main() -> None:
    database_url = stack_database_url(os.environ["DATABASE_URL"])
    redis_url = stack_redis_url(os.environ["REDIS_URL"])
    workdir = ROOT / "var" / "e2e" / "stack"
    with running_stack(database_url=database_url, redis_url=redis_url, workdir=workdir, keep_database=True) as stack:
        (workdir / "stack.json").write_text(
            json.dumps(
                {
                    f.name: str(getattr(stack, f.name)) if f.name == "workdir" else getattr(stack, f.name)
                    for f in dataclasses.fields(stack)
                    if f.name != "processes"
                }
            )
        )
        print(f"web {stack.public_url}  demo {stack.tenant_url('demo')}  sandbox {stack.sandbox_url}")
        print(f"database {database_url}  redis {redis_url}  logs {workdir}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                stack.check_alive()
                time.sleep(1)


if __name__ == "__main__":
    main()
