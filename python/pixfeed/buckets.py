"""Aspect-ratio bucketing: `Buckets` for ``Pipeline(size=...)``.

Each image goes to the bucket nearest its aspect ratio (in log scale: 2:1 and 1:2 are equally
far from 1:1), read from its header only (`image_sizes`: in parallel, cached per file). A
bucketed `Loader` batches images of one bucket together, so every batch has one shape; the
batches are shuffled with the loader's (seed, epoch) and dealt out to DDP ranks in equal
numbers (see `Loader`).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pixfeed import _args

__all__ = ["Buckets", "image_sizes"]

_MAX_BUCKETS = 4096
_CACHE_LIMIT = 1_000_000
_cache: dict[tuple[str, int, int, bool], tuple[int, int]] = {}
_cache_lock = threading.Lock()


class Buckets:
    """Target sizes ``(width, height)``; each image is resized and cropped to the one nearest
    its aspect ratio.

    With ``Pipeline(size=Buckets(...), crop=...)``: ``crop="center"`` takes the largest
    centred window of the bucket's aspect ratio and resizes it to the bucket (the image is
    resized to cover the bucket, then centre-cropped: nothing is stretched);
    ``crop="random_resized"`` draws torchvision's RandomResizedCrop with the pipeline's
    ``scale`` and the bucket's aspect ratio as ``ratio`` (a window with ``scale=(1, 1)`` is
    the centred one); ``crop="resize"`` resizes the whole image to the bucket (stretching it
    by at most the distance to the nearest bucket)."""

    def __init__(self, sizes: Sequence[tuple[int, int]]) -> None:
        if isinstance(sizes, Buckets):
            sizes = sizes.sizes
        if not isinstance(sizes, Sequence) or not sizes:
            raise ValueError(f"sizes: expected a non-empty list of (width, height), got {sizes!r}")
        if len(sizes) > _MAX_BUCKETS:
            raise ValueError(f"sizes: at most {_MAX_BUCKETS} buckets, got {len(sizes)}")
        parsed = [_args.size(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
        if len(set(parsed)) != len(parsed):
            raise ValueError(f"sizes: duplicate bucket sizes in {sizes!r}")
        self.sizes: list[tuple[int, int]] = parsed
        self._log_ratio = np.array([math.log(w / h) for w, h in parsed])

    @classmethod
    def from_area(
        cls, max_area: int, step: int = 64, *, max_ratio: float = 2.0, min_side: int | None = None
    ) -> Buckets:
        """Every ``(w, h)`` with both sides multiples of ``step`` (at least ``min_side``,
        default ``step``), ``w * h <= max_area``, the largest ``h`` for each ``w``, and an
        aspect ratio within ``1 / max_ratio .. max_ratio`` (SDXL/kohya-style buckets)."""
        max_area = _args.positive_int(max_area, "max_area")
        step = _args.positive_int(step, "step")
        lo = step if min_side is None else _args.positive_int(min_side, "min_side")
        if not (math.isfinite(max_ratio) and max_ratio >= 1.0):
            raise ValueError(f"max_ratio: expected a number >= 1, got {max_ratio!r}")
        sizes = []
        w = math.ceil(lo / step) * step
        while w * max(lo, step) <= max_area:
            h = (max_area // w) // step * step
            if h >= lo and max(w / h, h / w) <= max_ratio + 1e-9:
                sizes.append((w, h))
            w += step
        if not sizes:
            raise ValueError(
                f"no bucket: max_area={max_area} with step={step} and max_ratio={max_ratio}"
            )
        return cls(sizes)

    def __len__(self) -> int:
        return len(self.sizes)

    def __repr__(self) -> str:
        return f"Buckets({self.sizes})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Buckets) and other.sizes == self.sizes

    def __hash__(self) -> int:
        return hash(tuple(self.sizes))

    def assign(self, sizes: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The bucket index of each ``(width, height)`` in ``sizes`` (shape (N, 2)): the
        nearest aspect ratio in log scale, the first bucket listed on a tie."""
        arr = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        if (arr <= 0).any() or not np.isfinite(arr).all():
            raise ValueError("sizes: widths and heights must be positive")
        ratio = np.log(arr[:, 0] / arr[:, 1])
        dist = np.abs(ratio[:, None] - self._log_ratio[None, :])
        nearest: npt.NDArray[np.int64] = np.argmin(dist, axis=1).astype(np.int64)
        return nearest


def _key(src: _args.Native, apply_exif: bool) -> tuple[str, int, int, bool] | None:
    if not isinstance(src, str):
        return None
    try:
        st = os.stat(src)
    except OSError:
        return None
    return (src, st.st_mtime_ns, st.st_size, apply_exif)


def image_sizes(
    sources: Sequence[_args.Source], *, apply_exif: bool = True, threads: int | None = None
) -> tuple[npt.NDArray[np.int64], dict[int, BaseException]]:
    """``(sizes, errors)``: the ``(width, height)`` of each source from its header only (after
    EXIF orientation when ``apply_exif``), read in parallel with the GIL released; a file's
    size is cached (keyed by path, modification time and length) so later loaders and epochs
    do not read it again. A source whose header cannot be read gets ``(0, 0)`` and its
    exception in ``errors``."""
    from pixfeed import _core

    srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
    out = np.zeros((len(srcs), 2), dtype=np.int64)
    errors: dict[int, BaseException] = {}
    todo: list[int] = []
    keys = [_key(s, apply_exif) for s in srcs]
    with _cache_lock:
        for i, k in enumerate(keys):
            hit = _cache.get(k) if k is not None else None
            if hit is None:
                todo.append(i)
            else:
                out[i] = hit

    # One native call for every header (parallel on the pool, GIL released).
    headers = _core.probe_batch([srcs[i] for i in todo], _args.threads(threads))
    for i, header in zip(todo, headers, strict=True):
        if isinstance(header, BaseException):
            errors[i] = header
            continue
        _fmt, w, h, _c, _d, orientation, _p = header
        if not apply_exif and orientation in (5, 6, 7, 8):
            w, h = h, w
        out[i] = (w, h)
    with _cache_lock:
        if len(_cache) > _CACHE_LIMIT:
            _cache.clear()
        for i in todo:
            k = keys[i]
            if k is not None and i not in errors:
                _cache[k] = (int(out[i, 0]), int(out[i, 1]))
    return out, errors


def _bucket_pipeline(pipeline: Any, size: tuple[int, int]) -> Any:
    """The concrete Pipeline for one bucket of a bucketed ``pipeline``."""
    import copy

    pipe = copy.copy(pipeline)
    pipe.buckets = None
    pipe.size = size
    r = size[0] / size[1]
    if pipeline.crop == "center":
        pipe.crop, pipe.scale, pipe.ratio = "random_resized", (1.0, 1.0), (r, r)
    elif pipeline.crop == "random_resized":
        pipe.ratio = (r, r)
    return pipe
