"""luminance against a float64 numpy reference (within 1e-9) for both weight sets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pixfeed

WEIGHTS = {"bt601": (0.299, 0.587, 0.114), "bt709": (0.2126, 0.7152, 0.0722)}

shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=300),
    st.tuples(st.integers(1, 300), st.integers(1, 300), st.sampled_from([1, 2, 3, 4])),
)


def reference(a: np.ndarray, weights: str) -> float:
    x = a.astype(np.float64)
    if x.ndim == 2:
        return float(x.mean())
    if x.shape[2] < 3:
        return float(x[..., 0].mean())
    wr, wg, wb = WEIGHTS[weights]
    return float((wr * x[..., 0] + wg * x[..., 1] + wb * x[..., 2]).mean())


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.uint8, shapes), st.sampled_from(["bt601", "bt709"]))
def test_luminance_matches_float64_numpy(a: np.ndarray, weights: str) -> None:
    v = pixfeed.luminance(a, weights=weights)  # type: ignore[arg-type]
    assert isinstance(v, float)
    assert abs(v - reference(a, weights)) <= 1e-9


@pytest.mark.parametrize("weights", ["bt601", "bt709"])
def test_luminance_large_images_views_and_batches(weights: str) -> None:
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (480, 640, 4), dtype=np.uint8)
    views = [big, big[..., :3], big[7:400, 13:600], big[::2, ::3], big[::-1, ::-1], big[..., 2]]
    vals = pixfeed.luminance(views, weights=weights, threads=2)  # type: ignore[arg-type]
    assert isinstance(vals, np.ndarray) and vals.dtype == np.float64 and vals.shape == (6,)
    for v, a in zip(vals, views, strict=True):
        assert abs(v - reference(a, weights)) <= 1e-9
    saturated = np.full((2000, 1500, 3), 255, np.uint8)
    assert abs(pixfeed.luminance(saturated, weights=weights) - 255.0) <= 1e-9  # type: ignore[arg-type]
    stacked = rng.integers(0, 256, (5, 32, 48, 3), dtype=np.uint8)
    out = pixfeed.luminance(stacked, weights=weights)  # type: ignore[arg-type]
    assert out.shape == (5,)
    np.testing.assert_allclose(out, [reference(a, weights) for a in stacked], rtol=0, atol=1e-9)
    assert pixfeed.luminance([]).shape == (0,)


def test_luminance_bad_arguments() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="weights"):
        pixfeed.luminance(a, weights="srgb")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8"):
        pixfeed.luminance(a.astype(np.float64))
    with pytest.raises(ValueError, match="images"):
        pixfeed.luminance(np.zeros((2, 3, 4, 5, 6), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        pixfeed.luminance(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(TypeError, match=r"images\[1\]"):
        pixfeed.luminance([a, [1, 2, 3]])
