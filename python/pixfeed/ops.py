"""Batch array ops (docs/array-ops.md): one image or many, parallel across images, GIL released.
Argument conventions are in `pixfeed._batch`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np

from pixfeed import _args, _batch, _core

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "center_crop",
    "convert",
    "crop",
    "flip",
    "luminance",
    "normalize",
    "random_crop",
]

#: torchvision's ImageNet statistics (RGB, on the 0-1 scale).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

T = TypeVar("T")

ColorMode = Literal["L", "RGB", "BGR", "RGBA", "BGRA"]
_MODES = ("L", "RGB", "BGR", "RGBA", "BGRA")


def flip(
    images: Any,
    *,
    horizontal: bool = True,
    vertical: bool = False,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Mirror images left-right (``horizontal``) and/or top-bottom (``vertical``).

    Equal to ``a[:, ::-1]`` / ``a[::-1]`` made contiguous.
    """
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    if out is not None:
        first = batch.arrays[0].shape if batch.arrays else ()
        if any(a.shape != first for a in batch.arrays):
            raise ValueError("out: needs all images to have the same shape")
        _batch.check_out(out, (len(batch), *first))
        _core.flip(batch.arrays, bool(horizontal), bool(vertical), nthreads, out)
        return out
    results = _core.flip(batch.arrays, bool(horizontal), bool(vertical), nthreads)
    assert results is not None
    return batch.wrap(list(results))


# --------------------------------------------------------------------------------------------
# Shared plumbing of the ops
#
# Per-call overhead is part of the product: on the fast path the images go to the native layer
# as given (a list as is, a 4-D batch as its per-image views) and it checks every image itself
# (dtype, dims, channels, strides, emptiness). When it refuses anything, the call is made again
# on ``_batch.images``'s arrays, which copies non-contiguous layouts (then the call succeeds)
# or raises the canonical error; argument errors are raised again by the careful path.


def _fast_images(images: Any) -> tuple[list[Any], str] | None:
    t = type(images)
    if t is list:
        return images, "list"
    if t is tuple:
        return list(images), "list"
    if t is np.ndarray:
        nd = images.ndim
        if nd == 4:
            return list(images), "stacked"
        if nd == 2 or nd == 3:
            return [images], "single"
    return None


def _with_images(images: Any, call: Callable[[list[Any], str, bool], T]) -> T:
    """``call(arrays, kind, careful)``: first on the fast path, then carefully (see above)."""
    fast = _fast_images(images)
    if fast is not None:
        try:
            return call(fast[0], fast[1], False)
        except (TypeError, ValueError):
            pass
    batch = _batch.images(images)
    return call(batch.arrays, batch.kind, True)


def _u8_result(result: Any, kind: str, out: Any) -> Any:
    """The native layer returns ``out``, one array (one image in / a 4-D batch in / a list of
    same-shape results, which becomes per-image views) or a list (mixed shapes)."""
    if out is None and kind == "list" and isinstance(result, np.ndarray):
        return list(result)
    return result


def _per_image_op(
    native: Callable[..., Any],
    images: Any,
    parse: Callable[[Any, int, bool], list[Any]],
    per_image: Any,
    setting: Any,
    nthreads: int | None,
    out: Any,
) -> Any:
    """A uint8 op taking one argument per image (boxes or sizes, read by ``parse``) and one
    ``setting`` for all: ``native(arrays, parsed, setting, nthreads, out, single)``."""

    def call(arrays: list[Any], kind: str, careful: bool) -> Any:
        parsed = parse(per_image, len(arrays), careful)
        res = native(arrays, parsed, setting, nthreads, out, kind == "single")
        return _u8_result(res, kind, out)

    return _with_images(images, call)


def _byte(value: Any, name: str) -> int:
    v = _args.integer(value, name)
    if not 0 <= v <= 255:
        raise ValueError(f"{name}: must be in 0..255, got {v}")
    return v


def _pad_value(value: Any) -> list[int] | None:
    """None, one value for every channel, or one per channel."""
    if value is None:
        return None
    if type(value) is int and 0 <= value <= 255:
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if not 1 <= len(value) <= 4:
            raise ValueError(f"pad_value: expected 1 to 4 values, got {len(value)}")
        return [_byte(v, "pad_value") for v in value]
    if isinstance(value, np.ndarray):
        return [_byte(v, "pad_value") for v in value.ravel()]
    return [_byte(value, "pad_value")]


def _crop_size(value: Any, name: str) -> tuple[int, int]:
    """An int (square) or a (width, height) pair of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = _args.positive_int(value, name)
        return v, v
    return _args.size(value, name)


def _sizes(value: Any, n: int, careful: bool) -> list[Any]:
    """``sizes`` as one ``(w, h)`` per image. Fast path: a plain tuple or int is broadcast and
    a list passed on, the native layer checking types, counts and values."""
    if not careful:
        if type(value) is tuple and len(value) == 2 and bool not in map(type, value):
            return [value] * n
        if type(value) is int:
            return [(value, value)] * n
        if type(value) is list:
            return value
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = [tuple(r) for r in value.tolist()]  # an (N, 2) array: one size per image
    return _batch.per_image(value, n, "sizes", _crop_size, _batch.is_pair)


def _boxes(value: Any, n: int, careful: bool) -> list[Any]:
    """``boxes`` as one ``(x, y, w, h)`` per image (fast path as for :func:`_sizes`)."""
    if not careful:
        if type(value) is tuple and len(value) == 4 and bool not in map(type, value):
            return [value] * n
        if type(value) is list:
            return value
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = [tuple(r) for r in value.tolist()]  # an (N, 4) array: one box per image
    return _batch.per_image(value, n, "boxes", _loose_box, _batch.is_box)


def _loose_box(value: Any, name: str) -> tuple[int, int, int, int]:
    """An (x, y, width, height) box whose corner may be negative (padded crops)."""
    if not isinstance(value, Sequence | np.ndarray) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected (x, y, width, height), got {value!r}")
    if len(value) != 4:
        raise TypeError(f"{name}: expected (x, y, width, height), got {value!r}")
    x, y, w, h = (_args.integer(v, name) for v in value)
    if w < 1 or h < 1:
        raise ValueError(f"{name}: width and height must be >= 1, got {tuple(value)!r}")
    return x, y, w, h


# --------------------------------------------------------------------------------------------
# Crops

#: Below this many output bytes, one in-bounds crop of one image is numpy's slice copy: the
#: same row copies as the kernel, without the hand-off to native code (which dominates so
#: small a call).
_SMALL_CROP_BYTES = 64 * 1024


def _small_single_crop(images: Any, boxes: Any) -> Any:
    """The crop of one small image by one plain in-bounds box, or None (take the general
    path, which also produces every error message)."""
    if type(images) is not np.ndarray or type(boxes) is not tuple or len(boxes) != 4:
        return None
    x, y, w, h = boxes
    if not (type(x) is int and type(y) is int and type(w) is int and type(h) is int):
        return None
    shape = images.shape
    if (
        images.dtype != np.uint8
        or not 2 <= len(shape) <= 3
        or (len(shape) == 3 and not 1 <= shape[2] <= 4)
        or x < 0
        or y < 0
        or w < 1
        or h < 1
        or x + w > shape[1]
        or y + h > shape[0]
        or w * h * (shape[2] if len(shape) == 3 else 1) > _SMALL_CROP_BYTES
    ):
        return None
    return images[y : y + h, x : x + w].copy()


def crop(
    images: Any,
    boxes: Any,
    *,
    pad_value: Any = None,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Cut ``boxes`` (``(x, y, width, height)``, one for all images or one per image) out of
    ``images``: equal to ``a[y:y+h, x:x+w]`` made contiguous.

    A box leaving the image is a ``ValueError`` unless ``pad_value`` is given (an int for
    every channel, or one per channel); then ``x``/``y`` may be negative and pixels outside
    the image take ``pad_value``.
    """
    if pad_value is None and out is None:
        fast = _small_single_crop(images, boxes)
        if fast is not None:
            return fast
    nthreads = _args.threads(threads)
    pad = _pad_value(pad_value)
    return _per_image_op(_core.crop, images, _boxes, boxes, pad, nthreads, out)


def center_crop(
    images: Any,
    sizes: Any,
    *,
    pad_value: Any = 0,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """torchvision's ``CenterCrop``: a ``(width, height)`` crop (an int: square) centred at
    offset ``int(round((H - h) / 2))`` (round half to even), ``int(round((W - w) / 2))``.

    Where the crop is larger than the image it is padded like torchvision (``(h - H) // 2``
    rows above, the rest below; likewise left/right) with ``pad_value`` (torchvision: 0).
    """
    nthreads = _args.threads(threads)
    pad = _pad_value(pad_value)
    if pad is None:
        raise TypeError("pad_value: center_crop pads; expected an int or one per channel")
    return _per_image_op(_core.center_crop, images, _sizes, sizes, pad, nthreads, out)


def random_crop(
    images: Any,
    sizes: Any,
    *,
    seed: int | None = None,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """torchvision's ``RandomCrop`` (no padding): a ``(width, height)`` crop (an int: square)
    at a top-left corner uniform over all positions inside the image.

    Image ``i`` of the call draws from the stream of ``(seed, epoch=0, index=i)``: for a seed
    the boxes never depend on the thread count. ``seed=None`` draws a fresh seed; any other int
    is taken mod 2**64 (``-1`` is ``2**64 - 1``). A crop larger than its image is a
    ``ValueError``.
    """
    nthreads = _args.threads(threads)
    s = _args.seed(seed, none_draws=True)
    return _per_image_op(_core.random_crop, images, _sizes, sizes, s, nthreads, out)


# --------------------------------------------------------------------------------------------
# Colour


def convert(
    images: Any,
    to: ColorMode,
    *,
    source: ColorMode = "RGB",
    alpha: int = 255,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Convert between ``"L"``, ``"RGB"``, ``"BGR"``, ``"RGBA"`` and ``"BGRA"`` as Pillow's
    ``Image.convert`` does: ``L`` is Pillow's ITU-R 601 luma (``(19595 R + 38470 G + 7471 B +
    0x8000) >> 16``) and comes out 2-D ``(H, W)``; ``L`` to colour replicates the value;
    dropping alpha does not composite; adding alpha uses ``alpha``.

    ``source`` is the layout of the input (an ``L`` image is 2-D or ``(H, W, 1)``).
    """
    for name, v in (("to", to), ("source", source)):
        if v not in _MODES:
            raise ValueError(f"{name}: expected one of {', '.join(_MODES)}, got {v!r}")
    a = _byte(alpha, "alpha")
    nthreads = _args.threads(threads)

    def call(arrays: list[Any], kind: str, careful: bool) -> Any:
        res = _core.convert(arrays, to, source, a, nthreads, out, kind == "single")
        return _u8_result(res, kind, out)

    return _with_images(images, call)


# --------------------------------------------------------------------------------------------
# Statistics and tensors


def luminance(
    images: Any,
    *,
    weights: Literal["bt601", "bt709"] = "bt601",
    threads: int | None = None,
) -> Any:
    """Mean luminance on the 0-255 scale: the mean of ``wr R + wg G + wb B`` with BT.601
    (0.299, 0.587, 0.114) or BT.709 (0.2126, 0.7152, 0.0722) weights; alpha is ignored; one
    channel (or gray + alpha): the plain mean of the gray values.

    Exact integer channel sums, weighted once in float64. One image in: a ``float``; a batch:
    a float64 array.
    """
    if weights not in ("bt601", "bt709"):
        raise ValueError(f"weights: expected 'bt601' or 'bt709', got {weights!r}")
    nthreads = _args.threads(threads)

    def call(arrays: list[Any], kind: str, careful: bool) -> Any:
        values = _core.luminance(arrays, weights, nthreads)
        return float(values[0]) if kind == "single" else values

    return _with_images(images, call)


def _per_channel(value: Any, c: int, name: str) -> list[float]:
    if (value is IMAGENET_MEAN or value is IMAGENET_STD) and c == 3:
        return list(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        vals = [float(value)] * c
    elif isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        vals = [float(v) for v in value]
        if len(vals) == 1:
            vals *= c
    else:
        raise TypeError(f"{name}: expected a number or one per channel, got {value!r}")
    if len(vals) != c:
        raise ValueError(f"{name}: {len(vals)} values for {c}-channel images")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{name}: values must be finite, got {vals}")
    return vals


def _bfloat16() -> Any:
    """``ml_dtypes.bfloat16`` when installed, else None."""
    try:
        import ml_dtypes  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return ml_dtypes.bfloat16


def normalize(
    images: Any,
    *,
    mean: Any = IMAGENET_MEAN,
    std: Any = IMAGENET_STD,
    dtype: Literal["float32", "float16", "bfloat16"] = "float32",
    layout: Literal["NCHW", "NHWC"] = "NCHW",
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """``(x / 255 - mean) / std`` per channel, stacked into one array.

    float32 elements are the float64 value of that formula rounded once (to nearest, ties to
    even); float16 / bfloat16 elements are that float32 value rounded to nearest-even, i.e.
    equal to ``normalize(...).astype(float16 / ml_dtypes.bfloat16)`` (and to torch's
    ``.to(torch.bfloat16)`` of a float32 tensor). ``bfloat16`` comes as ``ml_dtypes.bfloat16``
    when ``ml_dtypes`` is installed, else as its uint16 bit patterns. ``mean``/``std``: one
    value per channel or one for all.

    Shapes: a batch gives ``(N, C, H, W)`` (``NCHW``) or ``(N, H, W, C)`` (``NHWC``; 2-D images
    stay ``(N, H, W)``); one image gives the same without ``N``. All images must have the same
    shape. ``out=`` is a preallocated array of the batch shape (with ``N``, also for one image).
    """
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"dtype: expected 'float32', 'float16' or 'bfloat16', got {dtype!r}")
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
    nthreads = _args.threads(threads)
    bf16 = _bfloat16() if dtype == "bfloat16" else None
    np_dtype: Any = {"float32": np.float32, "float16": np.float16}.get(dtype, bf16 or np.uint16)
    native_layout = "CHW" if layout == "NCHW" else "HWC"

    def call(arrays: list[Any], kind: str, careful: bool) -> Any:
        if not arrays:
            if out is not None:
                raise ValueError("out: no images to write")
            return np.empty((0,), np_dtype)
        first = arrays[0].shape  # the native layer checks that all images share it
        if not 2 <= len(first) <= 3:
            raise ValueError(f"images[0]: expected a 2-D or 3-D image, got shape {first}")
        h, w = first[:2]
        c = 1 if len(first) == 2 else first[2]
        m = _per_channel(mean, c, "mean")
        sd = _per_channel(std, c, "std")
        if any(v == 0.0 for v in sd):
            raise ValueError(f"std: values must be non-zero, got {sd}")
        img_shape = (c, h, w) if layout == "NCHW" else tuple(first)
        n = len(arrays)
        if out is None:
            result = np.empty(img_shape if kind == "single" else (n, *img_shape), np_dtype)
        elif dtype == "bfloat16" and isinstance(out, np.ndarray) and out.dtype == np.uint16:
            result = _batch.check_out(out, (n, *img_shape), np.uint16)
        else:
            result = _batch.check_out(out, (n, *img_shape), np_dtype)
        native_out = result if dtype == "float32" else result.view(np.uint16)
        _core.normalize(arrays, m, sd, dtype, native_layout, nthreads, native_out)
        return result

    return _with_images(images, call)
