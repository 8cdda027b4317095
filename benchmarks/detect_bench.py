"""Detection geometry, side by side: pixfeed against the usual peers (issue 6 speed floors).

- NMS over 10,000 random boxes (8-96 px in a 1000x1000 image) at IoU 0.5: pixfeed.nms,
  torchvision.ops.nms, a numpy greedy NMS and cv2.dnn.NMSBoxes. Floor: pixfeed >= 10x
  torchvision, with the same kept set (checked, not assumed).
- Polygon IoU over 10,000 pairs of small non-convex polygons (6-16 vertices): pixfeed
  .polygon_iou from a list of numpy arrays against shapely 2 vectorized
  (``intersection(a, b).area`` over the union area, geometries built beforehand, outside the
  timing). Floor: pixfeed >= 5x shapely, relative difference <= 1e-9.

Method: every system runs once to warm up and to check its answer; then rounds of one timed
repetition per system, the order rotated each round (so drifts of a shared machine hit all
alike); a repetition loops the call enough times to last >= 50 ms; medians of the per-call
times and their ratios are printed. Run standalone: ``python benchmarks/detect_bench.py``
(``--json out.json`` to keep the numbers, ``--rounds N``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import pixfeed

MIN_REP_SECONDS = 0.05


def _loops_for(fn: Callable[[], Any]) -> int:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    return max(1, int(MIN_REP_SECONDS / max(dt, 1e-6)) + 1)


def run(cases: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Per-call seconds of every case, over `rounds` interleaved repetitions."""
    loops = {name: _loops_for(fn) for name, fn in cases.items()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn, k = cases[name], loops[name]
            t = time.perf_counter()
            for _ in range(k):
                fn()
            times[name].append((time.perf_counter() - t) / k)
    return times


def report(
    title: str,
    times: dict[str, list[float]],
    baseline: str,
    floor: float,
    notes: dict[str, str],
) -> dict[str, Any]:
    med = {name: statistics.median(ts) for name, ts in times.items()}
    pf = med["pixfeed"]
    print(f"\n## {title}")
    print(f"{'system':<28} {'median':>10} {'min':>10} {'max':>10} {'pixfeed speedup':>16}")
    for name, ts in times.items():
        ratio = med[name] / pf
        print(
            f"{name:<28} {med[name] * 1e3:>8.2f}ms {min(ts) * 1e3:>8.2f}ms "
            f"{max(ts) * 1e3:>8.2f}ms {ratio:>15.1f}x  {notes.get(name, '')}"
        )
    ratio = med[baseline] / pf
    verdict = "PASS" if ratio >= floor else "FAIL"
    print(f"floor: pixfeed >= {floor:g}x {baseline}: {ratio:.1f}x -> {verdict}")
    return {
        "title": title,
        "median_s": med,
        "times_s": times,
        "baseline": baseline,
        "floor": floor,
        "ratio": ratio,
        "pass": ratio >= floor,
        "notes": notes,
    }


# NMS ------------------------------------------------------------------------------------


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


def nms_workload(rounds: int) -> dict[str, Any]:
    boxes, scores = nms_inputs()
    thr = 0.5
    cases: dict[str, Callable[[], Any]] = {"pixfeed": lambda: pixfeed.nms(boxes, scores, thr)}
    notes: dict[str, str] = {}
    ref = pixfeed.nms(boxes, scores, thr)
    try:
        import torch
        import torchvision

        tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
        cases["torchvision.ops.nms"] = lambda: torchvision.ops.nms(tb, ts, thr)
        same = np.array_equal(torchvision.ops.nms(tb, ts, thr).numpy(), ref)
        notes["torchvision.ops.nms"] = f"same kept indices: {same}"
        if not same:
            raise SystemExit("pixfeed.nms differs from torchvision.ops.nms")
    except ImportError as e:
        notes["torchvision.ops.nms"] = f"missing ({e})"
    cases["numpy greedy"] = lambda: numpy_nms(boxes, scores, thr)
    notes["numpy greedy"] = (
        f"same kept indices: {np.array_equal(numpy_nms(boxes, scores, thr), ref)}"
    )
    try:
        import cv2

        xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).astype(np.float64)
        rects, confs = xywh.tolist(), scores.astype(np.float64).tolist()
        cases["cv2.dnn.NMSBoxes"] = lambda: cv2.dnn.NMSBoxes(rects, confs, 0.0, thr)
        kept = np.sort(np.asarray(cv2.dnn.NMSBoxes(rects, confs, 0.0, thr)).reshape(-1))
        same_set = np.array_equal(kept, np.sort(ref))
        notes["cv2.dnn.NMSBoxes"] = f"same kept set: {same_set} ({len(kept)} kept)"
    except ImportError as e:
        notes["cv2.dnn.NMSBoxes"] = f"missing ({e})"
    notes["pixfeed"] = f"{len(ref)} of {len(boxes)} kept"
    times = run(cases, rounds)
    base = "torchvision.ops.nms" if "torchvision.ops.nms" in times else "numpy greedy"
    return report("NMS, 10,000 boxes (8-96 px in 1000x1000), IoU 0.5", times, base, 10.0, notes)


# Polygon IoU -----------------------------------------------------------------------------


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


def polygon_workload(rounds: int) -> dict[str, Any]:
    a, b = polygon_inputs()
    cases: dict[str, Callable[[], Any]] = {
        "pixfeed": lambda: pixfeed.polygon_iou(a, b),
        "pixfeed (1 thread)": lambda: pixfeed.polygon_iou(a, b, threads=1),
    }
    notes = {"pixfeed": f"{pixfeed.get_num_threads()} threads, from lists of numpy arrays"}
    try:
        import shapely

        ga = np.array([shapely.Polygon(p) for p in a])
        gb = np.array([shapely.Polygon(p) for p in b])

        def shapely_iou() -> np.ndarray:
            inter = shapely.area(shapely.intersection(ga, gb))
            out: np.ndarray = inter / (shapely.area(ga) + shapely.area(gb) - inter)
            return out

        cases["shapely 2 vectorized"] = shapely_iou
        want, got = shapely_iou(), pixfeed.polygon_iou(a, b)
        nz = want > 0
        rel = float(np.max(np.abs(got[nz] - want[nz]) / want[nz]))
        zeros = bool(np.all(got[~nz] == 0))
        notes["shapely 2 vectorized"] = (
            f"geometries prebuilt; max rel diff {rel:.1e}, zero IoUs agree: {zeros}"
        )
        if rel > 1e-9 or not zeros:
            raise SystemExit("pixfeed.polygon_iou differs from shapely")
    except ImportError as e:
        notes["shapely 2 vectorized"] = f"missing ({e})"
        return {"title": "polygon IoU", "missing": str(e)}
    times = run(cases, rounds)
    return report(
        "Polygon IoU, 10,000 pairs of 6-16-vertex non-convex polygons",
        times,
        "shapely 2 vectorized",
        5.0,
        notes,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="timed repetitions per system")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    print(f"pixfeed {pixfeed.__version__}, {pixfeed.get_num_threads()} threads")
    results = [nms_workload(args.rounds), polygon_workload(args.rounds)]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0 if all(r.get("pass", False) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
