"""Argument normalization shared by the public functions (names the argument on error)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from typing import Any

from pixfeed import _core

Source = str | os.PathLike[str] | os.PathLike[bytes] | bytes | bytearray | memoryview | _core.Member
#: A source as the native functions take it (see `source`).
Native = str | bytes | bytearray | _core.Member

#: The most threads any thread count may ask for (arguments, ``set_num_threads``,
#: ``PIXFEED_NUM_THREADS``, the ``threads`` configuration key).
MAX_THREADS: int = _core.MAX_THREADS


def source(obj: Any, name: str = "source") -> Native:
    """Paths become str (an ``os.PathLike`` giving bytes is decoded as ``os.fsdecode`` does:
    names that are not UTF-8 keep their bytes as surrogate escapes); bytes-likes are encoded
    image data and stay bytes (memoryview is copied once); a tar shard's member (a
    `pixfeed.Shards` source) stays as it is."""
    if isinstance(obj, (bytes, bytearray, str, _core.Member)):
        return obj
    if isinstance(obj, memoryview):
        return obj.tobytes()
    if isinstance(obj, os.PathLike):
        path: str | bytes = os.fspath(obj)
        return os.fsdecode(path) if isinstance(path, bytes) else path
    raise TypeError(
        f"{name}: expected str, os.PathLike, bytes, bytearray, memoryview or a shard member, "
        f"got {type(obj).__name__}"
    )


def integer(value: Any, name: str, low: int | None = None) -> int:
    """An int (Python or numpy, not a bool), at least ``low`` when given; else a TypeError or
    ValueError naming ``name``."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    v = int(value.__index__())
    if low is not None and v < low:
        raise ValueError(f"{name}: must be >= {low}, got {v}")
    return v


def positive_int(value: Any, name: str) -> int:
    return integer(value, name, 1)


U32_MAX = 2**32 - 1
SEED_MODULUS = 2**64


def epoch(value: Any, name: str = "epoch") -> int:
    """The one epoch rule: an int (Python or numpy) with 0 <= epoch < 2**64 (what the native
    randomness takes); bools and non-ints are a TypeError, other ints a ValueError."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    v = int(value.__index__())
    if not 0 <= v < SEED_MODULUS:
        raise ValueError(f"{name}: expected an int >= 0 and < 2**64, got {v}")
    return v


def seed(value: Any, name: str = "seed", *, none_draws: bool = False) -> int:
    """The one seed rule: any int (Python or numpy, of any sign) is accepted and reduced mod
    2**64, so ``-1`` and ``2**64 - 1`` are the same seed; bools and non-ints are a TypeError
    naming ``name``. ``None`` draws a fresh 64-bit seed when ``none_draws``, else it is a
    TypeError too."""
    if value is None and none_draws:
        return secrets.randbits(64)
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        expected = "an int or None" if none_draws else "an int"
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__}")
    return int(value.__index__()) % SEED_MODULUS


def size(value: Any, name: str) -> tuple[int, int]:
    """A (width, height) pair of positive ints. Values past 2**32 - 1 are larger than any
    image can be, so they are clamped there (a request larger than the image is valid)."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise TypeError(f"{name}: expected (width, height), got {value!r}")
    w, h = positive_int(value[0], name), positive_int(value[1], name)
    return min(w, U32_MAX), min(h, U32_MAX)


def box(value: Any, name: str) -> tuple[int, int, int, int]:
    """An (x, y, width, height) box: x, y >= 0 and a positive size."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 4:
        raise TypeError(f"{name}: expected (x, y, width, height), got {value!r}")
    vals = []
    for v in value:
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"{name}: expected ints, got {value!r}")
        vals.append(int(v))
    x, y, w, h = vals
    if x < 0 or y < 0:
        raise ValueError(f"{name}: x and y must be >= 0, got {value!r}")
    if w < 1 or h < 1:
        raise ValueError(f"{name}: width and height must be >= 1, got {value!r}")
    if max(x + w, y + h) > U32_MAX:
        raise ValueError(f"{name}: {value!r} reaches past 2**32 - 1, outside any image")
    return x, y, w, h


def thread_count(value: Any, name: str) -> int:
    """A thread count in ``1..MAX_THREADS`` (ValueError naming ``name`` otherwise)."""
    v = positive_int(value, name)
    if v > MAX_THREADS:
        raise ValueError(f"{name}: at most {MAX_THREADS} threads, got {v}")
    return v


def threads(value: Any, name: str = "threads") -> int | None:
    if value is None:
        return None
    return thread_count(value, name)


#: The most batches a ``prefetch`` may keep waiting ahead of its consumer (`pixfeed.Loader`).
MAX_PREFETCH: int = 256


def prefetch(value: Any, name: str = "prefetch", *, low: int = 0, unit: str = "batches") -> int:
    """A prefetch depth in ``low..MAX_PREFETCH`` ``unit`` (TypeError or ValueError naming
    ``name``)."""
    v = integer(value, name, low)
    if v > MAX_PREFETCH:
        raise ValueError(f"{name}: at most {MAX_PREFETCH} {unit}, got {v}")
    return v


def max_pixels(value: Any) -> int:
    if value is None:
        return 2**63 - 1
    return positive_int(value, "max_pixels")
