"""Geometry for detection and labeling (docs/toolkit.md): boxes, NMS, polygons, letterbox and
YOLO post-processing. All the work is native (Rust, GIL released); this module checks and
normalizes arguments, naming the argument in every error.

Conventions
-----------
- Boxes are ``(N, 4)`` arrays of ``(x1, y1, x2, y2)`` corners (torchvision's ``xyxy``).
  ``float32`` (and ``float16``) boxes are computed in float32, ``float64`` and integer
  boxes in float64, so results equal torchvision's on tensors of the same dtype. A box
  with ``x2 < x1`` or ``y2 < y1``, or a non-finite coordinate, is a ``ValueError`` naming
  the argument and the box (torchvision would silently compute with a negative area). Empty boxes
  (``x1 == x2``) are valid: their IoU with anything is 0 (NaN with another empty box).
- A polygon is a ``(K, 2)`` array of ``(x, y)`` vertices, implicitly closed; a repeated
  closing vertex and repeated consecutive vertices are ignored. Where many polygons are
  accepted, pass a ``(P, K, 2)`` array or a sequence of ``(K_i, 2)`` arrays. Area and IoU
  need simple polygons: fewer than 3 distinct vertices, or edges that cross or touch (a
  bowtie, a pinched vertex, a spike), is a ``ValueError`` "not simple" naming the polygon
  and the edges (shapely would compute a meaningless number, or raise a TopologyException).
- ``threads=None`` is the library default thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _batch, _core

__all__ = [
    "Letterbox",
    "box_convert",
    "box_iou",
    "letterbox",
    "nms",
    "points_in_polygon",
    "polygon_area",
    "polygon_iou",
    "scale_boxes",
    "simplify_polygon",
    "yolo_postprocess",
]

_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

FloatArray = npt.NDArray[np.floating[Any]]


def _numeric(value: Any, name: str) -> npt.NDArray[Any]:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name}: expected a numeric array ({e})") from None
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def _float_dtype(*arrays: npt.NDArray[Any]) -> type[np.floating[Any]]:
    """float32 when every input is float32 or float16, else float64."""
    if all(a.dtype in (np.float32, np.float16) for a in arrays):
        return np.float32
    return np.float64


def _boxes(value: Any, name: str, dtype: Any = None) -> FloatArray:
    arr = _numeric(value, name)
    if arr.size == 0 and arr.ndim <= 2:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name}: expected an (N, 4) array of boxes, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype or _float_dtype(arr))


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    v = float(value)
    if v != v:
        raise ValueError(f"{name}: is NaN")
    return v


def _class_ids(value: Any, n: int, name: str) -> npt.NDArray[np.int64]:
    arr = _numeric(value, name)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name}: expected {n} class ids (one per box), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name}: class ids must be integers")
    return np.ascontiguousarray(arr, dtype=np.int64)


def nms(
    boxes: Any,
    scores: Any,
    iou_threshold: float,
    *,
    classes: Any = None,
    max_detections: int | None = None,
) -> npt.NDArray[np.int64]:
    """Non-maximum suppression, as ``torchvision.ops.nms`` (``batched_nms`` with ``classes``).

    Boxes are visited by descending score; a box is dropped when an already kept box (of
    the same class, when ``classes`` is given) has IoU **greater than** ``iou_threshold``
    with it. Returns the int64 indices of the kept boxes by descending score.

    Tie rule: equal scores keep their input order (lower index first), as torchvision's CPU
    kernel, which sorts scores with a stable descending sort. (``batched_nms`` on more than
    1,000 CPU boxes re-sorts its result with an unstable sort, so its order among equal
    scores may differ; the kept set is the same.)

    Exactness: the IoU arithmetic is torchvision's, in the boxes' dtype (float32 for
    float32 boxes), so the kept set is identical. Class-aware NMS compares boxes of one
    class directly; torchvision's small-input ``batched_nms`` path shifts boxes by
    ``class * (max + 1)`` instead, which can round float32 coordinates.

    A spatial grid limits each box's comparisons to kept boxes near it: the result is the
    same as the quadratic greedy pass, at a fraction of the cost on large inputs.

    Args:
        boxes: ``(N, 4)`` xyxy boxes.
        scores: ``(N,)`` scores; NaN is a ``ValueError``.
        iou_threshold: IoU above which the lower-scored box is suppressed.
        classes: optional ``(N,)`` integer class ids.
        max_detections: keep at most this many (the search stops there).
    """
    b = _boxes(boxes, "boxes")
    s = _numeric(scores, "scores")
    if s.size == 0 and s.ndim <= 1:
        s = s.reshape(0)
    if s.ndim != 1 or len(s) != len(b):
        raise ValueError(
            f"scores: expected {len(b)} scores (one per box), got shape {np.shape(scores)}"
        )
    s64 = np.ascontiguousarray(s, dtype=np.float64)
    cls = None if classes is None else _class_ids(classes, len(b), "classes")
    thr = _real(iou_threshold, "iou_threshold")
    cap = None if max_detections is None else _args.integer(max_detections, "max_detections", 0)
    return _core.nms(b, s64, thr, cls, cap)


def box_iou(a: Any, b: Any, *, threads: int | None = None) -> FloatArray:
    """The ``(N, M)`` IoU matrix of xyxy boxes ``a`` (N, 4) and ``b`` (M, 4), as
    ``torchvision.ops.box_iou``: float32 when both are float32, else float64."""
    aa, bb = _numeric(a, "a"), _numeric(b, "b")
    dtype = _float_dtype(aa, bb)
    return _core.box_iou(_boxes(aa, "a", dtype), _boxes(bb, "b", dtype), _args.threads(threads))


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> FloatArray:
    """Convert ``(..., 4)`` boxes between ``'xyxy'``, ``'xywh'`` and ``'cxcywh'``, with
    ``torchvision.ops.box_convert``'s arithmetic (conversions between two non-xyxy formats
    go through xyxy). Any values are accepted; float32 stays float32, other dtypes become
    float64."""
    for fmt, name in ((in_fmt, "in_fmt"), (out_fmt, "out_fmt")):
        if fmt not in _BOX_FORMATS:
            raise ValueError(f"{name}: expected one of {_BOX_FORMATS}, got {fmt!r}")
    arr = _numeric(boxes, "boxes")
    if arr.ndim == 0 or arr.shape[-1] != 4:
        raise ValueError(f"boxes: expected shape (..., 4), got {arr.shape}")
    flat = np.ascontiguousarray(arr.reshape(-1, 4), dtype=_float_dtype(arr))
    out: FloatArray = _core.box_convert(flat, in_fmt, out_fmt)
    return out.reshape(arr.shape)


# Polygons ---------------------------------------------------------------------------------

_POLY_FORMS = "a (K, 2) array of vertices, a (P, K, 2) array or a sequence of (K, 2) arrays"


class _Packed(NamedTuple):
    xy: npt.NDArray[np.float64]
    offsets: npt.NDArray[np.int64]
    single: bool


def _one_polygon(value: Any, name: str) -> npt.NDArray[np.float64]:
    arr = _numeric(value, name)
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name}: expected a (K, 2) array of vertices, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _polygons(value: Any, name: str) -> _Packed:
    """One polygon or many, packed as (vertices, offsets) for the native layer."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
        # Fast path for the common list of (K, 2) arrays: one concatenation, no probing.
        # (Mixed dimensions fail to concatenate; a list of (2,) points gives 1-D.)
        try:
            flat = np.concatenate(value, axis=0, dtype=np.float64)
        except (ValueError, TypeError):
            flat = None  # the general path names the culprit
        if flat is not None and flat.ndim == 2 and flat.shape[1] == 2:
            offsets = np.zeros(len(value) + 1, np.int64)
            np.cumsum(np.fromiter(map(len, value), np.int64, len(value)), out=offsets[1:])
            return _Packed(flat, offsets, False)
    arr: npt.NDArray[Any] | None
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            arr = None  # ragged: a sequence of polygons of different lengths
    if arr is not None and not (arr.ndim == 1 and arr.size == 0):
        arr = _numeric(arr, name)
        if arr.ndim == 2 and arr.shape[1] == 2:
            xy = np.ascontiguousarray(arr, dtype=np.float64)
            return _Packed(xy, np.array([0, len(xy)], np.int64), True)
        if arr.ndim == 3 and arr.shape[2] == 2:
            p, k = arr.shape[:2]
            xy = np.ascontiguousarray(arr.reshape(p * k, 2), dtype=np.float64)
            return _Packed(xy, np.arange(p + 1, dtype=np.int64) * k, False)
        raise ValueError(f"{name}: expected {_POLY_FORMS}, got shape {arr.shape}")
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name}: expected {_POLY_FORMS}, got {type(value).__name__}")
    parts = [_one_polygon(p, f"{name}[{i}]") for i, p in enumerate(value)]
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    xy = np.concatenate(parts) if parts else np.empty((0, 2), np.float64)
    return _Packed(xy, offsets, False)


def polygon_area(polygon: Any, *, threads: int | None = None) -> Any:
    """Area of a simple polygon (``float``), or of each of many (``(P,)`` float64).

    Orientation does not matter. Non-simple polygons are a ``ValueError`` (see the module
    notes)."""
    p = _polygons(polygon, "polygon")
    areas = _core.polygon_area(p.xy, p.offsets, "polygon", _args.threads(threads))
    return float(areas[0]) if p.single else areas


def polygon_iou(a: Any, b: Any, *, threads: int | None = None) -> Any:
    """Exact intersection over union of simple polygons, convex or not.

    ``a`` and ``b`` are one polygon each (returns a ``float``), or ``P`` polygons each
    (pairwise: ``a[i]`` with ``b[i]``), or one polygon and ``P`` polygons (broadcast); both
    latter forms return ``(P,)`` float64. Equals shapely's
    ``intersection(a, b).area / union_area`` to rounding; shared edges and vertices are
    decided exactly (identical polygons give 1.0, polygons touching along an edge 0.0).
    """
    pa, pb = _polygons(a, "a"), _polygons(b, "b")
    ious = _core.polygon_iou(pa.xy, pa.offsets, pb.xy, pb.offsets, _args.threads(threads))
    return float(ious[0]) if pa.single and pb.single else ious


def points_in_polygon(points: Any, polygon: Any, *, threads: int | None = None) -> Any:
    """Which points lie in the polygon: ``(N, 2)`` points give ``(N,)`` bool, one ``(2,)``
    point gives a ``bool``.

    Points on the boundary count as inside (shapely's ``intersects_xy``, not
    ``contains_xy``); the test is exact. The polygon needs at least 3 distinct vertices;
    one that crosses itself is read with the even-odd rule. Non-finite points are outside."""
    pts = _numeric(points, "points")
    single = pts.ndim == 1
    if single:
        pts = pts.reshape(1, -1)
    if pts.size == 0:
        pts = pts.reshape(0, 2)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points: expected an (N, 2) array or one (x, y), got {np.shape(points)}")
    poly = _one_polygon(polygon, "polygon")
    inside = _core.points_in_polygon(
        np.ascontiguousarray(pts, dtype=np.float64), poly, _args.threads(threads)
    )
    return bool(inside[0]) if single else inside


def simplify_polygon(points: Any, tolerance: float, *, closed: bool = True) -> Any:
    """Douglas-Peucker simplification, vertex for vertex as shapely 2's
    ``simplify(tolerance, preserve_topology=False)``.

    ``points`` is one polygon (returns a ``(K', 2)`` float64 array) or many (returns a
    list). Rings (``closed=True``) come back without a repeated closing vertex; as in
    GEOS the start vertex may go too, and a ring that collapses below 3 vertices comes back
    empty, ``(0, 2)``. With ``closed=False`` the points are an open polyline whose ends are
    kept. Unlike shapely, no ``buffer(0)`` repair is applied: with a large tolerance the
    result may self-intersect, where shapely would return a re-noded polygon.
    """
    tol = _real(tolerance, "tolerance")
    if tol < 0 or tol == float("inf"):
        raise ValueError(f"tolerance: must be a finite number >= 0, got {tolerance!r}")
    p = _polygons(points, "points")
    xy, offsets = _core.simplify_polygon(p.xy, p.offsets, tol, bool(closed))
    parts = [xy[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    return parts[0] if p.single else parts


# YOLO pre/post transforms -----------------------------------------------------------------


class Letterbox(NamedTuple):
    """A letterboxed image and how to undo it (see :func:`scale_boxes`)."""

    image: npt.NDArray[np.uint8]
    #: resized = original * scale (YOLO's gain ``r``).
    scale: float
    #: (left, top) padding in pixels.
    pad: tuple[int, int]


def _color(value: Any, channels: int) -> list[int]:
    vals = [value] * channels if isinstance(value, (int, np.integer)) else value
    if not isinstance(vals, (Sequence, np.ndarray)) or isinstance(vals, (str, bytes)):
        raise TypeError(f"color: expected an int or one int per channel, got {value!r}")
    if len(vals) != channels:
        raise ValueError(f"color: expected 1 or {channels} values, got {len(vals)}")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 255:
            raise ValueError(f"color: expected ints in 0..255, got {value!r}")
        out.append(int(v))
    return out


def letterbox(image: Any, size: Any, *, color: Any = 114, scaleup: bool = True) -> Any:
    """YOLO's letterbox: scale ``image`` to fit ``size`` keeping its aspect ratio, pad it
    centred with ``color``, and return a :class:`Letterbox` ``(image, scale, pad)``.

    The geometry is ultralytics' ``LetterBox`` (``auto=False, center=True``): ``scale =
    min(W / w, H / h)`` (at most 1 with ``scaleup=False``), the resized size rounded half
    to even as Python's ``round``, odd padding's extra pixel on the right / bottom. The
    resize is bilinear without antialiasing (cv2.INTER_LINEAR-like; within 1 of OpenCV).

    Args:
        image: a uint8 ``(H, W)`` or ``(H, W, C)`` image, or a sequence (or an
            ``(N, H, W, C)`` array) of them: then a list is returned.
        size: ``(width, height)`` of the output, or an int for a square.
        color: padding value, an int or one per channel.
        scaleup: allow enlarging small images (ultralytics' default, True).
    """
    batch = _batch.images(image, "image")
    w, h = (
        (_args.positive_int(size, "size"),) * 2
        if isinstance(size, (int, np.integer))
        else _args.size(size, "size")
    )
    results = []
    for arr in batch.arrays:
        channels = 1 if arr.ndim == 2 else arr.shape[2]
        out, scale, pad = _core.letterbox(arr, w, h, _color(color, channels), bool(scaleup))
        results.append(Letterbox(out, scale, (int(pad[0]), int(pad[1]))))
    return results[0] if batch.kind == "single" else results


def _check_xyxy(b: FloatArray, name: str) -> None:
    ok = np.isfinite(b).all(axis=1) & (b[:, 0] <= b[:, 2]) & (b[:, 1] <= b[:, 3])
    if not ok.all():
        i = int(np.argmin(ok))
        raise ValueError(
            f"{name}: box {i} {b[i].tolist()} is not (x1, y1, x2, y2) with finite "
            "coordinates, x1 <= x2 and y1 <= y2"
        )


def scale_boxes(boxes: Any, scale: float, pad: Any, image_size: Any) -> FloatArray:
    """Undo :func:`letterbox` on xyxy boxes: ``(box - pad) / scale``, clipped to the
    original image, as ultralytics' ``scale_boxes`` with an explicit ``ratio_pad``.

    ``boxes`` is ``(N, 4)`` or ``(N, 4 + k)`` (e.g. :func:`yolo_postprocess` rows; the
    extra columns are copied). ``image_size`` is the original ``(width, height)``. Returns
    a new array (float32 for float32 input, else float64).
    """
    arr = _numeric(boxes, "boxes")
    if arr.size == 0 and arr.ndim <= 2:
        arr = arr.reshape(0, max(4, arr.shape[-1] if arr.ndim == 2 else 4))
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"boxes: expected an (N, 4) or (N, 4 + k) array, got shape {arr.shape}")
    out = np.array(arr, dtype=_float_dtype(arr), copy=True)
    _check_xyxy(out[:, :4], "boxes")
    s = _real(scale, "scale")
    if not s > 0 or s == float("inf"):
        raise ValueError(f"scale: must be a finite number > 0, got {scale!r}")
    if not isinstance(pad, (Sequence, np.ndarray)) or len(pad) != 2:
        raise TypeError(f"pad: expected (left, top), got {pad!r}")
    px, py = _real(pad[0], "pad"), _real(pad[1], "pad")
    w, h = _args.size(image_size, "image_size")
    out[:, [0, 2]] -= px
    out[:, [1, 3]] -= py
    out[:, :4] /= s
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
    return out


_YOLO_SHAPES = (
    "expected a YOLOv5 output (B, N, 5 + nc) or a YOLOv8/YOLO11 output (B, 4 + nc, N), "
    "with nc >= 1 classes (or the same without the batch dimension)"
)


def yolo_postprocess(
    output: Any,
    *,
    conf: float = 0.25,
    iou: float = 0.45,
    max_det: int = 300,
    classes: Any = None,
    agnostic: bool = False,
    layout: str | None = None,
    threads: int | None = None,
) -> Any:
    """Turn raw YOLO output into detections: per image an ``(n, 6)`` float32 array of rows
    ``x1, y1, x2, y2, score, class`` by descending score (in the network input's pixels:
    undo the letterbox with :func:`scale_boxes`).

    Layouts: YOLOv5 ``(B, N, 5 + nc)`` (``cx, cy, w, h, objectness, class scores``;
    anchors need ``objectness > conf``, score = objectness * class score) and YOLOv8 /
    YOLO11 ``(B, 4 + nc, N)`` (``cx, cy, w, h, class scores``). ``layout=None`` tells them
    apart by shape (the per-anchor dimension is the smaller one); pass ``"v5"`` or ``"v8"``
    to force it. A 2-D output is one image and returns one array; a 3-D output returns a
    list.

    Then as ultralytics' ``non_max_suppression``: best class only, ``score > conf``,
    optional ``classes`` filter, per-class NMS at ``iou`` (all classes together with
    ``agnostic``), at most ``max_det``. Two differences: per-class NMS is exact (ultralytics
    offsets boxes by ``class * 7680`` in float32, which rounds), and there is no cap of
    30,000 candidates before NMS. Equal scores keep anchor order.
    """
    arr = _numeric(output, "output")
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"output: shape {np.shape(output)} is not a YOLO output: {_YOLO_SHAPES}")
    if layout not in (None, "v5", "v8"):
        raise ValueError(f"layout: expected 'v5', 'v8' or None, got {layout!r}")
    c = _real(conf, "conf")
    i = _real(iou, "iou")
    cap = _args.integer(max_det, "max_det", 0)
    cls = None
    if classes is not None:
        if isinstance(classes, (int, np.integer)):
            classes = [classes]
        cls = [int(v) for v in _numeric(classes, "classes").reshape(-1)]
    data = np.ascontiguousarray(arr, dtype=np.float32)
    res = _core.yolo_postprocess(
        data, layout, c, i, cap, cls, bool(agnostic), _args.threads(threads)
    )
    return res[0] if single else res
