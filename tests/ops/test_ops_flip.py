"""flip against numpy slicing; the batch conventions every op shares (pixfeed._batch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pixfeed

shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4])),
)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint8, shapes), st.booleans(), st.booleans())
def test_flip_equals_numpy(a: np.ndarray, horizontal: bool, vertical: bool) -> None:
    ref = a
    if horizontal:
        ref = ref[:, ::-1]
    if vertical:
        ref = ref[::-1]
    out = pixfeed.flip(a, horizontal=horizontal, vertical=vertical)
    assert out.shape == a.shape and out.dtype == np.uint8
    assert out.flags.c_contiguous and out.flags.writeable
    np.testing.assert_array_equal(out, ref)


def test_strided_and_negative_stride_views() -> None:
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    for view in (big[5:30, 7:41], big[::2, ::3], big[::-1], big[:, ::-1], big[..., ::-1]):
        np.testing.assert_array_equal(pixfeed.flip(view), view[:, ::-1])


def test_batch_forms_and_threads() -> None:
    rng = np.random.default_rng(1)
    imgs = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(64, 80), (3, 5), (100, 20)]
    ]
    outs = pixfeed.flip(imgs, threads=2)
    assert isinstance(outs, list) and len(outs) == 3
    for o, a in zip(outs, imgs, strict=True):
        np.testing.assert_array_equal(o, a[:, ::-1])
    stacked = rng.integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    out_stacked = pixfeed.flip(stacked, vertical=True, horizontal=False)
    assert isinstance(out_stacked, np.ndarray)
    np.testing.assert_array_equal(out_stacked, stacked[:, ::-1])
    assert pixfeed.flip([]) == []


def test_out_is_written_and_returned() -> None:
    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(6)]
    out = np.zeros((6, 128, 128, 3), np.uint8)
    res = pixfeed.flip(imgs, out=out, threads=2)
    assert res is out
    for i, a in enumerate(imgs):
        np.testing.assert_array_equal(out[i], a[:, ::-1])


@pytest.mark.parametrize(
    ("bad", "exc", "word"),
    [
        (np.zeros((4, 4, 3), np.float32), TypeError, "uint8"),
        (np.zeros((4,), np.uint8), ValueError, "images"),
        (np.zeros((4, 4, 5), np.uint8), ValueError, "channels"),
        (np.zeros((0, 4, 3), np.uint8), ValueError, "empty"),
        ("not an image", TypeError, "images"),
        ([np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.float64)], TypeError, "images[1]"),
    ],
)
def test_bad_images(bad: object, exc: type[Exception], word: str) -> None:
    with pytest.raises(exc, match=word.replace("[", r"\[")):
        pixfeed.flip(bad)


def test_bad_out() -> None:
    imgs = [np.zeros((4, 4, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match="out"):
        pixfeed.flip(imgs, out=np.zeros((3, 4, 4, 3), np.uint8))
    with pytest.raises(TypeError, match="out"):
        pixfeed.flip(imgs, out=np.zeros((2, 4, 4, 3), np.float32))
    ro = np.zeros((2, 4, 4, 3), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        pixfeed.flip(imgs, out=ro)
    with pytest.raises(ValueError, match="same shape"):
        pixfeed.flip([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], out=ro)
    with pytest.raises(ValueError, match="threads"):
        pixfeed.flip(imgs, threads=0)
