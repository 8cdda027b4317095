"""The shards suite (issue 16): the loader workload read from tar shards, side by side.

Workload: the loader suite's 1000 ImageNet-like JPEGs (``data.ensure_loader``), written once
into 8 tar shards in the WebDataset layout (``<key>.jpg`` + ``<key>.cls``) by
`pixfeed.write_shards`; RandomResizedCrop 224 + horizontal flip + normalize to float32
NCHW, batches of 64, 2 cores for every system, one shuffled epoch per call. Rows:

* ``shards-files``: pixfeed ``Loader(pixfeed.Shards(...))`` (global shuffle, each image a
  positioned read of its member) against pixfeed's file Loader over the same images as
  files. Floor >= 1.0x.
* ``shards-webdataset``: the same pixfeed row against ``webdataset.WebDataset`` + PIL +
  torchvision ``transforms.v2`` in a torch ``DataLoader(num_workers=2)`` (shard shuffle and
  a 1000-sample shuffle buffer, as a webdataset training script does). Floor >= 3x.
* ``shards-index``: the index of 100 shards (500 samples of two members each, quick: 20)
  built from their headers, in parallel (no sidecar index): one call indexes all 100.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import data as data_mod
from . import peers
from .data import DataSet
from .harness import Case, Floor, Workload
from .loader_bench import BATCH, MEAN, STD, THREADS, _consume

TITLE = "shards"
PEERS = ("webdataset", "torch", "torchvision")
WORKLOADS: list[tuple[str, str]] = [
    ("shards-files", "Loader over 8 tar shards vs over the same files: RRC 224 + flip + normalize"),
    (
        "shards-webdataset",
        "Loader over 8 tar shards vs webdataset + PIL + torchvision in a torch DataLoader",
    ),
    ("shards-index", "the member index of 100 shards, from their headers"),
]
N_SHARDS = 8
INDEX_SHARDS = 100
OUT = Path(__file__).resolve().parent / "out" / "shards"


def _write_shards(ds: DataSet, n: int) -> list[str]:
    """The first ``n`` images in 8 shards (made once per ``n``; labels: the index mod 1000)."""
    import pixfeed

    root = OUT / f"loader-{n}"
    done = root / "done"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        per = -(-n // N_SHARDS)
        pixfeed.write_shards(
            ds.paths[:n], list(range(n)), str(root / "train-%06d.tar"), max_count=per
        )
        done.write_text("ok")
    return sorted(str(p) for p in root.glob("train-*.tar"))


def _index_shards(per_shard: int) -> list[str]:
    """100 shards of ``per_shard`` samples, a 1 KiB ``.jpg`` and a ``.cls`` each (the index
    reads headers only, so member sizes barely matter)."""
    import io

    root = OUT / f"index-{per_shard}"
    done = root / "done"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        payload = bytes(1024)
        for s in range(INDEX_SHARDS):
            with tarfile.open(root / f"part-{s:04d}.tar", "w") as tar:
                for i in range(per_shard):
                    for ext, data in (("jpg", payload), ("cls", str(i % 1000).encode())):
                        info = tarfile.TarInfo(f"{s:04d}{i:06d}.{ext}")
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
        done.write_text("ok")
    return sorted(str(p) for p in root.glob("part-*.tar"))


def _pixfeed_case(
    sources: Any, labels: Any, label: str, note: str, primary: bool
) -> tuple[Case, Any]:
    import pixfeed

    pipe = pixfeed.Pipeline(224, crop="random_resized")
    loader = pixfeed.Loader(sources, labels, pipeline=pipe, batch_size=BATCH, threads=THREADS)
    n = len(sources)
    epoch = [0]

    def run() -> list[np.ndarray]:
        epoch[0] += 1
        loader.set_epoch(epoch[0])
        return _consume((x for x, _ in loader), n)

    return Case("pixfeed", run, label=label, note=note, primary=primary, peer=primary), loader


def _wds_loader(urls: list[str]) -> Any:
    import torch
    import webdataset as wds
    from torch.utils.data import DataLoader
    from torchvision.transforms import v2

    tf = v2.Compose(
        [
            v2.PILToTensor(),
            v2.RandomResizedCrop(224, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN.tolist(), STD.tolist()),
        ]
    )
    ds = (
        wds.WebDataset(urls, shardshuffle=len(urls), empty_check=False)
        .shuffle(1000)
        .decode("pil")
        .to_tuple("jpg", "cls")
        .map_tuple(tf, lambda c: c)
        .batched(BATCH, partial=True)
    )
    return DataLoader(
        ds, batch_size=None, num_workers=THREADS, persistent_workers=True, prefetch_factor=2
    )


def _count(batches: Any, n: int) -> list[np.ndarray]:
    """An epoch of an iterable loader whose last batches per worker may be partial: every
    image must arrive."""
    seen, last = 0, None
    for x, _ in batches:
        seen += len(x)
        last = x
    if seen != n or last is None:
        raise RuntimeError(f"expected {n} images, got {seen}")
    return [np.asarray(last[:1])]


def _workloads(ds: DataSet, n: int, names: Sequence[str]) -> list[Workload]:
    import pixfeed

    urls = _write_shards(ds, n)
    shards = pixfeed.Shards(urls, label="cls")
    out = []
    desc = (
        f"{n} files of '{ds.name}' in {len(urls)} tar shards (page cache), one epoch per call, "
        f"RandomResizedCrop 224 + flip + normalize, batches of {BATCH}, {THREADS} cores each."
    )

    def workload(k: int) -> Workload:
        """Workload ``k`` with its primary row: the Loader over the shards."""
        name, title = WORKLOADS[k]
        wl = Workload(name, title, desc, n, ds.megapixels(n))
        case, loader = _pixfeed_case(
            shards, None, "pixfeed Loader (shards)", "global shuffle", True
        )
        wl.add(case)
        wl.closers.append(loader.close)
        return wl

    if "shards-files" in names:
        wl = workload(0)
        files = ds.paths[:n]
        fcase, floader = _pixfeed_case(
            files, shards.labels, "pixfeed Loader (files)", "the same images", False
        )
        fcase.peer = True
        wl.add(fcase)
        wl.closers.append(floader.close)
        wl.floor = Floor(1.0, ["pixfeed Loader (files)"], ">= 1.0x pixfeed's file Loader")
        out.append(wl)
    if "shards-webdataset" in names:
        wl = workload(1)
        label = "webdataset + PIL + v2 (DataLoader)"
        try:
            dl = _wds_loader(urls)

            def run_wds(d: Any = dl) -> list[np.ndarray]:
                return _count(d, n)

            wl.add(Case("webdataset", run_wds, label=label, note="num_workers=2, shuffle(1000)"))
        except ImportError as e:
            wl.missing[label] = str(e)
        wl.floor = Floor(3.0, [label], ">= 3x webdataset + PIL + torchvision, 2 workers")
        out.append(wl)
    if "shards-index" in names:
        per = 20 if n < data_mod.N_LOADER else 500
        index_urls = _index_shards(per)
        wl = Workload(
            "shards-index",
            WORKLOADS[2][1],
            f"{INDEX_SHARDS} shards of {per} samples (2 members each), indexed from their "
            "headers in parallel, no sidecar index; per-item figures are per shard.",
            INDEX_SHARDS,
            0.0,
        )

        def run_index() -> list[np.ndarray]:
            sh = pixfeed.Shards(index_urls, image="jpg")
            if len(sh) != INDEX_SHARDS * per:
                raise RuntimeError(f"expected {INDEX_SHARDS * per} samples, got {len(sh)}")
            return [sh.shard_sizes]

        wl.add(Case("pixfeed", run_index, label="pixfeed Shards index", note=f"{THREADS} threads"))
        out.append(wl)
    return out


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    if not peers.get("pixfeed").ok:
        return []
    os.environ.setdefault("PIXFEED_NUM_THREADS", str(THREADS))
    n = 128 if quick else data_mod.N_LOADER
    return _workloads(sets["imagenet1000"], n, [w for w, _ in WORKLOADS if not only or w in only])


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    return data_mod.ensure_loader(log=log)


def data_info() -> dict[str, object]:
    return data_mod.loader_manifest_info()
