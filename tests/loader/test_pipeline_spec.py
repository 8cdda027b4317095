"""`Pipeline` parses its settings into one native `_core.PipelineSpec`, reused for every
batch and rebuilt when an attribute changes."""

from __future__ import annotations

import copy
import pickle

import pytest

import pixfeed
from pixfeed import _core


def test_the_spec_is_parsed_once_and_rebuilt_on_change() -> None:
    p = pixfeed.Pipeline(size=32, crop="center", resize_shorter=40)
    spec = p._spec()
    assert isinstance(spec, _core.PipelineSpec)
    assert p._spec() is spec
    assert spec.item_bytes == 32 * 32 * 3 * 4
    p.dtype = "uint8"
    assert p._spec() is not spec
    assert p._spec().item_bytes == 32 * 32 * 3


def test_copies_do_not_share_a_stale_spec() -> None:
    p = pixfeed.Pipeline(size=16, crop="random_resized")
    before = p.sample_params(100, 80, seed=1, index=3)
    q = copy.copy(p)
    q.ratio = (2.0, 2.0)
    assert p._spec() is not q._spec()
    assert p.sample_params(100, 80, seed=1, index=3) == before
    assert q.sample_params(100, 80, seed=1, index=3)[0] != before[0]
    r = pickle.loads(pickle.dumps(p))
    assert r.sample_params(100, 80, seed=1, index=3) == before


def test_bad_values_name_the_argument() -> None:
    args = dict(
        size=(8, 8), crop="center", scale=(0.5, 1.0), ratio=(1.0, 1.0), resize_shorter=8,
        flip=0.0, mean=[0.0] * 3, std=[1.0] * 3, dtype="float32", layout="NCHW", mode="RGB",
        interpolation="bilinear", antialias=True, apply_exif=True, max_pixels=10**8,
        fast_decode=True, exact=False, strict=True,
    )  # fmt: skip
    _core.PipelineSpec(**args)  # type: ignore[arg-type]
    for key, value in [("crop", "diagonal"), ("interpolation", "cubic"), ("dtype", "int8")]:
        with pytest.raises(ValueError, match=f"^{key}: expected"):
            _core.PipelineSpec(**{**args, key: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^mean/std"):
        _core.PipelineSpec(**{**args, "mean": [0.0]})  # type: ignore[arg-type]


def test_names_are_exported() -> None:
    assert _core.NAMES["interpolation"] == ("nearest", "bilinear", "bicubic", "lanczos", "area")
    assert _core.NAMES["mode"] == ("RGB", "BGR", "RGBA", "L", "unchanged")
    assert _core.NAMES["crop"] == ("random_resized", "center", "resize", "none")
