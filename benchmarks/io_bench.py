"""The I/O suite: ``python -m benchmarks --suite io``.

Workloads:

* ``scan``: list the 80,000 ``*.jpg`` among 100,000 empty files in 1,000 folders (10 x 100;
  per folder 80 ``.jpg``, 10 ``.png``, 10 ``.txt``), generated once under
  ``benchmarks/out/scan-tree-v1/`` (the page cache holds the directories: this measures the
  walk, not the disk). ``pixfeed.scan(root, extensions=["jpg"])`` returns the sorted list;
  the peers return the same sorted list (they sort: equal work, the contract of ``scan``),
  and the plain unsorted ``os.scandir`` walk is shown too. Floor: >= 1.5x recursive
  ``os.scandir``, the best of sorted and unsorted.
* ``scan-walk``: the same listing against ``os.walk`` and ``glob.glob('**/*.jpg')``.
  Floor: >= 3x ``os.walk``.
* ``cache-hit``: ``ImageCache.get`` hits on the 500x375 ImageNet-like JPEGs, all cached (one
  call = one ``get`` per file). Floor: <= 20 µs per hit. Shown beside it: the cheapest
  possible Python cache (a dict checked with ``os.stat``, no lock, no LRU order) and what a
  miss costs (``pixfeed.decode``).

Equal work: the path lists are compared by a digest of the sorted list (computed outside the
timing); cached arrays are compared pixel by pixel.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .data import DataSet
from .harness import Case, Floor, Workload

TITLE = "io"
WORKLOADS: list[tuple[str, str]] = [
    ("scan", "scan: 80,000 *.jpg among 100,000 files in 1,000 folders, sorted (vs os.scandir)"),
    ("scan-walk", "scan: the same listing vs os.walk and glob"),
    ("cache-hit", "ImageCache.get: a hit on a cached 500x375 JPEG"),
]
INPUTS = "scan: 100,000 empty files in 1,000 folders; cache: the ImageNet-like 500x375 JPEGs"

TREE_VERSION = "v1"
TREE_DIR = Path(__file__).resolve().parent / "out" / f"scan-tree-{TREE_VERSION}"
TOP, SUB, JPG, PNG, TXT = 10, 100, 80, 10, 10


def ensure_tree(root: Path = TREE_DIR, log: Callable[[str], None] | None = print) -> Path:
    """Make the benchmark tree once (a marker written last says it is complete)."""
    marker = root / ".complete"
    if marker.exists():
        return root
    if log is not None:
        log(f"bench: making {TOP * SUB * (JPG + PNG + TXT):,} empty files in {root} ...")
    for t in range(TOP):
        for s in range(SUB):
            d = root / f"part{t:02d}" / f"set{s:03d}"
            d.mkdir(parents=True, exist_ok=True)
            names = (
                [f"img{k:03d}.jpg" for k in range(JPG)]
                + [f"img{k:03d}.png" for k in range(JPG, JPG + PNG)]
                + [f"note{k:03d}.txt" for k in range(TXT)]
            )
            for n in names:
                (d / n).touch()
    marker.touch()
    return root


def digest(paths: Sequence[str]) -> np.ndarray:
    """A fingerprint of a path list (equal lists, equal arrays)."""
    h = hashlib.sha256("\n".join(paths).encode("utf-8", "surrogateescape")).digest()
    return np.frombuffer(h, np.uint8).copy()


def scandir_walk(root: str) -> list[str]:
    """Recursive os.scandir: the fast hand-written walk (d_type, no stat per file)."""
    out: list[str] = []
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir():
                    stack.append(e.path)
                elif e.name.endswith(".jpg"):
                    out.append(e.path)
    return out


def walk_list(root: str) -> list[str]:
    return [
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".jpg")
    ]


def _scan_cases(root: str, with_scandir: bool, with_walk: bool) -> list[Case]:
    import pixfeed

    cases = [
        Case(
            "pixfeed",
            lambda: pixfeed.scan(root, extensions=["jpg"]),
            label="pixfeed.scan",
            summarize=digest,
            note=f"{pixfeed.get_num_threads()} threads, sorted list of str",
        ),
        Case(
            "pixfeed",
            lambda: pixfeed.scan(root, extensions=["jpg"], threads=1),
            label="pixfeed.scan (1 thread)",
            summarize=digest,
            primary=False,
            peer=False,
        ),
    ]

    def sorted_list(system: str, label: str, fn: Callable[[], list[str]]) -> Case:
        """A peer returning the sorted list, as pixfeed.scan does."""
        return Case(system, fn, label=label, summarize=digest)

    if with_scandir:
        cases += [
            sorted_list(
                "os.scandir", "os.scandir recursive + sorted", lambda: sorted(scandir_walk(root))
            ),
            Case(
                "os.scandir",
                lambda: scandir_walk(root),
                label="os.scandir recursive (unsorted)",
                summarize=lambda paths: digest(sorted(paths)),
                note="does less: walk order (compared after sorting, outside the timing)",
            ),
        ]
    if with_walk:
        cases += [
            sorted_list("os.walk", "os.walk + sorted", lambda: sorted(walk_list(root))),
            sorted_list(
                "glob",
                "glob ** + sorted",
                lambda: sorted(glob.glob(os.path.join(root, "**", "*.jpg"), recursive=True)),
            ),
        ]
    return cases


def _scan(name: str, title: str, vs_walk: bool) -> Workload:
    root = str(ensure_tree())
    n = TOP * SUB * JPG
    wl = Workload(
        name,
        title,
        f"List the {n:,} *.jpg files among {TOP * SUB * (JPG + PNG + TXT):,} in "
        f"{TOP * SUB:,} folders ({TOP} x {SUB}), as a sorted list of str paths. "
        "Throughput column: paths/s ('images').",
        n_images=n,
        input_megapixels=0.0,
    )
    for c in _scan_cases(root, with_scandir=not vs_walk, with_walk=vs_walk):
        wl.add(c)
    if vs_walk:
        wl.floor = Floor(3.0, ["os.walk + sorted"], ">= 3x os.walk")
    else:
        wl.floor = Floor(
            1.5,
            ["os.scandir recursive + sorted", "os.scandir recursive (unsorted)"],
            ">= 1.5x recursive os.scandir (best of sorted / unsorted)",
        )
    wl.notes.append(
        "The peers match '.jpg' case-sensitively (the tree has no other spelling); "
        "pixfeed.scan matches case-insensitively, on os.path.splitext's extension."
    )
    return wl


def _cache_hit(images: DataSet, quick: bool) -> Workload:
    import pixfeed

    files = [f.path for f in images.files if (f.width, f.height) == (500, 375)]
    if quick:
        files = files[:16]
    cache = pixfeed.ImageCache(max_mb=1024)
    for p in files:  # the benchmark files are old: no racy window
        cache.get(p)
    assert len(cache) == len(files), "every file should be cached"

    def hits() -> list[np.ndarray]:
        get = cache.get
        return [get(p) for p in files]

    plain: dict[str, tuple[tuple[int, int, int, int, int], np.ndarray]] = {}
    for p in files:
        st = os.stat(p)
        plain[p] = (
            (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev),
            cache.get(p),
        )

    def dict_stat() -> list[np.ndarray]:
        out = []
        for p in files:
            st = os.stat(p)
            sig, img = plain[p]
            if sig == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev):
                out.append(img)
        return out

    wl = Workload(
        "cache-hit",
        WORKLOADS[2][1],
        f"ImageCache.get on {len(files)} cached 500x375 JPEGs (one call: one get per file); "
        "a hit = os.stat + a locked dict lookup + LRU touch, returning the shared read-only "
        "array.",
        n_images=len(files),
        input_megapixels=len(files) * 500 * 375 / 1e6,
    )
    wl.add(Case("pixfeed", hits, label="pixfeed ImageCache.get (hit)"))
    wl.add(
        Case(
            "python",
            dict_stat,
            label="dict + os.stat",
            note="lower bound of a Python cache: no lock, no LRU, no eviction",
        )
    )
    wl.add(
        Case(
            "pixfeed",
            lambda: [pixfeed.decode(p) for p in files],
            label="pixfeed.decode (no cache: a miss)",
            primary=False,
            peer=False,
        )
    )
    wl.floor = Floor(1.0, [], "<= 20 µs per hit", max_seconds_per_image=20e-6)
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool = False, only: Sequence[str] | None = None
) -> list[Workload]:
    makers: dict[str, Callable[[], Workload]] = {
        "scan": lambda: _scan("scan", WORKLOADS[0][1], vs_walk=False),
        "scan-walk": lambda: _scan("scan-walk", WORKLOADS[1][1], vs_walk=True),
        "cache-hit": lambda: _cache_hit(sets["imagenet"], quick),
    }
    return [makers[name]() for name, _ in WORKLOADS if not only or name in only]
