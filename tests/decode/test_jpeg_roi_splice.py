"""JPEG regions far down a sequential file are decoded from a spliced stream (the rows above
skipped by pixfeed's own Huffman parse, see codecs/jpeg/skip.rs): the pixels must equal the
full decode's, for files from Pillow's encoder with standard and optimized Huffman tables
(optimized tables may lack DC categories and AC sizes, which the splice has to work around),
every chroma subsampling, gray, and qualities from 5 to 100."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

import pixfeed


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    im = Image.fromarray(skimage.data.astronaut()).resize((600, 472))
    rng = np.random.default_rng(3)
    a = np.asarray(im).astype(np.int16) + rng.integers(-6, 7, (472, 600, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize("quality", [5, 50, 95, 100])
@pytest.mark.parametrize("kind", ["L", "444", "422", "420"])
def test_regions_equal_the_full_decode(
    photo: np.ndarray, optimize: bool, quality: int, kind: str
) -> None:
    buf = io.BytesIO()
    if kind == "L":
        Image.fromarray(photo).convert("L").save(buf, "JPEG", quality=quality, optimize=optimize)
        mode = "L"
    else:
        sub = {"444": 0, "422": 1, "420": 2}[kind]
        Image.fromarray(photo).save(
            buf, "JPEG", quality=quality, optimize=optimize, subsampling=sub
        )
        mode = "RGB"
    data = buf.getvalue()
    full = pixfeed.decode(data, mode=mode)
    h, w = full.shape[:2]
    rng = np.random.default_rng(quality * 7 + len(kind) + int(optimize))
    for _ in range(25):
        y = int(rng.integers(40, h - 1))  # far enough down to be spliced
        x = int(rng.integers(0, w - 1))
        rw, rh = int(rng.integers(1, w - x + 1)), int(rng.integers(1, h - y + 1))
        got = pixfeed.decode(data, mode=mode, roi=(x, y, rw, rh))
        np.testing.assert_array_equal(got, full[y : y + rh, x : x + rw])
    # Reduced (DCT-scaled) regions equal the same region of the reduced full decode.
    for k in (2, 4, 8):
        red = pixfeed.decode(data, mode=mode, reduce_to=(w // k, h // k))
        for _ in range(6):
            y = int(rng.integers(8 * k * 3, h - 8 * k))
            x = int(rng.integers(0, w - 8 * k))
            rw = 8 * k * int(rng.integers(1, (w - x) // (8 * k) + 1))
            rh = 8 * k
            got = pixfeed.decode(
                data, mode=mode, roi=(x, y, rw, rh), reduce_to=(max(1, rw // k), rh // k)
            )
            sy, sx = y // k, x // k
            np.testing.assert_array_equal(got, red[sy : sy + got.shape[0], sx : sx + got.shape[1]])
