"""Detection: the geometry toolkit (boxes, NMS, polygons, letterbox, YOLO post-processing;
docs/toolkit.md) and the detector application built on it: `YoloDetector` (ONNX Runtime)
and `filter_images` (the library side of ``pixfeed filter``; docs/cli.md).

Modules: `geometry` (the toolkit), `types` (the application's types), `detector` (the
ONNX model), `filter` (a run), `batches` (its inference pipeline), `cache` (its result
cache), `export` and `labels` (a result's files).
"""

from __future__ import annotations

from pixfeed.detect.detector import YoloDetector
from pixfeed.detect.filter import filter_images
from pixfeed.detect.geometry import (
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
from pixfeed.detect.types import CountRule, Detection, FilterResult, ImageResult

__all__ = [
    "CountRule",
    "Detection",
    "FilterResult",
    "ImageResult",
    "Letterbox",
    "YoloDetector",
    "box_convert",
    "box_iou",
    "filter_images",
    "letterbox",
    "nms",
    "points_in_polygon",
    "polygon_area",
    "polygon_iou",
    "scale_boxes",
    "simplify_polygon",
    "yolo_postprocess",
]
