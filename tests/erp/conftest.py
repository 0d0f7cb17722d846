import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path, mail_dir: Path):
        self.process = process
        self.log = log
        self.mail_dir = mail_dir

    def wait_for(self, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(f"worker died:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out; worker log:\n{self.log.read_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the test database and the test Redis."""
    from erp.celery import app

    workdir = tmp_path_factory.mktemp("worker")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    log = workdir / "worker.log"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "RELAY_TESTING": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    with django_db_blocker.unblock():
        app.control.purge()  # tasks left in the test broker by earlier runs
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", "short,long", "--pool", "solo",
             "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(process, log, mail_dir)
    worker.wait_for(lambda: "ready" in worker.log_text(), timeout=60)
    yield worker
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
