"""crop against numpy slicing, center_crop against torchvision's CenterCrop, random_crop's
determinism and distribution, and their bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pixfeed

shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4])),
)


def _owned(a: np.ndarray) -> None:
    assert a.dtype == np.uint8 and a.flags.c_contiguous and a.flags.writeable


def _padded_reference(a: np.ndarray, box: tuple[int, int, int, int], pad: int) -> np.ndarray:
    """numpy: pad generously, then slice."""
    x, y, w, h = box
    m = abs(x) + abs(y) + w + h + 1
    widths = [(m, m), (m, m)] + [(0, 0)] * (a.ndim - 2)
    big = np.pad(a, widths, constant_values=pad)
    return big[y + m : y + m + h, x + m : x + m + w]


# --------------------------------------------------------------------------------------------
# crop


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.uint8, shapes), st.data())
def test_crop_equals_numpy_slicing(a: np.ndarray, data: st.DataObject) -> None:
    h, w = a.shape[:2]
    x = data.draw(st.integers(0, w - 1))
    y = data.draw(st.integers(0, h - 1))
    cw = data.draw(st.integers(1, w - x))
    ch = data.draw(st.integers(1, h - y))
    out = pixfeed.crop(a, (x, y, cw, ch))
    _owned(out)
    assert out.shape == a[y : y + ch, x : x + cw].shape
    np.testing.assert_array_equal(out, a[y : y + ch, x : x + cw])
    # The general (native) path too: a list, and padding that is never used.
    listed = pixfeed.crop([a], [(x, y, cw, ch)])
    np.testing.assert_array_equal(listed[0], a[y : y + ch, x : x + cw])
    np.testing.assert_array_equal(pixfeed.crop(a, (x, y, cw, ch), pad_value=9), out)


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(np.uint8, shapes),
    st.integers(-45, 45),
    st.integers(-45, 45),
    st.integers(1, 50),
    st.integers(1, 50),
    st.integers(0, 255),
)
def test_crop_with_pad_value_equals_padded_numpy(
    a: np.ndarray, x: int, y: int, w: int, h: int, pad: int
) -> None:
    out = pixfeed.crop(a, (x, y, w, h), pad_value=pad)
    _owned(out)
    np.testing.assert_array_equal(out, _padded_reference(a, (x, y, w, h), pad))


def test_crop_per_channel_pad_value() -> None:
    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    out = pixfeed.crop(a, (-1, 0, 2, 3), pad_value=(7, 8, 9))
    np.testing.assert_array_equal(out[:, 0], [[7, 8, 9]] * 3)
    np.testing.assert_array_equal(out[2, 1], [7, 8, 9])
    np.testing.assert_array_equal(out[:2, 1], a[:, 0])


def test_crop_strided_views_and_batches() -> None:
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (60, 70, 4), dtype=np.uint8)
    views = [big[5:40, 7:50], big[::2, ::3], big[::-1], big[:, ::-1], big[..., ::-1], big[..., 1]]
    for v in views:
        np.testing.assert_array_equal(pixfeed.crop(v, (2, 3, 9, 11)), v[3:14, 2:11])
        np.testing.assert_array_equal(pixfeed.crop([v], (2, 3, 9, 11))[0], v[3:14, 2:11])
        np.testing.assert_array_equal(
            pixfeed.crop(v, (-2, -3, 9, 11), pad_value=0), _padded_reference(v, (-2, -3, 9, 11), 0)
        )
    # Mixed shapes and channel counts, one box per image.
    imgs = [big[:20, :30, :3], big[:10, :10, 0], big[5:, 5:]]
    boxes = [(1, 2, 3, 4), (0, 0, 10, 10), (10, 20, 5, 6)]
    outs = pixfeed.crop(imgs, boxes, threads=2)
    assert isinstance(outs, list) and len(outs) == 3
    for o, a, (x, y, w, h) in zip(outs, imgs, boxes, strict=True):
        _owned(o)
        np.testing.assert_array_equal(o, a[y : y + h, x : x + w])
    # A 4-D batch gives one stacked array; per-image boxes of different sizes give a list.
    stacked = rng.integers(0, 256, (16, 64, 48, 3), dtype=np.uint8)
    out = pixfeed.crop(stacked, (3, 4, 20, 30))
    assert isinstance(out, np.ndarray) and out.shape == (16, 30, 20, 3)
    np.testing.assert_array_equal(out, stacked[:, 4:34, 3:23])
    mixed = pixfeed.crop(stacked[:2], [(0, 0, 5, 5), (1, 1, 6, 7)])
    assert [m.shape for m in mixed] == [(5, 5, 3), (7, 6, 3)]
    assert pixfeed.crop([], (0, 0, 1, 1)) == []


def test_crop_large_batch_in_parallel_and_out() -> None:
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(24)]
    boxes = [(i, 2 * i, 64, 48) for i in range(24)]
    ref = [a[y : y + h, x : x + w] for a, (x, y, w, h) in zip(imgs, boxes, strict=True)]
    for threads in (1, 2, 3):
        outs = pixfeed.crop(imgs, boxes, threads=threads)
        for o, r in zip(outs, ref, strict=True):
            np.testing.assert_array_equal(o, r)
    out = np.zeros((24, 48, 64, 3), np.uint8)
    assert pixfeed.crop(imgs, boxes, out=out) is out
    np.testing.assert_array_equal(out, np.stack(ref))
    single = np.zeros((1, 48, 64, 3), np.uint8)
    assert pixfeed.crop(imgs[0], boxes[0], out=single) is single
    np.testing.assert_array_equal(single[0], ref[0])


@pytest.mark.parametrize(
    ("box", "word"),
    [
        ((0, 0, 11, 5), "leaves"),
        ((5, 0, 6, 5), "leaves"),
        ((0, 3, 10, 3), "leaves"),
        ((-1, 0, 2, 2), "leaves"),
        ((0, 0, 0, 2), "width and height"),
        ((0, 0, 2, -1), "width and height"),
        ((0, 0, 2), "boxes"),
        ((0.5, 0, 2, 2), "boxes"),
        ("0022", "boxes"),
    ],
)
def test_crop_bad_boxes(box: object, word: str) -> None:
    a = np.zeros((5, 10, 3), np.uint8)
    with pytest.raises((ValueError, TypeError), match=word):
        pixfeed.crop(a, box)


def test_crop_bad_arguments() -> None:
    a = np.zeros((5, 10, 3), np.uint8)
    with pytest.raises(ValueError, match=r"boxes\[1\]"):
        pixfeed.crop([a, a], [(0, 0, 2, 2), (9, 0, 2, 2)])
    with pytest.raises(ValueError, match="boxes: expected one value or 2"):
        pixfeed.crop([a, a], [(0, 0, 2, 2)] * 3)
    with pytest.raises(ValueError, match="boxes: expected one value or 2"):
        pixfeed.crop([a, a], [(0, 0, 2, 2)])
    with pytest.raises(TypeError, match="uint8"):
        pixfeed.crop(a.astype(np.float32), (0, 0, 2, 2))
    with pytest.raises(ValueError, match="images"):
        pixfeed.crop(np.zeros((4,), np.uint8), (0, 0, 2, 2))
    with pytest.raises(ValueError, match="channels"):
        pixfeed.crop(np.zeros((4, 4, 5), np.uint8), (0, 0, 2, 2))
    with pytest.raises(ValueError, match="pad_value"):
        pixfeed.crop(a, (0, 0, 2, 2), pad_value=256)
    with pytest.raises(ValueError, match="pad_value"):
        pixfeed.crop(a, (0, 0, 2, 2), pad_value=(1, 2))
    with pytest.raises(TypeError, match="pad_value"):
        pixfeed.crop(a, (0, 0, 2, 2), pad_value=1.5)
    ro = np.zeros((1, 2, 2, 3), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        pixfeed.crop(a, (0, 0, 2, 2), out=ro)
    with pytest.raises(ValueError, match="out"):
        pixfeed.crop(a, (0, 0, 2, 2), out=np.zeros((1, 3, 2, 3), np.uint8))
    with pytest.raises(TypeError, match="out"):
        pixfeed.crop(a, (0, 0, 2, 2), out=np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="same shape"):
        pixfeed.crop([a, a], [(0, 0, 2, 2), (0, 0, 3, 3)], out=np.zeros((2, 2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="threads"):
        pixfeed.crop([a, a], (0, 0, 2, 2), threads=0)


# --------------------------------------------------------------------------------------------
# center_crop: torchvision's CenterCrop, padding included


def _torchvision_center_crop(a: np.ndarray, w: int, h: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("torchvision.transforms.v2.functional")
    t = torch.from_numpy(np.ascontiguousarray(a))
    t = t[None] if a.ndim == 2 else t.permute(2, 0, 1)
    r = tf.center_crop(t, [h, w])
    out = r[0] if a.ndim == 2 else r.permute(1, 2, 0)
    return np.ascontiguousarray(out.numpy())


@settings(max_examples=120, deadline=None)
@given(hnp.arrays(np.uint8, shapes), st.integers(1, 50), st.integers(1, 50))
def test_center_crop_equals_torchvision(a: np.ndarray, w: int, h: int) -> None:
    out = pixfeed.center_crop(a, (w, h))
    _owned(out)
    ref = _torchvision_center_crop(a, w, h)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


def test_center_crop_equals_torchvision_on_pil_images_and_classic_transform() -> None:
    pytest.importorskip("torchvision")
    from PIL import Image
    from torchvision import transforms

    rng = np.random.default_rng(2)
    for hw, size in [((11, 9), (4, 4)), ((10, 13), (6, 5)), ((7, 8), (12, 11)), ((9, 9), 16)]:
        a = rng.integers(1, 256, (*hw, 3), dtype=np.uint8)
        tv_size = [size, size] if isinstance(size, int) else [size[1], size[0]]
        ref = np.asarray(transforms.CenterCrop(tv_size)(Image.fromarray(a)))
        np.testing.assert_array_equal(pixfeed.center_crop(a, size), ref)


def test_center_crop_offsets_round_half_to_even() -> None:
    # (H - h) / 2 = 2.5 -> 2 and (W - w) / 2 = 3.5 -> 4 (Python's round).
    a = np.arange(9 * 11, dtype=np.uint8).reshape(9, 11)
    out = pixfeed.center_crop(a, (4, 4))
    np.testing.assert_array_equal(out, a[2:6, 4:8])


def test_center_crop_pad_value_and_batches() -> None:
    a = np.full((2, 3, 3), 100, np.uint8)
    out = pixfeed.center_crop(a, (5, 4), pad_value=(1, 2, 3))
    # torchvision: (5 - 3) // 2 = 1 column left, 1 right; (4 - 2) // 2 = 1 row above, 1 below.
    assert out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out[1:3, 1:4], a)
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(out[3, 4], [1, 2, 3])
    rng = np.random.default_rng(3)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(30, 40), (50, 20)]]
    outs = pixfeed.center_crop(imgs, [(10, 12), 8])
    np.testing.assert_array_equal(outs[0], imgs[0][9:21, 15:25])
    np.testing.assert_array_equal(outs[1], imgs[1][21:29, 6:14])
    stacked = rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    out4 = np.empty((6, 32, 32, 3), np.uint8)
    assert pixfeed.center_crop(stacked, 32, out=out4) is out4
    np.testing.assert_array_equal(out4, stacked[:, 16:48, 16:48])


def test_center_crop_bad_arguments() -> None:
    a = np.zeros((5, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="sizes"):
        pixfeed.center_crop(a, (0, 3))
    with pytest.raises(ValueError, match="sizes"):
        pixfeed.center_crop(a, -3)
    with pytest.raises((TypeError, ValueError), match="sizes"):
        pixfeed.center_crop(a, (1, 2, 3))
    with pytest.raises(TypeError, match="sizes"):
        pixfeed.center_crop(a, "33")
    with pytest.raises(ValueError, match="sizes: expected one value or 2"):
        pixfeed.center_crop([a, a], [(1, 2)] * 3)
    with pytest.raises(TypeError, match="pad_value"):
        pixfeed.center_crop(a, (3, 3), pad_value=None)
    with pytest.raises(ValueError, match="pad_value"):
        pixfeed.center_crop(a, (3, 3), pad_value=-1)


# --------------------------------------------------------------------------------------------
# random_crop


def _coords(h: int, w: int) -> np.ndarray:
    """An image whose pixel (y, x) holds (x, y, 0)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx, yy, np.zeros_like(xx)], axis=-1).astype(np.uint8)


def test_random_crop_is_deterministic_whatever_the_threads() -> None:
    rng = np.random.default_rng(4)
    imgs = [rng.integers(0, 256, (80, 90, 3), dtype=np.uint8) for _ in range(40)]
    ref = pixfeed.random_crop(imgs, (30, 20), seed=123, threads=1)
    for threads in (2, 3, None):
        outs = pixfeed.random_crop(imgs, (30, 20), seed=123, threads=threads)
        for o, r in zip(outs, ref, strict=True):
            np.testing.assert_array_equal(o, r)
    # Image i's box depends on (seed, i) only: a prefix of the batch gives the same crops.
    head = pixfeed.random_crop(imgs[:5], (30, 20), seed=123)
    for o, r in zip(head, ref[:5], strict=True):
        np.testing.assert_array_equal(o, r)
    other = pixfeed.random_crop(imgs, (30, 20), seed=124)
    assert any(not np.array_equal(o, r) for o, r in zip(other, ref, strict=True))
    # Every crop is a slice of its image.
    for o, a in zip(ref, imgs, strict=True):
        assert o.shape == (20, 30, 3)
        hits = [
            (x, y)
            for y in range(61)
            for x in range(61)
            if np.array_equal(a[y : y + 20, x : x + 30], o)
        ]
        assert hits


def test_random_crop_boxes_are_uniform() -> None:
    img = _coords(8, 10)
    n = 7000
    outs = pixfeed.random_crop(np.broadcast_to(img, (n, 8, 10, 3)), (4, 3), seed=7)
    xs, ys = outs[:, 0, 0, 0], outs[:, 0, 0, 1]
    # x in 0..6 (7 values), y in 0..5 (6 values), independent and uniform.
    x_counts = np.bincount(xs, minlength=7)
    y_counts = np.bincount(ys, minlength=6)
    assert len(x_counts) == 7 and len(y_counts) == 6
    assert np.all(np.abs(x_counts - n / 7) < 0.15 * n / 7), x_counts
    assert np.all(np.abs(y_counts - n / 6) < 0.15 * n / 6), y_counts
    joint = np.bincount(ys * 7 + xs, minlength=42)
    assert np.all(np.abs(joint - n / 42) < 0.4 * n / 42), joint
    # Crops equal to the image; seed None gives fresh boxes.
    whole = pixfeed.random_crop(img, (10, 8))
    np.testing.assert_array_equal(whole, img)
    firsts = {tuple(pixfeed.random_crop(img, (2, 2))[0, 0, :2]) for _ in range(30)}
    assert len(firsts) > 1


def test_random_crop_bad_arguments() -> None:
    a = np.zeros((5, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="larger"):
        pixfeed.random_crop(a, (11, 5), seed=0)
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        pixfeed.random_crop([a, a[:3]], [(4, 4), (4, 4)], seed=0)
    with pytest.raises(ValueError, match="sizes"):
        pixfeed.random_crop(a, (0, 5), seed=0)
    # Seeds are taken mod 2**64 (one rule for every seed in pixfeed).
    b = np.arange(50 * 3, dtype=np.uint8).reshape(5, 10, 3)
    assert np.array_equal(
        pixfeed.random_crop([b] * 8, (2, 2), seed=-1),
        pixfeed.random_crop([b] * 8, (2, 2), seed=2**64 - 1),
    )
    with pytest.raises(TypeError, match="seed"):
        pixfeed.random_crop(a, (2, 2), seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sizes: expected one value or 2"):
        pixfeed.random_crop([a, a], [(2, 2)], seed=0)


def test_boxes_and_sizes_as_numpy_arrays() -> None:
    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (20, 30, 3), dtype=np.uint8) for _ in range(3)]
    boxes = np.array([[1, 2, 3, 4], [0, 0, 5, 5], [10, 5, 7, 2]])
    for o, a, (x, y, w, h) in zip(pixfeed.crop(imgs, boxes), imgs, boxes, strict=True):
        np.testing.assert_array_equal(o, a[y : y + h, x : x + w])
    np.testing.assert_array_equal(pixfeed.crop(imgs[0], np.array([1, 2, 3, 4])), imgs[0][2:6, 1:4])
    outs = pixfeed.center_crop(imgs, np.array([[4, 6], [8, 2], [30, 20]]))
    assert [o.shape for o in outs] == [(6, 4, 3), (2, 8, 3), (20, 30, 3)]
    with pytest.raises((TypeError, ValueError), match="boxes"):
        pixfeed.crop(imgs, (True, 0, 2, 2))
