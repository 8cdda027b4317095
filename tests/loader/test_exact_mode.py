"""Exact mode (`Pipeline(exact=True)`, `crop_paths(exact=True)`) and the alpha rule.

Reference: torchvision.transforms.v2's functional ops on PIL images (``resized_crop`` with the
pipeline's box, ``resize(shorter)`` + ``center_crop``, ``resize``, ``horizontal_flip``) applied
to ``ImageOps.exif_transpose(Image.open(path)).convert(mode)``. Tolerance: uint8 output must be
identical (max 0); float32 output within 2e-6 of torchvision's float32
``to_dtype(scale=True)`` + ``normalize`` (pixfeed rounds ``(v/255 - mean)/std`` once from
float64, torchvision rounds each float32 step: a few ulps at values up to ~2.7).

Alpha: every path resizes channels independently (no premultiplied alpha), as
`pixfeed.resize` documents. The reference for an RGBA crop is Pillow's resize of each band as
an "L" image (Pillow's own RGBA resize premultiplies, which no pixfeed path does).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageOps

import pixfeed
from conftest import FixtureSet, diff_report, names
from pixfeed.parity import torchvision_reference

pytest.importorskip("torchvision")

FLOAT_TOL = 2e-6

# Every decodable JPEG fixture (all samplings incl. 4:4:0 and 4:1:1, progressive, restart
# markers, the 8 EXIF orientations, gray, CMYK/YCCK, odd sizes) and the 8-bit PNG/WebP ones
# whose Pillow conversion pixfeed.decode reproduces (16-bit PNGs are reduced differently,
# see conftest).
JPEGS = names(fmt="jpeg", no_tags=["orient_invalid", "xmp_orientation"])
OTHERS = names(fmt=("png", "webp"), any_tags=["photo", "orient"], no_tags=["sixteen", "hand"])
TINY = ("1x1", "2x3", "1x37", "37x1")


def _photo_set(d: Path) -> list[str]:
    """Real photos (skimage's) as JPEG in each chroma sampling, plus a PNG."""
    out = []
    photos = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),
        "rocket": skimage.data.rocket(),
    }
    for i, (name, a) in enumerate(photos.items()):
        for ss in (0, 1, 2):
            p = d / f"{name}_{ss}.jpg"
            Image.fromarray(a).save(p, quality=85 + i, subsampling=ss)
            out.append(str(p))
    p = d / "chelsea.png"
    Image.fromarray(photos["chelsea"]).save(p)
    out.append(str(p))
    return out


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _photo_set(tmp_path_factory.mktemp("exact_photos"))


def _pipe(crop: str, **kw: object) -> pixfeed.Pipeline:
    base: dict[str, object] = {"size": 96, "crop": crop, "exact": True, "dtype": "uint8"}
    if crop == "random_resized":
        base["scale"] = (0.05, 1.0)
    if crop == "center":
        base["resize_shorter"] = 110
    if kw.get("mode") in ("L", "RGBA"):
        base.update(mean=0.5, std=0.25)
    base.update(kw)
    return pixfeed.Pipeline(**base)  # type: ignore[arg-type]


def _layout_hwc(a: np.ndarray, pipe: pixfeed.Pipeline) -> np.ndarray:
    return a.transpose(1, 2, 0) if pipe.layout == "NCHW" and a.ndim == 3 else a


def _assert_exact(pipe: pixfeed.Pipeline, paths: list[str], seed: int = 3) -> None:
    got = pipe(paths, seed=seed)
    params = pipe.sample_boxes(paths, seed=seed)
    for k, (p, (box, flip)) in enumerate(zip(paths, params, strict=True)):
        want = torchvision_reference(pipe, p, box, flip)
        assert got[k].dtype == want.dtype
        g, w = _layout_hwc(got[k], pipe), _layout_hwc(want, pipe)
        assert np.array_equal(g, w), f"{Path(p).name} box={box} flip={flip}: {diff_report(g, w)}"


@pytest.mark.parametrize("crop", ["random_resized", "center", "resize"])
def test_photos_bit_exact(photos: list[str], crop: str) -> None:
    for interp in ("bilinear", "bicubic"):
        _assert_exact(_pipe(crop, interpolation=interp), photos)


def test_photos_many_boxes_and_flips(photos: list[str]) -> None:
    pipe = _pipe("random_resized", size=(64, 48), flip=0.5)
    params = [f for _, f in pipe.sample_boxes(photos * 3, seed=9)]
    assert any(params) and not all(params)  # both flipped and unflipped samples
    for seed in (1, 2, 9):
        _assert_exact(pipe, photos * 3, seed=seed)


@pytest.mark.parametrize("name", JPEGS + OTHERS)
def test_fixtures_bit_exact(fx: FixtureSet, name: str) -> None:
    path = str(fx.path(name))
    tiny = any(t in name for t in TINY)
    for crop in ("random_resized", "center", "resize"):
        size = 8 if tiny else 40
        shorter = 9 if tiny else 47
        pipe = _pipe(crop, size=size, resize_shorter=shorter, flip=0.5)
        _assert_exact(pipe, [path] * 4)
    if not tiny and "gray" in name:
        _assert_exact(_pipe("center", size=40, resize_shorter=47, mode="L"), [path] * 2)


def test_exif_off_uses_stored_orientation(fx: FixtureSet) -> None:
    paths = [str(fx.path(f"jpeg_orient{o}.jpg")) for o in range(1, 9)]
    _assert_exact(_pipe("random_resized", size=32, apply_exif=False), paths)
    _assert_exact(_pipe("center", size=32, resize_shorter=40, apply_exif=False), paths)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_float_output_within_rounding(photos: list[str], layout: str) -> None:
    pipe = _pipe("random_resized", dtype="float32", layout=layout, flip=0.5)
    got = pipe(photos, seed=4)
    for k, (p, (box, flip)) in enumerate(
        zip(photos, pipe.sample_boxes(photos, seed=4), strict=True)
    ):
        want = torchvision_reference(pipe, p, box, flip)
        assert want.dtype == np.float32 and got.dtype == np.float32
        err = float(np.abs(got[k] - want).max())
        assert err <= FLOAT_TOL, (p, err)


def test_other_modes_and_filters(photos: list[str]) -> None:
    for kw in (
        {"mode": "BGR"},
        {"mode": "L"},
        {"interpolation": "lanczos"},
        {"interpolation": "area"},
        {"interpolation": "nearest"},
    ):
        _assert_exact(_pipe("random_resized", **kw), photos[:4])
        _assert_exact(_pipe("center", **kw), photos[:4])


def test_center_crop_of_whole_resize_odd_offsets(photos: list[str]) -> None:
    # Offsets that round half to even in CenterCrop, and a crop as large as the resize.
    for size, shorter in (((95, 97), 110), ((31, 30), 31), ((120, 121), 121)):
        _assert_exact(_pipe("center", size=size, resize_shorter=shorter), photos)


def test_sample_boxes_are_the_loader_draws(photos: list[str]) -> None:
    pipe = _pipe("random_resized", flip=0.5)
    sizes = []
    for p in photos:
        info = pixfeed.probe(p)
        sizes.append((info.width, info.height))
    by_path = pipe.sample_boxes(photos, seed=7, epoch=2, indices=range(10, 10 + len(photos)))
    by_size = pipe.sample_boxes(sizes, seed=7, epoch=2, indices=range(10, 10 + len(photos)))
    assert by_path == by_size
    for i, (w, h) in enumerate(sizes):
        assert by_path[i] == pipe.sample_params(w, h, seed=7, epoch=2, index=10 + i)
    # The Loader's batch k of indices [10..] uses those same draws.
    loader = pixfeed.Loader(
        photos, pipeline=pipe, batch_size=len(photos), shuffle=False, seed=7, threads=1
    )
    loader.set_epoch(2)
    batch = next(iter(loader))
    loader.close()
    arr = np.asarray(batch[0] if isinstance(batch, tuple) else batch)
    assert np.array_equal(arr, pipe(photos, seed=7, epoch=2))
    # ... and those are torchvision's pixels for the boxes and flips sample_boxes reports.
    for k, (box, flip) in enumerate(pipe.sample_boxes(photos, seed=7, epoch=2)):
        assert np.array_equal(arr[k], torchvision_reference(pipe, photos[k], box, flip))


def test_check_parity_exact_and_fast(photos: list[str]) -> None:
    exact = pixfeed.check_parity(_pipe("random_resized"), photos, seed=1)
    assert exact.identical and exact.max_abs_diff == 0 and math.isinf(exact.psnr)
    assert exact.images == len(photos) and exact.worst == -1
    fast = pixfeed.check_parity(_pipe("random_resized", exact=False), photos, seed=1)
    assert fast.max_abs_diff > 0 and 20 < fast.psnr < math.inf
    assert fast.mean_abs_diff > 0
    flt = pixfeed.check_parity(_pipe("center", dtype="float32", exact=True), photos)
    assert flt.max_abs_diff <= FLOAT_TOL


def test_import_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, pixfeed; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------
# crop_paths(exact=True)
# ------------------------------------------------------------------------------------------


def _pil_crop_resize(
    path: str, box: tuple[int, int, int, int], window: int, mode: str
) -> np.ndarray:
    im = ImageOps.exif_transpose(Image.open(path)).convert(mode)
    x, y, w, h = box
    return np.asarray(
        im.crop((x, y, x + w, y + h)).resize((window, window), Image.Resampling.BILINEAR)
    )


def _relative_box(w: int, h: int, x: float, y: float, s: float) -> tuple[int, int, int, int]:
    cw, ch = min(max(math.floor(w * s), 2), w), min(max(math.floor(h * s), 2), h)
    x0, y0 = min(math.trunc(x * w), w - cw), min(math.trunc(y * h), h - ch)
    return x0, y0, cw, ch


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_crop_paths_exact(photos: list[str], fx: FixtureSet, mode: str) -> None:
    paths = photos + [str(fx.path(f"jpeg_orient{o}.jpg")) for o in range(1, 9)]
    paths += [
        str(fx.path(n)) for n in ("jpeg_cmyk_adobe.jpg", "jpeg_hand_440.jpg", "jpeg_gray.jpg")
    ]
    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(0, 1, len(paths)), rng.uniform(0, 1, len(paths))
    scales = rng.uniform(0.1, 0.9, len(paths))
    got = pixfeed.crop_paths(paths, xs, ys, scales, 57, mode=mode, exact=True)  # type: ignore[arg-type]
    fast = pixfeed.crop_paths(paths, xs, ys, scales, 57, mode=mode)  # type: ignore[arg-type]
    any_diff = False
    for k, p in enumerate(paths):
        info = pixfeed.probe(p)
        box = _relative_box(info.width, info.height, xs[k], ys[k], scales[k])
        want = _pil_crop_resize(p, box, 57, mode)
        assert np.array_equal(got[k], want), f"{p}: {diff_report(got[k], want)}"
        any_diff |= not np.array_equal(fast[k], want)
    assert any_diff  # the default mode is not exact


# ------------------------------------------------------------------------------------------
# One alpha rule: channels resized independently on every path
# ------------------------------------------------------------------------------------------


def _independent_resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    bands = [
        np.asarray(Image.fromarray(a[..., c]).resize(size, Image.Resampling.BILINEAR))
        for c in range(a.shape[-1])
    ]
    return np.dstack(bands)


@pytest.fixture(scope="module")
def alpha_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("alpha")
    rgb = skimage.data.astronaut()[::2, ::2]
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    # Sharp alpha edges over saturated colour: where premultiplication changes most.
    alpha = np.where((xx // 16 + yy // 16) % 2 == 0, 255, np.where(xx % 7 == 0, 0, 40)).astype(
        np.uint8
    )
    rgba = np.dstack([rgb, alpha])
    la = np.dstack([rgb[..., 1], alpha])
    out = []
    for name, arr, kw in (
        ("rgba.png", rgba, {}),
        ("la.png", la, {}),
        ("rgba_lossless.webp", rgba, {"lossless": True}),
    ):
        p = d / name
        Image.fromarray(arr).save(p, **kw)  # type: ignore[arg-type]
        out.append(str(p))
    return out


def test_alpha_rule_every_path_independent(alpha_files: list[str]) -> None:
    for p in alpha_files:
        full = pixfeed.decode(p, mode="RGBA")
        box = (13, 21, 150, 120)
        x, y, w, h = box
        region = full[y : y + h, x : x + w]
        want = _independent_resize(region, (60, 60))
        # pixfeed.resize (documented: independent channels).
        r = pixfeed.resize(np.ascontiguousarray(region), (60, 60))
        assert np.array_equal(r, want), diff_report(r, want)
        # Pillow itself premultiplies RGBA: that is a different (and here very different) rule.
        pil = np.asarray(
            Image.fromarray(region, "RGBA").resize((60, 60), Image.Resampling.BILINEAR)
        )
        assert np.abs(pil.astype(int) - want.astype(int)).max() > 20
        # crop_paths, exact and default.
        fx_, fy_ = x / full.shape[1], y / full.shape[0]
        s = w / full.shape[1]
        bw, bh = _relative_box(full.shape[1], full.shape[0], fx_, fy_, s)[2:]
        region2 = full[y : y + bh, x : x + bw]
        want2 = _independent_resize(region2, (60, 60))
        for exact in (True, False):
            c = pixfeed.crop_paths([p], [fx_], [fy_], s, 60, mode="RGBA", exact=exact)[0]
            err = np.abs(c.astype(int) - want2.astype(int))
            if exact:
                assert err.max() == 0, diff_report(c, want2)
            else:
                # fast_image_resize's own bilinear: within 2 levels, never the premultiplied
                # result (tens of levels away on this image).
                assert err.max() <= 2, diff_report(c, want2)
        # The Loader / Pipeline, exact and default.
        for exact in (True, False):
            pipe = pixfeed.Pipeline(
                (60, 60),
                crop="resize",
                flip=0.0,
                mode="RGBA",
                mean=0.0,
                std=1.0,
                dtype="uint8",
                layout="NHWC",
                exact=exact,
            )
            loader = pixfeed.Loader([p], pipeline=pipe, batch_size=1, shuffle=False, threads=1)
            got = np.asarray(next(iter(loader)))
            loader.close()
            got = got[0] if got.ndim == 4 else got
            want3 = _independent_resize(full, (60, 60))
            err = np.abs(got.astype(int) - want3.astype(int))
            assert err.max() <= (0 if exact else 2), diff_report(got, want3)


def test_alpha_in_memory_bytes(alpha_files: list[str]) -> None:
    data = Path(alpha_files[0]).read_bytes()
    a = pixfeed.crop_paths(
        [data, io.BytesIO(data).getvalue()], 0.0, 0.0, 1.0, 32, mode="RGBA", exact=True
    )
    assert np.array_equal(a[0], a[1])
