"""convert against Pillow's Image.convert and numpy channel shuffles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import pixfeed

MODES = ["L", "RGB", "BGR", "RGBA", "BGRA"]
CHANNELS = {"L": 1, "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4}


def _numpy_reference(a: np.ndarray, source: str, to: str, alpha: int) -> np.ndarray:
    """RGB(A) from `source`, then `to`; L via Pillow (its integer formula)."""
    if source == "L":
        g = a if a.ndim == 2 else a[..., 0]
        rgb = np.stack([g, g, g], axis=-1)
        al = None
    else:
        rgb = a[..., :3] if source.startswith("RGB") else a[..., 2::-1]
        al = a[..., 3] if source.endswith("A") else None
    if to == "L":
        if source == "L":
            return a if a.ndim == 2 else a[..., 0]
        return np.asarray(Image.fromarray(np.ascontiguousarray(rgb), "RGB").convert("L"))
    out = rgb if to.startswith("RGB") else rgb[..., ::-1]
    if to.endswith("A"):
        al = np.full(a.shape[:2], alpha, np.uint8) if al is None else al
        out = np.concatenate([out, al[..., None]], axis=-1)
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(MODES),
    st.sampled_from(MODES),
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(0, 255),
    st.data(),
)
def test_convert_matches_reference(
    source: str, to: str, h: int, w: int, alpha: int, data: st.DataObject
) -> None:
    c = CHANNELS[source]
    shape = (h, w) if c == 1 and data.draw(st.booleans()) else (h, w, c)
    a = data.draw(hnp.arrays(np.uint8, shape))
    out = pixfeed.convert(a, to, source=source, alpha=alpha)
    assert out.dtype == np.uint8 and out.flags.c_contiguous and out.flags.writeable
    assert out.shape == ((h, w) if to == "L" else (h, w, CHANNELS[to]))
    np.testing.assert_array_equal(out, _numpy_reference(a, source, to, alpha))


@pytest.mark.parametrize(
    ("pil_from", "pil_to", "source", "to"),
    [
        ("RGB", "L", "RGB", "L"),
        ("RGBA", "L", "RGBA", "L"),
        ("L", "RGB", "L", "RGB"),
        ("L", "RGBA", "L", "RGBA"),
        ("RGB", "RGBA", "RGB", "RGBA"),
        ("RGBA", "RGB", "RGBA", "RGB"),
    ],
)
def test_convert_equals_pillow(pil_from: str, pil_to: str, source: str, to: str) -> None:
    rng = np.random.default_rng(0)
    c = CHANNELS[source]
    a = rng.integers(0, 256, (37, 53) if c == 1 else (37, 53, c), dtype=np.uint8)
    ref = np.asarray(Image.fromarray(a, pil_from).convert(pil_to))
    np.testing.assert_array_equal(pixfeed.convert(a, to, source=source), ref)


def test_convert_equals_decode_luma() -> None:
    # pixfeed.decode(mode="L") and convert(..., "L") share Pillow's luma.
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    bgr = pixfeed.convert(a, "BGR")
    np.testing.assert_array_equal(bgr, a[..., ::-1])
    np.testing.assert_array_equal(
        pixfeed.convert(bgr, "L", source="BGR"), pixfeed.convert(a, "L", source="RGB")
    )


def test_convert_batches_views_and_out() -> None:
    rng = np.random.default_rng(2)
    big = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    views = [big[3:30, 5:45], big[::2, ::3], big[::-1], big[:, ::-1]]
    for v in views:
        np.testing.assert_array_equal(pixfeed.convert(v, "BGR", source="RGBA"), v[..., 2::-1])
    outs = pixfeed.convert(views, "RGB", source="BGRA", threads=2)
    for o, v in zip(outs, views, strict=True):
        np.testing.assert_array_equal(o, v[..., 2::-1])
    stacked = rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8)
    out = pixfeed.convert(stacked, "RGBA", alpha=9)
    assert out.shape == (12, 64, 64, 4)
    np.testing.assert_array_equal(out[..., :3], stacked)
    assert (out[..., 3] == 9).all()
    gray = np.empty((12, 64, 64), np.uint8)
    assert pixfeed.convert(stacked, "L", out=gray) is gray
    np.testing.assert_array_equal(gray[3], pixfeed.convert(stacked[3], "L"))


def test_convert_bad_arguments() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="to"):
        pixfeed.convert(a, "HSV")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        pixfeed.convert(a, "L", source="YUV")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"images\[0\].*channel"):
        pixfeed.convert(a, "RGB", source="RGBA")
    with pytest.raises(ValueError, match=r"images\[1\]"):
        pixfeed.convert([a, a[..., 0]], "L")
    with pytest.raises(ValueError, match="alpha"):
        pixfeed.convert(a, "RGBA", alpha=300)
    with pytest.raises(TypeError, match="uint8"):
        pixfeed.convert(a.astype(np.uint16), "L")
    with pytest.raises(ValueError, match="out"):
        pixfeed.convert(a, "L", out=np.zeros((1, 4, 4, 1), np.uint8))
