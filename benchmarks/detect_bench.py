"""The detection suite: ``python -m benchmarks --suite detect``. Detection geometry, side
by side with the usual peers, on in-memory inputs (seeded ``default_rng``; no files).

Workloads:

* ``nms``: NMS over 10,000 random boxes (8-96 px in a 1000x1000 image) at IoU 0.5:
  ``pixfeed.nms``, ``torchvision.ops.nms``, a numpy greedy NMS and ``cv2.dnn.NMSBoxes``.
  Floor: pixfeed >= 10x torchvision. Equal work: every system keeps the same set of boxes
  (compared as sorted indices).
* ``polygon-iou``: IoU of 10,000 pairs of small non-convex polygons (6-16 vertices):
  ``pixfeed.polygon_iou`` from a list of numpy arrays against shapely 2 vectorized
  (``intersection(a, b).area`` over the union area, geometries built before timing). Floor:
  pixfeed >= 5x shapely; the IoUs are compared in units of 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .data import DataSet
from .harness import Floor, Group, Row, Workload, add_cases

TITLE = "detect"
WORKLOADS: list[tuple[str, str]] = [
    ("nms", "NMS, 10,000 boxes (8-96 px in 1000x1000), IoU 0.5"),
    ("polygon-iou", "Polygon IoU, 10,000 pairs of 6-16-vertex non-convex polygons"),
]
INPUTS = "boxes and polygons made in memory with numpy's seeded default_rng (no files)"
PEERS = ("torchvision", "shapely")

N = 10_000
NMS_IOU = 0.5
IOU_QUANTUM = 1e-9


def ensure_data(log: Callable[[str], None] | None = print) -> dict[str, DataSet]:
    """No files: the inputs are made in memory."""
    return {}


def data_info() -> dict[str, object]:
    return {"files": "none (in memory)", "seed": 0, "n": N}


def nms_inputs(n: int = 10_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    wh = rng.uniform(8, 96, (n, 2))
    xy = rng.uniform(0, 1000 - wh)  # boxes lie inside the image
    boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    return boxes, rng.random(n).astype(np.float32)


def numpy_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    """The textbook vectorized greedy NMS (torchvision's IoU, stable score order)."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= thr]
    return np.array(keep, np.int64)


def _kept(out: Any) -> np.ndarray:
    """Kept indices of any system as a sorted int64 array (outside the timing)."""
    if hasattr(out, "numpy"):
        out = out.numpy()
    return np.sort(np.asarray(out, np.int64).reshape(-1))


def _nms() -> Workload:
    boxes, scores = nms_inputs()
    thr = NMS_IOU
    wl = Workload(
        "nms",
        WORKLOADS[0][1],
        f"Greedy NMS of {N:,} random boxes (8-96 px inside a 1000x1000 image, float32) at IoU "
        f"{thr}; output: the kept indices (compared as a sorted set).",
        n_images=1,
        input_megapixels=0.0,
        floor=Floor(10.0, ["torchvision.ops.nms"], ">= 10x torchvision.ops.nms"),
    )

    def torchvision_nms(tv: Any) -> Callable[[], Any]:
        import torch

        tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
        return lambda: tv.ops.nms(tb, ts, thr)

    def cv2_nms(cv2: Any) -> Callable[[], Any]:
        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).astype(np.float64)
        rects, confs = xywh.tolist(), scores.astype(np.float64).tolist()
        return lambda: cv2.dnn.NMSBoxes(rects, confs, 0.0, thr)

    add_cases(
        wl,
        [
            Group(
                "pixfeed",
                (
                    Row(
                        lambda pf: lambda: pf.nms(boxes, scores, thr),
                        "pixfeed.nms",
                        summarize=_kept,
                    ),
                ),
                "pixfeed",
            ),
            Group(
                "torchvision",
                (Row(torchvision_nms, "torchvision.ops.nms", summarize=_kept),),
                "torchvision",
                "torchvision.ops.nms",
            ),
            Group(
                "numpy",
                (
                    Row(
                        lambda _: lambda: numpy_nms(boxes, scores, thr),
                        "numpy greedy",
                        "the textbook vectorized greedy NMS",
                        summarize=_kept,
                    ),
                ),
            ),
            Group(
                "cv2",
                (Row(cv2_nms, "cv2.dnn.NMSBoxes", "xywh float64 lists", summarize=_kept),),
                "cv2",
                "cv2.dnn.NMSBoxes",
            ),
        ],
    )
    return wl


def polygon_inputs(n: int = 10_000, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pairs of overlapping star-shaped (usually non-convex) polygons of 6-16 vertices."""
    rng = np.random.default_rng(seed)

    def star(c: np.ndarray, r: float, k: int) -> np.ndarray:
        ang = (np.arange(k) + rng.uniform(0.05, 0.95, k)) * (2 * np.pi / k)
        rad = r * rng.uniform(0.4, 1.0, k)
        return np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)

    a, b = [], []
    for _ in range(n):
        c = rng.uniform(0, 1000, 2)
        r = rng.uniform(10, 40)
        k1, k2 = rng.integers(6, 17, 2)
        a.append(star(c, r, int(k1)))
        b.append(star(c + rng.uniform(-r, r, 2), r * rng.uniform(0.6, 1.4), int(k2)))
    return a, b


def _polygon_iou() -> Workload:
    a, b = polygon_inputs()
    wl = Workload(
        "polygon-iou",
        WORKLOADS[1][1],
        f"IoU of {N:,} pairs of overlapping star-shaped (usually non-convex) polygons of 6-16 "
        "vertices; output: one float64 per pair (compared in units of 1e-9).",
        n_images=N,
        input_megapixels=0.0,
        floor=Floor(5.0, ["shapely 2 vectorized"], ">= 5x shapely 2 vectorized"),
    )

    def quantized(out: Any) -> np.ndarray:
        return np.rint(np.asarray(out, np.float64) / IOU_QUANTUM).astype(np.int64)

    def shapely_iou(shapely: Any) -> Callable[[], Any]:
        ga = np.array([shapely.Polygon(p) for p in a])
        gb = np.array([shapely.Polygon(p) for p in b])

        def run() -> np.ndarray:
            inter = shapely.area(shapely.intersection(ga, gb))
            out: np.ndarray = inter / (shapely.area(ga) + shapely.area(gb) - inter)
            return out

        return run

    add_cases(
        wl,
        [
            Group(
                "pixfeed",
                (
                    Row(
                        lambda pf: lambda: pf.polygon_iou(a, b),
                        lambda pf: f"pixfeed.polygon_iou ({pf.get_num_threads()} threads)",
                        "from lists of numpy arrays",
                        summarize=quantized,
                    ),
                    Row(
                        lambda pf: lambda: pf.polygon_iou(a, b, threads=1),
                        "pixfeed.polygon_iou (1 thread)",
                        primary=False,
                        peer=False,
                        summarize=quantized,
                    ),
                ),
                "pixfeed",
            ),
            Group(
                "shapely",
                (
                    Row(
                        shapely_iou,
                        "shapely 2 vectorized",
                        "geometries prebuilt",
                        summarize=quantized,
                    ),
                ),
                "shapely",
                "shapely 2 vectorized",
            ),
        ],
    )
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool = False, only: Sequence[str] | None = None
) -> list[Workload]:
    """The detection workloads (``only``: names to keep); the same inputs with ``quick``."""
    del sets, quick
    makers: dict[str, Callable[[], Workload]] = {"nms": _nms, "polygon-iou": _polygon_iou}
    return [makers[name]() for name, _ in WORKLOADS if not only or name in only]
