"""Peak memory of one loader system, measured in a fresh process (the loader suite's RSS floor).

``python -m benchmarks.loader_rss SYSTEM CROP N_FILES`` runs SYSTEM (``pixfeed`` or
``torch``: DataLoader(num_workers=2) + transforms.v2 on PIL) for two epochs over the first
N_FILES ImageNet-like benchmark files in a child process (the same command with an EPOCHS
argument) and prints one JSON line: the peaks of the summed resident set size (RSS) and
of the summed proportional set size (PSS: pages shared between DataLoader workers split
between them) of the child and all its children, sampled every 10 ms from /proc, in
bytes. Each system runs in its own interpreter, so one system's imports (torch costs about
0.9 GB per process) never count against another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _pss(pid: int) -> int:
    """Proportional set size (shared pages split between their users), in bytes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(root: int) -> tuple[int, int]:
    """Summed RSS and PSS of `root` and its descendants (from /proc; vanished processes
    count 0). RSS counts pages shared by DataLoader workers once per worker, PSS splits
    them."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    rss, pss, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
        pss += _pss(pid)
        todo += children.get(pid, [])
    return rss, pss


def _run_system(system: str, crop: str, n: int, epochs: int) -> None:
    from .data import ensure_loader
    from .loader_bench import BATCH, THREADS, _torch_loader

    paths = ensure_loader(log=None)["imagenet1000"].paths[:n]
    center = crop == "center"
    if system == "pixfeed":
        import pixfeed

        pipe = pixfeed.Pipeline(224, crop="center" if center else "random_resized")
        with pixfeed.Loader(paths, pipeline=pipe, batch_size=BATCH, threads=THREADS) as loader:
            for e in range(epochs):
                loader.set_epoch(e)
                for _ in loader:
                    pass
    elif system == "torch":
        loader = _torch_loader(paths, center, use_decode_jpeg=False)
        for _ in range(epochs):
            for _ in loader:
                pass
    else:
        raise SystemExit(f"unknown system {system!r}")


def measure(system: str, crop: str, n: int, epochs: int = 2) -> tuple[int, int]:
    """Peak tree RSS and peak tree PSS in bytes of a fresh process running `system` for
    `epochs` epochs."""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.loader_rss", system, crop, str(n), str(epochs)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0, 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss, pss = _tree_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{system} failed: {err.strip()[-500:]}")
    return peak[0], peak[1]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] in ("pixfeed", "torch"):
        _run_system(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        system, crop, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        rss, pss = measure(system, crop, n)
        print(json.dumps({"system": system, "crop": crop, "peak_rss": rss, "peak_pss": pss}))
