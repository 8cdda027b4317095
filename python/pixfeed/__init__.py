"""pixfeed: feed images to ML models as fast as the hardware allows.

A Rust core (libjpeg-turbo, png, image-webp, rayon) behind a small numpy API. Importing
pixfeed never imports torch or ray; integrations import them lazily.
"""

from __future__ import annotations

from pixfeed._core import __version__
from pixfeed.buckets import Buckets
from pixfeed.cache import ImageCache, Preload
from pixfeed.config import Config, load_config
from pixfeed.crop_paths import CropBatch, crop_paths
from pixfeed.decode import (
    MAX_PIXELS,
    DecodedBatch,
    ImageInfo,
    decode,
    decode_batch,
    encode,
    probe,
)
from pixfeed.detect import (
    CountRule,
    Detection,
    FilterResult,
    ImageResult,
    Letterbox,
    YoloDetector,
    box_convert,
    box_iou,
    filter_images,
    letterbox,
    nms,
    points_in_polygon,
    polygon_area,
    polygon_iou,
    scale_boxes,
    simplify_polygon,
    yolo_postprocess,
)
from pixfeed.errors import (
    BackendError,
    DecodeError,
    ImageTooLargeError,
    ModelError,
    PixfeedError,
    ShardError,
    UnsupportedFormatError,
)
from pixfeed.folder import IMG_EXTENSIONS, image_folder
from pixfeed.io import MapResult, load_images, map_parallel
from pixfeed.load_async import LoadJob, load_images_async
from pixfeed.loader import Loader, LoadError
from pixfeed.ops import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    center_crop,
    convert,
    crop,
    flip,
    luminance,
    normalize,
    random_crop,
)
from pixfeed.parity import ParityReport, check_parity
from pixfeed.pipeline import Pipeline
from pixfeed.resize import (
    INTERPOLATIONS,
    iter_resize,
    random_resized_crop,
    random_resized_crop_params,
    resize,
    resize_video,
)
from pixfeed.scan import IMAGES, ScanResult, scan
from pixfeed.shards import Member, Shards, write_shards
from pixfeed.threads import MAX_THREADS, get_num_threads, set_num_threads

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGES",
    "IMG_EXTENSIONS",
    "INTERPOLATIONS",
    "MAX_PIXELS",
    "MAX_THREADS",
    "BackendError",
    "Buckets",
    "Config",
    "CountRule",
    "CropBatch",
    "DecodeError",
    "DecodedBatch",
    "Detection",
    "FilterResult",
    "ImageCache",
    "ImageInfo",
    "ImageResult",
    "ImageTooLargeError",
    "Letterbox",
    "LoadError",
    "LoadJob",
    "Loader",
    "MapResult",
    "Member",
    "ModelError",
    "ParityReport",
    "Pipeline",
    "PixfeedError",
    "Preload",
    "ScanResult",
    "ShardError",
    "Shards",
    "UnsupportedFormatError",
    "YoloDetector",
    "__version__",
    "box_convert",
    "box_iou",
    "center_crop",
    "check_parity",
    "convert",
    "crop",
    "crop_paths",
    "decode",
    "decode_batch",
    "encode",
    "filter_images",
    "flip",
    "get_num_threads",
    "image_folder",
    "iter_resize",
    "letterbox",
    "load_config",
    "load_images",
    "load_images_async",
    "luminance",
    "map_parallel",
    "nms",
    "normalize",
    "points_in_polygon",
    "polygon_area",
    "polygon_iou",
    "probe",
    "random_crop",
    "random_resized_crop",
    "random_resized_crop_params",
    "resize",
    "resize_video",
    "scale_boxes",
    "scan",
    "set_num_threads",
    "simplify_polygon",
    "write_shards",
    "yolo_postprocess",
]
