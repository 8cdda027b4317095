"""`roi=` and `reduce_to=` (docs/decoding.md).

* ROI: ``decode(p, roi=(x, y, w, h))`` is *identical* to ``decode(p)[y:y+h, x:x+w]`` in the
  oriented image, for every format and layout the decoders special-case (JPEG per
  subsampling, progressive, restart markers, EXIF orientations 1-8; PNG plain and
  interlaced; BMP bottom-up and top-down; WebP).
* reduce_to: JPEG decodes at scale M/8, M the smallest in 1..8 with ``ceil(W*M/8) >= w`` and
  ``ceil(H*M/8) >= h`` (libjpeg's output size; W, H, w, h all oriented); M = 8 (full size) if
  none. Other formats have no cheap reduced decode: full size, identical to a plain decode.
  At M = 4, 2, 1 the pixels are compared with Pillow's ``draft()`` at the same scale (same
  libjpeg-turbo, islow scaled IDCT): see DRAFT_* for the tolerance.
* roi + reduce_to: the ROI is mapped to stored coordinates, scaled with the decode
  (``x0 = floor(x*M/8)``, ``x1 = ceil((x+w)*M/8)``), M the smallest scale whose scaled ROI is
  still >= the request, then oriented; identical to slicing the scaled full decode that way.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

import pixfeed
from conftest import (
    SPECS,
    FixtureSet,
    assert_output_array,
    diff_report,
    names,
    orient,
    pil_convert,
    pil_orientation,
    psnr,
    stored_rect,
)

# pixfeed's M/8 decode vs Pillow's draft() at the same scale. Both are libjpeg-turbo (islow
# scaled IDCT, default upsampling; Pillow's draft does not switch to the fast IDCT). Measured
# on every reduce fixture at 1/2, 1/4, 1/8 in RGB and L: identical (max abs 0). Tolerance:
DRAFT_MAX_MEAN_ABS = 0.05  # mean absolute difference per sample
DRAFT_MIN_PSNR = 50.0  # dB

ROI_FIXTURES = names(any_tags=["roi"])
ROI_MODES = ["RGB", "L", "RGBA", "unchanged"]
REDUCE_JPEG = names(fmt="jpeg", any_tags=["reduce"])
NON_JPEG = [
    "png_rgb.png",
    "png_interlaced_rgb.png",
    "png16_rgb.png",
    "png_orient6.png",
    "bmp24_chelsea.bmp",
    "bmp8_palette_topdown.bmp",
    "webp_lossless.webp",
    "webp_lossy_odd.webp",
    "webp_orient7.webp",
]


@functools.lru_cache(maxsize=256)
def full(path: Path, mode: str = "RGB", apply_exif: bool = True) -> np.ndarray:
    a = pixfeed.decode(path, mode=mode, apply_exif=apply_exif)
    a.setflags(write=False)
    return a


# pixfeed decodes JPEG at M/8 for these M only (libjpeg-turbo's SIMD IDCT sizes; 3/8..7/8 run
# C IDCTs slower than a full-size decode, so they are never the cheap choice).
SCALES = (1, 2, 4, 8)


def expected_scale(W: int, H: int, w: int, h: int) -> int:
    for m in SCALES:
        if math.ceil(W * m / 8) >= w and math.ceil(H * m / 8) >= h:
            return m
    return 8


def scaled_span(x: int, w: int, m: int) -> tuple[int, int]:
    return (x * m) // 8, -((-(x + w) * m) // 8)


# ------------------------------------------------------------------------------------------
# ROI
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROI_FIXTURES)
@settings(max_examples=10)
@given(data=st.data())
def test_roi_is_slice_of_full_decode(fx: FixtureSet, name: str, data: st.DataObject) -> None:
    path = fx.path(name)
    mode = data.draw(st.sampled_from(ROI_MODES), label="mode")
    ref = full(path, mode)
    H, W = ref.shape[:2]
    x = data.draw(st.integers(0, W - 1), label="x")
    y = data.draw(st.integers(0, H - 1), label="y")
    w = data.draw(st.integers(1, W - x), label="w")
    h = data.draw(st.integers(1, H - y), label="h")
    got = pixfeed.decode(path, mode=mode, roi=(x, y, w, h))
    assert_output_array(got, dtype=ref.dtype)
    want = ref[y : y + h, x : x + w]
    assert np.array_equal(got, want), f"roi={(x, y, w, h)} {mode}: {diff_report(got, want)}"


def edge_rects(W: int, H: int) -> list[tuple[int, int, int, int]]:
    """Corners, single rows/columns, and rects straddling 8/16-pixel (MCU) boundaries."""
    rects = [
        (0, 0, W, H),
        (0, 0, 1, 1),
        (W - 1, 0, 1, 1),
        (0, H - 1, 1, 1),
        (W - 1, H - 1, 1, 1),
        (0, H - 1, W, 1),
        (W - 1, 0, 1, H),
        (0, 0, W, 1),
        (0, 0, 1, H),
        (W // 2, 0, 1, H),
        (W // 4, H // 4, max(1, W // 2), max(1, H // 2)),
    ]
    for x, y, w, h in [
        (7, 7, 2, 2),
        (15, 15, 2, 2),
        (16, 16, 16, 16),
        (8, 8, 1, 1),
        (17, 33, 31, 15),
        (31, 0, 3, 7),
        (1, 1, 14, 14),
    ]:
        if x + w <= W and y + h <= H:
            rects.append((x, y, w, h))
    # the last partial MCU column/row of odd-sized images
    for b in (8, 16, 32):
        if W > b:
            rects.append(((W - 1) // b * b, 0, W - (W - 1) // b * b, H))
        if H > b:
            rects.append((0, (H - 1) // b * b, W, H - (H - 1) // b * b))
    return rects


@pytest.mark.parametrize("name", ROI_FIXTURES + names(any_tags=["odd"]))
def test_roi_edge_rects(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    for mode in ("RGB", "unchanged"):
        ref = full(path, mode)
        H, W = ref.shape[:2]
        for r in edge_rects(W, H):
            x, y, w, h = r
            got = pixfeed.decode(path, mode=mode, roi=r)
            want = ref[y : y + h, x : x + w]
            assert np.array_equal(got, want), f"roi={r} {mode}: {diff_report(got, want)}"


@pytest.mark.parametrize("name", names(any_tags=["orient"], all_tags=["roi"]))
@settings(max_examples=8)
@given(data=st.data())
def test_roi_without_exif_is_stored_slice(fx: FixtureSet, name: str, data: st.DataObject) -> None:
    """With apply_exif=False the ROI is in stored coordinates."""
    path = fx.path(name)
    ref = full(path, "RGB", apply_exif=False)
    H, W = ref.shape[:2]
    x = data.draw(st.integers(0, W - 1))
    y = data.draw(st.integers(0, H - 1))
    w = data.draw(st.integers(1, W - x))
    h = data.draw(st.integers(1, H - y))
    got = pixfeed.decode(path, roi=(x, y, w, h), apply_exif=False)
    assert np.array_equal(got, ref[y : y + h, x : x + w]), (x, y, w, h)


@pytest.mark.parametrize(
    "name", ["jpeg_orient6.jpg", "png_orient5.png", "bmp24_topdown.bmp", "webp_orient8.webp"]
)
def test_roi_out_of_bounds_names_roi(fx: FixtureSet, name: str) -> None:
    """Oriented bounds: for orientation 5-8 the stored width is the oriented height."""
    path = fx.path(name)
    H, W = full(path).shape[:2]
    for r in [(0, 0, W + 1, H), (0, 0, W, H + 1), (W, 0, 1, 1), (0, H, 1, 1), (W - 5, H - 5, 6, 5)]:
        with pytest.raises(ValueError, match="roi") as ei:
            pixfeed.decode(path, roi=r)
        assert not isinstance(ei.value, pixfeed.DecodeError) or "roi" in str(ei.value)
    # the largest valid one works
    assert pixfeed.decode(path, roi=(0, 0, W, H)).shape[:2] == (H, W)


# ------------------------------------------------------------------------------------------
# reduce_to
# ------------------------------------------------------------------------------------------


def reduce_requests(W: int, H: int) -> list[tuple[int, int]]:
    reqs = [(1, 1), (W, H), (W + 1, H), (W, H + 1), (W + 50, H + 50), (1, H), (W, 1)]
    for m in range(1, 9):
        w, h = math.ceil(W * m / 8), math.ceil(H * m / 8)
        reqs += [(w, h), (w + 1, h), (w, h + 1), (w - 1, h - 1), (w, 1), (1, h)]
    return [(max(1, w), max(1, h)) for w, h in reqs]


@pytest.mark.parametrize("name", REDUCE_JPEG)
def test_reduce_to_size_is_smallest_m_over_8(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    H, W = full(path).shape[:2]
    for w, h in reduce_requests(W, H):
        m = expected_scale(W, H, w, h)
        got = pixfeed.decode(path, reduce_to=(w, h))
        want = (math.ceil(H * m / 8), math.ceil(W * m / 8))
        assert got.shape[:2] == want, f"reduce_to={(w, h)}: {got.shape[:2]} != {want} (M={m})"
        assert got.shape[1] >= min(w, W) and got.shape[0] >= min(h, H), "smaller than asked"


@pytest.mark.parametrize("name", ["jpeg_chelsea_420.jpg", "jpeg_orient6.jpg", "jpeg_gray.jpg"])
@settings(max_examples=20)
@given(data=st.data())
def test_reduce_to_size_property(fx: FixtureSet, name: str, data: st.DataObject) -> None:
    path = fx.path(name)
    H, W = full(path).shape[:2]
    w = data.draw(st.integers(1, W + 10))
    h = data.draw(st.integers(1, H + 10))
    mode = data.draw(st.sampled_from(["RGB", "L", "unchanged"]))
    m = expected_scale(W, H, w, h)
    got = pixfeed.decode(path, reduce_to=(w, h), mode=mode)
    assert got.shape[:2] == (math.ceil(H * m / 8), math.ceil(W * m / 8)), (w, h, m)


@pytest.mark.parametrize("name", REDUCE_JPEG)
def test_reduce_full_scale_is_full_decode(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    H, W = full(path).shape[:2]
    for req in [(W, H), (W + 1, H + 1), (10 * W, 1), (W, H - 1)]:
        got = pixfeed.decode(path, reduce_to=req)
        assert np.array_equal(got, full(path)), req


def pillow_draft(path: Path, scale: int, mode: str) -> np.ndarray:
    """Pillow's DCT-domain reduced decode at 1/scale (then EXIF-oriented)."""
    im = Image.open(path)
    sw, sh = im.size
    im.draft(im.mode, (sw // scale, sh // scale))
    assert im.size == (math.ceil(sw / scale), math.ceil(sh / scale)), (im.size, scale)
    im.load()
    im = ImageOps.exif_transpose(im)
    return np.asarray(im) if mode == "unchanged" else pil_convert(im, mode)


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("name", REDUCE_JPEG)
def test_reduce_matches_pillow_draft(fx: FixtureSet, name: str, scale: int) -> None:
    path = fx.path(name)
    H, W = full(path).shape[:2]
    req = (math.ceil(W / scale), math.ceil(H / scale))
    assert expected_scale(W, H, *req) == 8 // scale
    modes = ["RGB", "L"] + (["unchanged"] if "cmyk" in SPECS[name].tags else [])
    for mode in modes:
        got = pixfeed.decode(path, reduce_to=req, mode=mode)
        want = pillow_draft(path, scale, mode)
        assert got.shape == want.shape, (got.shape, want.shape)
        mad = float(np.abs(got.astype(int) - want.astype(int)).mean())
        p = psnr(got, want)
        assert mad <= DRAFT_MAX_MEAN_ABS and p >= DRAFT_MIN_PSNR, (
            f"1/{scale} {mode}: mean abs {mad:.3f}, PSNR {p:.1f} dB; {diff_report(got, want)}"
        )


@pytest.mark.parametrize("m", [3, 5, 6, 7])
@pytest.mark.parametrize(
    "name", ["jpeg_chelsea_420.jpg", "jpeg_hand_440.jpg", "jpeg_orient7_422.jpg"]
)
def test_reduce_between_scales_rounds_up_to_the_next_fast_scale(
    fx: FixtureSet, name: str, m: int
) -> None:
    """A request that M/8 (M = 3, 5, 6, 7) would meet is served at the next scale in SCALES,
    identical to asking for that scale directly."""
    path = fx.path(name)
    H, W = full(path).shape[:2]
    req = (math.ceil(W * m / 8), math.ceil(H * m / 8))
    fast = next(s for s in SCALES if s >= m)
    got = pixfeed.decode(path, reduce_to=req)
    assert got.shape[:2] == (math.ceil(H * fast / 8), math.ceil(W * fast / 8))
    direct = pixfeed.decode(path, reduce_to=(math.ceil(W * fast / 8), math.ceil(H * fast / 8)))
    assert np.array_equal(got, direct)


@pytest.mark.parametrize("name", NON_JPEG)
def test_reduce_non_jpeg_is_full_decode(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    for mode in ("RGB", "unchanged"):
        ref = full(path, mode)
        H, W = ref.shape[:2]
        for req in [(1, 1), (W // 2, H // 2), (W // 8 + 1, H // 8 + 1), (W, H), (W + 3, H + 3)]:
            got = pixfeed.decode(path, reduce_to=req, mode=mode)
            assert np.array_equal(got, ref), (req, mode)


# ------------------------------------------------------------------------------------------
# roi + reduce_to
# ------------------------------------------------------------------------------------------


def expected_roi_reduce(
    path: Path, rect: tuple[int, int, int, int], req: tuple[int, int], mode: str
) -> tuple[np.ndarray, int]:
    o = pil_orientation(path)
    stored = full(path, mode, apply_exif=False)
    sh, sw = stored.shape[:2]
    sx, sy, swid, shgt = stored_rect(rect, o, sw, sh)
    rw, rh = req if o < 5 else (req[1], req[0])
    m = 8
    for cand in SCALES:
        x0, x1 = scaled_span(sx, swid, cand)
        y0, y1 = scaled_span(sy, shgt, cand)
        if x1 - x0 >= rw and y1 - y0 >= rh:
            m = cand
            break
    scaled = pixfeed.decode(
        path,
        mode=mode,
        apply_exif=False,
        reduce_to=(math.ceil(sw * m / 8), math.ceil(sh * m / 8)),
    )
    assert scaled.shape[:2] == (math.ceil(sh * m / 8), math.ceil(sw * m / 8))
    x0, x1 = scaled_span(sx, swid, m)
    y0, y1 = scaled_span(sy, shgt, m)
    return orient(scaled[y0:y1, x0:x1], o), m


@pytest.mark.parametrize("name", REDUCE_JPEG)
@settings(max_examples=12)
@given(data=st.data())
def test_roi_with_reduce(fx: FixtureSet, name: str, data: st.DataObject) -> None:
    path = fx.path(name)
    H, W = full(path).shape[:2]
    x = data.draw(st.integers(0, W - 1), label="x")
    y = data.draw(st.integers(0, H - 1), label="y")
    w = data.draw(st.integers(1, W - x), label="w")
    h = data.draw(st.integers(1, H - y), label="h")
    rw = data.draw(st.integers(1, w + 4), label="req_w")
    rh = data.draw(st.integers(1, h + 4), label="req_h")
    mode = data.draw(st.sampled_from(["RGB", "L"]), label="mode")
    want, m = expected_roi_reduce(path, (x, y, w, h), (rw, rh), mode)
    got = pixfeed.decode(path, mode=mode, roi=(x, y, w, h), reduce_to=(rw, rh))
    assert got.shape[1] >= min(rw, w) and got.shape[0] >= min(rh, h), "smaller than requested"
    assert np.array_equal(got, want), (
        f"roi={(x, y, w, h)} req={(rw, rh)} M={m}: {diff_report(got, want)}"
    )


@pytest.mark.parametrize("name", NON_JPEG)
def test_roi_with_reduce_non_jpeg(fx: FixtureSet, name: str) -> None:
    path = fx.path(name)
    ref = full(path)
    H, W = ref.shape[:2]
    r = (W // 5, H // 3, W // 2, H // 2)
    got = pixfeed.decode(path, roi=r, reduce_to=(5, 5))
    assert np.array_equal(got, ref[r[1] : r[1] + r[3], r[0] : r[0] + r[2]])


def test_fixture_coverage() -> None:
    """The ROI sweep covers what docs/decoding.md lists (guards against a fixture list
    regression)."""
    tags = set().union(*(SPECS[n].tags for n in ROI_FIXTURES))
    for t in (
        "ss444",
        "ss422",
        "ss420",
        "ss440",
        "progressive",
        "restart",
        "orient",
        "interlaced",
        "bottom_up",
        "top_down",
        "lossy",
        "lossless",
        "cmyk",
        "sixteen",
    ):
        assert t in tags, t
    fmts = {SPECS[n].fmt for n in ROI_FIXTURES}
    assert fmts == {"jpeg", "png", "bmp", "webp"}
    orients = {SPECS[n].orientation for n in ROI_FIXTURES if SPECS[n].fmt == "jpeg"}
    assert orients == set(range(1, 9))
