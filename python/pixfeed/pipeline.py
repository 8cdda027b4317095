"""`Pipeline`: one fused native pass per image (SPEC section 5).

decode at the reduced scale and region the sampled crop needs -> crop -> resize -> flip ->
normalize, written straight into the batch buffer. Random parameters (crop box, flip) come
from (seed, epoch, dataset index) only, so a batch never depends on threads or scheduling.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.ops import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Pipeline"]


CropKind = Literal["random_resized", "center", "resize", "none"]
_DTYPES: dict[str, type[np.generic]] = {
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": np.uint16,  # bfloat16 bits
    "uint8": np.uint8,
}
_CHANNELS = {"RGB": 3, "BGR": 3, "RGBA": 4, "L": 1}
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "area")


def _pair(value: Any, name: str) -> tuple[float, float]:
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name}: expected a (low, high) pair, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or lo > hi:
        raise ValueError(f"{name}: expected 0 < low <= high, got {value!r}")
    return lo, hi


def _per_channel(value: Any, channels: int, name: str) -> tuple[float, ...]:
    vals = [float(v) for v in (value if isinstance(value, Sequence) else [value])]
    if len(vals) == 1:
        vals = vals * channels
    if len(vals) != channels:
        raise ValueError(f"{name}: expected 1 or {channels} values, got {len(vals)}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{name}: values must be finite")
    return tuple(vals)


class Pipeline:
    """The per-image transform of the loader, as one native pass.

    ``crop``: ``"random_resized"`` (torchvision RandomResizedCrop sampling from the header's
    size, before decoding), ``"center"`` (resize the shorter side to ``resize_shorter``, then
    centre-crop ``size``), ``"resize"`` (straight to ``size``), ``"none"`` (decode as is; all
    images must then share one size). ``flip`` is the probability of a horizontal flip.
    ``dtype="uint8"`` skips normalization. ``strict`` (default True): a file with corrupt
    data (any codec warning) fails its item with ``DecodeError`` (kind ``"corrupt"``);
    False returns the pixels the decoder recovered, as Pillow does.
    """

    def __init__(
        self,
        size: int | tuple[int, int] = 224,
        crop: CropKind = "random_resized",
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        resize_shorter: int = 256,
        flip: float = 0.5,
        mean: Sequence[float] | float = IMAGENET_MEAN,
        std: Sequence[float] | float = IMAGENET_STD,
        dtype: Literal["float32", "float16", "bfloat16", "uint8"] = "float32",
        layout: Literal["NCHW", "NHWC"] = "NCHW",
        mode: Literal["RGB", "BGR", "RGBA", "L"] = "RGB",
        interpolation: str = "bilinear",
        antialias: bool = True,
        apply_exif: bool = True,
        max_pixels: int | None = 178_956_970,
        fast_decode: bool = True,
        strict: bool = True,
    ) -> None:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            self.size = (_args.positive_int(size, "size"),) * 2
        else:
            self.size = _args.size(size, "size")
        if crop not in ("random_resized", "center", "resize", "none"):
            raise ValueError(
                f"crop: expected 'random_resized', 'center', 'resize' or 'none', got {crop!r}"
            )
        self.crop = crop
        self.scale = _pair(scale, "scale")
        if self.scale[1] > 1.0:
            raise ValueError(f"scale: the upper bound must be <= 1, got {scale!r}")
        self.ratio = _pair(ratio, "ratio")
        self.resize_shorter = _args.positive_int(resize_shorter, "resize_shorter")
        if crop == "center" and self.resize_shorter < max(self.size):
            raise ValueError(
                f"resize_shorter: {resize_shorter} is smaller than the crop size {self.size}"
            )
        self.flip = float(flip)
        if not 0.0 <= self.flip <= 1.0:
            raise ValueError(f"flip: a probability in [0, 1], got {flip!r}")
        if mode not in _CHANNELS:
            raise ValueError(f"mode: expected one of {sorted(_CHANNELS)}, got {mode!r}")
        self.mode = mode
        self.channels = _CHANNELS[mode]
        self.mean = _per_channel(mean, self.channels, "mean")
        self.std = _per_channel(std, self.channels, "std")
        if any(s == 0 for s in self.std):
            raise ValueError("std: values must be non-zero")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype: expected one of {sorted(_DTYPES)}, got {dtype!r}")
        self.dtype = dtype
        if layout not in ("NCHW", "NHWC"):
            raise ValueError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
        self.layout = layout
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"interpolation: expected one of {_INTERPOLATIONS}, got {interpolation!r}"
            )
        self.interpolation = interpolation
        self.antialias = bool(antialias)
        self.apply_exif = bool(apply_exif)
        self.max_pixels = _args.max_pixels(max_pixels)
        self.fast_decode = bool(fast_decode)
        self.strict = bool(strict)

    def __repr__(self) -> str:
        return (
            f"Pipeline(size={self.size}, crop={self.crop!r}, flip={self.flip}, "
            f"dtype={self.dtype!r}, layout={self.layout!r}, mode={self.mode!r})"
        )

    @property
    def numpy_dtype(self) -> type[np.generic]:
        return _DTYPES[self.dtype]

    def batch_shape(self, n: int) -> tuple[int, ...]:
        w, h = self.size
        if self.layout == "NCHW":
            return (n, self.channels, h, w)
        return (n, h, w, self.channels)

    def _spec(self) -> tuple[Any, ...]:
        return (
            (self.size, self.crop, self.scale, self.ratio, self.resize_shorter, self.flip),
            (self.mean, self.std, self.dtype, self.layout, self.mode, self.interpolation),
            (self.antialias, self.apply_exif, self.max_pixels, self.fast_decode),
            (self.strict,),
        )

    def _run(
        self,
        batch_sources: Sequence[str | bytes | bytearray],
        keys: Sequence[int],
        seed: int,
        epoch: int,
        out: npt.NDArray[Any],
        threads: int | None,
    ) -> dict[int, BaseException]:
        """Fill ``out[k]`` from ``batch_sources[k]`` with the randomness of sample ``keys[k]``;
        returns {k: error} for the items that failed (their slots are left unspecified)."""
        n = len(batch_sources)
        if n == 0:
            return {}
        errors = _core.pipeline_batch(
            self._spec(),
            list(batch_sources),
            [int(k) for k in keys],
            seed & (2**64 - 1),
            int(epoch),
            out.reshape(n, -1).view(np.uint8),
            threads,
        )
        return {k: e for k, e in enumerate(errors) if e is not None}

    def sample_params(
        self, width: int, height: int, *, seed: int, epoch: int = 0, index: int = 0
    ) -> tuple[tuple[float, float, float, float], bool]:
        """The crop box ``(x, y, w, h)`` (source pixels of the EXIF-oriented image) and the
        flip that sample ``index`` gets in ``epoch`` on a ``width x height`` image."""
        return _core.pipeline_params(
            self._spec(),
            _args.positive_int(width, "width"),
            _args.positive_int(height, "height"),
            seed & (2**64 - 1),
            int(epoch),
            int(index),
        )

    def __call__(
        self,
        sources: Sequence[_args.Source],
        *,
        seed: int | None = None,
        epoch: int = 0,
        indices: Sequence[int] | None = None,
        threads: int | None = None,
    ) -> npt.NDArray[Any]:
        """One batch from ``sources``; sample k draws its randomness from
        (seed, epoch, indices[k]) (indices default to 0..n-1). Raises the first failure."""
        srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
        if indices is None:
            idx = np.arange(len(srcs), dtype=np.int64)
        else:
            idx = np.asarray(indices, dtype=np.int64)
            if idx.shape != (len(srcs),):
                raise ValueError(f"indices: expected {len(srcs)} values, got {idx.shape}")
        if seed is None:
            seed = secrets.randbits(63)
        out = np.empty(self.batch_shape(len(srcs)), dtype=self.numpy_dtype)
        errors = self._run(srcs, idx.tolist(), seed, int(epoch), out, _args.threads(threads))
        if errors:
            raise errors[min(errors)]
        return out
