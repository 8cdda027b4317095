"""`load_images_async` against `load_images` (issue 18): ``python -m benchmarks.async_bench``.

On the loader suite's 1,000 ImageNet-like JPEGs (``data.ensure_loader``): the files/s of
``load_images`` and of ``load_images_async`` with an ``on_image`` callback per image (it
stores the array, as a viewer would hand it to its UI thread), best of ``--repeat`` runs,
interleaved. While the async job runs, the main thread stands in for a UI thread: a loop
that sleeps 5 ms and records the longest gap between ticks.

Floors: async >= 0.95x ``load_images``; the longest tick gap <= 20 ms.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pixfeed

from .data import ensure_loader


def _sync(paths: list[str]) -> float:
    t0 = time.perf_counter()
    pixfeed.load_images(paths)
    return time.perf_counter() - t0


def _async(paths: list[str]) -> tuple[float, float]:
    got: list[Any] = [None] * len(paths)

    def on_image(i: int, a: Any) -> None:
        got[i] = a

    t0 = time.perf_counter()
    job = pixfeed.load_images_async(paths, on_image=on_image)
    worst = 0.0
    last = time.perf_counter()
    while not job.done():
        time.sleep(0.005)
        now = time.perf_counter()
        worst = max(worst, now - last - 0.005)
        last = now
    job.result()
    took = time.perf_counter() - t0
    assert all(a is not None for a in got)
    return took, worst + 0.005


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
        t, gap = _async(paths)
        async_t.append(t)
        gaps.append(gap)
    n = len(paths)
    s, a = n / min(sync_t), n / min(async_t)
    print(f"threads: {pixfeed.get_num_threads()}, files: {n}")
    print(f"load_images:        {s:8.0f} files/s")
    print(f"load_images_async:  {a:8.0f} files/s  ({a / s:.3f}x, floor 0.95x)")
    print(f"longest UI tick gap: {max(gaps) * 1000:.1f} ms (floor 20 ms, tick 5 ms)")


if __name__ == "__main__":
    main()
