"""`pixfeed demo`: the main job on a built-in sample set — the training loader
(RandomResizedCrop 224 + flip + normalize to float32 NCHW, batches of 64) — timed against
the usual PyTorch recipe (DataLoader workers running torchvision transforms on PIL images),
or, without torch, against the same work done with Pillow and numpy in a thread pool."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed.cli._output import Progress, print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the loader on a built-in sample set, against PyTorch")
    p.add_argument("--dir", type=Path, default=None, help="where to make/keep the sample set")
    p.add_argument("--count", type=int, default=256, help="number of sample images")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per system")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def _rate(run_epoch: Callable[[int], int], epochs: int) -> float:
    run_epoch(0)  # warm-up: page cache, pools, worker start
    t0 = time.perf_counter()
    n = sum(run_epoch(e + 1) for e in range(epochs))
    return n / (time.perf_counter() - t0)


def _torch_baseline(paths: list[str], batch: int, workers: int) -> Callable[[int], int] | None:
    try:
        import torch
        from torch.utils.data import DataLoader, Dataset
        from torchvision.transforms import v2
    except ImportError:
        return None
    from PIL import Image

    tf = v2.Compose(
        [
            v2.PILToTensor(),
            v2.RandomResizedCrop(224, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )

    class Files(Dataset[Any]):
        def __len__(self) -> int:
            return len(paths)

        def __getitem__(self, i: int) -> Any:
            return tf(Image.open(paths[i]).convert("RGB"))

    dl = DataLoader(
        Files(), batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=True
    )

    def epoch(_: int) -> int:
        return sum(len(b) for b in dl)

    return epoch


def _pillow_baseline(paths: list[str], batch: int, threads: int) -> Callable[[int], int]:
    """The same work as the loader with Pillow + numpy in a thread pool (no torch)."""
    from PIL import Image

    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    pool = ThreadPoolExecutor(threads)

    def one(args: tuple[str, int]) -> np.ndarray:
        path, seed = args
        rng = np.random.default_rng(seed)
        img = Image.open(path).convert("RGB")
        w, h = img.size
        area = w * h
        cw, ch = w, h
        for _ in range(10):
            ta = area * rng.uniform(0.08, 1.0)
            ar = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
            tw, th = round(np.sqrt(ta * ar)), round(np.sqrt(ta / ar))
            if 0 < tw <= w and 0 < th <= h:
                cw, ch = tw, th
                break
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = img.resize((224, 224), Image.Resampling.BILINEAR, box=(x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        a = (np.asarray(img, np.float32) / 255.0 - mean) / std
        return a.transpose(2, 0, 1)

    def epoch(e: int) -> int:
        n = 0
        for b in range(0, len(paths), batch):
            chunk = [(p, e * 1_000_003 + b + k) for k, p in enumerate(paths[b : b + batch])]
            n += len(np.stack(list(pool.map(one, chunk))))
        return n

    return epoch


def run(args: argparse.Namespace) -> int:
    import pixfeed
    from pixfeed._sample import make_sample_set

    t0 = time.perf_counter()
    progress = Progress(1, "making the sample set")
    paths = [str(p) for p in make_sample_set(args.dir, args.count)]
    progress.update()
    progress.close()
    made = time.perf_counter() - t0
    threads = pixfeed.get_num_threads()

    loader = pixfeed.Loader(paths, batch_size=args.batch_size, seed=0)

    def pixfeed_epoch(e: int) -> int:
        loader.set_epoch(e)
        return sum(len(b) for b in loader)

    results: dict[str, float] = {}
    results["pixfeed Loader"] = _rate(pixfeed_epoch, args.epochs)
    torch_epoch = _torch_baseline(paths, args.batch_size, threads)
    if torch_epoch is not None:
        baseline = f"torch DataLoader({threads} workers) + transforms.v2 on PIL"
        results[baseline] = _rate(torch_epoch, args.epochs)
    else:
        baseline = f"Pillow + numpy, {threads}-thread pool"
        results[baseline] = _rate(_pillow_baseline(paths, args.batch_size, threads), args.epochs)
    base = results[baseline]
    report = {
        "workload": (
            f"{len(paths)} JPEGs (~500x375) -> RandomResizedCrop 224 + flip + normalize, "
            f"float32 NCHW, batches of {args.batch_size}"
        ),
        "threads": threads,
        "sample_dir": str(Path(paths[0]).parent),
        "sample_made_seconds": round(made, 2),
        # Each system's rate over its timed epochs (after one warm-up epoch).
        "images_per_second": {k: round(v, 1) for k, v in results.items()},
        "speedup_vs_baseline": {k: round(v / base, 2) for k, v in results.items()},
        # The Loader's own counters over all its epochs, the warm-up included (its
        # images_per_second: images over the time spent iterating).
        "loader_stats": loader.stats(),
        "loader_stats_epochs": args.epochs + 1,
    }
    if args.json:
        print_json(report)
        return 0
    print(f"pixfeed {pixfeed.__version__} demo: {report['workload']}")
    print(f"sample set: {report['sample_dir']} ({threads} threads)")
    for name, rate in results.items():
        print(f"  {name:<52} {rate:8.1f} images/s   {rate / base:5.2f}x")
    return 0
