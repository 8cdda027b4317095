"""How batch ops take their arguments (docs/conventions.md), in one place:

- ``images``: one array (2-D = one channel, 3-D = HWC) -> one array out; a 4-D array (N,H,W,C)
  -> one stacked array out; a sequence of arrays (mixed shapes allowed) -> a list out.
- per-image parameters: one value broadcasts, or exactly one per image; any other length is a
  ValueError (never silent truncation).
- ``out=``: a preallocated, writeable, C-contiguous (N, h, w[, C]) array of the right dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")

U8Array = npt.NDArray[np.uint8]


@dataclass
class Batch:
    """Images ready for the native layer, and how to shape the answer."""

    arrays: list[U8Array]
    #: "single" (one array in), "stacked" (a 4-D array in) or "list" (a sequence in).
    kind: str

    def __len__(self) -> int:
        return len(self.arrays)

    def wrap(self, results: list[Any]) -> Any:
        if self.kind == "single":
            return results[0]
        if self.kind == "stacked":
            return np.stack(results) if results else np.empty((0,), np.uint8)
        return results


def pixel_contiguous(a: U8Array) -> U8Array:
    """`a` itself when pixels are contiguous within rows (any row stride >= 0), else a copy."""
    s = a.strides
    ok = s[0] >= 0 and (s[1] == 1 if a.ndim == 2 else (s[2] == 1 and s[1] == a.shape[2]))
    return a if ok else np.ascontiguousarray(a)


def u8_array(value: Any, name: str, ndim: int, kind: str, expected: str) -> U8Array:
    """``value`` when it is a uint8 array of ``ndim`` dimensions, or ``ndim + 1`` with 1 to 4
    channels last, and nothing empty; else the error naming ``name`` (``kind``: "image" or
    "clip"; ``expected``: the shapes it takes, for the message)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(value).__name__}")
    if value.dtype != np.uint8:
        raise TypeError(f"{name}: expected dtype uint8, got {value.dtype}")
    if value.ndim not in (ndim, ndim + 1):
        raise ValueError(f"{name}: expected {expected}, got {value.shape}")
    if value.ndim == ndim + 1 and not 1 <= value.shape[ndim] <= 4:
        raise ValueError(f"{name}: expected 1 to 4 channels, got shape {value.shape}")
    if 0 in value.shape:
        raise ValueError(f"{name}: {kind} is empty, shape {value.shape}")
    return value


def _one(a: Any, name: str) -> U8Array:
    image = u8_array(a, name, 2, "image", "a 2-D (H, W) or 3-D (H, W, C) image")
    return pixel_contiguous(image)


def images(value: Any, name: str = "images") -> Batch:
    """Normalize the ``images`` argument of a batch op."""
    if isinstance(value, np.ndarray):
        if value.ndim == 4:
            return Batch([_one(value[i], f"{name}[{i}]") for i in range(len(value))], "stacked")
        return Batch([_one(value, name)], "single")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"{name}: expected a numpy array or a sequence of arrays, got {type(value).__name__}"
        )
    return Batch([_one(a, f"{name}[{i}]") for i, a in enumerate(value)], "list")


def per_image(
    value: Any,
    n: int,
    name: str,
    parse: Callable[[Any, str], T],
    is_single: Callable[[Any], bool],
) -> list[T]:
    """Broadcast one value to `n` images, or check there is exactly one per image."""
    if is_single(value):
        v = parse(value, name)
        return [v] * n
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected one value or one per image, got {value!r}")
    if len(value) != n:
        raise ValueError(f"{name}: expected one value or {n} (one per image), got {len(value)}")
    return [parse(v, f"{name}[{i}]") for i, v in enumerate(value)]


def is_pair(value: Any) -> bool:
    """An int or a pair of ints (not a sequence of pairs)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return True
    return (
        isinstance(value, (tuple, list, np.ndarray))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    )


def is_box(value: Any) -> bool:
    """A single (x, y, w, h) box."""
    return (
        isinstance(value, (tuple, list, np.ndarray))
        and len(value) == 4
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    )


def check_out(
    out: Any, shape: tuple[int, ...], dtype: npt.DTypeLike = np.uint8
) -> npt.NDArray[Any]:
    """Validate a preallocated ``out=`` array."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"out: expected dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out: expected shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out: must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out: must be writeable")
    return out
