"""trainingsample's Python API (0.3.x) on pixfeed's kernels.

``import pixfeed.compat.trainingsample as tsr`` in place of ``import trainingsample as tsr``:
same function names, argument names and order, and return types; the same pixels where
trainingsample is well defined (crops, trainingsample's floor-centred centre crop, bilinear /
nearest / cubic / Lanczos resizes equal to ``cv2.resize`` via ``antialias=False``).

Where trainingsample is silent or crashes, pixfeed raises a ``ValueError`` instead:

- images and boxes/sizes of different lengths (trainingsample truncates the crop functions to
  the shorter list);
- a centre or random crop larger than its image (trainingsample silently returns a smaller
  crop);
- a 4-channel image given to ``rgb_to_rgba_optimized`` (trainingsample aborts the process), or
  a non-contiguous one (same);
- an ``alpha`` outside 0..255 (trainingsample: ``OverflowError``).

Other differences, all supersets: one box/size may be given for all images; 2-D (H, W) images,
strided views and 1-4 channels are accepted by the crops and by luminance; resizes accept any
channel count pixfeed's resize accepts. ``batch_calculate_luminance`` of a gray + alpha image
is the mean of the gray channel (trainingsample averages gray and alpha together). Random crops
draw from pixfeed's seeded generator with a fresh seed per call (trainingsample uses a
thread-local RNG; neither is reproducible across libraries). The float returned by
``rgb_to_rgba_optimized`` / ``rgba_to_rgb_optimized`` is, as in trainingsample, the conversion's
throughput in megapixels per second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

import pixfeed
from pixfeed import _batch

__all__ = [
    "INTER_CUBIC",
    "INTER_LANCZOS4",
    "INTER_LINEAR",
    "INTER_NEAREST",
    "ResizeIterator",
    "batch_calculate_luminance",
    "batch_center_crop_images",
    "batch_crop_images",
    "batch_random_crop_images",
    "batch_resize_images",
    "batch_resize_images_iterator",
    "batch_resize_images_zero_copy",
    "batch_resize_videos",
    "rgb_to_rgba_optimized",
    "rgba_to_rgb_optimized",
]

U8 = npt.NDArray[np.uint8]

# trainingsample's (= OpenCV's) interpolation codes.
INTER_NEAREST = 0
INTER_LINEAR = 1
INTER_CUBIC = 2
INTER_LANCZOS4 = 4
_INTERPOLATION = {
    INTER_NEAREST: "nearest",
    INTER_LINEAR: "bilinear",
    INTER_CUBIC: "bicubic",
    INTER_LANCZOS4: "lanczos",
}


def _as_list(images: Any, name: str = "images") -> list[U8]:
    """trainingsample takes a list of arrays; pixfeed also takes a 4-D batch."""
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return list(images)
        raise TypeError(f"{name}: expected a list of images, got one array of shape {images.shape}")
    if isinstance(images, (str, bytes)) or not isinstance(images, Sequence):
        raise TypeError(f"{name}: expected a list of images, got {type(images).__name__}")
    return list(images)


def _check_lengths(images: list[U8], values: Any, name: str, single: Any) -> None:
    """One value for all images, or exactly one per image (never truncation)."""
    if single(values):
        return
    if isinstance(values, Sequence) and len(values) != len(images):
        raise ValueError(
            f"{name}: {len(values)} values for {len(images)} images (pixfeed does not truncate "
            "to the shorter list)"
        )


def _sizes(images: list[U8], target_sizes: Any) -> list[tuple[int, int]]:
    _check_lengths(images, target_sizes, "target_sizes", _batch.is_pair)
    return _batch.per_image(target_sizes, len(images), "target_sizes", _size, _batch.is_pair)


def _size(value: Any, name: str) -> tuple[int, int]:
    return pixfeed.ops._crop_size(value, name)


def _fits(images: list[U8], sizes: list[tuple[int, int]], what: str) -> None:
    for i, (a, (w, h)) in enumerate(zip(images, sizes, strict=True)):
        ih, iw = a.shape[:2]
        if w > iw or h > ih:
            raise ValueError(
                f"target_sizes[{i}]: {what} {w}x{h} is larger than the {iw}x{ih} image "
                "(trainingsample would silently return a smaller crop)"
            )


# --------------------------------------------------------------------------------------------
# Crops and luminance


def batch_crop_images(images: Any, crop_boxes: Any) -> list[U8]:
    """Crop ``(x, y, width, height)`` boxes, one per image (or one for all)."""
    imgs = _as_list(images)
    _check_lengths(imgs, crop_boxes, "crop_boxes", _batch.is_box)
    if not imgs:
        return []
    try:
        return list(pixfeed.crop(imgs, crop_boxes))
    except ValueError as e:
        raise ValueError(f"Cropping failed: {e}") from e


def batch_center_crop_images(images: Any, target_sizes: Any) -> list[U8]:
    """Centre crops of ``(width, height)``, one per image (or one for all), placed as
    trainingsample places them: offset ``(W - w) // 2``, ``(H - h) // 2`` (torchvision rounds
    half to even instead: use ``pixfeed.center_crop`` for that)."""
    imgs = _as_list(images)
    sizes = _sizes(imgs, target_sizes)
    _fits(imgs, sizes, "centre crop")
    if not imgs:
        return []
    boxes = [
        ((a.shape[1] - w) // 2, (a.shape[0] - h) // 2, w, h)
        for a, (w, h) in zip(imgs, sizes, strict=True)
    ]
    return list(pixfeed.crop(imgs, boxes))


def batch_random_crop_images(images: Any, target_sizes: Any) -> list[U8]:
    """Random crops of ``(width, height)``, positions uniform over the image."""
    imgs = _as_list(images)
    sizes = _sizes(imgs, target_sizes)
    _fits(imgs, sizes, "random crop")
    if not imgs:
        return []
    return list(pixfeed.random_crop(imgs, sizes))


def batch_calculate_luminance(images: Any) -> list[float]:
    """Mean BT.601 luminance (0.299 R + 0.587 G + 0.114 B) of each image, on 0-255."""
    imgs = _as_list(images)
    if not imgs:
        return []
    values: list[float] = pixfeed.luminance(imgs, weights="bt601").tolist()
    return values


# --------------------------------------------------------------------------------------------
# RGB <-> RGBA


def _throughput(pixels: int, seconds: float) -> float:
    return pixels / max(seconds, 1e-9) / 1e6


def rgb_to_rgba_optimized(image: U8, alpha: int) -> tuple[U8, float]:
    """Add a constant alpha channel to an (H, W, 3) RGB image; returns (rgba, megapixels/s)."""
    a = _one(image, 3, "rgb_to_rgba_optimized expects an RGB image with 3 channels")
    t = time.perf_counter()
    out = pixfeed.convert(a, "RGBA", source="RGB", alpha=alpha)
    return out, _throughput(a.shape[0] * a.shape[1], time.perf_counter() - t)


def rgba_to_rgb_optimized(image: U8) -> tuple[U8, float]:
    """Drop the alpha channel of an (H, W, 4) RGBA image; returns (rgb, megapixels/s)."""
    a = _one(image, 4, "Expected RGBA image with 4 channels")
    t = time.perf_counter()
    out = pixfeed.convert(a, "RGB", source="RGBA")
    return out, _throughput(a.shape[0] * a.shape[1], time.perf_counter() - t)


def _one(image: Any, channels: int, message: str) -> U8:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image: expected dtype uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != channels:
        raise ValueError(f"image: {message}, got shape {image.shape}")
    return image


# --------------------------------------------------------------------------------------------
# Resizes (cv2.resize semantics: pixfeed.resize with antialias=False)


def _interpolation(code: Any) -> str:
    if code is None:
        return "bilinear"
    # trainingsample falls back to bilinear for codes it does not know.
    return _INTERPOLATION.get(int(code), "bilinear")


# pixfeed.resize / resize_video / iter_resize are looked up when called, so this module
# imports (and its other functions work) in builds without them.


def _resize(images: Any, sizes: Any, interpolation: str) -> Any:
    from pixfeed import resize  # type: ignore[attr-defined,unused-ignore]

    return resize(images, sizes, interpolation=interpolation, antialias=False)


def batch_resize_images(images: Any, target_sizes: Any) -> list[U8]:
    """Bilinear resizes to ``(width, height)`` equal to ``cv2.resize(..., INTER_LINEAR)``."""
    imgs = _as_list(images)
    sizes = _sizes(imgs, target_sizes)
    if not imgs:
        return []
    return list(_resize(imgs, sizes, "bilinear"))


def batch_resize_images_zero_copy(
    images: Any, target_sizes: Any, interpolation: int | None = None
) -> Any:
    """Resize with an OpenCV interpolation code (default bilinear). One image and one size
    give one array; otherwise a list."""
    interp = _interpolation(interpolation)
    single = isinstance(images, np.ndarray) and images.ndim == 3
    if single and _batch.is_pair(target_sizes):
        return _resize(images, _size(target_sizes, "target_sizes"), interp)
    imgs = [images] if single else _as_list(images)
    sizes = _sizes(imgs, target_sizes)
    if not imgs:
        return []
    return list(_resize(imgs, sizes, interp))


class ResizeIterator:
    """Yields the resized images in order, computing ahead in the background
    (``pixfeed.iter_resize``); ``len()`` is the number not yet yielded."""

    def __init__(self, images: list[U8], sizes: list[tuple[int, int]], interpolation: str):
        from pixfeed import iter_resize  # type: ignore[attr-defined,unused-ignore]

        self._remaining = len(images)
        self._it: Iterator[U8] = (
            iter(iter_resize(images, sizes, interpolation=interpolation, antialias=False))
            if images
            else iter(())
        )

    def __iter__(self) -> ResizeIterator:
        return self

    def __next__(self) -> U8:
        item = next(self._it)
        self._remaining -= 1
        return item

    def __len__(self) -> int:
        return self._remaining


def batch_resize_images_iterator(
    images: Any, target_sizes: Any, interpolation: int | None = None
) -> ResizeIterator:
    """A lazy :func:`batch_resize_images_zero_copy`: an iterator over the resized images."""
    imgs = _as_list(images)
    sizes = _sizes(imgs, target_sizes)
    return ResizeIterator(imgs, sizes, _interpolation(interpolation))


def batch_resize_videos(videos: Any, target_sizes: Any) -> list[U8]:
    """Bilinear resizes of (T, H, W, C) clips, every frame as ``cv2.resize(INTER_LINEAR)``."""
    from pixfeed import resize_video  # type: ignore[attr-defined,unused-ignore]

    if isinstance(videos, np.ndarray) and videos.ndim == 5:
        clips = list(videos)
    elif isinstance(videos, (list, tuple)):
        clips = list(videos)
    else:
        raise TypeError(
            f"videos: expected a list of (T, H, W, C) arrays, got {type(videos).__name__}"
        )
    _check_lengths(clips, target_sizes, "target_sizes", _batch.is_pair)
    sizes = _batch.per_image(target_sizes, len(clips), "target_sizes", _size, _batch.is_pair)
    if not clips:
        return []
    return list(resize_video(clips, sizes, interpolation="bilinear", antialias=False))
