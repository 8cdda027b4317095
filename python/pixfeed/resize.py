"""Resize family of the batch array ops (docs/array-ops.md): ``resize``, ``resize_video``, the lazy
``iter_resize`` and ``random_resized_crop``. Argument conventions are in `pixfeed._batch`.

Fidelity: with ``antialias=True`` each interpolation matches Pillow's ``Image.resize`` filter of
that name (``area`` is Pillow's BOX), with ``antialias=False`` it matches ``cv2.resize``
(INTER_NEAREST, INTER_LINEAR, INTER_CUBIC, INTER_LANCZOS4, INTER_AREA), within one level on
uint8. The Pillow flavour reproduces Pillow's integer arithmetic exactly, including Pillow 13's
pass order (vertical first when the height shrinks by more than twice as many pixels as the
width; Pillow 12 and older always start horizontally, which shows on high-contrast images
with bicubic and lanczos). Channels are resized independently: Pillow premultiplies the alpha
of RGBA/LA images, pixfeed does not (an array's fourth channel need not be alpha); compare
with Pillow's RGBX or per-channel "L" results.

A size is ``(width, height)`` or an int: the shorter side becomes that size and the longer
``int(size * long / short)`` (torchvision). A 2-sequence of ints is always one
``(width, height)``, also for a batch of two images.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _batch, _core

__all__ = [
    "INTERPOLATIONS",
    "iter_resize",
    "random_resized_crop",
    "random_resized_crop_params",
    "resize",
    "resize_video",
]

#: The interpolation names accepted by the resize functions.
INTERPOLATIONS: tuple[str, ...] = _core.NAMES["interpolation"]

_ndarray = np.ndarray
Box = tuple[int, int, int, int]


def _interpolation(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"interpolation: expected a str, got {type(value).__name__}")
    if value not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation: expected one of {', '.join(INTERPOLATIONS)}, got {value!r}"
        )
    return value


def _size_spec(value: Any, name: str) -> int | tuple[int, int]:
    """An int (shorter side) or a (width, height) pair of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return _args.positive_int(value, name)
    return _args.size(value, name)


def _target(spec: int | tuple[int, int], shape: tuple[int, ...]) -> tuple[int, int]:
    """(width, height) for an image of `shape`; an int is torchvision's shorter-side rule."""
    if not isinstance(spec, int):
        return spec
    h, w = shape[0], shape[1]
    if w <= h:
        return spec, int(spec * h / w)
    return int(spec * w / h), spec


def _targets(shapes: Sequence[tuple[int, ...]], sizes: Any) -> list[tuple[int, int]]:
    specs = _batch.per_image(sizes, len(shapes), "sizes", _size_spec, _batch.is_pair)
    return [_target(s, shape) for s, shape in zip(specs, shapes, strict=True)]


def resize(
    images: Any,
    sizes: Any,
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Resize images to ``sizes``: one ``(width, height)`` or an int (the shorter side becomes
    that size, the longer ``int(size * long / short)``, as torchvision), for all images or one
    per image.

    ``interpolation``: nearest, bilinear, bicubic, lanczos or area. ``antialias=True`` follows
    Pillow's filters (antialiased when shrinking), ``antialias=False`` follows ``cv2.resize``.
    One array in, one array out; a 4-D array in, a stacked array out; a sequence in, a list
    out; ``out=`` an ``(N, h, w[, C])`` array to write into (returned).
    """
    if out is None and type(images) is _ndarray and images.ndim != 4 and images.flags.c_contiguous:
        # One image: argument checks and work in one native call.
        nthreads = threads if threads is None else _args.threads(threads)
        return _core.resize_one(images, sizes, interpolation, bool(antialias), nthreads)
    batch = _batch.images(images)
    interp = _interpolation(interpolation)
    nthreads = _args.threads(threads)
    targets = _targets([a.shape for a in batch.arrays], sizes)
    shapes = [_result_shape(a, t) for a, t in zip(batch.arrays, targets, strict=True)]

    def run(dest: Any) -> None:
        _core.resize_into(batch.arrays, dest, interp, bool(antialias), nthreads)

    if out is not None:
        _check_out(out, shapes)
        run(out)
        return out
    return _fresh(shapes, batch.kind, run)


def _result_shape(a: npt.NDArray[Any], size: tuple[int, int]) -> tuple[int, ...]:
    w, h = size
    return (h, w) if a.ndim == 2 else (h, w, a.shape[2])


def _check_out(out: Any, shapes: Sequence[tuple[int, ...]]) -> None:
    first = shapes[0] if shapes else ()
    if any(s != first for s in shapes):
        raise ValueError(f"out: needs all results to have the same shape, got {shapes}")
    _batch.check_out(out, (len(shapes), *first) if shapes else getattr(out, "shape", (0,)))


def _fresh(shapes: Sequence[tuple[int, ...]], kind: str, run: Callable[[Any], None]) -> Any:
    """Results in one fresh allocation for the whole call (the page faults of fresh memory,
    which otherwise dominate a batch, are paid once): one array for one image in, a stacked
    array for a 4-D batch, per-image views for a sequence or mixed result shapes."""
    if not shapes:
        return np.empty((0,), np.uint8) if kind == "stacked" else []
    if kind == "single":
        result = np.empty(shapes[0], np.uint8)
        run([result])
        return result
    first = shapes[0]
    if all(s == first for s in shapes):
        stacked = np.empty((len(shapes), *first), np.uint8)
        run(stacked)
        return stacked if kind == "stacked" else list(stacked)
    sizes = [math.prod(s) for s in shapes]
    flat = np.empty(sum(sizes), np.uint8)
    views = []
    offset = 0
    for s, n in zip(shapes, sizes, strict=True):
        views.append(flat[offset : offset + n].reshape(s))
        offset += n
    run(views)
    return views


def _clip(value: Any, name: str) -> npt.NDArray[np.uint8]:
    """A (T, H, W[, C]) uint8 clip whose frames have contiguous pixels."""
    value = _batch.u8_array(value, name, 3, "clip", "a (T, H, W) or (T, H, W, C) clip")
    s = value.strides
    ok = s[1] >= 0 and (s[2] == 1 if value.ndim == 3 else (s[3] == 1 and s[2] == value.shape[3]))
    return value if ok else np.ascontiguousarray(value)


def resize_video(
    videos: Any,
    sizes: Any,
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Resize every frame of (T, H, W[, C]) clips; options as :func:`resize`.

    One clip in, one clip out; a 5-D array (N, T, H, W[, C]) in, a stacked array out; a
    sequence of clips in, a list out. ``sizes``: one for all clips or one per clip. ``out=``:
    (T, h, w[, C]) for one clip, (N, T, h, w[, C]) for several. All frames of all clips are
    resized in one parallel pass.
    """
    if isinstance(videos, _ndarray) and videos.ndim in (3, 4):
        clips, kind = [_clip(videos, "videos")], "single"
    elif isinstance(videos, _ndarray) and videos.ndim == 5:
        clips, kind = [_clip(videos[i], f"videos[{i}]") for i in range(len(videos))], "stacked"
    elif isinstance(videos, _ndarray):
        raise ValueError(f"videos: expected a 3-D to 5-D array of clips, got {videos.shape}")
    elif isinstance(videos, (str, bytes)) or not isinstance(videos, Sequence):
        raise TypeError(
            f"videos: expected a numpy array or a sequence of clips, got {type(videos).__name__}"
        )
    else:
        clips, kind = [_clip(v, f"videos[{i}]") for i, v in enumerate(videos)], "list"
    interp = _interpolation(interpolation)
    nthreads = _args.threads(threads)
    targets = _targets([c.shape[1:] for c in clips], sizes)
    shapes = [
        (len(c), h, w) if c.ndim == 3 else (len(c), h, w, c.shape[3])
        for c, (w, h) in zip(clips, targets, strict=True)
    ]
    frames = [f for c in clips for f in c]

    def run(dest: Any) -> None:
        # Every frame of every clip into its place: a list of per-clip destinations.
        if frames:
            frame_outs = [f for o in (dest if isinstance(dest, list) else [dest]) for f in o]
            _core.resize_into(frames, frame_outs, interp, bool(antialias), nthreads)

    if out is not None:
        if kind == "single":
            _batch.check_out(out, shapes[0])
            run([out])
        else:
            _check_out(out, shapes)
            run(list(out))
        return out
    if kind == "single":
        result = np.empty(shapes[0], np.uint8)
        run([result])
        return result
    return _fresh(shapes, kind, lambda dest: run(list(dest)))


def iter_resize(
    images: Iterable[Any],
    sizes: Any,
    *,
    interpolation: str = "bilinear",
    antialias: bool = True,
    threads: int | None = None,
    prefetch: int = 2,
) -> Iterator[Any]:
    """Lazily resize an iterable of images, in order, keeping up to ``prefetch`` results
    computing in the background (GIL released) while the consumer works on the previous ones.

    ``sizes`` as :func:`resize`: one for all images or one per image. Input items are pulled
    from ``images`` only as needed. When the consumer stops (``break``, ``close()``, garbage
    collection), pending work is cancelled and the background threads exit. ``prefetch`` is
    1 to 256: each image in flight holds a thread.
    """
    if isinstance(images, _ndarray) and images.ndim != 4:
        raise TypeError("images: iter_resize takes a sequence, iterable or 4-D array of images")
    if isinstance(images, (str, bytes)) or not isinstance(images, Iterable):
        raise TypeError(f"images: expected an iterable of images, got {type(images).__name__}")
    interp = _interpolation(interpolation)
    nthreads = _args.threads(threads)
    n_ahead = _args.prefetch(prefetch, low=1, unit="images")
    if _batch.is_pair(sizes):
        spec = _size_spec(sizes, "sizes")
        per_image: Iterable[Any] | None = None
    else:
        if not isinstance(sizes, Sequence) or isinstance(sizes, (str, bytes)):
            raise TypeError(f"sizes: expected one size or one per image, got {sizes!r}")
        if isinstance(images, Sequence | _ndarray) and len(sizes) != len(images):
            raise ValueError(
                f"sizes: expected one value or {len(images)} (one per image), got {len(sizes)}"
            )
        per_image = [_size_spec(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
        spec = 0
    return _resize_stream(images, spec, per_image, interp, bool(antialias), nthreads, n_ahead)


def _resize_stream(
    images: Iterable[Any],
    spec: int | tuple[int, int],
    per_image: Iterable[Any] | None,
    interp: str,
    antialias: bool,
    threads: int | None,
    prefetch: int,
) -> Iterator[Any]:
    items = iter(images)
    specs = iter(per_image) if per_image is not None else None
    pending: deque[Future[Any]] = deque()
    executor = ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="pixfeed-iter_resize")
    exhausted = False

    def submit_more() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < prefetch:
            try:
                image = next(items)
            except StopIteration:
                exhausted = True
                return
            size = spec if specs is None else next(specs, None)
            if size is None:
                exhausted = True
                raise ValueError("sizes: fewer sizes than images")
            pending.append(
                executor.submit(
                    resize,
                    image,
                    size,
                    interpolation=interp,
                    antialias=antialias,
                    threads=threads,
                )
            )

    try:
        submit_more()
        while pending:
            result = pending.popleft().result()
            submit_more()
            yield result
        if specs is not None and next(specs, None) is not None:
            raise ValueError("sizes: more sizes than images")
    finally:
        for f in pending:
            f.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _indices(indices: Any, n: int) -> list[int] | None:
    if indices is None:
        return None
    if isinstance(indices, (str, bytes)) or not isinstance(indices, Sequence | _ndarray):
        raise TypeError(f"indices: expected a sequence of ints, got {type(indices).__name__}")
    if len(indices) != n:
        raise ValueError(f"indices: expected {n} (one per image), got {len(indices)}")
    out = []
    for i, v in enumerate(indices):
        if isinstance(v, bool) or not hasattr(v, "__index__") or int(v) < 0:
            raise ValueError(f"indices[{i}]: expected an int >= 0, got {v!r}")
        out.append(int(v))
    return out


def _range(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | _ndarray):
        raise TypeError(f"{name}: expected (min, max), got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name}: expected (min, max), got {value!r}")
    try:
        lo, hi = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected two numbers, got {value!r}") from None
    return lo, hi


def _square(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        s = _args.positive_int(size, "size")
        return s, s
    return _args.size(size, "size")


def random_resized_crop(
    images: Any,
    size: Any,
    *,
    scale: Sequence[float] = (0.08, 1.0),
    ratio: Sequence[float] = (3 / 4, 4 / 3),
    interpolation: str = "bilinear",
    antialias: bool = True,
    seed: int | None = None,
    epoch: int = 0,
    indices: Sequence[int] | None = None,
    threads: int | None = None,
    out: Any = None,
    return_boxes: bool = False,
) -> Any:
    """torchvision's ``RandomResizedCrop``: crop a random box (area fraction in ``scale``,
    aspect ratio log-uniform in ``ratio``, 10 attempts, then a centred fallback; torchvision's
    formulas, Python rounding) and resize it to ``size`` (an int for a square, or
    ``(width, height)``), in one pass that reads only the box.

    Randomness: image ``i`` draws from the stream of ``(seed, epoch, indices[i])`` (``indices``
    defaults to the positions 0..N-1), so for a given seed the result never depends on the
    thread count, and reordering images together with their ``indices`` reorders the results.
    ``seed=None`` draws a fresh seed; any other int is taken mod 2**64. ``return_boxes=True``
    returns ``(result, boxes)`` with the ``(x, y, width, height)`` boxes (one box for one
    image, else a list).
    """
    batch = _batch.images(images)
    w, h = _square(size)
    scale_r, ratio_r = _range(scale, "scale"), _range(ratio, "ratio")
    interp = _interpolation(interpolation)
    nthreads = _args.threads(threads)
    seed_v, epoch_v = _args.seed(seed, none_draws=True), _args.epoch(epoch)
    idx = _indices(indices, len(batch))
    args = (scale_r, ratio_r, interp, bool(antialias), seed_v, epoch_v, idx, nthreads)
    shapes = [_result_shape(a, (w, h)) for a in batch.arrays]
    boxes: list[Box] = []

    def run(dest: Any) -> None:
        boxes.extend(_core.random_resized_crop(batch.arrays, (w, h), *args, dest))

    if out is not None:
        _check_out(out, shapes)
        if batch.arrays:
            run(out)
        result: Any = out
    else:
        result = _fresh(shapes, batch.kind, run)
    if not return_boxes:
        return result
    return result, (boxes[0] if batch.kind == "single" else boxes)


def random_resized_crop_params(
    sizes: Any,
    *,
    scale: Sequence[float] = (0.08, 1.0),
    ratio: Sequence[float] = (3 / 4, 4 / 3),
    seed: int | None = None,
    epoch: int = 0,
    indices: Sequence[int] | None = None,
) -> Any:
    """The boxes :func:`random_resized_crop` would use, for images of the given
    ``(width, height)`` (one pair -> one ``(x, y, w, h)`` box; a sequence of pairs -> a list).
    """
    if _batch.is_pair(sizes) and not isinstance(sizes, (int, np.integer)):
        dims, single = [_args.size(sizes, "sizes")], True
    elif isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence | _ndarray):
        raise TypeError(f"sizes: expected (width, height) or a sequence of them, got {sizes!r}")
    else:
        dims, single = [_args.size(s, f"sizes[{i}]") for i, s in enumerate(sizes)], False
    boxes = _core.random_resized_crop_params(
        dims,
        _range(scale, "scale"),
        _range(ratio, "ratio"),
        _args.seed(seed, none_draws=True),
        _args.epoch(epoch),
        _indices(indices, len(dims)),
    )
    box_list: list[Box] = [tuple(b) for b in boxes]  # type: ignore[misc]
    return box_list[0] if single else box_list
