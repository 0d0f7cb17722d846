"""Pausing Python's cyclic garbage collector around batch work."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pauses:
    lock = threading.Lock()
    open = 0  # collector_paused() blocks open, in any thread
    collector_was_on = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds its objects.

    A batch (a page of orders ingested, a thousand orders routed) allocates a
    few hundred thousand small, acyclic objects, freed by reference counting;
    each allocation burst also made the collector scan the whole heap again
    and again, a fifth of the time. Whatever cycles a pause leaves are
    collected once it ends. The collector is global to the process, so the
    pauses are counted across threads: it comes back when the last one ends,
    and only if it was on before the first.
    """
    with _Pauses.lock:
        if _Pauses.open == 0:
            _Pauses.collector_was_on = gc.isenabled()
            gc.disable()
        _Pauses.open += 1
    try:
        yield
    finally:
        with _Pauses.lock:
            _Pauses.open -= 1
            if _Pauses.open == 0 and _Pauses.collector_was_on:
                gc.enable()
