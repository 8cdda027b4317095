"""`load_images_async`: `load_images` that never blocks the calling thread (for GUI apps).

The call returns a `LoadJob` at once. Two background threads do the work:

- a **decoder** thread hands small chunks of the sources to the native decoder (the same
  parallel decode as `load_images`, GIL released), sized to take about a tenth of a second
  each, so a cancel is never more than one chunk away;
- a **dispatcher** thread calls ``on_image(index, array_or_error)`` once per source as its
  chunk finishes and ``on_progress(done, total)`` at most every ``progress_interval``
  seconds and once at the end. While it runs the callbacks, the decoder is already busy
  with the next chunk, so callbacks cost decoding time only when they are slow.

Callbacks run on the dispatcher thread, never on the caller's: a GUI should hand the result
to its own thread (a queue, a signal) and return quickly. `LoadJob.cancel` stops the
outstanding work, waits for a callback that is running to return and for both threads to
end: once it returns, no callback runs again and no thread of the job is alive (the
library's native decode threads stay, as after any decode).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from typing import Any, Literal, get_args

from pixfeed import _args
from pixfeed.decode import DecodedBatch, Mode, decode_batch
from pixfeed.threads import get_num_threads

__all__ = ["LoadJob", "load_images_async"]

OnImage = Callable[[int, Any], object]
OnProgress = Callable[[int, int], object]

# Chunks are sized to take about this long to decode (a cancel waits at most for one).
_CHUNK_SECONDS = 0.1
# ... and hold at most this many images per thread (the first: one per thread).
_MAX_PER_THREAD = 64


class LoadJob:
    """A running `load_images_async`. ``total``: the number of sources; ``progress``:
    ``(done, total)``, done counting sources whose callback has run (or would have);
    ``errors``: index -> exception of each failed source so far."""

    def __init__(
        self,
        sources: list[_args.Native],
        mode: Mode,
        threads: int | None,
        on_image: OnImage | None,
        on_progress: OnProgress | None,
        on_error: str,
        progress_interval: float,
    ) -> None:
        self.total = len(sources)
        self.errors: dict[int, BaseException] = {}
        self._sources = sources
        self._mode = mode
        self._threads = threads
        self._on_image = on_image
        self._on_progress = on_progress
        self._on_error = on_error
        self._interval = progress_interval
        self._items: list[Any] = [None] * self.total
        self._done_count = 0
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._cancelled = False
        self._failure: BaseException | None = None
        self._chunks: queue.Queue[tuple[int, DecodedBatch] | None] = queue.Queue()
        self._decoder = threading.Thread(
            target=self._decode, name="pixfeed-load-decoder", daemon=True
        )
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="pixfeed-load-dispatcher", daemon=True
        )

    def _start(self) -> None:
        self._decoder.start()
        self._dispatcher.start()

    # -- the two threads -------------------------------------------------------------------
    def _decode(self) -> None:
        try:
            n_threads = self._threads or get_num_threads()
            size = n_threads
            start = 0
            while start < self.total and not self._stop.is_set():
                end = min(self.total, start + size)
                t0 = time.perf_counter()
                part = decode_batch(
                    self._sources[start:end],
                    mode=self._mode,
                    threads=self._threads,
                    on_error="none",
                )
                took = time.perf_counter() - t0
                self._chunks.put((start, part))
                per_image = took / (end - start)
                want = int(_CHUNK_SECONDS / per_image) if per_image > 0 else size * 2
                size = max(n_threads, min(want, size * 2, _MAX_PER_THREAD * n_threads))
                start = end
        except BaseException as e:  # reported by result(), never lost in a thread
            self._failure = e
            self._stop.set()
        finally:
            self._chunks.put(None)

    def _dispatch(self) -> None:
        last = time.monotonic()
        try:
            while True:
                got = self._chunks.get()
                if got is None or self._stop.is_set():
                    break
                start, part = got
                for i, img in enumerate(part):
                    if self._stop.is_set():
                        return
                    index = start + i
                    err = part.errors.get(i)
                    if err is not None:
                        self.errors[index] = err
                    else:
                        self._items[index] = img
                    self._done_count += 1
                    if self._on_image is not None:
                        self._on_image(index, img if err is None else err)
                    if self._on_progress is not None and self._done_count < self.total:
                        now = time.monotonic()
                        if now - last >= self._interval:
                            last = now
                            self._on_progress(self._done_count, self.total)
            if (
                self._on_progress is not None
                and self._done_count == self.total
                and not self._stop.is_set()
            ):
                self._on_progress(self.total, self.total)
        except BaseException as e:  # a callback raised: stop the job, result() re-raises
            self._failure = e
            self._stop.set()
        finally:
            self._stop.set()  # the decoder stops after its chunk; done() waits for that
            self._decoder.join()
            self._finished.set()

    # -- the caller's side -----------------------------------------------------------------
    @property
    def progress(self) -> tuple[int, int]:
        """``(done, total)``: sources handled so far (callbacks run) and all sources."""
        return self._done_count, self.total

    def done(self) -> bool:
        """True once every source is handled, the job was cancelled, or a callback raised
        (and the decoder thread has ended)."""
        return self._finished.is_set()

    def cancelled(self) -> bool:
        return self._cancelled

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `done` (True) or ``timeout`` seconds passed (False)."""
        if threading.current_thread() is self._dispatcher:
            raise RuntimeError("wait() called from a load_images_async callback would deadlock")
        return self._finished.wait(timeout)

    def result(self, timeout: float | None = None) -> DecodedBatch:
        """The images in input order, as `load_images` returns them with the job's
        ``on_error`` (``"skip"`` drops failed sources, ``"none"`` puts None in their place,
        ``"raise"`` raises the first failure by index); ``errors`` maps failed indices to
        exceptions. Blocks until done; raises ``TimeoutError`` after ``timeout`` seconds,
        ``concurrent.futures.CancelledError`` after `cancel`, and re-raises an exception a
        callback raised."""
        if not self.wait(timeout):
            raise TimeoutError(f"load_images_async: not done after {timeout} s")
        if self._failure is not None:
            raise self._failure
        if self._cancelled:
            raise CancelledError("load_images_async: the job was cancelled")
        errors = dict(self.errors)
        if errors and self._on_error == "raise":
            raise errors[min(errors)]
        if self._on_error == "skip":
            items = [img for i, img in enumerate(self._items) if i not in errors]
        else:
            items = list(self._items)
        return DecodedBatch(items, errors)

    def cancel(self) -> bool:
        """Stop the job; returns whether it was still running. Waits for a callback that is
        running to return and for the job's threads to end (at most the chunk being
        decoded, a fraction of a second); afterwards no callback runs. From inside a
        callback it returns at once: no further callback follows the current one."""
        if self._finished.is_set():
            return False
        self._cancelled = True
        self._stop.set()
        me = threading.current_thread()
        for t in (self._dispatcher, self._decoder):
            if t is not me and t.is_alive():
                t.join()
        return True

    def __repr__(self) -> str:
        state = "cancelled" if self._cancelled else "done" if self.done() else "running"
        return f"LoadJob({state}: {self._done_count} of {self.total}, {len(self.errors)} errors)"


def load_images_async(
    sources: Sequence[_args.Source],
    *,
    on_image: OnImage | None = None,
    on_progress: OnProgress | None = None,
    threads: int | None = None,
    on_error: Literal["raise", "skip", "none"] = "skip",
    mode: Mode = "RGB",
    progress_interval: float = 0.1,
) -> LoadJob:
    """Decode ``sources`` (paths or encoded bytes) in the background; returns a `LoadJob`
    at once.

    ``on_image(index, array_or_error)`` is called exactly once per source, as its image is
    decoded (not in input order), with the array or the exception (``DecodeError``,
    ``OSError``...). ``on_progress(done, total)`` is called at most every
    ``progress_interval`` seconds and once with ``(total, total)`` at the end. Both run on
    the job's dispatcher thread, never on the caller's, one at a time; an exception one
    raises stops the job and is re-raised by ``job.result()``. ``threads``: native decode
    threads (None: the library default). ``on_error`` shapes ``job.result()`` as for
    `load_images` (``"skip"`` by default); every source is decoded whatever it is.

    ``job.cancel()`` stops within a fraction of a second; no callback runs after it
    returns and the job's threads have ended. See the module docs.
    """
    if on_error not in ("raise", "skip", "none"):
        raise ValueError(f"on_error: expected 'raise', 'skip' or 'none', got {on_error!r}")
    for name, fn in (("on_image", on_image), ("on_progress", on_progress)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}: expected a callable or None, got {type(fn).__name__}")
    if isinstance(sources, (str, bytes, bytearray, memoryview)) or not isinstance(
        sources, Sequence
    ):
        raise TypeError(f"sources: expected a sequence of sources, got {type(sources).__name__}")
    if isinstance(progress_interval, bool) or not isinstance(progress_interval, (int, float)):
        raise TypeError("progress_interval: expected a number of seconds")
    if not progress_interval >= 0:
        raise ValueError(f"progress_interval: must be >= 0, got {progress_interval!r}")
    if mode not in get_args(Mode):
        modes = ", ".join(map(repr, get_args(Mode)))
        raise ValueError(f"mode: expected one of {modes}, got {mode!r}")
    srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
    job = LoadJob(
        srcs,
        mode,
        _args.threads(threads),
        on_image,
        on_progress,
        on_error,
        float(progress_interval),
    )
    job._start()
    return job
