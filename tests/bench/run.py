"""Benchmark harness: `make bench [BENCH=prefix]`.

Prints one JSON object per figure on stdout and nothing else (progress and
logs go to stderr). Runs against its own database, ``<name>_bench``, on the
same server as the project's, so the development data is never touched.

A benchmark module is ``tests/bench/bench_*.py`` with functions
``bench_*()`` decorated by ``@figures("name", …)``; each returns a list of
dicts with at least name, value and unit (and, where there is one, baseline
and baseline_name measured in the same run).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import secrets
import statistics
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def database_url_ensure(url: str, name: str) -> str:
    """``url`` naming the database ``name`` instead, created first on the same server if it does not exist."""
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return urlunparse(parsed._replace(path="/" + name))


def _bench_database_url() -> str:
    from erp import runtime

    base = os.environ.get("DATABASE_URL") or runtime.database_url()
    return database_url_ensure(base, urlparse(base).path.lstrip("/") + "_bench")


def _setup() -> None:
    os.environ["DATABASE_URL"] = _bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Measured as in production: DEBUG off (DEBUG would record every query). The settings then refuse
    # to load without real secrets, so this development tool brings throwaway ones of its own; the
    # benchmarks' stores never outlive the run that encrypted them.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("RELAY_FERNET_KEYS", Fernet.generate_key().decode())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, verbosity=0, stdout=sys.stderr)
    call_command("migrate_tenants", verbosity=0, stdout=sys.stderr)
    call_command("ensure_template", verbosity=0, stdout=sys.stderr)

    # As a Celery worker does after boot (erp.celery explains why): freeze what is loaded now and
    # raise the collector's thresholds, once, before any benchmark runs.
    from erp.celery import tune_garbage_collector

    gc.collect()
    tune_garbage_collector()


REPS = int(os.environ.get("BENCH_REPS", "3"))


def spread(values: list[float], *, digits: int = 1) -> dict:
    """A figure measured ``len(values)`` times: the median as its value, with min, max and the count beside it."""
    ordered = sorted(values)
    return {
        "value": round(statistics.median(ordered), digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "reps": len(ordered),
    }


def rss_peak_reset(pid: int | str = "self") -> None:
    """Start measuring a process's peak resident memory afresh (Linux: its VmHWM is reset)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def rss_mb(pid: int | str = "self", *, peak: bool = True) -> float:
    """A process's peak resident memory since the last rss_peak_reset (VmHWM), or its current one (VmRSS), in MB."""
    field = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def figures(*names: str):
    def mark(fn):
        fn.figure_names = names
        return fn

    return mark


def main(argv: list[str]) -> int:
    prefix = argv[1] if len(argv) > 1 else ""
    _setup()
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        module = importlib.import_module(f"tests.bench.{path.stem}")
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            names = getattr(fn, "figure_names", None)
            if not callable(fn) or not names:
                continue
            if prefix and not any(name.startswith(prefix) for name in names):
                continue
            print(f"running {path.stem}.{attr}", file=sys.stderr)
            for figure in fn():
                if not prefix or figure["name"].startswith(prefix):
                    print(json.dumps(figure), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
