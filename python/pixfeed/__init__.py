"""pixfeed: feed images to ML models as fast as the hardware allows.

A Rust core (libjpeg-turbo, png, image-webp, rayon) behind a small numpy API. Importing
pixfeed never imports torch or ray; integrations import them lazily.
"""

from __future__ import annotations

from pixfeed._core import __version__
from pixfeed.decode import MAX_PIXELS, DecodedBatch, ImageInfo, decode, decode_batch, probe
from pixfeed.detect import (
    Letterbox,
    box_convert,
    box_iou,
    letterbox,
    nms,
    points_in_polygon,
    polygon_area,
    polygon_iou,
    scale_boxes,
    simplify_polygon,
    yolo_postprocess,
)
from pixfeed.errors import DecodeError, ImageTooLargeError, PixfeedError, UnsupportedFormatError
from pixfeed.ops import flip
from pixfeed.threads import get_num_threads, set_num_threads

__all__ = [
    "MAX_PIXELS",
    "DecodeError",
    "DecodedBatch",
    "ImageInfo",
    "ImageTooLargeError",
    "Letterbox",
    "PixfeedError",
    "UnsupportedFormatError",
    "__version__",
    "box_convert",
    "box_iou",
    "decode",
    "decode_batch",
    "flip",
    "get_num_threads",
    "letterbox",
    "nms",
    "points_in_polygon",
    "polygon_area",
    "polygon_iou",
    "probe",
    "scale_boxes",
    "set_num_threads",
    "simplify_polygon",
    "yolo_postprocess",
]
