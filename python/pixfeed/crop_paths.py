"""`crop_paths`: one window per image file, decoding only what the crop needs
(docs/crop-from-files.md).

parallel_image_crop's geometry: x, y in [0, 1]; the crop's corner (or centre with
``anchor="center"``) is ``(trunc(x*W), trunc(y*H))``; its size ``(max(floor(W*s), 2),
max(floor(H*s), 2))`` with ``s = min(scale, max_img_percent)``; clamped inside the image; then
resized to ``window_size x window_size``. JPEGs decode only the crop's rows and columns, at
the smallest DCT scale (1/8, 1/4, 1/2, 1) that still covers the window; BMPs read only the
crop's rows; PNGs stop after its last row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core

__all__ = ["CropBatch", "crop_paths"]

_CHANNELS = _core.CHANNELS
_INTERPOLATIONS = _core.NAMES["interpolation"]


class CropBatch(np.ndarray[Any, np.dtype[np.uint8]]):
    """The (N, window, window[, C]) uint8 result; ``errors`` maps the input index of each
    failed file to its exception (those rows are dropped with ``on_error="skip"``)."""

    errors: dict[int, BaseException]

    def __array_finalize__(self, obj: Any) -> None:
        self.errors = getattr(obj, "errors", {})


def _values(
    v: Any, n: int, name: str, lo: float, hi: float, *, open_lo: bool = False
) -> list[float]:
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.ndim != 1 or len(arr) != n:
        raise ValueError(
            f"{name}: expected one value or {n} (one per source), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite")
    bad = (arr <= lo) if open_lo else (arr < lo)
    bad |= arr > hi
    if bad.any():
        i = int(np.argmax(bad))
        interval = f"{'(' if open_lo else '['}{lo}, {hi}]"
        raise ValueError(f"{name}: {name}[{i}] = {arr[i]} is outside {interval}")
    return [float(a) for a in arr]


def crop_paths(
    sources: Sequence[_args.Source],
    x: Sequence[float] | npt.ArrayLike,
    y: Sequence[float] | npt.ArrayLike,
    scale: float | Sequence[float] | npt.ArrayLike,
    window_size: int,
    *,
    max_img_percent: float = 1.0,
    anchor: Literal["corner", "center"] = "corner",
    interpolation: str = "bilinear",
    antialias: bool = True,
    mode: Literal["RGB", "BGR", "RGBA", "L"] = "RGB",
    threads: int | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    out: npt.NDArray[np.uint8] | None = None,
    exact: bool = False,
    strict: bool = True,
) -> CropBatch:
    """Crop each file at (x, y) with the given scale and resize it to a square window.

    Returns a `CropBatch` (an ndarray) of shape (N, window, window, C), or (N, window,
    window) for ``mode="L"``. ``out=`` writes into a preallocated array of that shape.
    ``exact=True`` decodes the crop at full scale (accurate IDCT, fancy upsampling) and
    resizes it with `pixfeed.resize`'s kernels: byte for byte Pillow's ``crop`` then
    ``resize`` (antialiased filters) of the decoded image; the default reduces JPEGs by DCT
    scaling first (faster, not bit-exact). Channels are resized independently (no
    premultiplied alpha) in both modes, as `pixfeed.resize` does.
    ``strict`` (default True): corrupt data in what the crop decodes fails that file with
    ``DecodeError`` (kind ``"corrupt"``); False keeps what the decoder recovered.
    """
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError("sources: expected a sequence of paths or bytes")
    srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
    n = len(srcs)
    xs = _values(x, n, "x", 0.0, 1.0)
    ys = _values(y, n, "y", 0.0, 1.0)
    scales = _values(scale, n, "scale", 0.0, math.inf, open_lo=True)
    window = _args.positive_int(window_size, "window_size")
    mip = float(max_img_percent)
    if not (math.isfinite(mip) and 0.0 < mip <= 1.0):
        raise ValueError(f"max_img_percent: expected a value in (0, 1], got {max_img_percent!r}")
    if anchor not in ("corner", "center"):
        raise ValueError(f"anchor: expected 'corner' or 'center', got {anchor!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation: expected one of {_INTERPOLATIONS}, got {interpolation!r}")
    if mode not in _CHANNELS:
        raise ValueError(f"mode: expected one of {sorted(_CHANNELS)}, got {mode!r}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error: expected 'raise' or 'skip', got {on_error!r}")
    c = _CHANNELS[mode]
    shape = (n, window, window) if c == 1 else (n, window, window, c)
    if out is None:
        buf = np.empty(shape, np.uint8)
    else:
        from pixfeed._batch import check_out

        buf = check_out(out, shape)
    results = _core.crop_paths(
        srcs,
        xs,
        ys,
        scales,
        window,
        mip,
        anchor == "center",
        interpolation,
        bool(antialias),
        mode,
        _args.threads(threads),
        buf.reshape(n, -1) if n else buf.reshape(0, 0),
        bool(exact),
        bool(strict),
    )
    errors = {i: e for i, e in enumerate(results) if e is not None}
    if errors and on_error == "raise":
        raise errors[min(errors)]
    if errors and out is not None:
        raise ValueError("out: on_error='skip' cannot drop rows of a preallocated array")
    keep = [i for i in range(n) if i not in errors]
    result = (buf if not errors else buf[keep]).view(CropBatch)
    result.errors = errors
    return result
