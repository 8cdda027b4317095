"""random_resized_crop: torchvision's RandomResizedCrop sampling (compared in distribution with
a plain reimplementation of its formulas and, when installed, with torchvision itself), the
fused crop + resize, and determinism for a seed whatever the thread count or batch order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import pixfeed

rng = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return rng.integers(0, 256, shape, dtype=np.uint8)


def torchvision_formula(
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    gen: np.random.Generator,
) -> tuple[int, int, int, int]:
    """RandomResizedCrop.get_params written out with numpy's RNG; returns (x, y, w, h)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * gen.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(gen.uniform(log_ratio[0], log_ratio[1]))
        w = round(math.sqrt(target_area * aspect_ratio))
        h = round(math.sqrt(target_area / aspect_ratio))
        if 0 < w <= width and 0 < h <= height:
            i = int(gen.integers(0, height - h + 1))
            j = int(gen.integers(0, width - w + 1))
            return j, i, w, h
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = round(w / min(ratio))
    elif in_ratio > max(ratio):
        h = height
        w = round(h * max(ratio))
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def features(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    x, y, w, h = boxes.T.astype(np.float64)
    # Area fraction, log aspect, and the crop's centre relative to where it could be.
    cx = np.where(w < width, x / np.maximum(width - w, 1), 0.5)
    cy = np.where(h < height, y / np.maximum(height - h, 1), 0.5)
    return (w * h / (width * height), np.log(w / h), cx, cy)


N = 20_000
CASES = [
    ((640, 480), (0.08, 1.0), (3 / 4, 4 / 3)),
    ((500, 90), (0.08, 1.0), (3 / 4, 4 / 3)),  # very wide: many attempts fail, fallback
    ((224, 224), (0.5, 0.9), (0.5, 2.0)),
]


@pytest.mark.parametrize(("size", "scale", "ratio"), CASES)
def test_distribution_matches_the_formula(size, scale, ratio) -> None:
    width, height = size
    ours = np.array(
        pixfeed.random_resized_crop_params([size] * N, scale=scale, ratio=ratio, seed=123)
    )
    gen = np.random.default_rng(7)
    ref = np.array([torchvision_formula(height, width, scale, ratio, gen) for _ in range(N)])
    assert (ours[:, 0] + ours[:, 2] <= width).all() and (ours[:, 1] + ours[:, 3] <= height).all()
    assert (ours[:, 2:] >= 1).all()
    for a, b in zip(features(ours, width, height), features(ref, width, height), strict=True):
        assert stats.ks_2samp(a, b).pvalue > 1e-4
    # Same share of centred fallbacks (generous binomial bound).
    fb_ours = np.mean((ours[:, 2] == width) | (ours[:, 3] == height))
    fb_ref = np.mean((ref[:, 2] == width) | (ref[:, 3] == height))
    assert abs(fb_ours - fb_ref) < 0.02


@pytest.mark.parametrize(("size", "scale", "ratio"), CASES[:2])
def test_distribution_matches_torchvision(size, scale, ratio) -> None:
    torch = pytest.importorskip("torch")
    transforms = pytest.importorskip("torchvision.transforms")
    width, height = size
    torch.manual_seed(0)
    img = torch.zeros((3, height, width), dtype=torch.uint8)
    ref = []
    for _ in range(N // 4):
        i, j, h, w = transforms.RandomResizedCrop.get_params(img, list(scale), list(ratio))
        ref.append((j, i, w, h))
    ref_a = np.array(ref)
    ours = np.array(
        pixfeed.random_resized_crop_params([size] * N, scale=scale, ratio=ratio, seed=9)
    )
    for a, b in zip(features(ours, width, height), features(ref_a, width, height), strict=True):
        assert stats.ks_2samp(a, b).pvalue > 1e-4


def test_fallback_box_is_exact() -> None:
    # Requested areas above the image: every attempt fails.
    boxes = pixfeed.random_resized_crop_params(
        [(400, 100), (100, 400), (100, 90)], scale=(2.0, 3.0), seed=0
    )
    assert boxes == [(133, 0, 133, 100), (0, 133, 100, 133), (0, 0, 100, 90)]
    # Rounding half to even, as Python's round: 10 / 0.8 = 12.5 -> 12.
    assert pixfeed.random_resized_crop_params((10, 100), scale=(5, 6), ratio=(0.8, 1), seed=0) == (
        0,
        44,
        10,
        12,
    )


def test_crop_then_resize_and_returned_boxes() -> None:
    imgs = [rand(120, 160, 3), rand(90, 70), rand(64, 64, 4)]
    for interpolation in pixfeed.INTERPOLATIONS:
        for antialias in (True, False):
            outs, boxes = pixfeed.random_resized_crop(
                imgs,
                (48, 32),
                interpolation=interpolation,
                antialias=antialias,
                seed=5,
                return_boxes=True,
            )
            assert boxes == pixfeed.random_resized_crop_params(
                [(160, 120), (70, 90), (64, 64)], seed=5
            )
            for o, a, (x, y, w, h) in zip(outs, imgs, boxes, strict=True):
                crop = a[y : y + h, x : x + w]
                want = pixfeed.resize(
                    crop, (48, 32), interpolation=interpolation, antialias=antialias
                )
                np.testing.assert_array_equal(o, want)
                assert o.ndim == a.ndim


def test_seed_determinism_threads_and_order() -> None:
    imgs = [rand(100 + 7 * i, 150 - 3 * i, 3) for i in range(12)]
    one = pixfeed.random_resized_crop(imgs, 40, seed=42, threads=1)
    two = pixfeed.random_resized_crop(imgs, 40, seed=42, threads=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    # Reordering the batch together with the sample indices reorders the results.
    perm = rng.permutation(12)
    shuffled = pixfeed.random_resized_crop(
        [imgs[p] for p in perm], 40, seed=42, indices=[int(p) for p in perm], threads=2
    )
    for k, p in enumerate(perm):
        np.testing.assert_array_equal(shuffled[k], one[p])
    # A different seed or epoch gives different crops; None draws a fresh seed.
    _, b1 = pixfeed.random_resized_crop(imgs, 40, seed=42, return_boxes=True)
    _, b2 = pixfeed.random_resized_crop(imgs, 40, seed=43, return_boxes=True)
    _, b3 = pixfeed.random_resized_crop(imgs, 40, seed=42, epoch=1, return_boxes=True)
    assert b1 != b2 and b1 != b3
    _, b4 = pixfeed.random_resized_crop(imgs, 40, return_boxes=True)
    _, b5 = pixfeed.random_resized_crop(imgs, 40, return_boxes=True)
    assert b4 != b5


def test_forms_and_out() -> None:
    a = rand(50, 60, 3)
    single, box = pixfeed.random_resized_crop(a, (20, 10), seed=1, return_boxes=True)
    assert single.shape == (10, 20, 3) and isinstance(box, tuple) and len(box) == 4
    assert pixfeed.random_resized_crop(a, 16, seed=1).shape == (16, 16, 3)
    batch = rand(5, 50, 60, 3)
    stacked = pixfeed.random_resized_crop(batch, 16, seed=3)
    assert isinstance(stacked, np.ndarray) and stacked.shape == (5, 16, 16, 3)
    listed = pixfeed.random_resized_crop(list(batch), 16, seed=3)
    for i in range(5):
        np.testing.assert_array_equal(stacked[i], listed[i])
    dest = np.zeros((5, 16, 16, 3), np.uint8)
    assert pixfeed.random_resized_crop(list(batch), 16, seed=3, out=dest) is dest
    np.testing.assert_array_equal(dest, stacked)
    # Strided views are cropped in place.
    view = rand(80, 90, 3)[::2, ::-1]
    np.testing.assert_array_equal(
        pixfeed.random_resized_crop(view, 12, seed=8),
        pixfeed.random_resized_crop(view.copy(), 12, seed=8),
    )
    assert pixfeed.random_resized_crop([], 8, seed=0) == []


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": (4, 0)}, ValueError, "size"),
        ({"size": "big"}, TypeError, "size"),
        ({"scale": (0.5, 0.1)}, ValueError, "scale"),
        ({"scale": (0.0, 1.0)}, ValueError, "scale"),
        ({"scale": 0.5}, TypeError, "scale"),
        ({"ratio": (2.0, 1.0)}, ValueError, "ratio"),
        ({"ratio": (1.0, float("nan"))}, ValueError, "ratio"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"epoch": -1}, ValueError, "epoch"),
        ({"indices": [0]}, ValueError, "indices"),
        ({"indices": [0, -1]}, ValueError, "indices"),
        ({"interpolation": "linear"}, ValueError, "interpolation"),
        ({"threads": 0}, ValueError, "threads"),
        ({"images": np.zeros((5, 5, 3), np.int8)}, TypeError, "uint8"),
        ({"images": [np.zeros((5, 0, 3), np.uint8)]}, ValueError, "empty"),
        ({"out": np.zeros((2, 8, 9, 3), np.uint8)}, ValueError, "out"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, word: str) -> None:
    args = {"images": [rand(10, 10, 3), rand(12, 9, 3)], "size": 8, "seed": 0}
    args.update(kwargs)
    images = args.pop("images")
    size = args.pop("size")
    with pytest.raises(exc, match=word):
        pixfeed.random_resized_crop(images, size, **args)


def test_params_bad_input() -> None:
    with pytest.raises(TypeError, match="sizes"):
        pixfeed.random_resized_crop_params("x")
    with pytest.raises(ValueError, match="sizes"):
        pixfeed.random_resized_crop_params([(0, 5)])
    with pytest.raises(ValueError, match="indices"):
        pixfeed.random_resized_crop_params([(5, 5)], indices=[1, 2])
