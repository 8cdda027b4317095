"""pixfeed.nms against torchvision.ops.nms / batched_nms (identical kept indices, same order).

Tie rule: equal scores keep input order (torchvision's CPU kernel sorts with a stable
descending sort); hypothesis draws scores from a few values so ties are common.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pixfeed

torch = pytest.importorskip("torch")
tv_ops = pytest.importorskip("torchvision.ops")


def tv_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    return tv_ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr).numpy()


def random_boxes(
    rng: np.random.Generator, n: int, extent: float, lo: float, hi: float, dtype: type
) -> np.ndarray:
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.uniform(lo, hi, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(dtype)


@st.composite
def box_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    """Boxes on a coarse grid (shared edges, identical and empty boxes happen) or free
    floats; scores from a handful of values (ties)."""
    n = draw(st.integers(0, 80))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        xy = rng.integers(0, 12, (n, 2)).astype(float)
        wh = rng.integers(0, 6, (n, 2)).astype(float)
    else:
        xy = rng.uniform(0, 60, (n, 2))
        wh = rng.uniform(0, 30, (n, 2))
    boxes = np.concatenate([xy, xy + wh], 1).astype(dtype)
    levels = draw(st.integers(1, 6))
    scores = (rng.integers(0, levels, n) / levels).astype(dtype)
    thr = draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]))
    return boxes, scores, thr


@settings(max_examples=150, deadline=None)
@given(box_sets())
def test_equals_torchvision(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    boxes, scores, thr = case
    got = pixfeed.nms(boxes, scores, thr)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, tv_nms(boxes, scores, thr))


@settings(max_examples=80, deadline=None)
@given(box_sets(), st.integers(1, 4))
def test_class_aware_equals_batched_nms(
    case: tuple[np.ndarray, np.ndarray, float], nclasses: int
) -> None:
    boxes, scores, thr = case
    rng = np.random.default_rng(len(boxes))
    # Grid coordinates keep torchvision's class-offset trick exact, so it is comparable.
    boxes = np.round(boxes * 4) / 4
    classes = rng.integers(0, nclasses, len(boxes))
    got = pixfeed.nms(boxes, scores, thr, classes=classes)
    want = tv_ops.batched_nms(
        torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), thr
    ).numpy()
    np.testing.assert_array_equal(got, want)


def test_large_random_sets_equal_torchvision() -> None:
    # The benchmark's workload: 10k boxes of 8-96 px in 1000x1000, IoU 0.5.
    rng = np.random.default_rng(0)
    boxes = random_boxes(rng, 10_000, 1000, 8, 96, np.float32)
    scores = rng.random(10_000).astype(np.float32)
    for thr in (0.3, 0.5, 0.7):
        np.testing.assert_array_equal(pixfeed.nms(boxes, scores, thr), tv_nms(boxes, scores, thr))
    # Mixed sizes: a few huge boxes among small ones, many ties.
    big = random_boxes(rng, 50, 300, 200, 900, np.float32)
    allb = np.concatenate([boxes[:3000], big])
    s = (rng.integers(0, 20, len(allb)) / 20).astype(np.float32)
    np.testing.assert_array_equal(pixfeed.nms(allb, s, 0.5), tv_nms(allb, s, 0.5))


def test_large_class_aware_equals_vanilla_batched_nms() -> None:
    # > 1000 boxes: torchvision runs one nms per class, then sorts by score.
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, 6000, 500, 5, 60, np.float32)
    scores = rng.permutation(6000).astype(np.float32)  # distinct: the order is defined
    classes = rng.integers(0, 5, 6000)
    got = pixfeed.nms(boxes, scores, 0.5, classes=classes)
    want = tv_ops.batched_nms(
        torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes), 0.5
    ).numpy()
    np.testing.assert_array_equal(got, want)


def test_max_detections_truncates() -> None:
    rng = np.random.default_rng(2)
    boxes = random_boxes(rng, 500, 200, 5, 40, np.float64)
    scores = rng.random(500)
    full = pixfeed.nms(boxes, scores, 0.4)
    for cap in (0, 1, 7, len(full), len(full) + 5):
        np.testing.assert_array_equal(
            pixfeed.nms(boxes, scores, 0.4, max_detections=cap), full[:cap]
        )


def test_ties_keep_input_order() -> None:
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [9, 9, 10, 10]], np.float32)
    scores = np.array([0.5, 0.5, 0.5, 0.5], np.float32)
    np.testing.assert_array_equal(pixfeed.nms(boxes, scores, 0.5), [0, 1, 3])


def test_input_forms_and_dtypes() -> None:
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]]
    scores = [0.9, 0.8, 0.7]
    np.testing.assert_array_equal(pixfeed.nms(boxes, scores, 0.5), [0, 2])
    # Integer and float16 boxes, float32 scores with float64 boxes: all accepted.
    np.testing.assert_array_equal(
        pixfeed.nms(np.array(boxes, np.int32), np.array(scores, np.float32), 0.5), [0, 2]
    )
    np.testing.assert_array_equal(pixfeed.nms(np.array(boxes, np.float16), scores, 0.5), [0, 2])
    # Strided views.
    wide = np.zeros((3, 8), np.float32)
    wide[:, ::2] = boxes
    np.testing.assert_array_equal(pixfeed.nms(wide[:, ::2], scores, 0.5), [0, 2])
    # Class ids as floats holding integers (ultralytics keeps them so).
    np.testing.assert_array_equal(
        pixfeed.nms(boxes, scores, 0.5, classes=np.array([0.0, 1.0, 0.0])), [0, 1, 2]
    )


def test_empty_input() -> None:
    for boxes, scores in (
        (np.zeros((0, 4), np.float32), np.zeros(0, np.float32)),
        ([], []),
    ):
        out = pixfeed.nms(boxes, scores, 0.5)
        assert out.dtype == np.int64 and out.shape == (0,)
    out = pixfeed.nms(np.zeros((0, 4)), np.zeros(0), 0.5, classes=np.zeros(0, np.int64))
    assert out.shape == (0,)


def test_bad_input_names_the_argument() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 5, 10]], np.float32)
    with pytest.raises(ValueError, match=r"^boxes: box 1 .* x2 < x1"):
        pixfeed.nms(boxes, [0.5, 0.4], 0.5)
    with pytest.raises(ValueError, match=r"^boxes: box 0 .* y2 < y1"):
        pixfeed.nms([[0, 5, 1, 4]], [1.0], 0.5)
    with pytest.raises(ValueError, match=r"^boxes: box 0 .*non-finite"):
        pixfeed.nms([[0, np.inf, 1, 4]], [1.0], 0.5)
    with pytest.raises(ValueError, match=r"^scores: score 1 is NaN"):
        pixfeed.nms([[0, 0, 1, 1], [2, 2, 3, 3]], [0.5, np.nan], 0.5)
    with pytest.raises(ValueError, match=r"^scores: expected 2 scores"):
        pixfeed.nms([[0, 0, 1, 1], [2, 2, 3, 3]], [0.5], 0.5)
    with pytest.raises(ValueError, match=r"^boxes: expected an \(N, 4\)"):
        pixfeed.nms([[0, 0, 1]], [0.5], 0.5)
    with pytest.raises(TypeError, match=r"^boxes: expected a numeric array"):
        pixfeed.nms([["a", "b", "c", "d"]], [0.5], 0.5)
    with pytest.raises(ValueError, match=r"^iou_threshold: is NaN"):
        pixfeed.nms([[0, 0, 1, 1]], [0.5], float("nan"))
    with pytest.raises(ValueError, match=r"^classes: expected 1 class ids"):
        pixfeed.nms([[0, 0, 1, 1]], [0.5], 0.5, classes=[1, 2])
    with pytest.raises(ValueError, match=r"^classes: class ids must be integers"):
        pixfeed.nms([[0, 0, 1, 1]], [0.5], 0.5, classes=[0.5])
    with pytest.raises(ValueError, match=r"^max_detections: must be >= 0"):
        pixfeed.nms([[0, 0, 1, 1]], [0.5], 0.5, max_detections=-1)
