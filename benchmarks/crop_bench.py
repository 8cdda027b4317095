"""The crop suite: ``crop_paths`` against the peers, equal work, from files.

parallel_image_crop's job: a batch of 32 image files (in the page cache), one window per file
at a per-file position and scale, both cores for every system. Two workloads per file set:

* (a) a plain 256x256 window at a random position: the scale is chosen so that the crop is
  exactly 256x256 source pixels (``scale = 256.5 / W``, so ``floor(W * scale) = 256``), i.e.
  the "resize" is 1:1 and every system just crops;
* (b) parallel_image_crop's own case: ``scale = 0.25`` (a 1000x1000 crop of a 4000x4000 image)
  at a random position, resized to a 32x32 window (``-b32``) and to a 224x224 one (``-b224``).

The crop box of every file is computed once, in Python, with docs/crop-from-files.md's formula
(:func:`crop_box`), and every peer crops exactly that box and resizes it to the window:

* pixfeed: ``crop_paths(paths, x, y, scale, window, mode=..., threads=2)`` (one GIL-free call
  for the batch; ROI decode, DCT scaling, bilinear antialiased resize);
* Pillow (2-thread pool; also one thread where it is cheap): ``Image.open``, for (b) on JPEG
  ``draft()`` to the largest DCT reduction that keeps the crop >= the window, then
  ``resize(window, BILINEAR, box=crop box in the drafted image)`` (Pillow's resize only touches
  the box's rows; BMPs are memory-mapped by Pillow, so it reads only those rows). For (a)
  ``crop(box)``;
* pyvips (2-thread pool, ``concurrency_set(1)``, operation cache off): ``new_from_file(...,
  access="sequential")`` (decodes full-width rows down to the crop's last row, then stops),
  for (b) on JPEG with ``shrink=`` the same DCT reduction, ``crop`` (integer box in the
  shrunk image: up to 7/8 of a shrunk pixel off the exact box) and ``resize(kernel="linear")``;
* cv2 (2-thread pool, ``setNumThreads(1)``): ``imread`` (for (b) on JPEG with
  ``IMREAD_REDUCED_*_2/4/8``), slice the (shrunk) box and ``cv2.resize(INTER_AREA)`` (its
  antialiased downscale; INTER_LINEAR would sample only 2x2 pixels per output);
* simplejpeg (JPEG only; 2-thread pool): read the file, ``decode_jpeg(min_width=...,
  min_height=...)`` (the same DCT reduction), slice, ``cv2.resize(INTER_AREA)``.

Outputs are compared for shape and dtype everywhere, and pixel by pixel against pixfeed: in (a)
every system returns the same libjpeg-turbo / zlib pixels (max abs diff 0 expected); in (b)
the systems decode at the same DCT scale but resample with different filters (Pillow and
pixfeed: bilinear with antialiasing on the exact fractional box; pyvips: shrink + linear
reduce on an integer box; cv2/simplejpeg: INTER_AREA on an integer box), so the differences
are reported, not required to be small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import data as data_mod
from . import peers
from .data import DataSet
from .decode_bench import _cv2_rgb_flag, _missing, _Pool
from .harness import Case, Floor, Workload

TITLE = "crop"

WORKLOADS: list[tuple[str, str]] = [
    ("crop-gray-jpeg-4000-a", "256x256 window (1:1) of 4000x4000 gray JPEGs"),
    ("crop-gray-jpeg-4000-b32", "scale 0.25 of 4000x4000 gray JPEGs -> 32x32"),
    ("crop-gray-jpeg-4000-b224", "scale 0.25 of 4000x4000 gray JPEGs -> 224x224"),
    ("crop-gray-png-4000-a", "256x256 window (1:1) of 4000x4000 gray PNGs"),
    ("crop-gray-png-4000-b32", "scale 0.25 of 4000x4000 gray PNGs -> 32x32"),
    ("crop-gray-png-4000-b224", "scale 0.25 of 4000x4000 gray PNGs -> 224x224"),
    ("crop-gray-bmp-4000-a", "256x256 window (1:1) of 4000x4000 gray BMPs"),
    ("crop-gray-bmp-4000-b32", "scale 0.25 of 4000x4000 gray BMPs -> 32x32"),
    ("crop-gray-bmp-4000-b224", "scale 0.25 of 4000x4000 gray BMPs -> 224x224"),
    ("crop-color-jpeg-512-a", "256x256 window (1:1) of 512x512 RGB JPEGs"),
    ("crop-color-png-512-a", "256x256 window (1:1) of 512x512 RGB PNGs"),
]

INPUTS = (
    "paths of files that were read just before (in the page cache); 32 files per call "
    "(8 with --quick)"
)
THREADS = 2
WINDOW_A = 256
SCALE_B = 0.25
SEED = 4

# The floors: pixfeed >= ratio x the best peer.
_FLOORS = {"jpeg": 2.0, "bmp": 1.5, "png": 1.2, "color-jpeg": 1.5, "color-png": 1.3}


@dataclass(frozen=True)
class Item:
    path: str
    width: int
    height: int
    x: float  # relative position, as given to crop_paths
    y: float
    scale: float
    box: tuple[int, int, int, int]  # (x, y, w, h) in source pixels, docs/crop-from-files.md


def crop_box(
    width: int, height: int, x: float, y: float, scale: float, max_img_percent: float = 1.0
) -> tuple[int, int, int, int]:
    """docs/crop-from-files.md (anchor="corner"): ``s = min(scale, max_img_percent)``, size
    ``(max(floor(W*s), 2), max(floor(H*s), 2))`` (at most the image), corner
    ``(trunc(x*W), trunc(y*H))`` clamped so that the crop lies inside the image."""
    s = min(scale, max_img_percent)
    cw = min(max(math.floor(width * s), 2), width)
    ch = min(max(math.floor(height * s), 2), height)
    x0 = min(math.trunc(x * width), width - cw)
    y0 = min(math.trunc(y * height), height - ch)
    return x0, y0, cw, ch


def _items(ds: DataSet, n: int, case: str, seed: int) -> list[Item]:
    rng = np.random.default_rng(seed)
    out = []
    for f in ds.files[:n]:
        x, y = float(rng.random()), float(rng.random())
        scale = (WINDOW_A + 0.5) / f.width if case == "a" else SCALE_B
        box = crop_box(f.width, f.height, x, y, scale)
        if case == "a":
            assert box[2:] == (WINDOW_A, WINDOW_A), box
        out.append(Item(f.path, f.width, f.height, x, y, scale, box))
    return out


def _dct_shrink(item: Item, window: int) -> int:
    """The largest JPEG DCT reduction 1/k (k in 1, 2, 4, 8) that keeps the crop >= the window
    in both dimensions: what pixfeed, Pillow's draft and simplejpeg's min_* choose here."""
    _, _, cw, ch = item.box
    for k in (8, 4, 2):
        if cw / k >= window and ch / k >= window:
            return k
    return 1


def _scaled_box(item: Item, k: int) -> tuple[int, int, int, int]:
    """The crop box in an image shrunk 1/k (libjpeg: ceil(W/k)), as integers: corner floored,
    size rounded, kept inside the shrunk image."""
    x, y, cw, ch = item.box
    sw, sh = -(-item.width // k), -(-item.height // k)
    w, h = max(1, round(cw / k)), max(1, round(ch / k))
    x0, y0 = min(x // k, sw - w), min(y // k, sh - h)
    return x0, y0, w, h


# --------------------------------------------------------------------------------------------
# Per-library functions: (item) -> window array


def _vips_array(im: Any) -> np.ndarray:
    """A pyvips image as an owned (H, W) or (H, W, C) uint8 array (one band: 2-D, as the
    others return gray images)."""
    a = np.frombuffer(im.write_to_memory(), dtype=np.uint8)
    return (
        a.reshape(im.height, im.width)
        if im.bands == 1
        else a.reshape(im.height, im.width, im.bands)
    )


def _pillow_fn(Image: Any, mode: str, window: int, jpeg: bool) -> Callable[[Item], np.ndarray]:
    bilinear = Image.Resampling.BILINEAR

    def one(it: Item) -> np.ndarray:
        x, y, cw, ch = it.box
        with Image.open(it.path) as im:
            if (cw, ch) == (window, window):
                if im.mode != mode:
                    im = im.convert(mode)
                return np.asarray(im.crop((x, y, x + cw, y + ch)))
            if jpeg:
                # Largest DCT reduction that keeps the crop >= the window.
                im.draft(mode, (-(-it.width * window // cw), -(-it.height * window // ch)))
            if im.mode != mode:
                im = im.convert(mode)
            kx, ky = it.width / im.width, it.height / im.height
            box = (x / kx, y / ky, (x + cw) / kx, (y + ch) / ky)
            return np.asarray(im.resize((window, window), bilinear, box=box))

    return one


def _vips_fn(pyvips: Any, window: int, jpeg: bool) -> Callable[[Item], np.ndarray]:
    def one(it: Item) -> np.ndarray:
        x, y, cw, ch = it.box
        if (cw, ch) == (window, window):
            im = pyvips.Image.new_from_file(it.path, access="sequential")
            return _vips_array(im.crop(x, y, cw, ch))
        k = _dct_shrink(it, window) if jpeg else 1
        if k > 1:
            im = pyvips.Image.new_from_file(it.path, access="sequential", shrink=k)
        else:
            im = pyvips.Image.new_from_file(it.path, access="sequential")
        bx, by, bw, bh = _scaled_box(it, k)
        im = im.crop(bx, by, bw, bh).resize(window / bw, vscale=window / bh, kernel="linear")
        return _vips_array(im)

    return one


def _cv2_fn(cv2: Any, gray: bool, window: int, jpeg: bool) -> Callable[[Item], np.ndarray]:
    if gray:
        flags = {
            1: cv2.IMREAD_GRAYSCALE,
            2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
            4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
            8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
        }
    else:
        flag, _ = _cv2_rgb_flag(cv2)
        flags = {1: flag}

    def one(it: Item) -> np.ndarray:
        x, y, cw, ch = it.box
        if (cw, ch) == (window, window):
            return cv2.imread(it.path, flags[1])[y : y + ch, x : x + cw].copy()
        k = _dct_shrink(it, window) if jpeg else 1
        im = cv2.imread(it.path, int(flags[k]))
        bx, by, bw, bh = _scaled_box(it, k)
        return cv2.resize(
            im[by : by + bh, bx : bx + bw], (window, window), interpolation=cv2.INTER_AREA
        )

    return one


def _simplejpeg_fn(sj: Any, cv2: Any, gray: bool, window: int) -> Callable[[Item], np.ndarray]:
    space = "GRAY" if gray else "RGB"

    def one(it: Item) -> np.ndarray:
        x, y, cw, ch = it.box
        with open(it.path, "rb") as f:
            b = f.read()
        if (cw, ch) == (window, window):
            a = sj.decode_jpeg(b, colorspace=space)
            if gray:
                a = a.reshape(a.shape[0], a.shape[1])
            return a[y : y + ch, x : x + cw].copy()
        k = _dct_shrink(it, window)
        a = sj.decode_jpeg(
            b,
            colorspace=space,
            min_width=-(-it.width * window // cw),
            min_height=-(-it.height * window // ch),
        )
        if gray:
            a = a.reshape(a.shape[0], a.shape[1])
        bx, by, bw, bh = _scaled_box(it, k)
        return cv2.resize(
            a[by : by + bh, bx : bx + bw], (window, window), interpolation=cv2.INTER_AREA
        )

    return one


# --------------------------------------------------------------------------------------------
# Workloads


def _workload(
    name: str,
    title: str,
    ds: DataSet,
    n: int,
    *,
    fmt: str,
    gray: bool,
    case: str,
    window: int,
) -> Workload:
    ds.read(n)  # into the page cache
    items = _items(ds, n, case, SEED)
    paths = [it.path for it in items]
    xs = np.array([it.x for it in items])
    ys = np.array([it.y for it in items])
    scales = np.array([it.scale for it in items])
    mode = "L" if gray else "RGB"
    f0 = ds.files[0]
    jpeg = fmt == "jpeg"
    what = (
        f"a {window}x{window} window at a random position, 1:1 (scale {WINDOW_A + 0.5}/W)"
        if case == "a"
        else f"a scale-{SCALE_B} crop ({items[0].box[2]}x{items[0].box[3]}) at a random "
        f"position, resized to {window}x{window}"
    )
    ratio = _FLOORS[fmt if gray else f"color-{fmt}"]
    wl = Workload(
        name,
        title,
        f"{len(items)} files of '{ds.name}' ({ds.description}): from each file {what}, "
        f"mode {mode}, both cores for every system; files in the page cache.",
        n_images=len(items),
        input_megapixels=ds.megapixels(n),
        floor=Floor(ratio, [], f">= {ratio}x the best peer"),
    )
    if case != "a" and not jpeg:
        wl.floor = Floor(
            ratio, [], f">= {ratio}x the best peer ((a)'s floor, applied to (b) here too)"
        )
    pool = _Pool(wl, THREADS)
    pl = f"({THREADS}-thread pool)"

    pf = peers.get("pixfeed")
    if not _missing(wl, "pixfeed", pf):
        crop_paths = pf.module.crop_paths

        def pixfeed_call() -> list[np.ndarray]:
            return list(crop_paths(paths, xs, ys, scales, window, mode=mode, threads=THREADS))

        wl.add(
            Case(
                "pixfeed",
                pixfeed_call,
                label=f"pixfeed ({THREADS} threads)",
                note=f"crop_paths(mode={mode!r}, threads={THREADS}), bilinear antialiased",
            )
        )

    pil = peers.get("Pillow")
    if not _missing(wl, f"Pillow {pl}", pil):
        fn = _pillow_fn(pil.module, mode, window, jpeg)
        how = (
            "open + crop"
            if case == "a"
            else ("open + draft + " if jpeg else "open + ") + "resize(BILINEAR, box=crop)"
        )
        wl.add(Case("Pillow", pool.mapper(fn, items), label=f"Pillow {pl}", note=how))
        if fmt == "bmp" or not gray:
            wl.add(
                Case(
                    "Pillow",
                    lambda: [fn(it) for it in items],
                    label="Pillow (1 thread)",
                    note=how + ", on the calling thread",
                )
            )

    vp = peers.get("pyvips")
    if not _missing(wl, f"pyvips {pl}", vp):
        pyvips = vp.module
        try:
            pyvips.Image.new_from_file(paths[0], access="sequential")
        except Exception as e:
            msg = str(e).strip().splitlines()
            wl.missing[f"pyvips {pl}"] = (
                f"this libvips build has no {fmt.upper()} loader "
                f"({msg[0] if msg else type(e).__name__})"
            )
        else:
            how = "sequential + crop" + (
                "" if case == "a" else (" + shrink-on-load" if jpeg else "") + " + resize(linear)"
            )
            wl.add(
                Case(
                    "pyvips",
                    pool.mapper(_vips_fn(pyvips, window, jpeg), items),
                    label=f"pyvips {pl}",
                    prepare=lambda: pyvips.concurrency_set(1),
                    note=how + ", concurrency 1 per call, cache off",
                )
            )

    cv = peers.get("cv2")
    if not _missing(wl, f"cv2 {pl}", cv):
        cv2 = cv.module
        how = "imread + slice" + (
            ""
            if case == "a"
            else (" (IMREAD_REDUCED_GRAYSCALE_k)" if jpeg else "") + " + resize(INTER_AREA)"
        )
        wl.add(
            Case(
                "cv2",
                pool.mapper(_cv2_fn(cv2, gray, window, jpeg), items),
                label=f"cv2 {pl}",
                prepare=lambda: cv2.setNumThreads(1),
                bgr=not gray and _cv2_rgb_flag(cv2)[1],
                note=how + ", setNumThreads(1)",
            )
        )

    if jpeg:
        sj = peers.get("simplejpeg")
        label = f"simplejpeg {pl}"
        if not _missing(wl, label, sj):
            if case != "a" and not cv.ok:
                wl.missing[label] = "needs cv2 for the resize"
            else:
                how = "read + decode_jpeg + slice" + (
                    "" if case == "a" else " (min_width/min_height) + cv2 INTER_AREA"
                )
                wl.add(
                    Case(
                        "simplejpeg",
                        pool.mapper(_simplejpeg_fn(sj.module, cv.module, gray, window), items),
                        label=label,
                        prepare=(lambda: cv.module.setNumThreads(1)) if cv.ok else None,
                        note=how,
                    )
                )

    assert wl.floor is not None
    wl.floor.against = [c.label for c in wl.cases if c.system != "pixfeed"] + list(wl.missing)
    if case != "a":
        k = _dct_shrink(items[0], window) if jpeg else 1
        wl.notes.append(
            f"DCT reduction 1/{k} for every system that can (pixfeed, Pillow draft, pyvips "
            "shrink, cv2 IMREAD_REDUCED, simplejpeg min_*)"
            if k > 1
            else "no DCT reduction applies (full-resolution crop)"
        )
        wl.notes.append(
            "Resampling differs (pixfeed/Pillow: bilinear antialiased on the exact box; "
            "pyvips: linear reduce; cv2/simplejpeg: INTER_AREA on an integer box in the "
            "reduced image): pixel differences are reported, not required to be small."
        )
    else:
        wl.notes.append(
            "Every system returns the same decoded pixels of the same box (max abs diff 0 "
            "expected)."
        )
    wl.notes.append(
        f"Size of the images: {f0.width}x{f0.height}; crops, boxes and positions: seed {SEED}."
    )
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    """The crop workloads (``only``: names to keep) on the sets of :func:`ensure_data`."""
    names = [n for n, _ in WORKLOADS if not only or n in only]
    cs = sets
    n = 8 if quick else data_mod.N_CROP
    titles = dict(WORKLOADS)
    out = []
    for name in names:
        parts = name.split("-")  # crop, gray|color, fmt, size, case
        kind, fmt, case = parts[1], parts[2], parts[4]
        gray = kind == "gray"
        ds = cs[f"{kind}{parts[3]}_{fmt}"]
        window = WINDOW_A if case == "a" else int(case[1:])
        out.append(
            _workload(
                name,
                titles[name],
                ds,
                n,
                fmt=fmt,
                gray=gray,
                case="a" if case == "a" else "b",
                window=window,
            )
        )
    return out


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    """This suite's own image sets (:func:`benchmarks.data.ensure_crop`)."""
    return data_mod.ensure_crop(log=log)


def data_info() -> dict[str, object]:
    """The crop sets' manifest facts, for the report."""
    return data_mod.crop_manifest_info()
