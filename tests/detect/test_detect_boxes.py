"""box_iou and box_convert against torchvision.ops, bit for bit in the input's dtype."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pixfeed

torch = pytest.importorskip("torch")
tv_ops = pytest.importorskip("torchvision.ops")

FORMATS = ("xyxy", "xywh", "cxcywh")


@st.composite
def xyxy(draw: st.DrawFn, max_n: int = 40) -> np.ndarray:
    n = draw(st.integers(0, max_n))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        xy = rng.integers(0, 10, (n, 2)).astype(float)
        wh = rng.integers(0, 5, (n, 2)).astype(float)
    else:
        xy = rng.uniform(-50, 50, (n, 2))
        wh = rng.uniform(0, 40, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(dtype)


def same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    # NaN (two empty boxes) compares equal to NaN here; everything else bit for bit.
    np.testing.assert_array_equal(a, b)


@settings(max_examples=100, deadline=None)
@given(xyxy(), xyxy())
def test_box_iou_equals_torchvision(a: np.ndarray, b: np.ndarray) -> None:
    b = b.astype(a.dtype)
    got = pixfeed.box_iou(a, b)
    want = tv_ops.box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    same_bits(got, want)


def test_box_iou_large_parallel() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 500, (700, 2))
    a = np.concatenate([xy, xy + rng.uniform(1, 80, (700, 2))], 1).astype(np.float32)
    got = pixfeed.box_iou(a, a[:300])
    want = tv_ops.box_iou(torch.from_numpy(a), torch.from_numpy(a[:300])).numpy()
    same_bits(got, want)
    same_bits(pixfeed.box_iou(a, a[:300], threads=1), got)


def test_box_iou_dtypes_and_empty() -> None:
    a = np.array([[0, 0, 2, 2]], np.float32)
    assert pixfeed.box_iou(a, a).dtype == np.float32
    assert pixfeed.box_iou(a, a.astype(np.float64)).dtype == np.float64
    assert pixfeed.box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert pixfeed.box_iou(np.zeros((0, 4)), a).shape == (0, 1)
    assert pixfeed.box_iou(a, []).shape == (1, 0)


def test_box_iou_bad_boxes() -> None:
    with pytest.raises(ValueError, match=r"^a: box 0 .*x2 < x1"):
        pixfeed.box_iou([[3, 0, 1, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"^b: box 1 .*non-finite"):
        pixfeed.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, np.nan, 1]])
    with pytest.raises(ValueError, match=r"^b: expected an \(N, 4\)"):
        pixfeed.box_iou([[0, 0, 1, 1]], [[0, 0, 1]])


@settings(max_examples=60, deadline=None)
@given(xyxy(max_n=30), st.sampled_from(list(itertools.product(FORMATS, FORMATS))))
def test_box_convert_equals_torchvision(boxes: np.ndarray, fmts: tuple[str, str]) -> None:
    in_fmt, out_fmt = fmts
    # Any values are valid input for a conversion: feed xyxy boxes read as each format.
    got = pixfeed.box_convert(boxes, in_fmt, out_fmt)
    want = tv_ops.box_convert(torch.from_numpy(boxes), in_fmt, out_fmt).numpy()
    same_bits(got, want)


def test_box_convert_shapes_and_errors() -> None:
    b = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = pixfeed.box_convert(b, "xywh", "xyxy")
    assert out.shape == (2, 3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 2:], b[..., :2] + b[..., 2:])
    assert pixfeed.box_convert([1, 2, 3, 4], "xyxy", "xywh").tolist() == [1, 2, 2, 2]
    assert pixfeed.box_convert(np.zeros((0, 4)), "xyxy", "cxcywh").shape == (0, 4)
    with pytest.raises(ValueError, match=r"^in_fmt: expected one of"):
        pixfeed.box_convert(b, "yxyx", "xyxy")
    with pytest.raises(ValueError, match=r"^out_fmt: expected one of"):
        pixfeed.box_convert(b, "xyxy", "xywhr")
    with pytest.raises(ValueError, match=r"^boxes: expected shape \(\.\.\., 4\)"):
        pixfeed.box_convert(np.zeros((2, 5)), "xyxy", "xywh")
