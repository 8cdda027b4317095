"""Two builds of pixfeed on the same workloads, interleaved: did a change move speed?

    python -m benchmarks.ab OLD_PYTHON_DIR NEW_PYTHON_DIR [--rounds N]

Each directory is a ``python/`` folder holding a built ``pixfeed`` package (e.g. a worktree of
an older commit with its native module copied in). Every (round, workload) runs OLD then NEW
(the order alternates each round) in fresh interpreters, so both see the same machine state;
each run times a few calls after a warm-up and reports its median. The report gives, per
workload, the median over rounds of each build and NEW/OLD time (< 1 means NEW is faster).
Uses the image sets of the decode, crop and loader suites (made on first use).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import data

# name -> (setup, timed statement): run in the child with `pixfeed` from the tree under test
# and `files` (a list of paths) bound by the setup.
WORKLOADS: dict[str, tuple[str, str]] = {
    "decode-batch-64": (
        "files = LOADER[:64]",
        "pixfeed.decode_batch(files, threads=2)",
    ),
    "loader-rrc-epoch": (
        "files = LOADER; pipe = pixfeed.Pipeline(224, flip=0.5)",
        "for _ in pixfeed.Loader(files, pipeline=pipe, batch_size=64, threads=2): pass",
    ),
    "loader-center-epoch": (
        "files = LOADER; pipe = pixfeed.Pipeline(224, crop='center', dtype='uint8')",
        "for _ in pixfeed.Loader(files, pipeline=pipe, batch_size=64, shuffle=False, threads=2):"
        " pass",
    ),
    "pipeline-exact-256": (
        "files = LOADER[:256]; pipe = pixfeed.Pipeline(224, exact=True, dtype='uint8')",
        "pipe(files, seed=1, threads=2)",
    ),
    "crop-paths-gray4000": (
        "files = CROP; n = len(files)",
        "pixfeed.crop_paths(files, [0.3] * n, [0.3] * n, [0.1] * n, 224, threads=2)",
    ),
    "crop-batch-64": (
        "import numpy as np; rng = np.random.default_rng(0);"
        " imgs = rng.integers(0, 255, (64, 480, 640, 3), dtype=np.uint8);"
        " boxes = [(int(x), int(y), 224, 224) for x, y in zip(rng.integers(0, 416, 64),"
        " rng.integers(0, 256, 64))]",
        "pixfeed.crop(imgs, boxes, threads=2)",
    ),
    "center-crop-64": (
        "import numpy as np; rng = np.random.default_rng(0);"
        " imgs = rng.integers(0, 255, (64, 480, 640, 3), dtype=np.uint8)",
        "pixfeed.center_crop(imgs, 320, threads=2)",
    ),
    "resize-batch-64": (
        "import numpy as np; rng = np.random.default_rng(0);"
        " imgs = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(64)]",
        "pixfeed.resize(imgs, (256, 256), antialias=False, threads=2)",
    ),
}

CHILD = """
import json, sys, time, statistics
import pixfeed
LOADER = {loader!r}
CROP = {crop!r}
{setup}
def run():
    {stmt}
run()
times = []
for _ in range({calls}):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
print(json.dumps({{"median": statistics.median(times), "file": pixfeed.__file__}}))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__)
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=3)
    p.add_argument("--only", nargs="*", default=None, choices=sorted(WORKLOADS))
    args = p.parse_args(argv)
    loader = data.ensure_loader(log=None)["imagenet1000"].paths
    crop = data.ensure_crop(log=None)["gray4000_jpeg"].paths
    names = args.only or list(WORKLOADS)
    times: dict[str, dict[str, list[float]]] = {n: {"old": [], "new": []} for n in names}
    for r in range(args.rounds):
        for name in names:
            setup, stmt = WORKLOADS[name]
            code = CHILD.format(loader=loader, crop=crop, setup=setup, stmt=stmt, calls=args.calls)
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for which in order:
                tree = getattr(args, which)
                env = {"PYTHONPATH": str(tree.resolve()), "PATH": "/usr/bin:/bin"}
                out = subprocess.run(
                    [sys.executable, "-c", code], env=env, capture_output=True, text=True
                )
                if out.returncode != 0:
                    print(out.stderr, file=sys.stderr)
                    return 1
                res = json.loads(out.stdout.strip().splitlines()[-1])
                if not res["file"].startswith(str(tree.resolve())):
                    print(f"{which}: imported {res['file']}, not from {tree}", file=sys.stderr)
                    return 1
                times[name][which].append(res["median"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print("| workload | old (median) | new (median) | new / old time |")
    print("|---|---:|---:|---:|")
    for name in names:
        old = statistics.median(times[name]["old"])
        new = statistics.median(times[name]["new"])
        print(f"| {name} | {old * 1e3:.1f} ms | {new * 1e3:.1f} ms | {new / old:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
