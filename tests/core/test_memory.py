"""The collector pause is counted across threads and leaves the collector as it found it."""

import gc
import threading

from core.memory import collector_paused


def test_the_collector_comes_back_when_the_last_pause_ends():
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other_batch():
        with collector_paused():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=other_batch)
    with collector_paused():
        worker.start()
        entered.wait(5)
    # this thread's pause ended, the other thread's has not
    assert not gc.isenabled()
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_process_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
