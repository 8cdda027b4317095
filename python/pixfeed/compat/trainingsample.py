"""trainingsample's Python API (0.3.x) on pixfeed's kernels.

``import pixfeed.compat.trainingsample as tsr`` in place of ``import trainingsample as tsr``:
same function names, argument names and order, and return types; the same pixels where
trainingsample is well defined (crops, trainingsample's floor-centred centre crop, bilinear /
nearest / cubic / Lanczos resizes equal to ``cv2.resize`` via ``antialias=False``).

Every public name of trainingsample 0.3 and its status here:

- on pixfeed's kernels: ``batch_crop_images``, ``batch_crop_images_zero_copy``,
  ``batch_center_crop_images``, ``batch_center_crop_images_zero_copy`` (pixfeed.crop at
  trainingsample's offsets), ``batch_random_crop_images`` (pixfeed.random_crop),
  ``batch_calculate_luminance``, ``batch_calculate_luminance_zero_copy`` (pixfeed.luminance,
  BT.601), ``batch_resize_images``, ``batch_resize_images_zero_copy``,
  ``batch_resize_images_iterator``, ``ResizeIterator``, ``batch_resize_videos``,
  ``resize_bilinear_opencv``, ``resize_lanczos4_opencv`` (pixfeed.resize with ``cv2.resize``
  semantics), ``resize_py`` (pixfeed.resize, antialiased, fitted inside ``dsize`` keeping the
  aspect ratio as trainingsample does), ``imdecode_py`` (pixfeed.decode of a buffer),
  ``load_image_batch`` (the files' bytes, read in parallel), ``cvt_color_py``
  (pixfeed.convert), ``rgb_to_rgba_optimized``, ``rgba_to_rgb_optimized``,
  ``PyBatchProcessor`` and ``PyTrueBatchProcessor`` (their resize, colour conversion,
  decode-resize-convert pipeline and luminance methods), the ``INTER_*`` constants;
- ``NotImplementedError`` naming the alternative: ``canny_py`` and the processors'
  ``batch_canny`` (``cv2.Canny``), ``PyVideoCapture`` (``cv2.VideoCapture``), ``PyVideoWriter``
  and ``fourcc_py`` (``cv2.VideoWriter``, ``cv2.VideoWriter_fourcc``), ``PyCascadeClassifier``
  and ``get_opencv_data_path_py`` (``cv2.CascadeClassifier``, ``cv2.data.haarcascades``),
  the HSV codes of ``cvt_color_py`` (``cv2.cvtColor``) and the processors' benchmark methods.

Where the shim deliberately differs from trainingsample:

==============================================  ==============================================
trainingsample                                  this shim
==============================================  ==============================================
a centre or random crop larger than its image   ``ValueError`` (stricter)
returns a smaller crop
images and boxes/sizes of different lengths:    ``ValueError`` (stricter); one box or size may
the plain crop functions truncate to the        be given for all images
shorter list
a 4-channel or non-contiguous image given to    ``ValueError``
``rgb_to_rgba_optimized`` aborts the process
``alpha`` outside 0..255: ``OverflowError``     ``ValueError``
``imdecode_py(buf, 0)``: BT.709 luma in 3       BT.601 luma (Pillow's ``L``, OpenCV's gray) in
channels                                        3 channels
``imdecode_py`` takes ``bytes`` /               also any bytes-like object (memoryview, uint8
``bytearray``                                   array)
JPEGs decoded by the ``image`` crate; one       libjpeg-turbo (pixels within 3 levels of the
without its end marker is refused               ``image`` crate's); corrupt or truncated data
                                                follows pixfeed.decode's policy
                                                (``RuntimeError``, e.g. "truncated")
``cvt_color_py`` knows codes 4, 5, 7, 8, 41,    also 0-3 and 6, and 5 on RGBA/BGRA; 41 and 55
55; 5 swaps 3 channels only                     (HSV) raise ``NotImplementedError``; a wrong
                                                channel count raises an error that is both
                                                ``ValueError`` and ``RuntimeError``
``resize_py`` enlarging with cubic or Lanczos:  Pillow's filters (within 1 of
kernels matching neither Pillow nor OpenCV (up  ``PIL.Image.resize``); equal to trainingsample
to 32 levels from both)                         within 1 (Lanczos 4) when shrinking, and for
                                                nearest and bilinear
``load_image_batch`` takes ``str`` paths only   also ``os.PathLike`` and bytes paths
gray + alpha luminance averages gray and alpha  the mean of the gray channel
``PyTrueBatchProcessor.strided_luminance``: a   the exact mean of every ``stride``-th row and
rounded estimate                                column (all pixels by default)
random crops from a thread-local RNG            pixfeed's seeded generator, a fresh seed per
                                                call (neither is reproducible across
                                                libraries)
==============================================  ==============================================

Other supersets: 2-D (H, W) images, strided views and 1-4 channels are accepted by the crops and
by luminance (the ``*_zero_copy`` crops and resizes refuse non-contiguous arrays, as
trainingsample does); resizes accept any channel count pixfeed's resize accepts. The float
returned by ``rgb_to_rgba_optimized`` / ``rgba_to_rgb_optimized`` is, as in trainingsample,
the conversion's throughput in megapixels per second. Decode failures raise ``RuntimeError``
("Image decoding failed: ...", the cause chained), as trainingsample's do.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt

import pixfeed

__all__ = [
    "INTER_CUBIC",
    "INTER_LANCZOS4",
    "INTER_LINEAR",
    "INTER_NEAREST",
    "PyBatchProcessor",
    "PyCascadeClassifier",
    "PyTrueBatchProcessor",
    "PyVideoCapture",
    "PyVideoWriter",
    "ResizeIterator",
    "batch_calculate_luminance",
    "batch_calculate_luminance_zero_copy",
    "batch_center_crop_images",
    "batch_center_crop_images_zero_copy",
    "batch_crop_images",
    "batch_crop_images_zero_copy",
    "batch_random_crop_images",
    "batch_resize_images",
    "batch_resize_images_iterator",
    "batch_resize_images_zero_copy",
    "batch_resize_videos",
    "canny_py",
    "cvt_color_py",
    "fourcc_py",
    "get_opencv_data_path_py",
    "imdecode_py",
    "load_image_batch",
    "resize_bilinear_opencv",
    "resize_lanczos4_opencv",
    "resize_py",
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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _ints(value: Any, n: int) -> bool:
    """A tuple, list or array of ``n`` ints."""
    is_seq = isinstance(value, (tuple, list, np.ndarray))
    return is_seq and len(value) == n and all(_is_int(v) for v in value)


def _is_pair(value: Any) -> bool:
    """One size: an int or a (width, height) pair (not a sequence of pairs)."""
    return _is_int(value) or _ints(value, 2)


def _is_box(value: Any) -> bool:
    return _ints(value, 4)


def _size(value: Any, name: str) -> tuple[int, int]:
    """An int (square) or a (width, height) pair of positive ints."""
    if not _is_pair(value):
        raise TypeError(f"{name}: expected an int or a (width, height) pair, got {value!r}")
    w, h = (int(value), int(value)) if _is_int(value) else (int(v) for v in value)
    if w < 1 or h < 1:
        raise ValueError(f"{name}: must be >= 1, got {value!r}")
    return w, h


def _check_lengths(images: list[Any], values: Any, name: str, single: Any) -> None:
    """One value for all images, or exactly one per image (never truncation)."""
    if single(values):
        return
    if isinstance(values, Sequence) and len(values) != len(images):
        raise ValueError(
            f"{name}: {len(values)} values for {len(images)} images (pixfeed does not truncate "
            "to the shorter list)"
        )


def _sizes(images: list[Any], target_sizes: Any) -> list[tuple[int, int]]:
    """One ``(width, height)`` per image (or clip): ``target_sizes`` is one size for all, or
    a sequence of one per image."""
    _check_lengths(images, target_sizes, "target_sizes", _is_pair)
    if _is_pair(target_sizes):
        return [_size(target_sizes, "target_sizes")] * len(images)
    if isinstance(target_sizes, (str, bytes)) or not isinstance(target_sizes, Sequence):
        raise TypeError(f"target_sizes: expected one size or one per image, got {target_sizes!r}")
    return [_size(v, f"target_sizes[{i}]") for i, v in enumerate(target_sizes)]


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
    _check_lengths(imgs, crop_boxes, "crop_boxes", _is_box)
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


def _contiguous(images: list[U8]) -> None:
    for i, a in enumerate(images):
        if isinstance(a, np.ndarray) and not a.flags.c_contiguous:
            raise ValueError(
                f"images[{i}]: the zero-copy functions need C-contiguous arrays "
                "(np.ascontiguousarray makes one; the plain functions take views)"
            )


def _same_length(images: list[U8], values: Any, name: str) -> None:
    if not isinstance(values, Sequence) or len(values) != len(images):
        n = len(values) if isinstance(values, Sequence) else "not a list of"
        raise ValueError(f"Images and {name} length mismatch: {len(images)} images, {n} {name}")


def batch_crop_images_zero_copy(images: Any, crop_boxes: Any) -> list[U8]:
    """:func:`batch_crop_images` for C-contiguous images, one box per image (as
    trainingsample: a non-contiguous array or a length mismatch raises ``ValueError``)."""
    imgs = _as_list(images)
    _same_length(imgs, crop_boxes, "crop_boxes")
    _contiguous(imgs)
    return batch_crop_images(imgs, list(crop_boxes))


def batch_center_crop_images_zero_copy(images: Any, target_sizes: Any) -> list[U8]:
    """:func:`batch_center_crop_images` for C-contiguous images, one size per image."""
    imgs = _as_list(images)
    _same_length(imgs, target_sizes, "target_sizes")
    _contiguous(imgs)
    return batch_center_crop_images(imgs, list(target_sizes))


def batch_calculate_luminance_zero_copy(images: Any) -> list[float]:
    """:func:`batch_calculate_luminance` (views and strided arrays are read in place)."""
    return batch_calculate_luminance(images)


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
    _contiguous([images] if single else _as_list(images))
    if single and _is_pair(target_sizes):
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
    _contiguous(imgs)
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
    sizes = _sizes(clips, target_sizes)
    if not clips:
        return []
    return list(resize_video(clips, sizes, interpolation="bilinear", antialias=False))


# --------------------------------------------------------------------------------------------
# Single-image resizes (OpenCV-named and trainingsample's own)


def _image(image: Any, name: str = "image") -> U8:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{name}: expected dtype uint8, got {image.dtype}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{name}: expected an (H, W) or (H, W, C) image, got {image.shape}")
    return image


def resize_bilinear_opencv(image: U8, target_width: int, target_height: int) -> U8:
    """``cv2.resize(image, (target_width, target_height), interpolation=INTER_LINEAR)``."""
    a = _image(image)
    return _resize(a, _size((target_width, target_height), "target size"), "bilinear")  # type: ignore[no-any-return]


def resize_lanczos4_opencv(image: U8, target_width: int, target_height: int) -> U8:
    """``cv2.resize(image, (target_width, target_height), interpolation=INTER_LANCZOS4)``."""
    a = _image(image)
    return _resize(a, _size((target_width, target_height), "target size"), "lanczos")  # type: ignore[no-any-return]


def _fit(width: int, height: int, dsize: Any) -> tuple[int, int]:
    """trainingsample's ``resize_py`` size: the largest size of the image's aspect ratio
    inside ``dsize`` (w, h), each side rounded half away from zero and at least 1."""
    if not _ints(dsize, 2):
        raise TypeError(f"dsize: expected a (width, height) pair, got {dsize!r}")
    w, h = (int(v) for v in dsize)
    if w < 0 or h < 0:
        raise ValueError(f"dsize: expected sizes >= 0, got {dsize!r}")
    if w / width <= h / height:
        return max(1, w), max(1, math.floor(height * w / width + 0.5))
    return max(1, math.floor(width * h / height + 0.5)), max(1, h)


_PY_INTERPOLATION = {
    None: "bilinear",
    INTER_NEAREST: "nearest",
    INTER_LINEAR: "bilinear",
    INTER_CUBIC: "bicubic",
    INTER_LANCZOS4: "lanczos",
}


def _py_interpolation(code: Any) -> str:
    try:
        return _PY_INTERPOLATION[None if code is None else int(code)]
    except KeyError:
        raise ValueError(
            f"Unsupported interpolation method {code!r} (INTER_NEAREST, INTER_LINEAR, "
            "INTER_CUBIC or INTER_LANCZOS4)"
        ) from None


def _fitted(a: U8, dsize: Any, interp: str) -> U8:
    from pixfeed import resize  # type: ignore[attr-defined,unused-ignore]

    size = _fit(a.shape[1], a.shape[0], dsize)
    return resize(a, size, interpolation=interp, antialias=True)  # type: ignore[no-any-return]


def resize_py(src: U8, dsize: Any, interpolation: int | None = None) -> U8:
    """Resize to the largest size with ``src``'s aspect ratio that fits in ``dsize``
    ``(width, height)`` (trainingsample's rule, unlike ``cv2.resize``), with antialiasing when
    shrinking (pixfeed.resize, Pillow's filters). ``interpolation``: an ``INTER_*`` code
    (default bilinear); others raise ``ValueError``."""
    return _fitted(_image(src, "src"), dsize, _py_interpolation(interpolation))


# --------------------------------------------------------------------------------------------
# Decoding and loading


_IMREAD_UNCHANGED, _IMREAD_GRAYSCALE, _IMREAD_COLOR = -1, 0, 1


def imdecode_py(buf: Any, flags: int) -> U8:
    """Decode an encoded image held in memory. ``flags``: -1 (as stored: ``(H, W, C)`` with
    C = 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA; 16-bit samples become 8-bit), 0 (gray, as 3
    equal channels) or 1 (RGB, alpha dropped). EXIF orientation is not applied (as
    trainingsample). Undecodable data raises ``RuntimeError`` ("Image decoding failed: ...")."""
    from pixfeed.decode import decode

    if isinstance(buf, (bytes, bytearray)):
        data = bytes(buf)
    elif isinstance(buf, (memoryview, np.ndarray)):
        data = memoryview(buf).cast("B").tobytes() if isinstance(buf, memoryview) else buf.tobytes()
    else:
        raise TypeError(f"buf: expected bytes or bytearray, got {type(buf).__name__}")
    flag = int(flags)
    if flag not in (_IMREAD_UNCHANGED, _IMREAD_GRAYSCALE, _IMREAD_COLOR):
        raise ValueError(f"Invalid imread flag {flags!r} (-1, 0 or 1)")
    mode = {_IMREAD_UNCHANGED: "unchanged", _IMREAD_GRAYSCALE: "L", _IMREAD_COLOR: "RGB"}[flag]
    try:
        img: Any = np.asarray(decode(data, mode=mode, apply_exif=False))  # type: ignore[arg-type]
    except (ValueError, OSError) as e:
        raise RuntimeError(f"Image decoding failed: {e}") from e
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    if flag == _IMREAD_GRAYSCALE:
        return pixfeed.convert(img, "RGB", source="L")  # type: ignore[no-any-return]
    out: U8 = img[:, :, None] if img.ndim == 2 else img
    return out


def load_image_batch(image_paths: Any) -> list[bytes | None]:
    """The bytes of each file, read in parallel; ``None`` for a file that cannot be read."""
    if isinstance(image_paths, (str, bytes, os.PathLike)) or not isinstance(image_paths, Sequence):
        raise TypeError(f"image_paths: expected a list of paths, got {type(image_paths).__name__}")
    paths = list(image_paths)
    for i, p in enumerate(paths):
        if not isinstance(p, (str, bytes, os.PathLike)):
            raise TypeError(f"image_paths[{i}]: expected a path, got {type(p).__name__}")

    def read(path: Any) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    return list(pixfeed.map_parallel(read, paths))


# --------------------------------------------------------------------------------------------
# Colour conversion (OpenCV's codes)


class ConversionError(ValueError, RuntimeError):
    """An image that does not fit a colour conversion code (trainingsample raises
    ``RuntimeError`` there; pixfeed's convention is ``ValueError``: this is both)."""


_HSV_CODES = {40, 41, 54, 55, 66, 67, 70, 71}
# code -> (source, target) for 3-channel (and 4-channel) input, as cv2.cvtColor.
_Mode = Literal["L", "RGB", "BGR", "RGBA", "BGRA"]
_CVT: dict[int, tuple[_Mode, _Mode]] = {
    0: ("RGB", "RGBA"),  # COLOR_RGB2RGBA / BGR2BGRA
    1: ("RGBA", "RGB"),  # COLOR_RGBA2RGB / BGRA2BGR
    2: ("RGB", "BGRA"),  # COLOR_RGB2BGRA / BGR2RGBA
    3: ("RGBA", "BGR"),  # COLOR_RGBA2BGR / BGRA2RGB
    4: ("RGB", "BGR"),  # COLOR_RGB2BGR / BGR2RGB
    6: ("BGR", "L"),  # COLOR_BGR2GRAY
    7: ("RGB", "L"),  # COLOR_RGB2GRAY
    8: ("L", "RGB"),  # COLOR_GRAY2RGB / GRAY2BGR
}


def cvt_color_py(src: U8, code: int) -> U8:
    """``cv2.cvtColor`` for the RGB/BGR/RGBA/BGRA/gray codes (``COLOR_RGB2BGR`` = 4, and 5
    swapping red and blue of 3- or 4-channel images, ``COLOR_RGB2GRAY`` = 7 giving
    ``(H, W, 1)``, ``COLOR_GRAY2RGB`` = 8, and 0-3, 6). Gray is Pillow's BT.601 luma."""
    a = _image(src, "src")
    c = int(code)
    if c in _HSV_CODES:
        raise NotImplementedError(
            f"cvt_color_py: code {c} (HSV) has no pixfeed kernel; use cv2.cvtColor(src, {c})"
        )
    channels = 1 if a.ndim == 2 else a.shape[2]
    source: _Mode
    target: _Mode
    if c == 5:
        source, target = ("RGBA", "BGRA") if channels == 4 else ("RGB", "BGR")
    elif c in _CVT:
        source, target = _CVT[c]
    else:
        raise ValueError(f"Unsupported color conversion code {code!r}")
    need = {"L": 1, "RGB": 3, "BGR": 3, "RGBA": 4}[source]
    if channels != need:
        raise ConversionError(
            f"Color conversion failed: code {c} needs a {need}-channel image, got shape {a.shape}"
        )
    if source == "L" and a.ndim == 3:
        a = np.ascontiguousarray(a[:, :, 0])
    out = pixfeed.convert(a, target, source=source)
    return out[:, :, None] if out.ndim == 2 else out  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# Batch processors


def _sized_list(images: Any, target_sizes: Any) -> tuple[list[U8], list[tuple[int, int]]]:
    imgs = _as_list(images)
    _same_length(imgs, target_sizes, "target_sizes")
    return [_image(a, f"images[{i}]") for i, a in enumerate(imgs)], list(target_sizes)


class PyBatchProcessor:
    """trainingsample's batch processor: resizes fitted as :func:`resize_py`, colour
    conversions as :func:`cvt_color_py`, and a decode -> resize -> convert pipeline. The
    configuration is accepted and ignored (pixfeed's thread pool decides)."""

    def __init__(self) -> None:
        self.use_parallel = True
        self.chunk_size = 0

    @staticmethod
    def with_config(use_parallel: bool, chunk_size: int) -> PyBatchProcessor:
        p = PyBatchProcessor()
        p.use_parallel, p.chunk_size = bool(use_parallel), int(chunk_size)
        return p

    def batch_resize(
        self, images: Any, target_sizes: Any, interpolation: int | None = None
    ) -> list[U8]:
        imgs, sizes = _sized_list(images, target_sizes)
        interp = _py_interpolation(interpolation)
        return [_fitted(a, s, interp) for a, s in zip(imgs, sizes, strict=True)]

    def batch_cvt_color(self, images: Any, code: int) -> list[U8]:
        return [cvt_color_py(a, code) for a in _as_list(images)]

    def batch_preprocess_pipeline(
        self,
        image_buffers: Any,
        target_sizes: Any,
        color_conversion: int | None = None,
        decode_flags: int = 1,
        interpolation: int | None = None,
    ) -> list[U8]:
        """Decode each buffer (:func:`imdecode_py`), resize it (:func:`resize_py`), then
        convert it with ``color_conversion`` when given."""
        bufs = list(image_buffers)
        _same_length(bufs, target_sizes, "target_sizes")
        interp = _py_interpolation(interpolation)
        out = []
        for buf, size in zip(bufs, target_sizes, strict=True):
            try:
                img = _fitted(imdecode_py(buf, decode_flags), size, interp)
            except RuntimeError as e:
                raise RuntimeError(f"Batch preprocessing pipeline failed: {e}") from e
            out.append(img if color_conversion is None else cvt_color_py(img, color_conversion))
        return out

    def batch_canny(self, images: Any, threshold1: float, threshold2: float) -> NoReturn:
        canny_py(images, threshold1, threshold2)

    @classmethod
    def benchmark_color_conversion(cls, images: Any, code: int, iterations: int) -> NoReturn:
        raise NotImplementedError("benchmark_color_conversion: time cvt_color_py yourself")

    @classmethod
    def run_benchmarks(cls, num_images: int, image_width: int, image_height: int) -> NoReturn:
        raise NotImplementedError("run_benchmarks: see pixfeed's benchmarks (python -m benchmarks)")


class PyTrueBatchProcessor:
    """trainingsample's second batch processor: exact-size resizes with ``cv2.resize``
    semantics, colour conversions and a sampled luminance."""

    def __init__(self) -> None:
        self.use_parallel = True
        self.chunk_size = 0
        self.simd_threshold = 0

    @staticmethod
    def with_config(
        use_parallel: bool, chunk_size: int, simd_threshold: int
    ) -> PyTrueBatchProcessor:
        p = PyTrueBatchProcessor()
        p.use_parallel, p.chunk_size = bool(use_parallel), int(chunk_size)
        p.simd_threshold = int(simd_threshold)
        return p

    def true_batch_resize(
        self, images: Any, target_sizes: Any, interpolation: int | None = None
    ) -> list[U8]:
        imgs, sizes = _sized_list(images, target_sizes)
        if not imgs:
            return []
        return list(
            _resize(
                imgs, [_size(s, "target_sizes") for s in sizes], _py_interpolation(interpolation)
            )
        )

    def true_batch_cvt_color(self, images: Any, code: int) -> list[U8]:
        return [cvt_color_py(a, code) for a in _as_list(images)]

    def strided_luminance(self, images: Any, stride: int | None = None) -> list[float]:
        """Mean BT.601 luminance over every ``stride``-th row and column (all by default)."""
        step = 1 if stride is None else int(stride)
        if step < 1:
            raise ValueError(f"stride: expected an int >= 1, got {stride!r}")
        return batch_calculate_luminance([a[::step, ::step] for a in _as_list(images)])


# --------------------------------------------------------------------------------------------
# Not image loading or preprocessing: the alternatives


def canny_py(image: Any, threshold1: float, threshold2: float) -> NoReturn:
    raise NotImplementedError("canny_py: pixfeed has no edge detector; use cv2.Canny")


def fourcc_py(c1: str, c2: str, c3: str, c4: str) -> NoReturn:
    raise NotImplementedError("fourcc_py: pixfeed writes no video; use cv2.VideoWriter_fourcc")


def get_opencv_data_path_py() -> NoReturn:
    raise NotImplementedError(
        "get_opencv_data_path_py: pixfeed ships no cascades; use cv2.data.haarcascades"
    )


class PyVideoCapture:
    """Not provided: use ``cv2.VideoCapture`` (and pixfeed.resize_video on its frames)."""

    def __init__(self, filename: Any) -> None:
        raise NotImplementedError(
            "PyVideoCapture: pixfeed reads no video; use cv2.VideoCapture, then "
            "pixfeed.resize_video / batch_resize_videos on the frames"
        )

    @classmethod
    def from_bytes(cls, source: Any, *, suffix: str | None = None) -> NoReturn:
        raise NotImplementedError("PyVideoCapture.from_bytes: pixfeed reads no video; use cv2")


class PyVideoWriter:
    """Not provided: use ``cv2.VideoWriter``."""

    def __init__(self, filename: Any, fourcc_str: Any, fps: Any, frame_size: Any) -> None:
        raise NotImplementedError("PyVideoWriter: pixfeed writes no video; use cv2.VideoWriter")


class PyCascadeClassifier:
    """Not provided: use ``cv2.CascadeClassifier`` (or pixfeed.YoloDetector for detection)."""

    def __init__(self, filename: Any) -> None:
        raise NotImplementedError(
            "PyCascadeClassifier: pixfeed has no cascade classifier; use cv2.CascadeClassifier "
            "(or pixfeed.YoloDetector)"
        )
