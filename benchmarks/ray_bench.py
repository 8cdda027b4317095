"""The ray suite (issue 15): one epoch of uint8 training crops through Ray Data, side by side.

Workload: the loader suite's 1000 ImageNet-like JPEGs (``data.ensure_loader``; files in the
page cache), RandomResizedCrop 224 + horizontal flip, uint8 NHWC out, consumed with
``iter_batches(batch_size=64)`` from a local Ray started with ``num_cpus=2`` (every map task
asks for 1 CPU, so two run at a time). Each timed call builds a fresh dataset (a new epoch)
and drains it. Systems:

* ``pixfeed.ray.read_images`` (paths in, fused native pass per task, 1 native thread per task:
  the CPU Ray assigned);
* ``ray.data.read_images(size=(256, 256))`` (Ray's reader: PIL decodes each whole file and
  resizes it to 256x256) + torchvision ``v2.RandomResizedCrop(224)`` + flip in ``map_batches``;
* ``ray.data.read_binary_files`` + PIL decode + the same torchvision crop on the PIL image in
  ``map_batches``;
* the local ``pixfeed.Loader`` with the same pipeline on 2 threads (not a peer: the ``-overhead``
  workload's reference, to make Ray's own overhead visible).

Every Ray dataset runs with ``op_resource_reservation_enabled=False`` on its own DataContext
(what ``read_images`` sets; applied to the peers' datasets too). Each Ray system's first call
(the harness's untimed warm-up) also samples the object store's peak use and times the cold
epoch; both go to the first workload's notes.

Floors: ``ray-rrc`` >= 2x the faster Ray peer; ``ray-overhead`` >= 0.7x the local Loader.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import data as data_mod
from . import peers
from .data import DataSet
from .harness import Case, Floor, Workload

TITLE = "ray"
WORKLOADS: list[tuple[str, str]] = [
    ("ray-rrc", "Ray Data: RandomResizedCrop 224 + flip, uint8 NHWC, iter_batches(64)"),
    ("ray-overhead", "pixfeed.ray.read_images against the local Loader (Ray's overhead)"),
]
BATCH = 64
CPUS = 2
LOCAL = "pixfeed Loader (local)"
INPUTS = "files in the page cache; a local Ray with num_cpus=2"


class _StorePeak:
    """Samples the object store's bytes in use (the cluster's ``object_store_memory`` less
    what is available: what ``ray status`` shows) every 10 ms in a thread, for one untimed
    call. Raylets report every ~100 ms, so shorter peaks can be missed: a lower bound."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _used(self) -> float:
        total = self.ray.cluster_resources().get("object_store_memory", 0.0)
        return float(total - self.ray.available_resources().get("object_store_memory", 0.0))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._used())
            self._stop.wait(0.01)

    def __enter__(self) -> _StorePeak:
        self.base = self._used()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _first_call_measured(
    ray: Any, label: str, fn: Callable[[], list[np.ndarray]], notes: list[str]
) -> Callable[[], list[np.ndarray]]:
    """``fn``, whose first call (the harness's untimed warm-up) also samples the object
    store's peak use and times itself (the cold call: Ray starts its workers) into ``notes``."""
    done = [False]

    def call() -> list[np.ndarray]:
        if done[0]:
            return fn()
        done[0] = True
        t0 = time.perf_counter()
        with _StorePeak(ray) as sp:
            out = fn()
        cold = time.perf_counter() - t0
        notes.append(
            f"{label}: peak object store use {sp.peak / 2**20:.0f} MiB in one epoch (sampled "
            f"every 10 ms, {sp.base / 2**20:.0f} MiB in use before); its first epoch in "
            f"this Ray session {cold:.2f} s, untimed (the first system's includes starting "
            "Ray's worker processes)."
        )
        return out

    return call


def _no_reservation(ds: Any) -> Any:
    """The DataContext setting ``pixfeed.ray.read_images`` makes on its dataset, applied to
    the peers' datasets too, so every Ray system runs under the same executor settings."""
    ds.context.op_resource_reservation_enabled = False
    return ds


def _drain(ds: Any, n: int) -> list[np.ndarray]:
    count, last = 0, None
    for b in ds.iter_batches(batch_size=BATCH, batch_format="numpy"):
        count += len(b["image"])
        last = b["image"]
    if count != n or last is None:
        raise RuntimeError(f"expected {n} rows, got {count}")
    return [np.asarray(last)]


def _ray_session() -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=CPUS,
            object_store_memory=512 * 1024 * 1024,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
    return ray


def _torchvision_rrc() -> Callable[[Any], Any]:
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip()])


def _ray_read_images_fn(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch

    tf = _torchvision_rrc()
    imgs = torch.from_numpy(np.ascontiguousarray(batch["image"])).permute(0, 3, 1, 2)
    out = np.stack([tf(im).permute(1, 2, 0).numpy() for im in imgs])
    return {"image": out}


def _binary_pil_fn(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from PIL import Image

    tf = _torchvision_rrc()
    out = np.stack(
        [np.asarray(tf(Image.open(io.BytesIO(b)).convert("RGB"))) for b in batch["bytes"]]
    )
    return {"image": out}


def _workloads(ds: DataSet, n: int, names: Sequence[str]) -> list[Workload]:
    paths = ds.paths[:n]
    px = peers.get("pixfeed")
    try:
        ray = _ray_session()
        import pixfeed.ray as pxray
    except ImportError as e:
        ray, pxray, missing = None, None, f"ray not importable: {e}"
    else:
        missing = ""
    epoch = [0]
    cases: dict[str, Case] = {}
    store_notes: list[str] = []
    closers: list[Callable[[], None]] = []
    if px.ok and pxray is not None:
        pipe = px.module.Pipeline(224, crop="random_resized", dtype="uint8", layout="NHWC")

        def run_pixfeed_ray() -> list[np.ndarray]:
            epoch[0] += 1
            return _drain(
                pxray.read_images(paths, pipeline=pipe, epoch=epoch[0], batch_size=BATCH), n
            )

        cases["pixfeed"] = Case(
            "pixfeed",
            _first_call_measured(ray, "pixfeed.ray.read_images", run_pixfeed_ray, store_notes),
            label="pixfeed.ray.read_images",
            note=(
                "map tasks of 1 CPU (1 native thread each; 2 tasks: 512 + 488 rows, output "
                "blocks of 2 batches), paths in"
            ),
        )
        loader = px.module.Loader(paths, pipeline=pipe, batch_size=BATCH, threads=CPUS)

        def run_local(ld: Any = loader) -> list[np.ndarray]:
            epoch[0] += 1
            ld.set_epoch(epoch[0])
            count, last = 0, None
            for b in ld:
                count += len(b)
                last = b
            if count != n or last is None:
                raise RuntimeError(f"expected {n} rows, got {count}")
            return [np.asarray(last)]

        cases[LOCAL] = Case(
            "pixfeed",
            run_local,
            label=LOCAL,
            note="the same pipeline, no Ray, 2 threads",
            primary=False,
            peer=False,
        )
        closers.append(loader.close)
    tv_missing = ""
    try:
        import torchvision  # noqa: F401
    except ImportError as e:
        tv_missing = f"torchvision not importable: {e}"
    if ray is not None and not tv_missing:

        def run_ray_read_images() -> list[np.ndarray]:
            ds_ = _no_reservation(ray.data.read_images(paths, size=(256, 256), mode="RGB"))
            return _drain(ds_.map_batches(_ray_read_images_fn, batch_size=BATCH), n)

        def run_binary_pil() -> list[np.ndarray]:
            ds_ = _no_reservation(ray.data.read_binary_files(paths))
            return _drain(ds_.map_batches(_binary_pil_fn, batch_size=BATCH), n)

        cases["ray.data.read_images + torchvision"] = Case(
            "ray",
            _first_call_measured(
                ray, "ray.data.read_images + torchvision", run_ray_read_images, store_notes
            ),
            label="ray.data.read_images + torchvision",
            note="PIL whole-file decode resized to 256x256, then v2.RandomResizedCrop + flip",
        )
        cases["read_binary_files + PIL"] = Case(
            "ray",
            _first_call_measured(ray, "read_binary_files + PIL", run_binary_pil, store_notes),
            label="read_binary_files + PIL",
            note="PIL decode of every byte, v2.RandomResizedCrop + flip on the PIL image",
        )
    peer_labels = ["ray.data.read_images + torchvision", "read_binary_files + PIL"]
    out = []
    for name, title in WORKLOADS:
        if name not in names:
            continue
        wl = Workload(
            name=name,
            title=title,
            description=(
                f"{n} files of '{ds.name}' (in the page cache), one epoch per call through a "
                f"local Ray (num_cpus={CPUS}): {title}."
            ),
            n_images=n,
            input_megapixels=ds.megapixels(n),
            notes=[
                "Random crops differ between systems (each draws its own): outputs are "
                "compared by shape and dtype only.",
                "ray.data.read_images(size=(256, 256)) squashes each image to 256x256 before "
                "the crop (aspect ratio not kept): less work than a crop of the original.",
                "What passes through the object store per image: 150,528 bytes of uint8 "
                "224x224x3 output for every system; read_binary_files also puts each "
                "file's bytes there, ray.data.read_images its 256x256 decoded image "
                "(196,608 bytes).",
                "Every Ray dataset here (pixfeed's and the peers') runs with "
                "op_resource_reservation_enabled=False on its own DataContext, the "
                "setting pixfeed.ray.read_images makes: with Ray Data's reservation, each "
                "execution runs one task at a time for about its first second.",
            ],
        )
        if not out:
            # The first workload runs the warm-ups: its notes receive the store peaks.
            store_notes.extend(wl.notes)
            wl.notes = store_notes
        wanted = ["pixfeed", *peer_labels] if name == "ray-rrc" else ["pixfeed", LOCAL]
        for key in wanted:
            if key in cases:
                wl.add(cases[key])
            else:
                wl.missing[key] = missing or tv_missing or "pixfeed not importable"
        if name == "ray-rrc":
            wl.floor = Floor(2.0, peer_labels, ">= 2x the faster of Ray's own image readers")
        else:
            wl.floor = Floor(0.7, [LOCAL], ">= 0.7x the local pixfeed Loader (2 threads)")
        out.append(wl)
    if out:
        out[-1].closers.extend(closers)
        if ray is not None:
            out[-1].closers.append(ray.shutdown)
    return out


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    n = 128 if quick else data_mod.N_LOADER
    names = [name for name, _ in WORKLOADS if not only or name in only]
    return _workloads(sets["imagenet1000"], n, names)


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    """The loader suite's 1000 files (:func:`benchmarks.data.ensure_loader`)."""
    return data_mod.ensure_loader(log=log)


def data_info() -> dict[str, object]:
    return data_mod.loader_manifest_info()
