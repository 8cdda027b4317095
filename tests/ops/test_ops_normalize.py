"""normalize against a float64 numpy reference: float32 correctly rounded (so within 1e-6
relative), float16 / bfloat16 equal to numpy's / ml_dtypes' round-to-nearest-even conversion of
that float32 value; layouts, batches and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pixfeed
from pixfeed import ops

MEAN = np.array(pixfeed.IMAGENET_MEAN)
STD = np.array(pixfeed.IMAGENET_STD)


def reference64(batch: np.ndarray, mean: Any = MEAN, std: Any = STD) -> np.ndarray:
    """(N, H, W, C) uint8 -> float64 NHWC, the formula as numpy computes it."""
    return (batch.astype(np.float64) / 255.0 - np.asarray(mean, np.float64)) / np.asarray(
        std, np.float64
    )


def bf16_bits_of_f32(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even of float32 values to bfloat16, as bits (the usual formula)."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


images3 = hnp.arrays(
    np.uint8,
    st.tuples(st.integers(1, 5), st.integers(1, 40), st.integers(1, 40), st.just(3)),
)


@settings(max_examples=60, deadline=None)
@given(images3, st.sampled_from(["NCHW", "NHWC"]))
def test_float32_is_correctly_rounded(batch: np.ndarray, layout: str) -> None:
    out = pixfeed.normalize(batch, layout=layout)  # type: ignore[arg-type]
    assert out.dtype == np.float32 and out.flags.c_contiguous
    ref = reference64(batch)
    if layout == "NCHW":
        ref = ref.transpose(0, 3, 1, 2)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out, ref.astype(np.float32))


def test_every_value_of_every_channel_in_all_dtypes() -> None:
    # All 256 values in every channel: the complete tables.
    img = np.stack([np.arange(256, dtype=np.uint8)] * 3, axis=-1).reshape(16, 16, 3)
    img[..., 1] = img[..., 1][::-1]
    batch = img[None]
    ref32 = reference64(batch).astype(np.float32)
    f32 = pixfeed.normalize(batch, layout="NHWC")
    np.testing.assert_array_equal(f32, ref32)
    f16 = pixfeed.normalize(batch, layout="NHWC", dtype="float16")
    assert f16.dtype == np.float16
    np.testing.assert_array_equal(f16.view(np.uint16), ref32.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(f16.view(np.uint16), f32.astype(np.float16).view(np.uint16))
    bf = pixfeed.normalize(batch, layout="NHWC", dtype="bfloat16")
    np.testing.assert_array_equal(bf.view(np.uint16), bf16_bits_of_f32(ref32))
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert bf.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(
        bf.view(np.uint16), reference64(batch).astype(ml_dtypes.bfloat16).view(np.uint16)
    )


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4))),
    st.data(),
)
def test_half_types_for_any_mean_std(a: np.ndarray, data: st.DataObject) -> None:
    c = a.shape[2]
    floats = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
    mean = data.draw(st.lists(floats, min_size=c, max_size=c))
    std = data.draw(st.lists(st.floats(1e-3, 50).map(lambda v: v), min_size=c, max_size=c))
    ref32 = reference64(a[None], mean, std).astype(np.float32)
    f16 = pixfeed.normalize(a, mean=mean, std=std, dtype="float16", layout="NHWC")
    np.testing.assert_array_equal(f16.view(np.uint16), ref32[0].astype(np.float16).view(np.uint16))
    bf = pixfeed.normalize(a, mean=mean, std=std, dtype="bfloat16", layout="NHWC")
    np.testing.assert_array_equal(bf.view(np.uint16), bf16_bits_of_f32(ref32[0]))


def test_float16_overflow_and_tiny_std() -> None:
    a = np.array([[0, 255]], np.uint8)
    out = pixfeed.normalize(a, mean=0.5, std=1e-6, dtype="float16", layout="NHWC")
    assert np.isneginf(out[0, 0]) and np.isposinf(out[0, 1])


def test_bfloat16_as_uint16_without_ml_dtypes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "_bfloat16", lambda: None)
    a = np.random.default_rng(0).integers(0, 256, (2, 9, 7, 3), dtype=np.uint8)
    out = pixfeed.normalize(a, dtype="bfloat16")
    assert out.dtype == np.uint16 and out.shape == (2, 3, 9, 7)
    ref = reference64(a).astype(np.float32).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(out, bf16_bits_of_f32(ref))
    buf = np.zeros((2, 3, 9, 7), np.uint16)
    assert pixfeed.normalize(a, dtype="bfloat16", out=buf) is buf
    np.testing.assert_array_equal(buf, out)


def test_shapes_layouts_channels_and_out() -> None:
    rng = np.random.default_rng(1)
    one = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    assert pixfeed.normalize(one).shape == (3, 5, 6)
    assert pixfeed.normalize(one, layout="NHWC").shape == (5, 6, 3)
    gray = rng.integers(0, 256, (5, 6), dtype=np.uint8)
    g = pixfeed.normalize(gray, mean=0.5, std=0.25)
    assert g.shape == (1, 5, 6)
    np.testing.assert_array_equal(g[0], ((gray / 255.0 - 0.5) / 0.25).astype(np.float32))
    assert pixfeed.normalize([gray, gray], mean=[0.5], std=[0.25], layout="NHWC").shape == (2, 5, 6)
    rgba = rng.integers(0, 256, (4, 5, 6, 4), dtype=np.uint8)
    m4, s4 = (0.1, 0.2, 0.3, 0.4), (0.5, 0.6, 0.7, 0.8)
    out4 = pixfeed.normalize(rgba, mean=m4, std=s4)
    assert out4.shape == (4, 4, 5, 6)
    np.testing.assert_array_equal(
        out4, reference64(rgba, m4, s4).astype(np.float32).transpose(0, 3, 1, 2)
    )
    # Views, lists and threads.
    big = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    views = [big[::2, ::2], big[32:, 40:], big[::-2, ::-2], big[:32, :40]]
    outs = pixfeed.normalize(views, threads=2)
    assert outs.shape == (4, 3, 32, 40)
    np.testing.assert_array_equal(
        outs, reference64(np.stack(views)).astype(np.float32).transpose(0, 3, 1, 2)
    )
    for threads in (1, 3):
        np.testing.assert_array_equal(pixfeed.normalize(views, threads=threads), outs)
    buf = np.empty((4, 32, 40, 3), np.float32)
    assert pixfeed.normalize(views, layout="NHWC", out=buf) is buf
    np.testing.assert_array_equal(buf, outs.transpose(0, 2, 3, 1))
    one_out = np.empty((1, 3, 5, 6), np.float16)
    assert pixfeed.normalize(one, dtype="float16", out=one_out) is one_out
    assert pixfeed.normalize([]).shape == (0,)


def test_bad_arguments() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="same shape"):
        pixfeed.normalize([a, np.zeros((4, 5, 3), np.uint8)])
    with pytest.raises(ValueError, match="dtype"):
        pixfeed.normalize(a, dtype="float64")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layout"):
        pixfeed.normalize(a, layout="CHW")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mean"):
        pixfeed.normalize(a, mean=(0.1, 0.2))
    with pytest.raises(ValueError, match="mean"):
        pixfeed.normalize(np.zeros((4, 4), np.uint8))  # 3 ImageNet means for one channel
    with pytest.raises(ValueError, match="std"):
        pixfeed.normalize(a, std=0)
    with pytest.raises(ValueError, match="std"):
        pixfeed.normalize(a, std=(1.0, float("nan"), 1.0))
    with pytest.raises(TypeError, match="mean"):
        pixfeed.normalize(a, mean="imagenet")
    with pytest.raises(TypeError, match="uint8"):
        pixfeed.normalize(a.astype(np.float32))
    with pytest.raises(TypeError, match="out"):
        pixfeed.normalize(a, out=np.zeros((1, 3, 4, 4), np.float64))
    with pytest.raises(ValueError, match="out"):
        pixfeed.normalize(a, out=np.zeros((3, 4, 4), np.float32))
    ro = np.zeros((1, 3, 4, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        pixfeed.normalize(a, out=ro)
    with pytest.raises(ValueError, match="C-contiguous"):
        pixfeed.normalize(a, out=np.zeros((1, 4, 4, 3), np.float32).transpose(0, 3, 1, 2))
