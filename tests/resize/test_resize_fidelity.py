"""resize against its references: Pillow's ``Image.resize`` (antialias=True) and ``cv2.resize``
(antialias=False), every interpolation, max abs difference <= 1 on uint8.

Pillow is compared channel by channel ("L" images): Pillow premultiplies the alpha of RGBA/LA
images and pixfeed does not (documented in ``pixfeed.resize``). Pillow 13 changed the order of
the two passes (vertically first when the height shrinks by more than twice as many pixels as
the width); pixfeed follows Pillow 13, so with older Pillow high-contrast images resized with
negative-lobe filters (bicubic, lanczos) can differ by more where the orders differ.
"""

from __future__ import annotations

import cv2
import numpy as np
import PIL
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import pixfeed

cv2.setNumThreads(1)

PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
}
CV_FILTERS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
    "area": cv2.INTER_AREA,
}
PILLOW_13 = int(PIL.__version__.split(".")[0]) >= 13


def pillow_resize(a: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    f = PIL_FILTERS[interpolation]
    if a.ndim == 2:
        return np.asarray(Image.fromarray(a).resize(size, f))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(a[..., c])).resize(size, f))
        for c in range(a.shape[2])
    ]
    return np.stack(planes, axis=-1)


def cv2_resize(a: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    r = cv2.resize(a, size, interpolation=CV_FILTERS[interpolation])
    return r[..., None] if a.ndim == 3 and r.ndim == 2 else r


def reference(a: np.ndarray, size: tuple[int, int], interpolation: str, antialias: bool):
    return (pillow_resize if antialias else cv2_resize)(a, size, interpolation)


def max_diff(x: np.ndarray, y: np.ndarray) -> int:
    assert x.shape == y.shape, (x.shape, y.shape)
    return int(np.abs(x.astype(np.int32) - y.astype(np.int32)).max()) if x.size else 0


@st.composite
def side_pair(draw: st.DrawFn, max_pixels: int) -> tuple[int, int]:
    """(width, height) with each side in 1..2000 and at most `max_pixels` pixels."""
    long = draw(st.integers(1, 2000))
    short = draw(st.integers(1, max(1, min(long, max_pixels // long))))
    return (long, short) if draw(st.booleans()) else (short, long)


@st.composite
def image(draw: st.DrawFn) -> np.ndarray:
    w, h = draw(side_pair(40_000))
    channels = draw(st.sampled_from([0, 1, 2, 3, 4]))  # 0: a 2-D array
    shape = (h, w) if channels == 0 else (h, w, channels)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "binary", "smooth"]))
    if kind == "noise":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "binary":  # the worst case for ringing filters and rounding
        return (rng.integers(0, 2, shape, dtype=np.uint8) * 255).astype(np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / 9.0) + np.cos(y / 7.0)) * 60 + 128
    out = base.astype(np.uint8)
    return out if channels == 0 else np.repeat(out[..., None], channels, axis=-1)


@st.composite
def target(draw: st.DrawFn, a: np.ndarray) -> tuple[int, int]:
    if draw(st.booleans()):
        return draw(side_pair(40_000))
    # Near the source size too (mild scales, one axis unchanged).
    h, w = a.shape[:2]
    fw, fh = draw(st.floats(0.3, 3.0)), draw(st.sampled_from([None, 0.5, 1.0, 2.0]))
    dw = max(1, min(2000, round(w * fw)))
    dh = h if fh is None else max(1, min(2000, round(h * fh)))
    return dw, dh


def check(a: np.ndarray, size: tuple[int, int], interpolation: str, antialias: bool) -> None:
    ours = pixfeed.resize(a, size, interpolation=interpolation, antialias=antialias)
    ref = reference(a, size, interpolation, antialias)
    assert ours.dtype == np.uint8 and ours.ndim == a.ndim
    d = max_diff(ours, ref)
    assert d <= 1, f"{interpolation} antialias={antialias} {a.shape} -> {size}: max diff {d}"


@pytest.mark.parametrize("antialias", [True, False], ids=["pillow", "cv2"])
@pytest.mark.parametrize("interpolation", list(PIL_FILTERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(data=st.data())
def test_matches_reference(interpolation: str, antialias: bool, data: st.DataObject) -> None:
    a = data.draw(image())
    size = data.draw(target(a))
    if antialias and not PILLOW_13 and interpolation in ("bicubic", "lanczos"):
        pytest.skip("Pillow < 13 orders its passes differently")
    check(a, size, interpolation, antialias)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


PHOTO_SIZES = [(224, 224), (256, 171), (1000, 1000), (513, 97), (37, 800), (512, 511), (33, 33)]


@pytest.mark.parametrize("antialias", [True, False], ids=["pillow", "cv2"])
@pytest.mark.parametrize("interpolation", list(PIL_FILTERS))
def test_real_photo(astronaut: np.ndarray, interpolation: str, antialias: bool) -> None:
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    rgba = np.dstack([astronaut, gray])
    for a in (astronaut, gray, rgba):
        for size in PHOTO_SIZES:
            check(a, size, interpolation, antialias)


def test_pillow_is_reproduced_exactly(astronaut: np.ndarray) -> None:
    """Not required by the contract, but a regression guard: Pillow's integer arithmetic is
    reproduced bit for bit (with the installed Pillow's pass order)."""
    if not PILLOW_13:
        pytest.skip("pass order of Pillow 13")
    for interpolation in PIL_FILTERS:
        for size in PHOTO_SIZES:
            ours = pixfeed.resize(astronaut, size, interpolation=interpolation)
            assert max_diff(ours, pillow_resize(astronaut, size, interpolation)) == 0


def test_large_single_image_bands_are_exact() -> None:
    """A large image is split into row bands over threads: same bytes as one thread."""
    rng = np.random.default_rng(3)
    wide = rng.integers(0, 256, (1500, 1300, 3), dtype=np.uint8)
    tall = rng.integers(0, 256, (2500, 600, 3), dtype=np.uint8)  # Pillow 13: vertical first
    for a, size in ((wide, (301, 217)), (tall, (500, 200))):
        for interpolation in ("bilinear", "lanczos", "area"):
            one = pixfeed.resize(a, size, interpolation=interpolation, threads=1)
            two = pixfeed.resize(a, size, interpolation=interpolation, threads=2)
            np.testing.assert_array_equal(one, two)
            assert max_diff(one, pillow_resize(a, size, interpolation)) <= 1
