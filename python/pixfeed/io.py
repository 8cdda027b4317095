"""Bulk I/O helpers (docs/toolkit.md): `load_images` and `map_parallel`.

- `load_images` decodes many files in native threads (GIL released), results in input
  order, with an optional progress line and the ``on_error`` policies of docs/conventions.md.
- `map_parallel` runs a Python function over items on a thread pool, results in input
  order; a failing item never stops the others, its exception is reported with its index.

Thread pools: `load_images` uses the library's native pool. `map_parallel` uses one shared
Python thread pool for the whole process (grown when a call asks for more threads, rebuilt
after a fork), never a pool per call; the calling thread works too, so calls nested inside
``fn`` always make progress.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, Literal, TypeVar

from pixfeed import _args
from pixfeed._progress import Progress
from pixfeed.decode import DecodedBatch, Mode, decode_batch
from pixfeed.threads import get_num_threads

__all__ = ["MapResult", "load_images", "map_parallel"]

T = TypeVar("T")
R = TypeVar("R")

# With a progress line, images are decoded in chunks of this many per thread (progress is
# updated between chunks; each chunk still keeps every thread busy).
_IMAGES_PER_THREAD_PER_CHUNK = 8


def _progress_flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"progress: expected True, False or None, got {type(value).__name__}")


def load_images(
    sources: Sequence[_args.Source],
    *,
    mode: Mode = "RGB",
    threads: int | None = None,
    progress: bool | None = False,
    on_error: Literal["raise", "skip", "none"] = "raise",
    strict: bool = True,
) -> DecodedBatch:
    """Decode ``sources`` (paths or encoded bytes) in parallel; arrays in input order.

    ``progress``: ``False`` (default) none, ``True`` a progress line on stderr, ``None`` one
    only when stderr is a terminal. ``on_error``: ``"raise"`` raises the first failure in
    input order (with a progress line, decoding goes in chunks and stops after the chunk
    that holds it), ``"skip"`` drops failed items,
    ``"none"`` puts None in their place. The result is a `DecodedBatch`: a list whose
    ``errors`` maps each failed input index to its exception (``DecodeError`` has
    ``.source``, ``OSError`` has ``.filename``) and ``skipped`` counts them. ``strict`` as
    in `decode` (default True: corrupt data is a ``DecodeError``).
    """
    if on_error not in ("raise", "skip", "none"):
        raise ValueError(f"on_error: expected 'raise', 'skip' or 'none', got {on_error!r}")
    show = _progress_flag(progress)
    n_threads = _args.threads(threads)
    if isinstance(sources, (str, bytes, bytearray, memoryview)) or not isinstance(
        sources, Sequence
    ):
        raise TypeError(f"sources: expected a sequence of sources, got {type(sources).__name__}")
    bar = Progress(len(sources), "load_images", show)
    if not bar.enabled:
        return decode_batch(sources, mode=mode, threads=n_threads, on_error=on_error, strict=strict)

    chunk = _IMAGES_PER_THREAD_PER_CHUNK * (n_threads or get_num_threads())
    items: list[Any] = []
    errors: dict[int, BaseException] = {}
    try:
        for start in range(0, len(sources), chunk):
            part = decode_batch(
                sources[start : start + chunk],
                mode=mode,
                threads=n_threads,
                on_error="none",
                strict=strict,
            )
            if part.errors and on_error == "raise":
                raise part.errors[min(part.errors)]
            for i, img in enumerate(part):
                if i in part.errors:
                    errors[start + i] = part.errors[i]
                    if on_error == "skip":
                        continue
                items.append(img)
            bar.update(len(part))
    finally:
        bar.close()
    return DecodedBatch(items, errors)


class MapResult(list[R | None], Generic[R]):
    """`map_parallel`'s results in input order, None where ``fn`` raised; ``errors`` maps
    each failed index to its exception (traceback kept)."""

    errors: dict[int, Exception]

    def __init__(self, results: Iterable[R | None], errors: dict[int, Exception]) -> None:
        super().__init__(results)
        self.errors = errors

    @property
    def ok(self) -> bool:
        """No item failed."""
        return not self.errors

    @property
    def failures(self) -> list[tuple[int, Exception]]:
        """``(index, exception)`` of every failed item, by index."""
        return sorted(self.errors.items(), key=lambda kv: kv[0])

    def raise_first(self) -> None:
        """Raise the exception of the first failed item (by index), if any."""
        if self.errors:
            raise self.errors[min(self.errors)]


class _SharedPool:
    """One executor for the process: grown (replaced) when a call wants more threads than it
    has, rebuilt in a forked child (the parent's threads do not exist there)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._size = 0
        self._pid = 0

    def get(self, workers: int) -> ThreadPoolExecutor:
        with self._lock:
            pid = os.getpid()
            if self._executor is None or self._pid != pid or self._size < workers:
                old = self._executor if self._pid == pid else None
                self._executor = ThreadPoolExecutor(workers, thread_name_prefix="pixfeed-map")
                self._size, self._pid = workers, pid
                if old is not None:
                    old.shutdown(wait=False)  # its running tasks finish; it takes no more
            return self._executor


_POOL = _SharedPool()


def map_parallel(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    threads: int | None = None,
    progress: bool | None = False,
) -> MapResult[R]:
    """``[fn(x) for x in items]`` on ``threads`` threads (None: the library default); results
    in input order.

    An item whose call raises an ``Exception`` gets None in the result and its exception in
    ``result.errors`` (index -> exception); the other items still run. Nothing is raised
    mid-way: check ``result.ok`` / ``result.failures``, or call ``result.raise_first()``.
    ``KeyboardInterrupt`` and other ``BaseException``s stop the remaining items and are
    re-raised once running calls return.

    The calls run in Python threads: they overlap where ``fn`` releases the GIL (pixfeed's
    native functions, file and network I/O, large numpy operations), not in pure Python code.
    ``progress`` as for `load_images`.
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    if not isinstance(items, Iterable):
        raise TypeError(f"items: expected an iterable, got {type(items).__name__}")
    show = _progress_flag(progress)
    n_threads = _args.threads(threads) or get_num_threads()
    work_items = list(items)
    n = len(work_items)
    results: list[R | None] = [None] * n
    errors: dict[int, Exception] = {}
    fatal: list[BaseException] = []
    lock = threading.Lock()
    next_index = 0
    stop = threading.Event()
    bar = Progress(n, "map_parallel", show)

    def worker() -> None:
        nonlocal next_index
        while not stop.is_set():
            with lock:
                i = next_index
                next_index += 1
            if i >= n:
                return
            try:
                results[i] = fn(work_items[i])
            except Exception as e:
                with lock:
                    errors[i] = e
            except BaseException as e:  # KeyboardInterrupt, SystemExit: stop everything
                with lock:
                    fatal.append(e)
                stop.set()
                return
            bar.update()

    helpers: list[Future[None]] = []
    workers = max(1, min(n_threads, n))
    if workers > 1:
        pool = _POOL.get(workers - 1)
        helpers = [pool.submit(worker) for _ in range(workers - 1)]
    try:
        worker()
    except BaseException:
        stop.set()
        raise
    finally:
        if fatal:
            stop.set()
        # A helper still queued (the pool busy, e.g. with an outer map_parallel) is not
        # waited for: cancelled, its share is done by the threads that did start.
        for f in helpers:
            if not f.cancel():
                f.result()
        bar.close()
    if fatal:
        raise fatal[0]
    return MapResult(results, errors)
