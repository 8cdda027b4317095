"""yolo_postprocess against a straightforward numpy reference (both output layouts), and the
letterbox / scale_boxes pre- and post-transforms against ultralytics' arithmetic with
OpenCV's resize."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pixfeed

F32 = np.float32


def ref_nms(boxes: np.ndarray, scores: np.ndarray, cls: np.ndarray, thr: float) -> list[int]:
    """Greedy NMS in float32 with torchvision's arithmetic; ties keep index order."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    for i in order:
        if keep:
            k = np.array(keep)
            k = k[cls[k] == cls[i]]
            if len(k):
                w = np.maximum(
                    F32(0),
                    np.minimum(boxes[k, 2], boxes[i, 2]) - np.maximum(boxes[k, 0], boxes[i, 0]),
                )
                h = np.maximum(
                    F32(0),
                    np.minimum(boxes[k, 3], boxes[i, 3]) - np.maximum(boxes[k, 1], boxes[i, 1]),
                )
                inter = w * h
                ovr = inter / (areas[k] + areas[i] - inter)
                if np.any(ovr.astype(np.float64) > thr):
                    continue
        keep.append(int(i))
    return keep


def ref_postprocess(
    out: np.ndarray,
    layout: str,
    conf: float,
    iou: float,
    max_det: int,
    classes: list[int] | None,
    agnostic: bool,
) -> list[np.ndarray]:
    res = []
    c = F32(conf)
    for img in out.astype(F32):
        if layout == "v8":
            x = img.T
            scores = x[:, 4:]
        else:
            x = img[img[:, 4] > c]
            scores = x[:, 5:] * x[:, 4:5]
        best = scores.max(1) if len(x) else np.zeros(0, F32)
        j = scores.argmax(1) if len(x) else np.zeros(0, np.int64)
        m = best > c
        if classes is not None:
            m &= np.isin(j, classes)
        x, best, j = x[m], best[m], j[m]
        half = x[:, 2:4] / F32(2)
        boxes = np.concatenate([x[:, :2] - half, x[:, :2] + half], 1)
        keep = ref_nms(boxes, best, np.zeros_like(j) if agnostic else j, iou)[:max_det]
        rows = np.concatenate([boxes, best[:, None], j[:, None].astype(F32)], 1)[keep]
        res.append(rows.reshape(-1, 6).astype(F32))
    return res


def synthetic(rng: np.random.Generator, batch: int, n: int, nc: int, layout: str) -> np.ndarray:
    """Anchors clustered around a few objects (overlapping predictions of one class, some
    of another), plus background; class scores in [0, 1]."""
    out = []
    for _ in range(batch):
        objs = rng.uniform(20, 600, (int(rng.integers(1, 8)), 2))
        sizes = rng.uniform(10, 120, (len(objs), 2))
        which = rng.integers(0, len(objs), n)
        cxcy = objs[which] + rng.normal(0, 4, (n, 2))
        wh = sizes[which] * rng.uniform(0.8, 1.2, (n, 2))
        cls = rng.random((n, nc)) * 0.3
        main = rng.integers(0, nc, len(objs))[which]
        cls[np.arange(n), main] = rng.uniform(0, 1, n)
        background = rng.random(n) < 0.5
        cls[background] *= 0.2
        # Coarse scores: ties between anchors and between classes happen.
        cls = np.round(cls * 64) / 64
        if layout == "v8":
            out.append(np.concatenate([cxcy, wh, cls], 1).T)
        else:
            obj = np.round(rng.uniform(0.1, 1.0, (n, 1)) * 16) / 16
            out.append(np.concatenate([cxcy, wh, obj, cls], 1))
    return np.stack(out).astype(F32)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["v5", "v8"]),
    st.sampled_from([0.05, 0.25, 0.5]),
    st.sampled_from([0.3, 0.45, 0.7]),
    st.sampled_from([300, 5]),
    st.sampled_from([None, [0], [1, 3]]),
    st.booleans(),
)
def test_equals_numpy_reference(
    seed: int,
    layout: str,
    conf: float,
    iou: float,
    max_det: int,
    classes: list[int] | None,
    agnostic: bool,
) -> None:
    rng = np.random.default_rng(seed)
    nc = int(rng.integers(1, 6))
    out = synthetic(rng, int(rng.integers(1, 4)), int(rng.integers(10, 1500)), nc, layout)
    got = pixfeed.yolo_postprocess(
        out, conf=conf, iou=iou, max_det=max_det, classes=classes, agnostic=agnostic
    )
    want = ref_postprocess(out, layout, conf, iou, max_det, classes, agnostic)
    assert isinstance(got, list) and len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_layouts_and_forms() -> None:
    rng = np.random.default_rng(0)
    v8 = synthetic(rng, 2, 8400, 80, "v8")
    assert v8.shape == (2, 84, 8400)
    both = pixfeed.yolo_postprocess(v8)
    np.testing.assert_array_equal(pixfeed.yolo_postprocess(v8, layout="v8")[1], both[1])
    # One image without the batch dimension gives one array.
    one = pixfeed.yolo_postprocess(v8[1])
    assert isinstance(one, np.ndarray)
    np.testing.assert_array_equal(one, both[1])
    # float64, non-contiguous input.
    np.testing.assert_array_equal(
        pixfeed.yolo_postprocess(np.asfortranarray(v8.astype(np.float64)))[0], both[0]
    )
    v5 = synthetic(rng, 1, 25200, 80, "v5")
    assert v5.shape == (1, 25200, 85)
    got = pixfeed.yolo_postprocess(v5)[0]
    np.testing.assert_array_equal(got, ref_postprocess(v5, "v5", 0.25, 0.45, 300, None, False)[0])
    # Small shapes where the auto rule would guess wrong: the layout argument decides.
    tiny = synthetic(rng, 1, 3, 4, "v8")  # (1, 8, 3)
    np.testing.assert_array_equal(
        pixfeed.yolo_postprocess(tiny, layout="v8", conf=0.0)[0],
        ref_postprocess(tiny, "v8", 0.0, 0.45, 300, None, False)[0],
    )


def test_empty_outputs() -> None:
    r = pixfeed.yolo_postprocess(np.zeros((2, 0, 85), F32))
    assert len(r) == 2 and all(a.shape == (0, 6) and a.dtype == F32 for a in r)
    r = pixfeed.yolo_postprocess(np.zeros((1, 84, 0), F32), layout="v8")
    assert r[0].shape == (0, 6)
    assert pixfeed.yolo_postprocess(np.zeros((0, 84, 8400), F32)) == []
    # Nothing above the threshold; NaN scores are never above it.
    low = np.full((1, 6, 10), np.nan, F32)
    assert pixfeed.yolo_postprocess(low)[0].shape == (0, 6)


def test_not_a_yolo_output() -> None:
    accepted = r"YOLOv5 output \(B, N, 5 \+ nc\) or a YOLOv8/YOLO11 output \(B, 4 \+ nc, N\)"
    with pytest.raises(ValueError, match=r"^output: shape \(1, 3, 100\) is not a YOLO output"):
        pixfeed.yolo_postprocess(np.zeros((1, 3, 100), F32))
    with pytest.raises(ValueError, match=accepted):
        pixfeed.yolo_postprocess(np.zeros((1, 100, 4), F32))
    with pytest.raises(ValueError, match=accepted):
        pixfeed.yolo_postprocess(np.zeros((1, 2, 84, 8400), F32))
    with pytest.raises(ValueError, match=accepted):
        pixfeed.yolo_postprocess(np.zeros(85, F32))
    with pytest.raises(ValueError, match=r"^layout: expected 'v5', 'v8' or None"):
        pixfeed.yolo_postprocess(np.zeros((1, 84, 100), F32), layout="v10")
    with pytest.raises(TypeError, match=r"^output: expected a numeric array"):
        pixfeed.yolo_postprocess(np.zeros((1, 84, 100), bool))


def test_broken_boxes_are_reported() -> None:
    out = np.zeros((1, 6, 8), F32)
    out[0, :, 2] = [50, 50, -10, 10, 0.9, 0.1]  # negative width, anchor 2
    with pytest.raises(ValueError, match=r"^output: image 0, anchor 2: .*negative width"):
        pixfeed.yolo_postprocess(out)
    out[0, :, 2] = [50, np.nan, 10, 10, 0.9, 0.1]
    with pytest.raises(ValueError, match=r"^output: image 0, anchor 2: .*non-finite"):
        pixfeed.yolo_postprocess(out)
    with pytest.raises(ValueError, match=r"^iou: is NaN"):
        pixfeed.yolo_postprocess(out, iou=float("nan"))
    with pytest.raises(ValueError, match=r"^max_det: must be >= 0"):
        pixfeed.yolo_postprocess(out, max_det=-1)


# Letterbox and scale_boxes --------------------------------------------------------------

cv2 = pytest.importorskip("cv2")


def ref_letterbox(
    img: np.ndarray, w: int, h: int, color: int, scaleup: bool = True
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """ultralytics LetterBox(auto=False, center=True) with cv2."""
    shape = img.shape[:2]
    r = min(h / shape[0], w / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = (w - new_unpad[0]) / 2, (h - new_unpad[1]) / 2
    if shape[::-1] != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    value = (color,) * (1 if img.ndim == 2 else img.shape[2])
    out = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    return out, r, (left, top)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.sampled_from([0, 1, 3, 4]),
    st.sampled_from([(64, 64), (640, 640), (320, 192), (33, 50)]),
    st.booleans(),
)
def test_letterbox_like_ultralytics(
    h: int, w: int, c: int, size: tuple[int, int], scaleup: bool
) -> None:
    r = min(size[1] / h, size[0] / w, 1.0 if not scaleup else np.inf)
    if round(h * r) == 0 or round(w * r) == 0:
        # ultralytics (cv2.resize) fails there; pixfeed keeps at least one pixel.
        lb = pixfeed.letterbox(np.zeros((h, w), np.uint8), size, scaleup=scaleup)
        assert lb.image.shape == (size[1], size[0]) and np.any(lb.image != 114)
        return
    rng = np.random.default_rng(h * 1000 + w)
    shape = (h, w) if c == 0 else (h, w, c)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    got = pixfeed.letterbox(img, size, color=7, scaleup=scaleup)
    want, r, pad = ref_letterbox(img, *size, 7, scaleup)
    if c == 1:
        want = want.reshape(*want.shape[:2], 1)  # OpenCV drops a single channel; we keep it
    assert isinstance(got, pixfeed.Letterbox)
    assert got.image.shape == want.shape and got.image.dtype == np.uint8
    assert got.scale == r and got.pad == pad
    diff = np.abs(got.image.astype(int) - want.astype(int))
    assert diff.max() <= 1  # bilinear rounding differs from OpenCV's by at most 1
    # The padding is exactly the colour.
    (x0, y0) = pad
    nh, nw = round(h * r), round(w * r)
    inner = np.zeros(got.image.shape[:2], bool)
    inner[y0 : y0 + nh, x0 : x0 + nw] = True
    assert np.all(got.image[~inner] == 7)


def test_letterbox_forms_and_errors() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    lb = pixfeed.letterbox(img, 640)
    assert lb.image.shape == (640, 640, 3) and lb.scale == 0.5 and lb.pad == (0, 140)
    assert np.all(lb.image[:140] == 114) and np.all(lb.image[140:500] == 0)
    image, scale, pad = pixfeed.letterbox(img[::2, ::2], (320, 320), color=(1, 2, 3))
    assert image.shape == (320, 320, 3) and tuple(image[0, 0]) == (1, 2, 3)
    assert (scale, pad) == (0.5, (0, 70))
    many = pixfeed.letterbox([img, img[:100]], 64)
    assert isinstance(many, list) and many[1].image.shape == (64, 64, 3)
    stacked = pixfeed.letterbox(np.stack([img, img]), (64, 32))
    assert isinstance(stacked, list) and stacked[0].image.shape == (32, 64, 3)
    assert pixfeed.letterbox([], 64) == []
    with pytest.raises(ValueError, match=r"^color: expected 1 or 3 values"):
        pixfeed.letterbox(img, 64, color=(1, 2))
    with pytest.raises(ValueError, match=r"^color: expected ints in 0..255"):
        pixfeed.letterbox(img, 64, color=300)
    with pytest.raises(ValueError, match=r"^size: must be >= 1"):
        pixfeed.letterbox(img, 0)
    with pytest.raises(TypeError, match=r"^image: expected dtype uint8"):
        pixfeed.letterbox(img.astype(np.float32), 64)


def test_scale_boxes_undoes_letterbox() -> None:
    rng = np.random.default_rng(3)
    w, h = 1280, 720
    xy = rng.uniform(0, 1000, (50, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 200, (50, 2))], 1)
    boxes = np.minimum(boxes, [w, h, w, h])
    lb = pixfeed.letterbox(np.zeros((h, w, 3), np.uint8), 640)
    pad = np.array(lb.pad * 2, float)
    in_net = (boxes * lb.scale + pad).astype(F32)
    dets = np.concatenate([in_net, rng.random((50, 1)), rng.integers(0, 3, (50, 1))], 1)
    dets = dets.astype(F32)
    back = pixfeed.scale_boxes(dets, lb.scale, lb.pad, (w, h))
    assert back.dtype == F32 and back.shape == (50, 6)
    np.testing.assert_allclose(back[:, :4], boxes, atol=1e-3)
    np.testing.assert_array_equal(back[:, 4:], dets[:, 4:])
    # ultralytics' float32 arithmetic, then clipping to the image.
    want = (dets[:, :4] - pad.astype(F32)) / F32(lb.scale)
    want = np.clip(want, 0, [w, h, w, h]).astype(F32)
    np.testing.assert_array_equal(back[:, :4], want)
    out = pixfeed.scale_boxes([[-50, 100, 700, 700]], 0.5, (0, 140), (w, h))
    assert out.tolist() == [[0, 0, w, h]]
    assert pixfeed.scale_boxes(np.zeros((0, 6), F32), 0.5, (0, 0), (w, h)).shape == (0, 6)
    with pytest.raises(ValueError, match=r"^boxes: box 0 .* x1 <= x2"):
        pixfeed.scale_boxes([[10, 0, 5, 5]], 0.5, (0, 0), (w, h))
    with pytest.raises(ValueError, match=r"^scale: must be a finite number > 0"):
        pixfeed.scale_boxes([[0, 0, 5, 5]], 0, (0, 0), (w, h))
