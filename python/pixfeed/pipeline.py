"""`Pipeline`: one fused native pass per image (docs/loader.md).

decode at the reduced scale and region the sampled crop needs (``exact=True``: full scale,
accurate IDCT) -> crop -> resize -> flip -> normalize, written straight into the batch
buffer. Random parameters (crop box, flip) come
from (seed, epoch, dataset index) only, so a batch never depends on threads or scheduling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.buckets import Buckets
from pixfeed.ops import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Pipeline"]


CropKind = Literal["random_resized", "center", "resize", "none"]
_DTYPES: dict[str, type[np.generic]] = {
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": np.uint16,  # bfloat16 bits
    "uint8": np.uint8,
}
# The accepted names come from the core (one table per enum), as do the channels per mode.
_CHANNELS = _core.CHANNELS
_INTERPOLATIONS = _core.NAMES["interpolation"]


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
    images must then share one size). ``flip`` is the probability of a horizontal flip; by
    default 0.5 for ``"random_resized"`` (training) and 0 for the other crops (evaluation
    pipelines never flip unless asked). ``dtype="uint8"`` skips normalization.
    ``memory_format="channels_last"`` (with ``layout="NCHW"``) writes the pixels channels-last
    and hands out the NCHW view of them: ``torch.from_numpy`` (and a Loader's torch output)
    is then an NCHW tensor with ``is_contiguous(memory_format=torch.channels_last)``, what
    convolution nets prefer on GPUs, with no copy. ``size`` may be a `pixfeed.Buckets`
    (aspect-ratio bucketing): a `Loader` then makes each batch at one bucket's size, each
    image cropped to its nearest bucket's aspect ratio (see `Buckets` for the crops).

    ``exact=False`` (the default, fast mode) decodes JPEGs at the smallest DCT scale
    (1/8, 1/4, 1/2) whose crop still covers ``size``, and with ``fast_decode`` (on by default)
    also with libjpeg's fast integer IDCT and merged (non-fancy) chroma upsampling; the
    resize is fast_image_resize's. Close to torchvision's output, not equal.
    ``exact=True`` decodes the crop at full scale with the accurate IDCT and fancy upsampling
    and resizes with `pixfeed.resize`'s kernels (Pillow's arithmetic): for the boxes and
    flips `sample_boxes` reports, uint8 output equals torchvision.transforms.v2 on PIL images
    byte for byte (``RandomResizedCrop``; ``Resize(resize_shorter)`` + ``CenterCrop``;
    ``Resize(size)``; ``RandomHorizontalFlip``) with an antialiased interpolation in RGB or L;
    float output is ``(v / 255 - mean) / std`` correctly rounded to float32 (within 2e-6 of
    torchvision's float32 ``ToDtype(scale=True)`` + ``Normalize``). See `check_parity`.

    ``strict`` (default True): a file with corrupt data (any codec warning) fails its item
    with ``DecodeError`` (kind ``"corrupt"``); False returns the pixels the decoder
    recovered, as Pillow does.
    """

    def __init__(
        self,
        size: int | tuple[int, int] | Buckets = 224,
        crop: CropKind = "random_resized",
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        resize_shorter: int = 256,
        flip: float | None = None,
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
        exact: bool = False,
        memory_format: Literal["contiguous", "channels_last"] = "contiguous",
        strict: bool = True,
    ) -> None:
        #: The aspect-ratio buckets when ``size`` is a `Buckets` (``self.size`` is then the
        #: first bucket's; a `Loader` makes each batch at its bucket's size).
        self.buckets: Buckets | None = None
        if isinstance(size, Buckets):
            if crop == "none":
                raise ValueError(
                    "crop='none' cannot be bucketed: pick 'center', 'random_resized' or 'resize'"
                )
            self.buckets = size
            self.size = size.sizes[0]
        elif isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            self.size = (_args.positive_int(size, "size"),) * 2
        else:
            self.size = _args.size(size, "size")
        if crop not in _core.NAMES["crop"]:
            raise ValueError(
                f"crop: expected 'random_resized', 'center', 'resize' or 'none', got {crop!r}"
            )
        self.crop = crop
        self.scale = _pair(scale, "scale")
        if self.scale[1] > 1.0:
            raise ValueError(f"scale: the upper bound must be <= 1, got {scale!r}")
        self.ratio = _pair(ratio, "ratio")
        self.resize_shorter = _args.positive_int(resize_shorter, "resize_shorter")
        if crop == "center" and self.buckets is None and self.resize_shorter < max(self.size):
            raise ValueError(
                f"resize_shorter: {resize_shorter} is smaller than the crop size {self.size}"
            )
        self.flip = (0.5 if crop == "random_resized" else 0.0) if flip is None else float(flip)
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
        if layout not in _core.NAMES["layout"]:
            raise ValueError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
        self.layout = layout
        if memory_format not in ("contiguous", "channels_last"):
            raise ValueError(
                f"memory_format: expected 'contiguous' or 'channels_last', got {memory_format!r}"
            )
        if memory_format == "channels_last" and layout != "NCHW":
            raise ValueError("memory_format='channels_last' needs layout='NCHW'")
        self.memory_format = memory_format
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"interpolation: expected one of {_INTERPOLATIONS}, got {interpolation!r}"
            )
        self.interpolation = interpolation
        self.antialias = bool(antialias)
        self.apply_exif = bool(apply_exif)
        self.max_pixels = _args.max_pixels(max_pixels)
        self.fast_decode = bool(fast_decode)
        self.exact = bool(exact)
        self.strict = bool(strict)

    def __repr__(self) -> str:
        size = self.size if self.buckets is None else self.buckets
        return (
            f"Pipeline(size={size}, crop={self.crop!r}, flip={self.flip}, "
            f"dtype={self.dtype!r}, layout={self.layout!r}, mode={self.mode!r}"
            + (", exact=True" if self.exact else "")
            + (", memory_format='channels_last')" if self.memory_format == "channels_last" else ")")
        )

    @property
    def numpy_dtype(self) -> type[np.generic]:
        return _DTYPES[self.dtype]

    def _not_bucketed(self, what: str) -> None:
        if self.buckets is not None:
            raise TypeError(
                f"{what}: a bucketed Pipeline has one size per bucket; use a Loader (one "
                "bucket per batch) or pipeline.for_bucket(i)"
            )

    def for_bucket(self, index: int) -> Pipeline:
        """The plain Pipeline that makes bucket ``index``'s images (see `Buckets`)."""
        from pixfeed.buckets import _bucket_pipeline

        if self.buckets is None:
            raise TypeError("for_bucket: this Pipeline is not bucketed")
        return _bucket_pipeline(self, self.buckets.sizes[index])  # type: ignore[no-any-return]

    def batch_shape(self, n: int) -> tuple[int, ...]:
        self._not_bucketed("batch_shape")
        w, h = self.size
        if self.layout == "NCHW":
            return (n, self.channels, h, w)
        return (n, h, w, self.channels)

    def _buffer_shape(self, n: int) -> tuple[int, ...]:
        """The shape of the memory the native pass writes (NHWC for channels-last)."""
        w, h = self.size
        if self.memory_format == "channels_last":
            return (n, h, w, self.channels)
        return self.batch_shape(n)

    def _present(self, out: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The batch as handed out: `batch_shape`, viewing a channels-last buffer as NCHW."""
        return out.transpose(0, 3, 1, 2) if self.memory_format == "channels_last" else out

    @property
    def _native_layout(self) -> str:
        return "NHWC" if self.memory_format == "channels_last" else self.layout

    def __setattr__(self, name: str, value: Any) -> None:
        # Any change (a Loader's copy setting ``strict``, a bucket's variant) drops the
        # parsed native spec; `_spec` rebuilds it on next use.
        object.__setattr__(self, name, value)
        self.__dict__.pop("_native_spec", None)

    def __getstate__(self) -> dict[str, Any]:
        # Copies and pickles rebuild the native spec where they are used.
        return {k: v for k, v in self.__dict__.items() if k != "_native_spec"}

    def _spec(self) -> _core.PipelineSpec:
        """The native spec, parsed and checked once and reused for every batch."""
        spec: _core.PipelineSpec | None = self.__dict__.get("_native_spec")
        if spec is None:
            spec = _core.PipelineSpec(
                size=self.size,
                crop=self.crop,
                scale=self.scale,
                ratio=self.ratio,
                resize_shorter=self.resize_shorter,
                flip=self.flip,
                mean=list(self.mean),
                std=list(self.std),
                dtype=self.dtype,
                layout=self._native_layout,
                mode=self.mode,
                interpolation=self.interpolation,
                antialias=self.antialias,
                apply_exif=self.apply_exif,
                max_pixels=self.max_pixels,
                fast_decode=self.fast_decode,
                exact=self.exact,
                strict=self.strict,
            )
            self.__dict__["_native_spec"] = spec
        return spec

    def _run(
        self,
        batch_sources: Sequence[_args.Native],
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
            _args.seed(seed),
            _args.epoch(epoch),
            out.reshape(n, -1).view(np.uint8),
            threads,
        )
        return {k: e for k, e in enumerate(errors) if e is not None}

    def sample_params(
        self, width: int, height: int, *, seed: int, epoch: int = 0, index: int = 0
    ) -> tuple[tuple[float, float, float, float], bool]:
        """The crop box ``(x, y, w, h)`` (source pixels of the EXIF-oriented image) and the
        flip that sample ``index`` gets in ``epoch`` on a ``width x height`` image."""
        if self.buckets is not None:
            b = int(self.buckets.assign([(width, height)])[0])
            return self.for_bucket(b).sample_params(
                width, height, seed=seed, epoch=epoch, index=index
            )
        return _core.pipeline_params(
            self._spec(),
            _args.positive_int(width, "width"),
            _args.positive_int(height, "height"),
            _args.seed(seed),
            _args.epoch(epoch),
            int(index),
        )

    def sample_boxes(
        self,
        sources: Sequence[_args.Source | tuple[int, int]],
        *,
        seed: int,
        epoch: int = 0,
        indices: Sequence[int] | None = None,
    ) -> list[tuple[tuple[float, float, float, float], bool]]:
        """The crop box ``(x, y, w, h)`` and flip of each sample, exactly as a `Loader` (or a
        call with the same seed, epoch and indices) draws them: sample k from (seed, epoch,
        ``indices[k]``; default k). Each source is a path/bytes (its header is read; sizes are
        after EXIF orientation when ``apply_exif``) or a ``(width, height)`` pair. Boxes are
        in source pixels; for ``crop="center"`` the box is the centre crop mapped back to the
        source (fractional), ``"resize"``/``"none"`` give the whole image."""
        idx = list(range(len(sources))) if indices is None else [int(i) for i in indices]
        if len(idx) != len(sources):
            raise ValueError(f"indices: expected {len(sources)} values, got {len(idx)}")
        out = []
        for k, (src, i) in enumerate(zip(sources, idx, strict=True)):
            if isinstance(src, tuple):
                w, h = src
            else:
                from pixfeed.decode import probe

                info = probe(_args.source(src, f"sources[{k}]"))
                w, h = info.width, info.height
                if not self.apply_exif and info.orientation in (5, 6, 7, 8):
                    w, h = h, w
            out.append(self.sample_params(w, h, seed=seed, epoch=epoch, index=i))
        return out

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
        self._not_bucketed("Pipeline()")
        srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
        if indices is None:
            idx = np.arange(len(srcs), dtype=np.int64)
        else:
            idx = np.asarray(indices, dtype=np.int64)
            if idx.shape != (len(srcs),):
                raise ValueError(f"indices: expected {len(srcs)} values, got {idx.shape}")
        seed = _args.seed(seed, none_draws=True)
        out = np.empty(self._buffer_shape(len(srcs)), dtype=self.numpy_dtype)
        errors = self._run(
            srcs, idx.tolist(), seed, _args.epoch(epoch), out, _args.threads(threads)
        )
        if errors:
            raise errors[min(errors)]
        return self._present(out)
