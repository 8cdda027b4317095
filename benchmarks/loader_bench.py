"""The loader suite: one epoch of training batches, side by side.

Workload: 1000 ImageNet-like JPEGs (``data.ensure_loader``; files in the page cache),
RandomResizedCrop 224 (or Resize 256 + CenterCrop 224) + horizontal flip + normalize to
float32 NCHW, batches of 64, both cores for every system. Each system produces the same batch
shapes and dtype; the crops are random, so pixels are not compared. Systems:

* pixfeed ``Loader`` (fused native pass: header-planned crop, ROI + DCT-scaled decode,
  antialiased resize, flip + normalize into the batch);
* torch ``DataLoader(num_workers=2)`` with torchvision ``transforms.v2`` on PIL images
  (antialiased), and the same with ``torchvision.io.decode_jpeg`` on tensors;
* a 2-thread pool of cv2 (imdecode + crop + resize + flip + normalize; INTER_LINEAR, not
  antialiased), and of simplejpeg + cv2 (DCT-scaled decode where the crop allows, INTER_AREA
  for the downscale);
* plain simplejpeg full decode on 2 threads (the floor: the fused path must cost less than a
  decode), reading each file as pixfeed's Loader does, and over the bytes already in memory
  (compared with the Loader over the same bytes: equal work both ways).
* SPDL (FFmpeg decode + filter graph crop/scale/flip, torch normalize) on 2 threads;
* Vantix's Rust core ``load_images_fast`` (no crop: the whole image squashed to 224x224).
SPDL and Vantix are reported missing when they cannot be imported.

The ``-exact`` workloads time ``Pipeline(exact=True)`` (torchvision's pixels byte for byte)
against torch ``DataLoader(num_workers=2)`` running the same transforms.v2 on PIL images
(crop, resize and flip on the PIL image, then to a tensor): floor 2.5x.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import data as data_mod
from . import peers
from .data import DataSet
from .harness import Case, Floor, Workload

TITLE = "loader"
WORKLOADS: list[tuple[str, str]] = [
    ("loader-rrc", "RandomResizedCrop 224 + flip + normalize, float32 NCHW, batches of 64"),
    (
        "loader-center",
        "Resize 256 + CenterCrop 224 + flip + normalize, float32 NCHW, batches of 64",
    ),
    (
        "loader-rrc-exact",
        "exact mode: RandomResizedCrop 224 + flip + normalize, torchvision-on-PIL pixels",
    ),
    (
        "loader-center-exact",
        "exact mode: Resize 256 + CenterCrop 224 + flip + normalize, torchvision-on-PIL pixels",
    ),
]
BATCH = 64
THREADS = 2
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def _rrc_box(w: int, h: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    area = w * h
    for _ in range(10):
        ta = area * rng.uniform(0.08, 1.0)
        ar = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(ta * ar)), round(math.sqrt(ta / ar))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)), cw, ch
    return 0, 0, w, h


def _center_box(w: int, h: int) -> tuple[int, int, int, int]:
    s = 256 / min(w, h)
    cw, ch = round(224 / s), round(224 / s)
    return (w - cw) // 2, (h - ch) // 2, cw, ch


def _batches(n: int) -> list[range]:
    return [range(b, min(b + BATCH, n)) for b in range(0, n, BATCH)]


def _consume(batches: Iterable[Any], n: int) -> list[np.ndarray]:
    """A training loop's view of an epoch: each batch is taken and dropped (an epoch of
    1000 float32 crops is 600 MB: keeping them all would time the allocator, not the
    loader). Returns the last batch for the harness's shape check, after checking that
    the epoch had every batch."""
    count, last = 0, None
    for b in batches:
        count += 1
        last = b
    if count != len(_batches(n)) or last is None:
        raise RuntimeError(f"expected {len(_batches(n))} batches, got {count}")
    return [np.asarray(last)]


def _loader_epoch(loader: Any, n: int, epoch: list[int]) -> Callable[[], list[np.ndarray]]:
    """One epoch of a pixfeed Loader per call: the next epoch number of the counter ``epoch``
    (shared by the Loaders of a workload), then its batches consumed."""

    def call() -> list[np.ndarray]:
        epoch[0] += 1
        loader.set_epoch(epoch[0])
        return _consume(loader, n)

    return call


def _torch_case(loader: Any, n: int, label: str, note: str) -> Case:
    """One epoch of a torch DataLoader per call (each batch as numpy, as consumed)."""
    return Case("torch", lambda: _consume((b.numpy() for b in loader), n), label=label, note=note)


def _pool_epoch(
    blobs: list[bytes],
    one: Callable[[bytes, int], Any],
    ex: ThreadPoolExecutor,
    stack: Callable[[list[Any]], np.ndarray] = np.stack,
) -> Callable[[], list[np.ndarray]]:
    """One epoch per call: each batch's items made by ``one(blob, index)`` on the pool (half
    a batch per thread), then made one batch by ``stack``."""

    def batches() -> Iterator[np.ndarray]:
        for r in _batches(len(blobs)):
            items = list(r)
            half = (len(items) + 1) // 2
            parts = [items[:half], items[half:]]
            chunks = ex.map(lambda idx: [one(blobs[i], i) for i in idx], parts)
            yield stack([a for part in chunks for a in part])

    def call() -> list[np.ndarray]:
        return _consume(batches(), len(blobs))

    return call


def _cv2_one(cv2: Any, center: bool) -> Callable[[bytes, int], np.ndarray]:
    def one(b: bytes, i: int) -> np.ndarray:
        rng = np.random.default_rng(i)
        img = cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR_RGB)
        h, w = img.shape[:2]
        x, y, cw, ch = _center_box(w, h) if center else _rrc_box(w, h, rng)
        img = cv2.resize(img[y : y + ch, x : x + cw], (224, 224), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        return ((img.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)

    return one


def _simplejpeg_cv2_one(sj: Any, cv2: Any, center: bool) -> Callable[[bytes, int], np.ndarray]:
    def one(b: bytes, i: int) -> np.ndarray:
        rng = np.random.default_rng(i)
        h, w, _, _ = sj.decode_jpeg_header(b)
        x, y, cw, ch = _center_box(w, h) if center else _rrc_box(w, h, rng)
        # Tuned: let libjpeg-turbo scale the whole image down as far as the crop allows.
        f = min(cw / 224, ch / 224)
        img = sj.decode_jpeg(b, min_width=math.ceil(w / f), min_height=math.ceil(h / f))
        s = img.shape[1] / w
        x, y, cw, ch = int(x * s), int(y * s), max(1, int(cw * s)), max(1, int(ch * s))
        img = cv2.resize(img[y : y + ch, x : x + cw], (224, 224), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        return ((img.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)

    return one


def _torch_loader(
    paths: list[str], center: bool, use_decode_jpeg: bool, on_pil: bool = False
) -> Any:
    import torch
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import v2

    crop = (
        [v2.Resize(256, antialias=True), v2.CenterCrop(224)]
        if center
        else [v2.RandomResizedCrop(224, antialias=True)]
    )
    tail = [
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(MEAN.tolist(), STD.tolist()),
    ]
    if use_decode_jpeg:
        from torchvision.io import decode_jpeg, read_file

        tf = v2.Compose([*crop, *tail])

        class Files(Dataset[Any]):
            def __len__(self) -> int:
                return len(paths)

            def __getitem__(self, i: int) -> Any:
                return tf(decode_jpeg(read_file(paths[i])))

    else:
        from PIL import Image

        if on_pil:
            # Crop, resize and flip on the PIL image (Pillow's resize), then to a tensor.
            tf = v2.Compose([*crop, tail[0], v2.PILToTensor(), *tail[1:]])
        else:
            tf = v2.Compose([v2.PILToTensor(), *crop, *tail])

        class Files(Dataset[Any]):  # type: ignore[no-redef]
            def __len__(self) -> int:
                return len(paths)

            def __getitem__(self, i: int) -> Any:
                return tf(Image.open(paths[i]).convert("RGB"))

    return DataLoader(
        Files(),
        batch_size=BATCH,
        shuffle=True,
        num_workers=THREADS,
        # Persistent: the steady state of a training run, without worker start-up in every
        # timed epoch. Persistent workers stay idle between epochs: they resume (and
        # prefetch) only when the next epoch's iterator is created, inside the timed call
        # (torch.utils.data.dataloader._MultiProcessingDataLoaderIter._reset), so they take
        # no core from the systems timed in between.
        persistent_workers=True,
        prefetch_factor=2,
    )


def _epoch_workload(ds: DataSet, n: int, index: int, notes: list[str]) -> Workload:
    """Workload ``WORKLOADS[index]``: one epoch over the first ``n`` files of ``ds``."""
    name, title = WORKLOADS[index]
    paths = ds.paths[:n]
    return Workload(
        name=name,
        title=title,
        description=(
            f"{len(paths)} files of '{ds.name}' (in the page cache), one epoch per call: "
            f"{title}; every system on {THREADS} cores."
        ),
        n_images=len(paths),
        input_megapixels=ds.megapixels(n),
        notes=notes,
    )


def _workload(ds: DataSet, n: int, center: bool) -> Workload:
    paths = ds.paths[:n]
    blobs = ds.read(n)
    wl = _epoch_workload(
        ds,
        n,
        1 if center else 0,
        [
            "Random crops differ between systems (each draws its own): outputs are compared "
            "by shape and dtype only.",
            "cv2 and simplejpeg+cv2 do not antialias (INTER_LINEAR / INTER_AREA); pixfeed and "
            "torchvision do.",
        ],
    )
    px = peers.get("pixfeed")
    if px.ok:
        pixfeed = px.module
        pipe = pixfeed.Pipeline(224, crop="center" if center else "random_resized")
        epoch = [0]
        # Over the files (the system measured), and over the bytes already in memory: the
        # equal-work partner of the decode-only row that decodes bytes (the pools and SPDL
        # get bytes too).
        for sources, label, note, primary in [
            (paths, "pixfeed Loader", "prefetch 2; reads the files", True),
            (
                blobs,
                "pixfeed Loader (bytes in memory)",
                "variant: the same Loader over the files' bytes",
                False,
            ),
        ]:
            loader = pixfeed.Loader(sources, pipeline=pipe, batch_size=BATCH, threads=THREADS)
            run_pixfeed = _loader_epoch(loader, len(paths), epoch)
            wl.add(
                Case("pixfeed", run_pixfeed, label=label, note=note, primary=primary, peer=primary)
            )
            wl.closers.append(loader.close)
    try:
        import torch
        import torchvision  # noqa: F401

        for use_dj, label in [
            (False, "torch DataLoader + v2 (PIL)"),
            (True, "torch DataLoader + decode_jpeg"),
        ]:
            dl = _torch_loader(paths, center, use_dj)
            wl.add(_torch_case(dl, len(paths), label, "num_workers=2, persistent workers"))
    except ImportError as e:
        wl.missing["torch DataLoader"] = str(e)
    ex = ThreadPoolExecutor(THREADS)
    wl.closers.append(ex.shutdown)
    cv = peers.get("cv2")
    if cv.ok:
        cv.module.setNumThreads(1)
        wl.add(
            Case(
                "cv2",
                _pool_epoch(blobs, _cv2_one(cv.module, center), ex),
                label="cv2 pool",
                note="2 threads, INTER_LINEAR",
            )
        )
    else:
        wl.missing["cv2 pool"] = cv.error or "not installed"
    sj = peers.get("simplejpeg")
    if sj.ok and cv.ok:
        wl.add(
            Case(
                "simplejpeg",
                _pool_epoch(blobs, _simplejpeg_cv2_one(sj.module, cv.module, center), ex),
                label="simplejpeg + cv2 pool",
                note="2 threads, scaled decode, INTER_AREA",
            )
        )

        def decode_only(from_files: bool) -> Callable[[], list[np.ndarray]]:
            # Each image decoded and dropped, as the other systems' batches are.
            def part(idx: Sequence[int]) -> np.ndarray:
                a = None
                for i in idx:
                    if from_files:
                        with open(paths[i], "rb") as f:
                            a = sj.module.decode_jpeg(f.read())
                    else:
                        a = sj.module.decode_jpeg(blobs[i])
                assert a is not None
                return a

            def call() -> list[np.ndarray]:
                half = (len(blobs) + 1) // 2
                outs = ex.map(part, [range(half), range(half, len(blobs))])
                return list(outs)[:1]  # shapes differ: report one

            return call

        wl.add(
            Case(
                "simplejpeg",
                decode_only(True),
                label="simplejpeg decode only",
                note="full decode, 2 threads, no crop/resize; reads the files (as pixfeed Loader)",
            )
        )
        wl.add(
            Case(
                "simplejpeg",
                decode_only(False),
                label="simplejpeg decode only (bytes in memory)",
                note="the same over the bytes already in memory (as the Loader variant)",
            )
        )
    try:
        import spdl.io as spdl_io
        import torch

        torch.set_num_threads(THREADS)
        wl.add(
            Case(
                "spdl",
                _spdl_epoch(spdl_io, blobs, center, ex),
                label="SPDL",
                note="2 threads, FFmpeg decode + filter graph (bilinear, swscale), torch normalize",
            )
        )
    except ImportError as e:
        wl.missing["SPDL"] = f"not importable here: {e}"
    try:
        from vantixloader import vantix_core

        def run_vantix() -> list[np.ndarray]:
            return _consume(
                (
                    vantix_core.load_images_fast([paths[i] for i in r], 224, 224, True)
                    for r in _batches(len(paths))
                ),
                len(paths),
            )

        wl.add(
            Case(
                "vantix",
                run_vantix,
                label="Vantix core",
                note="load_images_fast(augment=True): image crate decode, whole image "
                "squashed to 224x224 (no crop), rayon on 2 cores",
            )
        )
    except ImportError as e:
        wl.missing["Vantix core"] = f"not importable here: {e}"
    against = [c.label for c in wl.cases if c.system != "pixfeed" and "decode only" not in c.label]
    wl.floor = Floor(
        1.5,
        [a for a in against if "pool" in a],
        ">= 1.5x a tuned simplejpeg + cv2 thread pool (and >= 3x torch DataLoader, "
        ">= 1.0x plain simplejpeg decode: see the table)",
    )
    return wl


def _exact_workload(ds: DataSet, n: int, center: bool) -> Workload:
    """pixfeed's exact mode (full-scale accurate decode, Pillow's resize arithmetic: the
    bytes torchvision.transforms.v2 computes on PIL images) against that very pipeline in a
    torch DataLoader."""
    paths = ds.paths[:n]
    wl = _epoch_workload(
        ds,
        n,
        3 if center else 2,
        [
            "Both systems compute torchvision's pixels (pixfeed exact=True equals v2 on PIL "
            "byte for byte for the same boxes); each draws its own random crops, so outputs "
            "are compared by shape and dtype only.",
        ],
    )
    px = peers.get("pixfeed")
    if px.ok:
        pipe = px.module.Pipeline(224, crop="center" if center else "random_resized", exact=True)
        loader = px.module.Loader(paths, pipeline=pipe, batch_size=BATCH, threads=THREADS)
        run_pixfeed = _loader_epoch(loader, len(paths), [0])
        wl.add(Case("pixfeed", run_pixfeed, label="pixfeed Loader (exact)", note="exact=True"))
        wl.closers.append(loader.close)
    label = "torch DataLoader + v2 on PIL"
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401

        dl = _torch_loader(paths, center, False, on_pil=True)
        note = "num_workers=2, persistent workers; crop/resize/flip on PIL images"
        wl.add(_torch_case(dl, len(paths), label, note))
    except ImportError as e:
        wl.missing[label] = str(e)
    wl.floor = Floor(2.5, [label], ">= 2.5x torch DataLoader(num_workers=2) + v2 on PIL")
    return wl


def _spdl_epoch(
    spdl_io: Any, blobs: list[bytes], center: bool, ex: ThreadPoolExecutor
) -> Callable[[], list[np.ndarray]]:
    """SPDL's way: FFmpeg decodes, its filter graph crops / scales / flips / converts to RGB,
    ``convert_frames`` stacks a batch; torch normalizes to float32 NCHW (2 threads)."""
    import torch

    mean = torch.from_numpy(MEAN).view(1, 3, 1, 1)
    std = torch.from_numpy(STD).view(1, 3, 1, 1)

    def frames(b: bytes, i: int) -> Any:
        rng = np.random.default_rng(i)
        packets = spdl_io.demux_image(b)
        if center:
            desc = (
                "scale=w=256:h=256:force_original_aspect_ratio=increase:flags=bilinear,"
                "crop=w=224:h=224"
            )
        else:
            w, h = packets.codec.width, packets.codec.height
            x, y, cw, ch = _rrc_box(w, h, rng)
            desc = f"crop=w={cw}:h={ch}:x={x}:y={y},scale=w=224:h=224:flags=bilinear"
        if rng.random() < 0.5:
            desc += ",hflip"
        return spdl_io.decode_packets(packets, filter_desc=desc + ",format=rgb24")

    def to_batch(batch_frames: list[Any]) -> np.ndarray:
        buf = spdl_io.convert_frames(batch_frames)
        t = spdl_io.to_torch(buf).permute(0, 3, 1, 2).float().div_(255.0)
        return t.sub_(mean).div_(std).contiguous().numpy()  # type: ignore[no-any-return]

    return _pool_epoch(blobs, frames, ex, to_batch)


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    n = 128 if quick else data_mod.N_LOADER
    makers = {
        "loader-rrc": lambda: _workload(sets["imagenet1000"], n, center=False),
        "loader-center": lambda: _workload(sets["imagenet1000"], n, center=True),
        "loader-rrc-exact": lambda: _exact_workload(sets["imagenet1000"], n, center=False),
        "loader-center-exact": lambda: _exact_workload(sets["imagenet1000"], n, center=True),
    }
    workloads = [makers[name]() for name, _ in WORKLOADS if not only or name in only]
    for wl in workloads:
        if not wl.name.endswith("-exact"):
            _add_memory_note(wl, n)
    return workloads


def _add_memory_note(wl: Workload, n: int) -> None:
    """The memory floor: peak RSS <= 0.5x the DataLoader baseline, each system in a
    fresh process (see loader_rss.py)."""
    from .loader_rss import measure

    crop = "center" if wl.name == "loader-center" else "rrc"
    try:
        px_rss, px_pss = measure("pixfeed", crop, n)
        tv_rss, tv_pss = measure("torch", crop, n)
    except Exception as e:
        wl.notes.append(f"Peak memory not measured: {e}")
        return
    mb = 1 << 20
    wl.notes.append(
        f"Peak memory over two epochs (process + workers, fresh processes): pixfeed Loader "
        f"RSS {px_rss / mb:,.0f} MB / PSS {px_pss / mb:,.0f} MB; torch DataLoader + v2 (PIL) "
        f"RSS {tv_rss / mb:,.0f} MB / PSS {tv_pss / mb:,.0f} MB; ratio {px_rss / tv_rss:.2f}x "
        f"(RSS), {px_pss / tv_pss:.2f}x (PSS); floor <= 0.5x."
    )


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    """This suite's own image set: 1000 files (:func:`benchmarks.data.ensure_loader`)."""
    return data_mod.ensure_loader(log=log)


def data_info() -> dict[str, object]:
    """The loader set's manifest facts, for the report."""
    return data_mod.loader_manifest_info()
