"""The array-ops suite: ``python -m benchmarks --suite ops``.

pixfeed's batch array ops against numpy, OpenCV, Pillow and trainingsample on the same
in-memory ``uint8`` arrays. No files: the inputs are synthetic, smooth photo-like RGB images
made with numpy's seeded ``default_rng`` (:func:`photo`: a gradient and a few broad waves,
tinted per channel, plus Gaussian noise of sigma 3), so resampling differences are those of
real photos, not of white noise. The same inputs with ``--quick`` (fewer, shorter repetitions).

Workloads (the floors; "best of" = the fastest of those peers in this run):

* ``resize-one``: one bilinear resize 480x640x3 -> 256x256, ``antialias=False`` (one call =
  one resize). ``pixfeed.resize(img, (256, 256), antialias=False)`` vs ``cv2.resize(img,
  (256, 256), INTER_LINEAR)`` and trainingsample's single-image
  ``batch_resize_images_zero_copy(img, (256, 256))``. Per-call latency of each library in its
  default configuration. Floor: per-call time <= 0.8x cv2.resize.
* ``resize-batch``: 64 different 480x640x3 images (a list of arrays) -> 256x256, bilinear,
  ``antialias=False``. ``pixfeed.resize(list)`` vs a cv2 loop (plain, and writing into one
  preallocated batch with ``dst=``), a 2-thread cv2 pool (``setNumThreads(1)``, ``dst=``) and
  ``trainingsample.batch_resize_images_zero_copy``. Floor: >= 1.2x the best.
* ``resize-aa-4000``: antialiased bilinear 4000x4000x3 -> 224x224. ``pixfeed.resize`` vs
  Pillow's ``Image.resize((224, 224), BILINEAR)`` of a PIL image made before timing. cv2
  ``INTER_AREA`` is shown as a reference (another filter, not a floor peer). Floor: >= 4x
  Pillow.
* ``video``: 8 clips (16, 480, 640, 3) -> 224x224, bilinear, ``antialias=False``.
  ``pixfeed.resize_video`` vs a cv2 loop over the frames (plain + ``np.stack``, and ``dst=``
  into the clip), a 2-thread cv2 pool and ``trainingsample.batch_resize_videos``. Floor:
  >= 1.2x the best.
* ``crop-224`` / ``crop-320``: a (64, 480, 640, 3) batch cut at a random box per image
  (seeded) into one stacked owned array. ``pixfeed.crop`` vs numpy (``np.stack`` of the
  slices; one preallocated array filled by slice assignment). Floor: >= 1.0x the best.
* ``center-crop-224`` / ``center-crop-320``: the same batch, torchvision's centre box.
  ``pixfeed.center_crop`` vs numpy's one slice of the 4-D batch + ``copy()``. Floor: >= 1.0x.
* ``luminance``: mean BT.601 luminance of the 64 images (a list). ``pixfeed.luminance`` vs a
  ``cv2.mean`` loop (BT.601 weights applied to the per-channel means: exactly the mean of the
  weighted sum) and numpy (exact per-channel integer sums of the batch, weighted in float64).
  Floor: >= 1.5x cv2.mean.
* ``luminance-ts``: the same against ``trainingsample.batch_calculate_luminance`` (and its
  ``_zero_copy`` twin). Floor: >= 3x trainingsample.
* ``normalize``: 64 x 224x224x3 (a 4-D batch) -> float32 NCHW with ImageNet's mean/std.
  ``pixfeed.normalize`` vs numpy: the textbook expression ``((x.astype(float32) / 255 - mean)
  / std).transpose(0, 3, 1, 2)`` made contiguous, and a fused two-pass form (``np.multiply``
  of the transposed view by ``1 / (255 std)`` into the NCHW output, then ``+= -mean / std``).
  Floor: >= 2x the best numpy.

Equal work: every system gets the same arrays and returns the same shapes and dtypes; uint8
outputs are compared pixel by pixel with pixfeed's (cv2 and Pillow within 1 level, crops
exactly). Float outputs (luminance, normalize) are compared after rounding to a fixed
quantum outside the timing (:func:`quantized`): the *max abs diff* column counts quanta.

Threads: pixfeed runs with its default thread count (all usable cores) everywhere; cv2
workloads run cv2 in its default configuration (``cv2.setNumThreads`` restored to the value
found at start) except the 2-thread pools, which set one cv2 thread in ``prepare`` (restored
when the workload ends); trainingsample uses its own default threading; numpy and Pillow run
on the calling thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import Any

import numpy as np

from .data import DataSet
from .decode_bench import _chunks
from .harness import Floor, Group, Row, Workload, add_cases

TITLE = "ops"

WORKLOADS: list[tuple[str, str]] = [
    ("resize-one", "one bilinear resize 480x640x3 -> 256x256 (antialias=False), per call"),
    ("resize-batch", "64 bilinear resizes 480x640x3 -> 256x256 (antialias=False)"),
    ("resize-aa-4000", "antialiased bilinear resize 4000x4000x3 -> 224x224"),
    ("video", "8 clips (16, 480, 640, 3) -> 224x224 bilinear (antialias=False)"),
    ("crop-224", "crop 64 x 480x640x3 at random boxes -> 224x224, one stacked array"),
    ("crop-320", "crop 64 x 480x640x3 at random boxes -> 320x320, one stacked array"),
    ("center-crop-224", "center_crop 64 x 480x640x3 -> 224x224, one stacked array"),
    ("center-crop-320", "center_crop 64 x 480x640x3 -> 320x320, one stacked array"),
    ("luminance", "mean BT.601 luminance of 64 x 480x640x3 (vs cv2.mean)"),
    ("luminance-ts", "mean BT.601 luminance of 64 x 480x640x3 (vs trainingsample)"),
    ("normalize", "64 x 224x224x3 uint8 -> float32 NCHW, ImageNet mean/std"),
]

INPUTS = (
    "synthetic smooth photo-like uint8 RGB arrays made in memory with numpy's seeded "
    "default_rng (no files); the same with --quick"
)

VERSION = "o1"  # bump when the recipe of the inputs changes
SEED = 20240607
THREADS = 2  # the cv2 pools
N_IMAGES = 64
H, W = 480, 640
RESIZE_TO = (256, 256)  # (width, height)
BIG = 4000
AA_TO = (224, 224)
N_CLIPS, CLIP_T = 8, 16
VIDEO_TO = (224, 224)
NORM_SIZE = 224
LUMA_QUANTUM = 1e-6  # luminance compared in units of 1e-6 (0-255 scale)
NORM_QUANTUM = 1e-5  # normalized values compared in units of 1e-5
BT601 = (0.299, 0.587, 0.114)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------------
# Inputs


def photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One smooth, photo-like (h, w, 3) uint8 image: a shared "scene" (a linear gradient plus
    three broad oriented waves of 0.5-4 cycles), tinted per channel (gain and its own
    gradient), plus Gaussian noise of sigma 3, clipped to 0-255. The waves are evaluated as
    separable products (sin(a + b) = sin a cos b + cos a sin b), so a 4000x4000 image costs a
    few passes."""
    y = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    gx, gy = rng.uniform(-0.6, 0.6, 2).astype(np.float32)
    scene = gx * x + gy * y
    for _ in range(3):
        fx, fy = rng.uniform(0.5, 4.0, 2) * np.pi * rng.choice([-1.0, 1.0], 2)
        amp, phase = rng.uniform(0.15, 0.45), rng.uniform(0.0, 2 * np.pi)
        ax = (fx * x + phase).astype(np.float32)
        by = (fy * y).astype(np.float32)
        scene += amp * np.cos(by) * np.sin(ax)
        scene += amp * np.sin(by) * np.cos(ax)
    out = np.empty((h, w, 3), np.uint8)
    for c in range(3):
        gain = np.float32(rng.uniform(50.0, 80.0))
        tx, ty = rng.uniform(-25.0, 25.0, 2).astype(np.float32)
        level = np.float32(rng.uniform(100.0, 150.0))
        ch = scene * gain
        ch += tx * x + ty * y + level
        ch += 3.0 * rng.standard_normal((h, w), dtype=np.float32)
        np.clip(ch, 0.0, 255.0, out=ch)
        np.rint(ch, out=ch)
        out[..., c] = ch
    return out


@cache
def images() -> np.ndarray:
    """The (64, 480, 640, 3) batch of different images (resize-batch, crops, luminance)."""
    rng = np.random.default_rng([SEED, 1])
    return np.stack([photo(rng, H, W) for _ in range(N_IMAGES)])


@cache
def big_image() -> np.ndarray:
    """One 4000x4000x3 image (resize-aa-4000)."""
    return photo(np.random.default_rng([SEED, 2]), BIG, BIG)


@cache
def clips() -> list[np.ndarray]:
    """8 clips (16, 480, 640, 3): each a slow pan (4 px right, 2 px down per frame) over its
    own larger photo-like image, so consecutive frames differ like video frames do."""
    rng = np.random.default_rng([SEED, 3])
    dx, dy = 4, 2
    out = []
    for _ in range(N_CLIPS):
        base = photo(rng, H + dy * CLIP_T, W + dx * CLIP_T)
        out.append(
            np.stack([base[t * dy : t * dy + H, t * dx : t * dx + W] for t in range(CLIP_T)])
        )
    return out


@cache
def norm_images() -> np.ndarray:
    """The (64, 224, 224, 3) batch of normalize."""
    rng = np.random.default_rng([SEED, 4])
    return np.stack([photo(rng, NORM_SIZE, NORM_SIZE) for _ in range(N_IMAGES)])


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    """No files: the arrays are made in memory when a workload first needs them."""
    return {}


def data_info() -> dict[str, object]:
    """The recipe's version and seed, and digests of the arrays this run made."""
    info: dict[str, object] = {"version": VERSION, "seed": SEED, "files": "none (in memory)"}
    made = {
        "images": images,
        "big_image": big_image,
        "clips": clips,
        "norm_images": norm_images,
    }
    for name, fn in made.items():
        if fn.cache_info().currsize:  # digest only what this run used
            v = fn()
            info[f"{name}_sha256"] = _digest(*(v if isinstance(v, list) else [v]))
    return info


def quantized(quantum: float) -> Callable[[Any], np.ndarray]:
    """Floats (an array, a list of floats or arrays) as int64 multiples of ``quantum``: the
    equal-work check of float outputs (the harness compares integer levels)."""

    def q(out: Any) -> np.ndarray:
        return np.rint(np.asarray(out, np.float64) / quantum).astype(np.int64)

    return q


# --------------------------------------------------------------------------------------------
# cv2 helpers


class _Cv2:
    """cv2 with its thread setting: ``default`` restores the count found at start (cv2's
    default configuration), ``single`` is one thread (inside the pools); the workload's
    closer restores the default."""

    def __init__(self, wl: Workload, cv2: Any) -> None:
        self.cv2 = cv2
        self.default_threads = _cv2_default_threads(cv2)
        wl.closers.append(self.default)

    def default(self) -> None:
        self.cv2.setNumThreads(self.default_threads)

    def single(self) -> None:
        self.cv2.setNumThreads(1)


@cache
def _cv2_default_threads(cv2: Any) -> int:
    n: int = cv2.getNumThreads()  # first call: before any workload changed it
    return n


class _ResizePool:
    """A ``THREADS``-thread pool made before timing: ``run(srcs, dsts, size)`` resizes
    ``srcs[i]`` into ``dsts[i]`` with ``cv2.resize(..., dst=)``, in chunks of images."""

    def __init__(self, wl: Workload, cv2: Any) -> None:
        self.ex = ThreadPoolExecutor(THREADS)
        wl.closers.append(self.ex.shutdown)
        self.resize = cv2.resize
        self.linear = cv2.INTER_LINEAR

    def run(self, srcs: Sequence[np.ndarray], dsts: Sequence[np.ndarray], size: Any) -> None:
        resize, linear = self.resize, self.linear

        def work(idx: list[int]) -> None:
            for i in idx:
                resize(srcs[i], size, dst=dsts[i], interpolation=linear)

        for _ in self.ex.map(work, _chunks(range(len(srcs)), THREADS)):
            pass


def _pool_label() -> str:
    return f"cv2 ({THREADS}-thread pool)"


def _cv2_resizes(
    wl: Workload,
    srcs: list[np.ndarray],
    size: tuple[int, int],
    fresh: Callable[[], tuple[Any, list[np.ndarray]]],
    loop: Callable[[Any], Any],
    *,
    loop_note: str,
    dst_label: str,
    dst_note: str,
    pool_note: str,
) -> Group:
    """The three cv2 peers of a many-image resize: ``loop(cv2)`` (plain cv2.resize calls), a
    loop with ``dst=`` into the arrays ``fresh()`` makes (it returns the outputs and one
    destination per source), and the ``THREADS``-thread pool doing the same."""

    def loop_dst(cv2: Any) -> Callable[[], Any]:
        cv_resize, linear = cv2.resize, cv2.INTER_LINEAR

        def run() -> Any:
            out, dsts = fresh()
            for a, d in zip(srcs, dsts, strict=True):
                cv_resize(a, size, dst=d, interpolation=linear)
            return out

        return run

    def pooled(cv2: Any) -> Callable[[], Any]:
        pool = _ResizePool(wl, cv2)

        def run() -> Any:
            out, dsts = fresh()
            pool.run(srcs, dsts, size)
            return out

        return run

    default = "default setNumThreads ({cv2_threads})"
    return Group(
        "cv2",
        (
            Row(
                lambda cv2: lambda: loop(cv2),
                "cv2 loop",
                _cv2_threads(f"{loop_note}{default}"),
                _cv2_prepare(wl),
            ),
            Row(loop_dst, dst_label, _cv2_threads(f"{dst_note}, {default}"), _cv2_prepare(wl)),
            Row(pooled, _pool_label(), pool_note, _cv2_prepare(wl, "single")),
        ),
        peer="cv2",
        missing="cv2 loop",
    )


# --------------------------------------------------------------------------------------------
# Workloads as data: each is its inputs and a table of cases, grouped by the peer that makes
# them; `_add_cases` turns a table into harness cases.


def _threads(text: str) -> Callable[[Any], str]:
    """``text`` naming pixfeed's thread count as ``{threads}``."""
    return lambda pf: text.format(threads=pf.get_num_threads())


def _cv2_threads(text: str) -> Callable[[Any], str]:
    """``text`` naming cv2's default thread count as ``{cv2_threads}``."""
    return lambda cv2: text.format(cv2_threads=_cv2_default_threads(cv2))


def _cv2_prepare(wl: Workload, setting: str = "default") -> Callable[[Any], Callable[[], None]]:
    """A case's ``prepare``: cv2's thread ``setting`` (`_Cv2`), restored after ``wl``."""
    return lambda cv2: getattr(_Cv2(wl, cv2), setting)  # type: ignore[no-any-return]


def _bind(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """``fn(*args, **kwargs)`` as a function of no arguments (``functools.partial``: no
    Python frame of its own around the call)."""
    return partial(fn, *args, **kwargs)


def _many_resizes(wl: Workload, pixfeed: Row, cv2: Group, trainingsample: Row) -> None:
    """The cases of a many-image resize (pixfeed, the three cv2 forms, trainingsample) and
    its floor against the best peer."""
    labels = add_cases(
        wl,
        [
            Group("pixfeed", (pixfeed,), "pixfeed"),
            cv2,
            Group("trainingsample", (trainingsample,), "trainingsample"),
        ],
    )
    against = labels["cv2"] + ["trainingsample"]
    wl.floor = Floor(1.2, against, ">= 1.2x the best of a cv2 loop / 2-thread pool / ts")


def _resize_one() -> Workload:
    img = np.ascontiguousarray(images()[0])
    w, h = RESIZE_TO
    wl = Workload(
        "resize-one",
        WORKLOADS[0][1],
        f"One {W}x{H} RGB uint8 image resized to {w}x{h} with bilinear interpolation, "
        "cv2.resize semantics (antialias=False); one call = one resize, the harness repeats "
        "calls. Per-call latency, each library in its default configuration.",
        n_images=1,
        input_megapixels=H * W / 1e6,
        floor=Floor(1.25, ["cv2.resize"], "per-call time <= 0.8x cv2.resize"),
    )
    add_cases(
        wl,
        [
            Group(
                "pixfeed",
                (
                    Row(
                        lambda pf: _bind(pf.resize, img, RESIZE_TO, antialias=False),
                        "pixfeed.resize",
                        "resize(img, (256, 256), antialias=False); one small image stays on "
                        "the calling thread",
                    ),
                ),
                peer="pixfeed",
                missing="pixfeed",
            ),
            Group(
                "cv2",
                (
                    Row(
                        lambda cv2: _bind(
                            cv2.resize, img, RESIZE_TO, interpolation=cv2.INTER_LINEAR
                        ),
                        "cv2.resize",
                        _cv2_threads("INTER_LINEAR, default setNumThreads ({cv2_threads})"),
                        _cv2_prepare(wl),
                    ),
                ),
                peer="cv2",
                missing="cv2.resize",
            ),
            Group(
                "trainingsample",
                (
                    Row(
                        lambda ts: _bind(ts.batch_resize_images_zero_copy, img, RESIZE_TO),
                        "trainingsample",
                        "batch_resize_images_zero_copy(img, (256, 256)): its one-image form",
                    ),
                ),
                peer="trainingsample",
            ),
        ],
    )
    wl.notes.append(
        "cv2 runs in its default configuration (setNumThreads restored to the value found at "
        "start): cv2.resize splits its work into dst.total() / 65536 stripes, i.e. one for a "
        "256x256 output, so it resizes on the calling thread anyway. pixfeed's one-image "
        "resize of this size does not hand off to its threads either: both are single-thread "
        "latencies."
    )
    return wl


def _resize_batch() -> Workload:
    imgs = list(images())  # 64 contiguous (480, 640, 3) arrays
    n = len(imgs)
    w, h = RESIZE_TO
    wl = Workload(
        "resize-batch",
        WORKLOADS[1][1],
        f"A list of {n} different {W}x{H} RGB uint8 images resized to {w}x{h} (bilinear, "
        f"cv2.resize semantics); output: {n} arrays.",
        n_images=n,
        input_megapixels=n * H * W / 1e6,
    )

    def fresh_batch() -> tuple[list[np.ndarray], list[np.ndarray]]:
        out = list(np.empty((n, h, w, 3), np.uint8))
        return out, out

    sizes = [RESIZE_TO] * n
    _many_resizes(
        wl,
        Row(
            lambda pf: lambda: pf.resize(imgs, RESIZE_TO, antialias=False),
            _threads("pixfeed.resize ({threads} threads)"),
            "resize(list, (256, 256), antialias=False): per-image views of one fresh batch",
        ),
        _cv2_resizes(
            wl,
            imgs,
            RESIZE_TO,
            fresh_batch,
            lambda cv2: [cv2.resize(a, RESIZE_TO, interpolation=cv2.INTER_LINEAR) for a in imgs],
            loop_note="",
            dst_label="cv2 loop (dst= one batch)",
            dst_note="cv2.resize(dst=) into one fresh batch",
            pool_note="setNumThreads(1), dst= into one fresh batch, chunks of 4 images",
        ),
        Row(
            lambda ts: lambda: ts.batch_resize_images_zero_copy(imgs, sizes),
            "trainingsample",
            "batch_resize_images_zero_copy(list, sizes)",
        ),
    )
    wl.notes.append(
        "cv2 loops run cv2 in its default configuration (one stripe per 256x256 output: the "
        "calling thread); the pool sets setNumThreads(1) in its workers' prepare and the "
        "default is restored after the workload."
    )
    return wl


def _resize_aa() -> Workload:
    big = big_image()
    w, h = AA_TO
    wl = Workload(
        "resize-aa-4000",
        WORKLOADS[2][1],
        f"One {BIG}x{BIG} RGB uint8 image resized to {w}x{h}, bilinear with antialiasing "
        "(Pillow's filter: the support widens with the scale).",
        n_images=1,
        input_megapixels=BIG * BIG / 1e6,
        floor=Floor(4.0, ["Pillow"], ">= 4x Pillow resize(BILINEAR) of a PIL image"),
    )

    def pillow(image: Any) -> Callable[[], Any]:
        im = image.fromarray(big)  # made before timing: a Pillow user holds a PIL image
        bilinear = image.Resampling.BILINEAR
        return lambda: np.asarray(im.resize(AA_TO, bilinear))

    add_cases(
        wl,
        [
            Group(
                "pixfeed",
                (
                    Row(
                        lambda pf: lambda: pf.resize(big, AA_TO),
                        _threads("pixfeed.resize ({threads} threads)"),
                        "resize(img, (224, 224)), antialias=True (default), default threads",
                    ),
                    Row(
                        lambda pf: lambda: pf.resize(big, AA_TO, threads=1),
                        "pixfeed.resize (1 thread)",
                        "the same on one thread",
                        primary=False,
                        peer=False,
                    ),
                ),
                peer="pixfeed",
                missing="pixfeed",
            ),
            Group(
                "Pillow",
                (
                    Row(
                        pillow,
                        "",
                        "Image.resize((224, 224), BILINEAR) of a PIL image made before timing "
                        "(fromarray not timed) + np.asarray of the result",
                    ),
                ),
                peer="Pillow",
                missing="Pillow",
            ),
            Group(
                "cv2",
                (
                    Row(
                        lambda cv2: lambda: cv2.resize(big, AA_TO, interpolation=cv2.INTER_AREA),
                        "cv2 INTER_AREA",
                        _cv2_threads(
                            "reference only (box filter, not Pillow's bilinear); default "
                            "setNumThreads ({cv2_threads})"
                        ),
                        _cv2_prepare(wl),
                        peer=False,
                    ),
                ),
                peer="cv2",
                missing="cv2 INTER_AREA",
            ),
        ],
    )
    wl.notes.append(
        "Pillow resizes a PIL image made before timing: Image.fromarray's copy of the 48 MB "
        "array is not counted (the harder comparison for pixfeed, which reads the numpy "
        "array). Pillow resizes on the calling thread; pixfeed uses its default thread count "
        "(the 1-thread row shows the single-core figure)."
    )
    wl.notes.append(
        "pixfeed matches Pillow's BILINEAR within one level; cv2 INTER_AREA is another filter "
        "(its max abs diff is reported, not expected small) and is not a floor peer."
    )
    return wl


def _video() -> Workload:
    cl = clips()
    nf = sum(len(c) for c in cl)
    w, h = VIDEO_TO
    wl = Workload(
        "video",
        WORKLOADS[3][1],
        f"A list of {len(cl)} clips ({CLIP_T}, {H}, {W}, 3) uint8, every frame resized to "
        f"{w}x{h} (bilinear, cv2.resize semantics); output: {len(cl)} clips "
        f"({CLIP_T}, {h}, {w}, 3). Throughput column: frames/s ('images').",
        n_images=nf,
        input_megapixels=nf * H * W / 1e6,
    )

    def fresh_clips() -> tuple[list[np.ndarray], list[np.ndarray]]:
        out = [np.empty((len(clip), h, w, 3), np.uint8) for clip in cl]
        return out, [f for o in out for f in o]

    def cv2_loop(cv2: Any) -> list[np.ndarray]:
        linear = cv2.INTER_LINEAR
        return [np.stack([cv2.resize(f, VIDEO_TO, interpolation=linear) for f in c]) for c in cl]

    sizes = [VIDEO_TO] * len(cl)
    _many_resizes(
        wl,
        Row(
            lambda pf: lambda: pf.resize_video(cl, VIDEO_TO, antialias=False),
            _threads("pixfeed.resize_video ({threads} threads)"),
            "resize_video(clips, (224, 224), antialias=False)",
        ),
        _cv2_resizes(
            wl,
            [f for clip in cl for f in clip],
            VIDEO_TO,
            fresh_clips,
            cv2_loop,
            loop_note="per clip np.stack of the frames' cv2.resize, ",
            dst_label="cv2 loop (dst= into the clip)",
            dst_note="cv2.resize(dst=) into fresh clip arrays",
            pool_note="setNumThreads(1), dst= into fresh clip arrays, chunks of 8 frames",
        ),
        Row(
            lambda ts: lambda: ts.batch_resize_videos(cl, sizes),
            "trainingsample",
            "batch_resize_videos(clips, sizes)",
        ),
    )
    return wl


def _random_boxes(size: int) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng([SEED, 5, size])
    return [
        (int(rng.integers(0, W - size + 1)), int(rng.integers(0, H - size + 1)), size, size)
        for _ in range(N_IMAGES)
    ]


def _crop(name: str, title: str, size: int) -> Workload:
    batch = images()
    n = len(batch)
    boxes = _random_boxes(size)
    wl = Workload(
        name,
        title,
        f"A ({n}, {H}, {W}, 3) uint8 batch cut at one {size}x{size} box per image (uniform "
        f"random positions, seeded) into one owned ({n}, {size}, {size}, 3) array.",
        n_images=n,
        input_megapixels=n * H * W / 1e6,
    )

    def stacked() -> np.ndarray:
        return np.stack(
            [a[y : y + h, x : x + w] for a, (x, y, w, h) in zip(batch, boxes, strict=True)]
        )

    def assigned() -> np.ndarray:
        out = np.empty((n, size, size, 3), np.uint8)
        for o, a, (x, y, w, h) in zip(out, batch, boxes, strict=True):
            o[...] = a[y : y + h, x : x + w]
        return out

    pf = Row(
        lambda pf: _bind(pf.crop, batch, boxes),
        _threads("pixfeed.crop ({threads} threads)"),
        "crop(batch, boxes): one stacked array",
    )
    numpy = (
        Row(lambda _: stacked, "numpy np.stack", "np.stack of the slices"),
        Row(
            lambda _: assigned,
            "numpy slice assign",
            "np.empty batch, one slice assignment per image",
        ),
    )
    add_cases(wl, [Group("pixfeed", (pf,), "pixfeed", "pixfeed"), Group("numpy", numpy)])
    wl.floor = Floor(
        1.0, ["numpy np.stack", "numpy slice assign"], ">= 1.0x numpy slice + copy (best)"
    )
    wl.notes.append("Same pixels everywhere (max abs diff 0 expected).")
    return wl


def _center_crop(name: str, title: str, size: int) -> Workload:
    batch = images()
    n = len(batch)
    # torchvision's CenterCrop offsets: int(round((H - h) / 2)), round half to even.
    oy, ox = round((H - size) / 2), round((W - size) / 2)
    wl = Workload(
        name,
        title,
        f"A ({n}, {H}, {W}, 3) uint8 batch centre-cropped to {size}x{size} (torchvision's "
        f"offsets: ({ox}, {oy})) into one owned ({n}, {size}, {size}, 3) array.",
        n_images=n,
        input_megapixels=n * H * W / 1e6,
    )
    pf = Row(
        lambda pf: _bind(pf.center_crop, batch, size),
        _threads("pixfeed.center_crop ({threads} threads)"),
        f"center_crop(batch, {size}): one stacked array",
    )
    numpy = Row(
        lambda _: lambda: batch[:, oy : oy + size, ox : ox + size].copy(),
        "numpy slice + copy",
        "one 4-D slice of the batch + copy() (all images share the box)",
    )
    add_cases(wl, [Group("pixfeed", (pf,), "pixfeed", "pixfeed"), Group("numpy", (numpy,))])
    wl.floor = Floor(1.0, ["numpy slice + copy"], ">= 1.0x numpy slice + copy")
    wl.notes.append("Same pixels everywhere (max abs diff 0 expected).")
    return wl


def _luminance(name: str, title: str, vs_ts: bool) -> Workload:
    batch = images()
    imgs = list(batch)
    n = len(imgs)
    q = quantized(LUMA_QUANTUM)
    wl = Workload(
        name,
        title,
        f"Mean BT.601 luminance (0.299 R + 0.587 G + 0.114 B, 0-255 scale) of each of {n} "
        f"{W}x{H} RGB uint8 images (a list); output: {n} float64 values.",
        n_images=n,
        input_megapixels=n * H * W / 1e6,
    )
    wr, wg, wb = BT601
    npix = H * W

    def cv_mean(cv2: Any) -> Callable[[], np.ndarray]:
        mean = cv2.mean
        return lambda: np.array([wr * r + wg * g + wb * b for r, g, b, _ in map(mean, imgs)])

    def numpy_sums() -> np.ndarray:
        sums = [batch[..., k].sum(axis=(1, 2), dtype=np.uint64) for k in range(3)]
        values: np.ndarray = (wr * sums[0] + wg * sums[1] + wb * sums[2]) / npix
        return values

    pf = Row(
        lambda pf: _bind(pf.luminance, imgs),
        _threads("pixfeed.luminance ({threads} threads)"),
        "luminance(list) (weights='bt601'): a float64 array",
        summarize=q,
    )
    groups = [Group("pixfeed", (pf,), "pixfeed", "pixfeed")]
    if vs_ts:
        ts = (
            Row(
                lambda ts: _bind(ts.batch_calculate_luminance, imgs),
                "trainingsample",
                "batch_calculate_luminance(list): a list of floats",
                summarize=q,
            ),
            Row(
                lambda ts: _bind(ts.batch_calculate_luminance_zero_copy, imgs),
                "trainingsample zero_copy",
                "batch_calculate_luminance_zero_copy(list)",
                summarize=q,
            ),
        )
        groups.append(Group("trainingsample", ts, "trainingsample"))
        wl.floor = Floor(
            3.0, ["trainingsample", "trainingsample zero_copy"], ">= 3x trainingsample"
        )
        wl.notes.append(
            "trainingsample's luminance (checked with 0.3.2) is the BT.601 mean too (0.299, "
            "0.587, 0.114): its values equal pixfeed's to float64 rounding."
        )
    else:
        cv = Row(
            cv_mean,
            "cv2.mean",
            _cv2_threads(
                "per image cv2.mean, BT.601 weights on the channel means, "
                "default setNumThreads ({cv2_threads})"
            ),
            _cv2_prepare(wl),
            summarize=q,
        )
        numpy = Row(
            lambda _: numpy_sums,
            "",
            "exact per-channel uint64 sums of the 4-D batch (the list's memory), "
            "weighted in float64; the fastest numpy form found (mean(dtype=float64) "
            "over (N, H*W, 3) is ~4x slower)",
            summarize=q,
        )
        groups += [Group("cv2", (cv,), "cv2", "cv2.mean"), Group("numpy", (numpy,))]
        wl.floor = Floor(1.5, ["cv2.mean"], ">= 1.5x cv2.mean")
    add_cases(wl, groups)
    wl.notes.append(
        f"Outputs compared in units of {LUMA_QUANTUM:g} (rounded outside the timing): "
        "weighting the channel means is the mean of the weighted sum, so every system "
        "computes the same value up to float64 rounding (max abs diff 0 or 1 quantum). The "
        "output column shows those int64 levels."
    )
    return wl


def _normalize() -> Workload:
    x = norm_images()
    n, s = len(x), NORM_SIZE
    q = quantized(NORM_QUANTUM)
    mean32 = np.array(MEAN, np.float32)
    std32 = np.array(STD, np.float32)
    scale = (1.0 / (255.0 * np.array(STD))).astype(np.float32)[:, None, None]
    bias = (-np.array(MEAN) / np.array(STD)).astype(np.float32)[:, None, None]
    wl = Workload(
        "normalize",
        WORKLOADS[10][1],
        f"A ({n}, {s}, {s}, 3) uint8 batch to a float32 ({n}, 3, {s}, {s}) NCHW tensor: "
        "(x / 255 - mean) / std per channel with ImageNet's mean (0.485, 0.456, 0.406) and "
        "std (0.229, 0.224, 0.225).",
        n_images=n,
        input_megapixels=n * s * s / 1e6,
    )

    def textbook() -> np.ndarray:
        return np.ascontiguousarray(
            ((x.astype(np.float32) / 255 - mean32) / std32).transpose(0, 3, 1, 2)
        )

    def fused() -> np.ndarray:
        out = np.empty((n, 3, s, s), np.float32)
        np.multiply(x.transpose(0, 3, 1, 2), scale, out=out)
        out += bias
        return out

    pf = Row(
        lambda pf: _bind(pf.normalize, x),
        _threads("pixfeed.normalize ({threads} threads)"),
        "normalize(batch) (ImageNet mean/std, float32, NCHW): each element the "
        "float64 formula rounded once",
        summarize=q,
    )
    numpy = (
        Row(
            lambda _: textbook,
            "numpy",
            "((x.astype(float32) / 255 - mean) / std).transpose(0, 3, 1, 2), contiguous",
            summarize=q,
        ),
        Row(
            lambda _: fused,
            "numpy fused",
            "np.multiply(transposed view, 1 / (255 std), out=NCHW float32) then "
            "+= -mean / std: two passes",
            summarize=q,
        ),
    )
    add_cases(wl, [Group("pixfeed", (pf,), "pixfeed", "pixfeed"), Group("numpy", numpy)])
    wl.floor = Floor(2.0, ["numpy", "numpy fused"], ">= 2x numpy (best of the two forms)")
    wl.notes.append(
        f"Outputs compared in units of {NORM_QUANTUM:g} (rounded outside the timing): numpy's "
        "float32 steps round several times, pixfeed once (max abs diff 0 or 1 quantum). The "
        "output column shows those int64 levels."
    )
    wl.notes.append(
        "The issue's numpy is the textbook expression; the fused form is the same work in two "
        "passes over the output and is the floor's harder peer."
    )
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool = False, only: Sequence[str] | None = None
) -> list[Workload]:
    """The ops workloads (``only``: names to keep). The inputs are the same with ``quick``."""
    del sets, quick  # no files; --quick only shortens the repetitions
    titles = dict(WORKLOADS)
    makers: dict[str, Callable[[], Workload]] = {
        "resize-one": _resize_one,
        "resize-batch": _resize_batch,
        "resize-aa-4000": _resize_aa,
        "video": _video,
        "crop-224": lambda: _crop("crop-224", titles["crop-224"], 224),
        "crop-320": lambda: _crop("crop-320", titles["crop-320"], 320),
        "center-crop-224": lambda: _center_crop("center-crop-224", titles["center-crop-224"], 224),
        "center-crop-320": lambda: _center_crop("center-crop-320", titles["center-crop-320"], 320),
        "luminance": lambda: _luminance("luminance", titles["luminance"], vs_ts=False),
        "luminance-ts": lambda: _luminance("luminance-ts", titles["luminance-ts"], vs_ts=True),
        "normalize": _normalize,
    }
    return [makers[name]() for name, _ in WORKLOADS if not only or name in only]
