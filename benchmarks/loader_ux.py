"""Floors of the loader-UX features, measured in one run (best of ``--repeat`` each):

- bucketed loading (1,000 ImageNet-like JPEGs of mixed aspect ratios, four buckets near
  224^2 area) against the random_resized Loader over the same files;
- ``scan --verify``'s decoding (`pixfeed.scan.verify`) against one ``decode_batch`` call;
- header-only size reading (`pixfeed.buckets.image_sizes`, cache off) against full decoding.

Usage: python -m benchmarks.loader_ux [--count 1000] [--repeat 3] [--threads N]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_mixed(directory: Path, count: int) -> list[str]:
    """ImageNet-like JPEGs (~500x375, q90) turned into a mix of landscape, portrait and
    square images."""
    from PIL import Image

    from pixfeed._sample import make_sample_set

    base = make_sample_set(directory / "base", count)
    out = []
    for i, p in enumerate(base):
        q = directory / f"mixed{i:05d}.jpg"
        out.append(str(q))
        if q.exists():
            continue
        im = Image.open(p)
        if i % 3 == 1:
            im = im.transpose(Image.Transpose.ROTATE_90)  # portrait
        elif i % 3 == 2:
            s = min(im.size)
            im = im.crop((0, 0, s, s))  # square
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        q.write_bytes(buf.getvalue())
    return out


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import pixfeed
    from pixfeed import buckets as bk
    from pixfeed.scan import verify

    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--dir", default="/tmp/pixfeed_loader_ux")
    a = ap.parse_args()
    paths = make_mixed(Path(a.dir), a.count)
    t = a.threads
    buckets = pixfeed.Buckets([(224, 224), (256, 192), (192, 256), (288, 176)])

    def run_loader(pipe: Any) -> None:
        ld = pixfeed.Loader(paths, pipeline=pipe, batch_size=64, threads=t)
        for _ in ld:
            pass

    rrc = pixfeed.Pipeline(224)
    bucketed = pixfeed.Pipeline(buckets, crop="random_resized")
    run_loader(bucketed)  # warm the page cache and the size cache
    rows = {}
    for _ in range(a.repeat):  # interleaved, best of each
        for name, pipe in (("random_resized", rrc), ("bucketed", bucketed)):
            rows[name] = min(rows.get(name, 1e9), best(lambda p=pipe: run_loader(p), 1))
    n = len(paths)
    print(f"loader random_resized: {n / rows['random_resized']:.0f} img/s")
    print(
        f"loader bucketed:       {n / rows['bucketed']:.0f} img/s "
        f"({rows['random_resized'] / rows['bucketed']:.2f}x; floor 0.9x)"
    )

    def sizes_uncached() -> None:
        bk._cache.clear()
        bk.image_sizes(paths, threads=t)

    header = best(sizes_uncached, a.repeat)
    full = best(lambda: pixfeed.decode_batch(paths, threads=t), a.repeat)
    print(
        f"header sizes: {n / header:.0f} files/s; full decode {n / full:.0f} files/s "
        f"({full / header:.1f}x; floor 20x)"
    )
    ver = best(lambda: verify(paths, threads=t), a.repeat)
    print(
        f"scan --verify decoding: {n / ver:.0f} files/s vs decode_batch {n / full:.0f} "
        f"({full / ver:.2f}x; floor 0.9x)"
    )
    assert np.isfinite(header)


if __name__ == "__main__":
    main()
