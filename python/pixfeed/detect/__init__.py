"""Detection: the geometry toolkit (boxes, NMS, polygons, letterbox, YOLO post-processing;
docs/toolkit.md) and the detector application built on it: `YoloDetector` (ONNX Runtime)
and `filter_images` (the library side of ``pixfeed filter``; docs/cli.md).

Modules: `geometry` (the toolkit), `types` (the application's types), `detector` (the
ONNX model), `filter` (a run), `batches` (its inference pipeline), `cache` (its result
cache), `export` and `labels` (a result's files).
"""

from __future__ import annotations

from pixfeed.detect import geometry
from pixfeed.detect.detector import YoloDetector
from pixfeed.detect.filter import filter_images
from pixfeed.detect.geometry import *  # noqa: F403  (the toolkit: geometry.__all__)
from pixfeed.detect.types import CountRule, Detection, FilterResult, ImageResult

__all__ = ["CountRule", "Detection", "FilterResult", "ImageResult", "YoloDetector", "filter_images"]
__all__ += geometry.__all__
