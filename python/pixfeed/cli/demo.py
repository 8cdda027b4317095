"""`pixfeed demo`: the main job on a built-in sample set, timed against Pillow."""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed.cli._output import Progress, print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="decode a built-in sample set and compare with Pillow")
    p.add_argument("--dir", type=Path, default=None, help="where to make/keep the sample set")
    p.add_argument("--count", type=int, default=200, help="number of sample images")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (median)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def _median_rate(fn: Callable[[], object], n_images: int, repeat: int) -> float:
    fn()  # warm-up (page cache, pools)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n_images / float(np.median(times))


def run(args: argparse.Namespace) -> int:
    import pixfeed
    from pixfeed._sample import make_sample_set

    t0 = time.perf_counter()
    paths = make_sample_set(args.dir, args.count)
    made = time.perf_counter() - t0
    blobs = [p.read_bytes() for p in paths]
    threads = pixfeed.get_num_threads()

    progress = Progress(len(blobs), "checking")
    ours = pixfeed.decode_batch(blobs)
    progress.update(len(blobs))
    progress.close()

    from PIL import Image

    def pil_one(b: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))

    # Equal work: both sides produce the same full-size RGB arrays (checked here).
    for a, b in zip(ours[:10], blobs[:10], strict=True):
        if a.shape != pil_one(b).shape:
            raise RuntimeError("pixfeed and Pillow disagree on an image's shape")

    results: dict[str, float] = {}
    results["pixfeed decode_batch"] = _median_rate(
        lambda: pixfeed.decode_batch(blobs), len(blobs), args.repeat
    )
    results["Pillow, 1 thread"] = _median_rate(
        lambda: [pil_one(b) for b in blobs], len(blobs), args.repeat
    )
    with ThreadPoolExecutor(threads) as pool:
        results[f"Pillow, {threads}-thread pool"] = _median_rate(
            lambda: list(pool.map(pil_one, blobs)), len(blobs), args.repeat
        )
    base = results["Pillow, 1 thread"]
    report = {
        "workload": f"decode {len(blobs)} JPEGs (~500x375, q90) from memory to RGB uint8",
        "threads": threads,
        "sample_dir": str(paths[0].parent),
        "sample_made_seconds": round(made, 2),
        "images_per_second": {k: round(v, 1) for k, v in results.items()},
        "speedup_vs_pillow": {k: round(v / base, 2) for k, v in results.items()},
    }
    if args.json:
        print_json(report)
        return 0
    print(f"pixfeed {pixfeed.__version__} demo: {report['workload']}")
    print(f"sample set: {report['sample_dir']} ({threads} threads)")
    for name, rate in results.items():
        print(f"  {name:<28} {rate:8.1f} images/s   {rate / base:5.2f}x Pillow")
    return 0
