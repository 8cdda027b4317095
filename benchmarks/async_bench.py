"""`load_images_async` against `load_images`: ``python -m benchmarks.async_bench``.

On the loader suite's 1,000 ImageNet-like JPEGs (``data.ensure_loader``): the files/s of
``load_images`` and of ``load_images_async`` with an ``on_image`` callback per image (it
stores the array, as a viewer would hand it to its UI thread), best of ``--repeat`` runs,
interleaved. While the async job runs, the main thread stands in for a UI thread: a loop
that sleeps 5 ms and records the longest gap between ticks.

Floors: async >= 0.95x ``load_images``; the longest tick gap <= 20 ms. Two controls show
what the machine alone costs the ticks: the same loop while ``load_images`` runs in a plain
thread, and idle (on a loaded machine the scheduler, not pixfeed, sets the longest gap).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pixfeed

from .data import ensure_loader


def _sync(paths: list[str]) -> float:
    t0 = time.perf_counter()
    pixfeed.load_images(paths)
    return time.perf_counter() - t0


def _ticks(done: Callable[[], bool]) -> list[float]:
    """The UI-thread stand-in: sleep 5 ms until ``done()``; the gaps between ticks."""
    gaps = []
    last = time.perf_counter()
    while not done():
        time.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return gaps


def _async(paths: list[str]) -> tuple[float, list[float]]:
    got: list[Any] = [None] * len(paths)

    def on_image(i: int, a: Any) -> None:
        got[i] = a

    t0 = time.perf_counter()
    job = pixfeed.load_images_async(paths, on_image=on_image)
    gaps = _ticks(job.done)
    job.result()
    took = time.perf_counter() - t0
    assert all(a is not None for a in got)
    return took, gaps


def _thread_control(paths: list[str]) -> list[float]:
    """The same ticks while a plain ``load_images`` runs in a thread: what the machine's
    scheduler alone costs the UI thread (no callbacks, no chunks)."""
    finished = threading.Event()
    t = threading.Thread(target=lambda: (pixfeed.load_images(paths), finished.set()))
    t.start()
    gaps = _ticks(finished.is_set)
    t.join()
    return gaps


def _ms(gaps: list[float]) -> str:
    g = sorted(gaps)
    return f"longest {g[-1] * 1000:.1f} ms, p99 {g[len(g) * 99 // 100] * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        pixfeed.set_num_threads(args.threads)
    paths = ensure_loader()["imagenet1000"].paths
    _sync(paths[:100])  # warm the page cache and the pool
    _sync(paths)
    sync_t, async_t, gaps = [], [], []
    for _ in range(args.repeat):
        sync_t.append(_sync(paths))
        t, g = _async(paths)
        async_t.append(t)
        gaps += g
    control = _thread_control(paths)
    t0 = time.perf_counter()
    idle = _ticks(lambda: time.perf_counter() - t0 > 1.0)
    n = len(paths)
    s, a = n / min(sync_t), n / min(async_t)
    print(
        f"threads: {pixfeed.get_num_threads()}, files: {n}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"load_images:        {s:8.0f} files/s")
    print(f"load_images_async:  {a:8.0f} files/s  ({a / s:.3f}x, floor 0.95x)")
    print(f"UI ticks (5 ms) during load_images_async: {_ms(gaps)} (floor: longest <= 20 ms)")
    print(f"  control, load_images in a plain thread:   {_ms(control)}")
    print(f"  control, idle:                            {_ms(idle)}")


if __name__ == "__main__":
    main()
