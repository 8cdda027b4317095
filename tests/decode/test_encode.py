"""encode: what Pillow reads back (lossless formats exact; JPEG close on a real photo)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

import pixfeed


@pytest.mark.parametrize("fmt", ["png", "bmp", "webp"])
@pytest.mark.parametrize("shape", [(17, 29), (17, 29, 3), (17, 29, 4), (1, 1, 3)])
def test_lossless_formats_read_back_exactly_by_pillow(fmt: str, shape: tuple[int, ...]) -> None:
    a = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    data = pixfeed.encode(a, fmt)  # type: ignore[arg-type]
    img = Image.open(io.BytesIO(data))
    mode = "L" if len(shape) == 2 else ("RGB" if shape[2] == 3 else "RGBA")
    assert np.array_equal(np.asarray(img.convert(mode)), a)
    # WebP has no gray storage: read a gray image back as L rather than "unchanged".
    back_mode = {"L": "L", "RGB": "RGB", "RGBA": "RGBA"}[mode]
    assert np.array_equal(pixfeed.decode(data, mode=back_mode), a)  # type: ignore[arg-type]


def test_jpeg_of_a_photo_is_close_to_pillows() -> None:
    photo = skimage.data.astronaut()
    ours = np.asarray(Image.open(io.BytesIO(pixfeed.encode(photo, "jpeg", quality=90))))
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=90)
    theirs = np.asarray(Image.open(buf))
    err_ours = np.abs(ours.astype(int) - photo).mean()
    err_theirs = np.abs(theirs.astype(int) - photo).mean()
    assert err_ours <= err_theirs * 1.05 + 0.1


def test_bad_arguments() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="format"):
        pixfeed.encode(a, "gif")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quality"):
        pixfeed.encode(a, "jpeg", quality=0)
    with pytest.raises(TypeError, match="image"):
        pixfeed.encode(a.astype(np.float32), "png")
    with pytest.raises(ValueError, match="channels"):
        pixfeed.encode(np.zeros((4, 4, 5), np.uint8), "png")
