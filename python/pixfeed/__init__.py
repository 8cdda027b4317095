"""pixfeed: feed images to ML models as fast as the hardware allows.

A Rust core (libjpeg-turbo, png, image-webp, rayon) behind a small numpy API. Importing
pixfeed never imports torch or ray; integrations import them lazily.
"""

from __future__ import annotations

from pixfeed._core import __version__
from pixfeed.decode import MAX_PIXELS, DecodedBatch, ImageInfo, decode, decode_batch, probe
from pixfeed.errors import DecodeError, ImageTooLargeError, PixfeedError, UnsupportedFormatError
from pixfeed.ops import flip
from pixfeed.resize import (
    INTERPOLATIONS,
    iter_resize,
    random_resized_crop,
    random_resized_crop_params,
    resize,
    resize_video,
)
from pixfeed.threads import get_num_threads, set_num_threads

__all__ = [
    "INTERPOLATIONS",
    "MAX_PIXELS",
    "DecodeError",
    "DecodedBatch",
    "ImageInfo",
    "ImageTooLargeError",
    "PixfeedError",
    "UnsupportedFormatError",
    "__version__",
    "decode",
    "decode_batch",
    "flip",
    "get_num_threads",
    "iter_resize",
    "probe",
    "random_resized_crop",
    "random_resized_crop_params",
    "resize",
    "resize_video",
    "set_num_threads",
]
