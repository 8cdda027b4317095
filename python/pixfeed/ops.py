"""Batch array ops (SPEC section 3): one image or many, parallel across images, GIL released.
Argument conventions are in `pixfeed._batch`."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

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

ColorMode = Literal["L", "RGB", "BGR", "RGBA", "BGRA"]
_MODES = ("L", "RGB", "BGR", "RGBA", "BGRA")
_MODE_CHANNELS = {"L": 1, "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4}


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
# Shared plumbing of the uint8 -> uint8 ops


def _channels(a: npt.NDArray[Any]) -> int:
    return 1 if a.ndim == 2 else int(a.shape[2])


def _run_u8(
    native: Callable[..., None],
    batch: _batch.Batch,
    shapes: Sequence[tuple[int, ...]],
    args: tuple[Any, ...],
    out: Any,
) -> Any:
    """Call ``native(arrays, *args, buffer)``, which writes the results one after the other
    into ``buffer``: ``out`` when given, else one fresh allocation for the whole call, handed
    back as one array (one image in, or a 4-D batch in) or as per-image views of it (a
    sequence in). One allocation instead of one per image: the page faults of fresh memory,
    which otherwise dominate a batch of crops, are paid once."""
    n = len(shapes)
    first = shapes[0] if shapes else ()
    same = all(s == first for s in shapes)
    if out is not None:
        if not same:
            raise ValueError(f"out: needs all results to have the same shape, got {shapes}")
        _batch.check_out(out, (n, *first))
        native(batch.arrays, *args, out)
        return out
    if batch.kind == "single":
        result = np.empty(first, np.uint8)
        native(batch.arrays, *args, result)
        return result
    if same:
        stacked = np.empty((n, *first), np.uint8)
        native(batch.arrays, *args, stacked)
        return stacked if batch.kind == "stacked" else list(stacked)
    # Mixed result shapes (also from a 4-D batch with per-image sizes): a list.
    sizes = [math.prod(s) for s in shapes]
    flat = np.empty(sum(sizes), np.uint8)
    native(batch.arrays, *args, flat)
    views = []
    offset = 0
    for s, size in zip(shapes, sizes, strict=True):
        views.append(flat[offset : offset + size].reshape(s))
        offset += size
    return views


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    return int(value.__index__())


def _byte(value: Any, name: str) -> int:
    v = _int(value, name)
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


def _sizes(value: Any, n: int) -> tuple[list[tuple[int, int]], bool]:
    """``sizes`` per image, and whether one value was broadcast (fast path for the usual
    plain tuple or int)."""
    if type(value) is tuple and len(value) == 2:
        w, h = value
        if type(w) is int and type(h) is int and w > 0 and h > 0:
            return [(w, h)] * n, True
    elif type(value) is int and value > 0:
        return [(value, value)] * n, True
    parsed = _batch.per_image(value, n, "sizes", _crop_size, _batch.is_pair)
    return parsed, _batch.is_pair(value)


def _boxes(value: Any, n: int) -> tuple[list[tuple[int, int, int, int]], bool]:
    """``boxes`` per image, and whether one box was broadcast."""
    if type(value) is tuple and len(value) == 4:
        x, y, w, h = value
        if type(x) is int and type(y) is int and type(w) is int and type(h) is int:
            if w > 0 and h > 0:
                return [(x, y, w, h)] * n, True
    parsed = _batch.per_image(value, n, "boxes", _loose_box, _batch.is_box)
    return parsed, _batch.is_box(value)


def _loose_box(value: Any, name: str) -> tuple[int, int, int, int]:
    """An (x, y, width, height) box whose corner may be negative (padded crops)."""
    if not isinstance(value, Sequence | np.ndarray) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected (x, y, width, height), got {value!r}")
    if len(value) != 4:
        raise TypeError(f"{name}: expected (x, y, width, height), got {value!r}")
    x, y, w, h = (_int(v, name) for v in value)
    if w < 1 or h < 1:
        raise ValueError(f"{name}: width and height must be >= 1, got {tuple(value)!r}")
    return x, y, w, h


def _seed(seed: Any) -> int:
    if seed is None:
        return secrets.randbits(64)
    v = _int(seed, "seed")
    if not 0 <= v < 2**64:
        raise ValueError(f"seed: must be in [0, 2**64), got {v}")
    return v


def _name(name: str, i: int, broadcast: bool) -> str:
    return name if broadcast else f"{name}[{i}]"


# --------------------------------------------------------------------------------------------
# Crops


#: Below this many output bytes, one in-bounds crop of one image is numpy's slice copy: the
#: same row copies as the kernel, without the hand-off to native code (~0.3 us of a ~1 us call).
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
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    pad = _pad_value(pad_value)
    n = len(batch)
    parsed, broadcast = _boxes(boxes, n)
    for i, (a, (x, y, w, h)) in enumerate(zip(batch.arrays, parsed, strict=True)):
        ih, iw = a.shape[:2]
        if pad is None and (x < 0 or y < 0 or x + w > iw or y + h > ih):
            raise ValueError(
                f"{_name('boxes', i, broadcast)}: box {(x, y, w, h)} leaves the {iw}x{ih} "
                f"image images[{i}] (pass pad_value to pad)"
            )
        if pad is not None and len(pad) not in (1, _channels(a)):
            raise ValueError(
                f"pad_value: {len(pad)} values for images[{i}] with {_channels(a)} channels"
            )
    shapes = [(h, w, *a.shape[2:]) for a, (_, _, w, h) in zip(batch.arrays, parsed, strict=True)]
    return _run_u8(_core.crop, batch, shapes, (parsed, pad, nthreads), out)


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
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    pad = _pad_value(pad_value)
    if pad is None:
        raise TypeError("pad_value: center_crop pads; expected an int or one per channel")
    parsed, _ = _sizes(sizes, len(batch))
    for i, a in enumerate(batch.arrays):
        if len(pad) not in (1, _channels(a)):
            raise ValueError(
                f"pad_value: {len(pad)} values for images[{i}] with {_channels(a)} channels"
            )
    shapes = [(h, w, *a.shape[2:]) for a, (w, h) in zip(batch.arrays, parsed, strict=True)]
    return _run_u8(_core.center_crop, batch, shapes, (parsed, pad, nthreads), out)


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
    the boxes never depend on the thread count. ``seed=None`` draws a fresh seed. A crop larger
    than its image is a ``ValueError``.
    """
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    s = _seed(seed)
    parsed, broadcast = _sizes(sizes, len(batch))
    for i, (a, (w, h)) in enumerate(zip(batch.arrays, parsed, strict=True)):
        ih, iw = a.shape[:2]
        if w > iw or h > ih:
            raise ValueError(
                f"{_name('sizes', i, broadcast)}: crop {w}x{h} is larger than the {iw}x{ih} "
                f"image images[{i}]"
            )
    shapes = [(h, w, *a.shape[2:]) for a, (w, h) in zip(batch.arrays, parsed, strict=True)]
    return _run_u8(_core.random_crop, batch, shapes, (parsed, s, nthreads), out)


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
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    want = _MODE_CHANNELS[source]
    for i, img in enumerate(batch.arrays):
        if _channels(img) != want:
            raise ValueError(
                f"images[{i}]: source={source!r} needs {want} channel(s), got shape {img.shape}"
            )
    tc = _MODE_CHANNELS[to]
    shapes = [
        (img.shape[0], img.shape[1]) if tc == 1 else (img.shape[0], img.shape[1], tc)
        for img in batch.arrays
    ]
    return _run_u8(_core.convert, batch, shapes, (to, source, a, nthreads), out)


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
    batch = _batch.images(images)
    values = _core.luminance(batch.arrays, weights, _args.threads(threads))
    if batch.kind == "single":
        return float(values[0])
    return values


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
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    bf16 = _bfloat16() if dtype == "bfloat16" else None
    np_dtype: Any = {"float32": np.float32, "float16": np.float16}.get(dtype, bf16 or np.uint16)
    if not batch.arrays:
        if out is not None:
            raise ValueError("out: no images to write")
        return np.empty((0,), np_dtype)
    first = batch.arrays[0].shape
    for i, a in enumerate(batch.arrays):
        if a.shape != first:
            raise ValueError(
                f"images[{i}]: all images must have the same shape to be stacked, "
                f"got {a.shape} and {first}"
            )
    h, w = first[:2]
    c = 1 if len(first) == 2 else first[2]
    m = _per_channel(mean, c, "mean")
    sd = _per_channel(std, c, "std")
    if any(v == 0.0 for v in sd):
        raise ValueError(f"std: values must be non-zero, got {sd}")
    if layout == "NCHW":
        img_shape: tuple[int, ...] = (c, h, w)
    else:
        img_shape = tuple(first)
    n = len(batch.arrays)
    if out is None:
        result = np.empty((n, *img_shape), np_dtype)
    else:
        if dtype == "bfloat16" and isinstance(out, np.ndarray) and out.dtype == np.uint16:
            result = _batch.check_out(out, (n, *img_shape), np.uint16)
        else:
            result = _batch.check_out(out, (n, *img_shape), np_dtype)
    native_out = result if dtype == "float32" else result.view(np.uint16)
    _core.normalize(
        batch.arrays, m, sd, dtype, "CHW" if layout == "NCHW" else "HWC", nthreads, native_out
    )
    if out is not None or batch.kind != "single":
        return result
    return result[0]
