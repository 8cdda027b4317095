"""Decoding: `decode`, `decode_batch`, `probe` (docs/decoding.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _batch, _core

__all__ = ["MAX_PIXELS", "DecodedBatch", "ImageInfo", "decode", "decode_batch", "encode", "probe"]

#: Default decompression-bomb guard, Pillow's ``Image.MAX_IMAGE_PIXELS``.
MAX_PIXELS = 178_956_970

Mode = Literal["RGB", "BGR", "RGBA", "L", "unchanged"]
OnError = Literal["raise", "skip", "none"]
Array = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]


@dataclass(frozen=True)
class ImageInfo:
    """What the header says; sizes are after EXIF orientation."""

    width: int
    height: int
    channels: int
    format: str
    orientation: int
    progressive: bool
    bit_depth: int


def probe(source: _args.Source) -> ImageInfo:
    """Read an image's header only (no pixel data is decoded)."""
    fmt, w, h, c, depth, orientation, progressive = _core.probe(_args.source(source))
    return ImageInfo(w, h, c, fmt, orientation, progressive, depth)


def decode(
    source: _args.Source,
    *,
    mode: Mode = "RGB",
    apply_exif: bool = True,
    reduce_to: tuple[int, int] | None = None,
    roi: tuple[int, int, int, int] | None = None,
    max_pixels: int | None = MAX_PIXELS,
    strict: bool = True,
) -> Array:
    """Decode one JPEG, PNG, BMP or WebP image into an (H, W[, C]) array.

    ``reduce_to=(w, h)`` lets the decoder produce the smallest size it can cheaply make that is
    still >= (w, h) (JPEG: M/8 DCT scaling); ``roi=(x, y, w, h)`` returns exactly that region
    while decoding as little as the format allows. Both are in the EXIF-oriented image's
    coordinates. ``max_pixels`` (None: no limit) is checked from the header before any
    allocation. ``strict`` (default True) raises `DecodeError` (kind ``"corrupt"``, with the
    codec's message) on any corrupt-data warning of the codec; ``strict=False`` returns the
    pixels the decoder recovered, as Pillow does. Data that ends early raises either way.
    """
    return _core.decode(
        _args.source(source),
        str(mode),
        bool(apply_exif),
        None if reduce_to is None else _args.size(reduce_to, "reduce_to"),
        None if roi is None else _args.box(roi, "roi"),
        _args.max_pixels(max_pixels),
        bool(strict),
    )


class DecodedBatch(list[Any]):
    """The list `decode_batch` returns, plus ``errors``: input index -> exception for every
    item that failed (dropped with ``on_error="skip"``, None with ``"none"``)."""

    errors: dict[int, BaseException]

    def __init__(self, items: list[Any], errors: dict[int, BaseException]) -> None:
        super().__init__(items)
        self.errors = errors

    @property
    def skipped(self) -> int:
        return len(self.errors)


def decode_batch(
    sources: Sequence[_args.Source],
    *,
    mode: Mode = "RGB",
    apply_exif: bool = True,
    reduce_to: tuple[int, int] | None = None,
    rois: Sequence[tuple[int, int, int, int] | None] | None = None,
    threads: int | None = None,
    on_error: OnError = "raise",
    max_pixels: int | None = MAX_PIXELS,
    strict: bool = True,
) -> DecodedBatch:
    """Decode many images in parallel native threads (GIL released); results in input order.

    ``reduce_to`` is one (w, h) for all or one per source; ``rois`` one box for all or one
    per source (None entries decode whole). ``on_error``: ``"raise"`` raises the first failure
    (in input order) after all finished, ``"skip"`` drops failed items, ``"none"`` puts None in
    their place. Either way the result's
    ``errors`` maps each failed input index to its exception. ``strict`` as in `decode`.
    """
    if on_error not in ("raise", "skip", "none"):
        raise ValueError(f"on_error: expected 'raise', 'skip' or 'none', got {on_error!r}")
    if isinstance(sources, (str, bytes, bytearray, memoryview)):
        raise TypeError("sources: expected a sequence of sources, got a single source")
    if not isinstance(sources, Sequence):
        raise TypeError(f"sources: expected a sequence of sources, got {type(sources).__name__}")
    srcs = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
    n = len(srcs)
    sizes = None
    if reduce_to is not None:
        sizes = _batch.per_image(
            reduce_to,
            n,
            "reduce_to",
            _args.size,
            lambda v: _batch.is_pair(v) and not isinstance(v, int),
        )
    boxes = None
    if rois is not None:
        boxes = _batch.per_image(
            rois,
            n,
            "rois",
            lambda v, name: None if v is None else _args.box(v, name),
            _batch.is_box,
        )
    results = _core.decode_batch(
        srcs,
        str(mode),
        bool(apply_exif),
        sizes,
        boxes,
        _args.threads(threads),
        _args.max_pixels(max_pixels),
        bool(strict),
    )
    errors = {i: r for i, r in enumerate(results) if isinstance(r, BaseException)}
    if errors and on_error == "raise":
        raise errors[min(errors)]
    items: list[Array | None]
    if on_error == "skip":
        items = [r for r in results if not isinstance(r, BaseException)]
    else:
        items = [None if isinstance(r, BaseException) else r for r in results]
    return DecodedBatch(items, errors)


def encode(
    image: npt.NDArray[np.uint8],
    format: Literal["jpeg", "png", "bmp", "webp"] = "png",
    *,
    quality: int = 90,
) -> bytes:
    """Encode a uint8 (H, W) or (H, W, 1|3|4) image. JPEG uses ``quality`` and 4:2:0 chroma
    (Pillow's defaults) and drops alpha; PNG, BMP and WebP are lossless."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("image: expected a uint8 numpy array")
    q = int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"quality: expected 1..100, got {quality!r}")
    return _core.encode(np.ascontiguousarray(image), str(format).lower(), q)
