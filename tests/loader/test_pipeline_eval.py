"""Eval pipelines: no flip unless asked for the deterministic crops; channels-last batches."""

from __future__ import annotations

import numpy as np
import pytest

import pixfeed
from pixfeed._sample import make_sample_set


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [str(p) for p in make_sample_set(tmp_path_factory.mktemp("eval_jpegs"), 12)]


@pytest.mark.parametrize("crop", ["center", "resize", "none"])
def test_eval_crops_do_not_flip_by_default(crop: str) -> None:
    pipe = pixfeed.Pipeline(32, crop=crop)  # type: ignore[arg-type]
    assert pipe.flip == 0.0
    assert not any(pipe.sample_params(500, 375, seed=1, index=i)[1] for i in range(200))
    asked = pixfeed.Pipeline(32, crop=crop, flip=0.5)  # type: ignore[arg-type]
    assert any(asked.sample_params(500, 375, seed=1, index=i)[1] for i in range(200))


def test_training_crop_still_flips_half_by_default() -> None:
    pipe = pixfeed.Pipeline(32)
    assert pipe.flip == 0.5
    flips = [pipe.sample_params(500, 375, seed=1, index=i)[1] for i in range(2000)]
    assert 0.45 < np.mean(flips) < 0.55


def test_center_eval_output_is_unflipped_torchvision_like(jpegs: list[str]) -> None:
    pipe = pixfeed.Pipeline(48, crop="center", resize_shorter=64, dtype="uint8", layout="NHWC")
    out = pipe(jpegs[:6], seed=3)
    ref = pixfeed.Pipeline(
        48, crop="center", resize_shorter=64, dtype="uint8", layout="NHWC", flip=0.0
    )(jpegs[:6], seed=99)
    assert np.array_equal(out, ref), "no random flip: any seed gives the same pixels"


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_channels_last_is_the_same_pixels_in_nhwc_memory(jpegs: list[str], dtype: str) -> None:
    plain = pixfeed.Pipeline(40, dtype=dtype)  # type: ignore[arg-type]
    cl = pixfeed.Pipeline(40, dtype=dtype, memory_format="channels_last")  # type: ignore[arg-type]
    a, b = plain(jpegs[:5], seed=4), cl(jpegs[:5], seed=4)
    assert b.shape == a.shape == (5, 3, 40, 40)
    assert np.array_equal(a, b)
    assert b.transpose(0, 2, 3, 1).flags.c_contiguous and not b.flags.c_contiguous


def test_channels_last_torch_tensor_from_the_loader(jpegs: list[str]) -> None:
    torch = pytest.importorskip("torch")
    cl = pixfeed.Pipeline(40, memory_format="channels_last")
    ld = pixfeed.Loader(jpegs, pipeline=cl, batch_size=4, seed=2, output="torch")
    ref = pixfeed.Loader(jpegs, pipeline=pixfeed.Pipeline(40), batch_size=4, seed=2)
    for x, xr in zip(ld, ref, strict=True):
        assert isinstance(x, torch.Tensor) and tuple(x.shape) == (len(xr), 3, 40, 40)
        assert x.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(x, torch.from_numpy(xr))
    from pixfeed.torch import ImageDataset

    ds = ImageDataset(jpegs, pipeline=cl, batch_size=4)
    x = next(iter(torch.utils.data.DataLoader(ds, batch_size=None)))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_channels_last_needs_nchw() -> None:
    with pytest.raises(ValueError, match="channels_last"):
        pixfeed.Pipeline(32, layout="NHWC", memory_format="channels_last")
    with pytest.raises(ValueError, match="memory_format"):
        pixfeed.Pipeline(32, memory_format="nhwc")  # type: ignore[arg-type]
