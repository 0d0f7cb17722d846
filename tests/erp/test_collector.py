"""The garbage collector is tuned once per worker process at start-up, never inside domain code."""

import gc
from pathlib import Path

import pytest
from celery.signals import worker_process_init, worker_ready

from erp.celery import GC_THRESHOLDS, app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collector_restored():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.parametrize("signal", [worker_process_init, worker_ready], ids=["pool process", "main process"])
def test_worker_start_up_freezes_the_boot_heap_and_raises_the_thresholds(signal, collector_restored):
    # given: the interpreter's defaults
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)

    # when: Celery announces a started worker process
    signal.send(sender=app)

    # then: what boot loaded is frozen and the young generation is collected far less often
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.isenabled()


def test_no_domain_code_switches_the_collector():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("core", "tenants", "channels", "orders", "suppliers", "inventory", "settlement")
        for path in (ROOT / package).rglob("*.py")
        if "import gc" in path.read_text() or "collector_paused" in path.read_text()
    ]
    assert offenders == []
