"""Background producers: threads that fill a bounded queue ahead of a consumer, stop when
asked, and hand their exceptions to the consumer (the loader's prefetch, the filter's
batches).

A producer puts its items in order, then `DONE`; an exception becomes a `Failure` item that
the consumer re-raises. ``stop`` is checked between items and while the queue is full, so
`stop_workers` (set the flag, empty the queue) ends every producer promptly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable

__all__ = ["DONE", "POLL", "Failure", "put", "run", "stop_workers"]

#: Seconds between checks of the stop flag while blocked.
POLL = 0.05

#: End-of-stream marker on the queue.
DONE = object()


class Failure:
    """An exception raised by a producer, delivered to the consumer in its place."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def put(q: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item``, waiting for room, unless ``stop`` is set first (then False)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=POLL)
            return True
        except queue.Full:
            continue
    return False


def run(q: queue.Queue[object], stop: threading.Event, items: Iterable[object]) -> None:
    """The body of a producer thread: put each of ``items`` in order, then `DONE`. An
    exception raised by ``items`` is put as a `Failure` and ends the stream, as does a
    `Failure` item; ``stop`` ends it without a marker."""
    try:
        for item in items:
            if not put(q, item, stop) or isinstance(item, Failure):
                return
    except BaseException as e:  # handed to the consumer, which re-raises it
        put(q, Failure(e), stop)
        return
    put(q, DONE, stop)


def stop_workers(
    q: queue.Queue[object], stop: threading.Event, workers: Iterable[threading.Thread]
) -> None:
    """Stop producers: set ``stop`` and empty the queue (a producer blocked on a full queue
    sees the flag) until every one of ``workers`` has ended. The calling thread, if among
    them, is not waited for."""
    stop.set()
    others = [t for t in workers if t is not threading.current_thread()]
    while any(t.is_alive() for t in others):
        try:
            q.get_nowait()
        except queue.Empty:
            for t in others:
                t.join(POLL)
