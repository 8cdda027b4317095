"""resize / resize_video / iter_resize: argument forms (docs/conventions.md), out=, strided views,
threads, bad input, and the lazy iterator's background work and cleanup."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

import pixfeed

rng = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return rng.integers(0, 256, shape, dtype=np.uint8)


def torchvision_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(width, height) of torchvision's resize(img, size: int)."""
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


# --- forms ----------------------------------------------------------------------------------


def test_one_image_in_one_out_and_dims_kept() -> None:
    a = rand(30, 40, 3)
    out = pixfeed.resize(a, (20, 10))
    assert out.shape == (10, 20, 3) and out.dtype == np.uint8
    assert out.flags.c_contiguous and out.flags.writeable
    g = rand(30, 40)
    assert pixfeed.resize(g, (7, 9)).shape == (9, 7)
    assert pixfeed.resize(rand(5, 6, 1), (3, 3)).shape == (3, 3, 1)


@pytest.mark.parametrize(("h", "w"), [(480, 640), (640, 480), (375, 500), (100, 100), (3, 1000)])
def test_int_size_is_the_shorter_side(h: int, w: int) -> None:
    a = rand(h, w, 3)
    for size in (224, 256, 7):
        ew, eh = torchvision_size(h, w, size)
        assert pixfeed.resize(a, size).shape == (eh, ew, 3)
        assert pixfeed.resize([a], size)[0].shape == (eh, ew, 3)
        assert pixfeed.resize(a, np.int64(size)).shape == (eh, ew, 3)
    assert pixfeed.resize(a, np.array([20, 10])).shape == (10, 20, 3)
    assert pixfeed.resize(a, [20, 10]).shape == (10, 20, 3)


def test_sequences_and_per_image_sizes() -> None:
    imgs = [rand(20, 30, 3), rand(50, 10, 3), rand(8, 8)]
    outs = pixfeed.resize(imgs, [(5, 6), 4, (9, 9)], interpolation="bicubic")
    assert isinstance(outs, list)
    assert [o.shape for o in outs] == [(6, 5, 3), (20, 4, 3), (9, 9)]
    for o, a, s in zip(outs, imgs, [(5, 6), 4, (9, 9)], strict=True):
        np.testing.assert_array_equal(o, pixfeed.resize(a, s, interpolation="bicubic"))
    # One size for all, as a tuple or a list.
    assert {o.shape for o in pixfeed.resize(imgs[:2], [12, 13])} == {(13, 12, 3)}
    assert pixfeed.resize((imgs[0], imgs[1]), (12, 13))[1].shape == (13, 12, 3)
    assert pixfeed.resize([], (3, 3)) == []


def test_stacked_batch_and_out() -> None:
    batch = rand(6, 32, 48, 3)
    out = pixfeed.resize(batch, (16, 8), antialias=False)
    assert isinstance(out, np.ndarray) and out.shape == (6, 8, 16, 3)
    for i in range(6):
        np.testing.assert_array_equal(out[i], pixfeed.resize(batch[i], (16, 8), antialias=False))
    dest = np.zeros((6, 8, 16, 3), np.uint8)
    assert pixfeed.resize(list(batch), (16, 8), antialias=False, out=dest) is dest
    np.testing.assert_array_equal(dest, out)
    gray = np.zeros((2, 5, 4), np.uint8)
    assert pixfeed.resize([rand(9, 9), rand(7, 3)], (4, 5), out=gray) is gray
    single = np.zeros((1, 8, 16, 3), np.uint8)
    assert pixfeed.resize(batch[0], (16, 8), out=single) is single
    np.testing.assert_array_equal(single[0], pixfeed.resize(batch[0], (16, 8)))


def test_mixed_result_shapes_give_a_list() -> None:
    # A 4-D batch with per-image sizes cannot be stacked: per-image arrays (views of one
    # allocation), as for mixed-shape sequences.
    batch = rand(2, 10, 10, 3)
    outs = pixfeed.resize(batch, [(4, 4), (5, 6)])
    assert isinstance(outs, list) and [o.shape for o in outs] == [(4, 4, 3), (6, 5, 3)]
    for o, a, s in zip(outs, batch, [(4, 4), (5, 6)], strict=True):
        np.testing.assert_array_equal(o, pixfeed.resize(a, s))
        assert o.flags.c_contiguous and o.flags.writeable


def test_strided_views_equal_contiguous_copies() -> None:
    big = rand(120, 160, 4)
    views = [
        big[10:90, 20:150],
        big[::2, ::3],
        big[::-1],
        big[:, ::-1],
        big[..., ::-1],
        big[..., :3],
        big[..., 1],
        np.asfortranarray(big[..., 0]),
    ]
    for v in views:
        for interpolation in pixfeed.INTERPOLATIONS:
            for antialias in (True, False):
                kw = {"interpolation": interpolation, "antialias": antialias}
                want = pixfeed.resize(np.ascontiguousarray(v), (37, 23), **kw)
                np.testing.assert_array_equal(pixfeed.resize(v, (37, 23), **kw), want)
                np.testing.assert_array_equal(pixfeed.resize([v], (37, 23), **kw)[0], want)


def test_threads_do_not_change_results() -> None:
    imgs = [rand(200, 300, 3) for _ in range(8)]
    for interpolation in pixfeed.INTERPOLATIONS:
        for antialias in (True, False):
            kw = {"interpolation": interpolation, "antialias": antialias}
            one = pixfeed.resize(imgs, (123, 77), threads=1, **kw)
            two = pixfeed.resize(imgs, (123, 77), threads=2, **kw)
            for a, b in zip(one, two, strict=True):
                np.testing.assert_array_equal(a, b)


def test_same_size_is_a_copy() -> None:
    a = rand(9, 11, 3)
    for interpolation in pixfeed.INTERPOLATIONS:
        out = pixfeed.resize(a, (11, 9), interpolation=interpolation)
        np.testing.assert_array_equal(out, a)
        assert not np.shares_memory(out, a)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "sizes", "kwargs", "exc", "word"),
    [
        (np.zeros((4, 4, 3), np.float32), (2, 2), {}, TypeError, "uint8"),
        (np.zeros((4,), np.uint8), (2, 2), {}, ValueError, "images"),
        (np.zeros((4, 4, 5), np.uint8), (2, 2), {}, ValueError, "channels"),
        (np.zeros((0, 4, 3), np.uint8), (2, 2), {}, ValueError, "empty"),
        ([np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.int16)], 2, {}, TypeError, "images"),
        ("image", (2, 2), {}, TypeError, "images"),
        (np.zeros((4, 4, 3), np.uint8), (0, 2), {}, ValueError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), (2, -1), {}, ValueError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), 0, {}, ValueError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), (2, 2, 2), {}, TypeError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), "big", {}, TypeError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), (2.5, 2), {}, TypeError, "sizes"),
        (np.zeros((4, 4, 3), np.uint8), True, {}, TypeError, "sizes"),
        ([np.zeros((4, 4), np.uint8)] * 3, [(2, 2), (3, 3)], {}, ValueError, "sizes"),
        ([np.zeros((4, 4), np.uint8)] * 3, [(2, 2), 0, 3], {}, ValueError, "sizes"),
        (np.zeros((4, 4), np.uint8), 2, {"interpolation": "cubic"}, ValueError, "interpolation"),
        ([np.zeros((4, 4), np.uint8)], 2, {"interpolation": "cubic"}, ValueError, "interpolation"),
        (np.zeros((4, 4), np.uint8), 2, {"interpolation": 1}, TypeError, "interpolation"),
        (np.zeros((4, 4), np.uint8), 2, {"threads": 0}, ValueError, "threads"),
        ([np.zeros((4, 4), np.uint8)], 2, {"threads": 0}, ValueError, "threads"),
    ],
)
def test_bad_input(images: object, sizes: object, kwargs: dict, exc: type, word: str) -> None:
    with pytest.raises(exc, match=word.replace("[", r"\[")):
        pixfeed.resize(images, sizes, **kwargs)


def test_bad_out() -> None:
    imgs = [rand(8, 8, 3), rand(9, 9, 3)]
    with pytest.raises(ValueError, match="out"):
        pixfeed.resize(imgs, (4, 4), out=np.zeros((3, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="out"):
        pixfeed.resize(imgs, (4, 4), out=np.zeros((2, 4, 5, 3), np.uint8))
    with pytest.raises(TypeError, match="out"):
        pixfeed.resize(imgs, (4, 4), out=np.zeros((2, 4, 4, 3), np.float32))
    ro = np.zeros((2, 4, 4, 3), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        pixfeed.resize(imgs, (4, 4), out=ro)
    with pytest.raises(ValueError, match="out: needs all results to have the same shape"):
        pixfeed.resize(imgs, [(4, 4), (5, 5)], out=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="out: needs all results to have the same shape"):
        pixfeed.resize([rand(8, 8, 3), rand(8, 8)], (4, 4), out=np.zeros((2, 4, 4, 3), np.uint8))


# --- video ----------------------------------------------------------------------------------


def test_resize_video_forms() -> None:
    clip = rand(5, 48, 64, 3)
    out = pixfeed.resize_video(clip, (32, 24), antialias=False)
    assert out.shape == (5, 24, 32, 3)
    for t in range(5):
        np.testing.assert_array_equal(out[t], pixfeed.resize(clip[t], (32, 24), antialias=False))
    clips = [clip, rand(3, 30, 20, 3), rand(2, 10, 12)]
    outs = pixfeed.resize_video(clips, [(32, 24), 10, (6, 5)], interpolation="area")
    assert isinstance(outs, list)
    assert [o.shape for o in outs] == [(5, 24, 32, 3), (3, 15, 10, 3), (2, 5, 6)]
    for o, c, s in zip(outs, clips, [(32, 24), 10, (6, 5)], strict=True):
        for t in range(len(c)):
            np.testing.assert_array_equal(o[t], pixfeed.resize(c[t], s, interpolation="area"))
    five = rand(2, 4, 20, 30, 3)
    stacked = pixfeed.resize_video(five, 8)
    assert stacked.shape == (2, 4, 8, 12, 3)
    np.testing.assert_array_equal(stacked[1], pixfeed.resize_video(five[1], 8))
    dest = np.zeros((2, 4, 8, 12, 3), np.uint8)
    assert pixfeed.resize_video(list(five), (12, 8), out=dest) is dest
    np.testing.assert_array_equal(dest, stacked)
    one = np.zeros((4, 8, 12, 3), np.uint8)
    assert pixfeed.resize_video(five[0], (12, 8), out=one) is one
    np.testing.assert_array_equal(one, stacked[0])
    # Strided clip (every other frame, channel-reversed).
    view = clip[::2, :, :, ::-1]
    np.testing.assert_array_equal(
        pixfeed.resize_video(view, (16, 12)), pixfeed.resize_video(view.copy(), (16, 12))
    )
    assert pixfeed.resize_video([], (4, 4)) == []


@pytest.mark.parametrize(
    ("videos", "sizes", "exc", "word"),
    [
        (np.zeros((4, 4), np.uint8), 2, ValueError, "videos"),
        (np.zeros((2, 4, 4, 3), np.float32), 2, TypeError, "uint8"),
        (np.zeros((2, 0, 4, 3), np.uint8), 2, ValueError, "empty"),
        (np.zeros((2, 4, 4, 6), np.uint8), 2, ValueError, "channels"),
        ([np.zeros((2, 4, 4, 3), np.uint8)] * 2, [2, 2, 2], ValueError, "sizes"),
        (np.zeros((2, 4, 4, 3), np.uint8), (0, 3), ValueError, "sizes"),
        (7, 2, TypeError, "videos"),
    ],
)
def test_resize_video_bad_input(videos: object, sizes: object, exc: type, word: str) -> None:
    with pytest.raises(exc, match=word):
        pixfeed.resize_video(videos, sizes)


def test_resize_video_bad_out() -> None:
    clips = [rand(2, 8, 8, 3), rand(3, 8, 8, 3)]
    with pytest.raises(ValueError, match="out"):
        pixfeed.resize_video(clips, (4, 4), out=np.zeros((2, 2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="out"):
        pixfeed.resize_video(clips[0], (4, 4), out=np.zeros((2, 4, 5, 3), np.uint8))


# --- iter_resize ----------------------------------------------------------------------------


def _iter_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pixfeed-iter_resize")]


def test_iter_resize_equals_resize_in_order() -> None:
    imgs = [rand(40 + i, 50, 3) for i in range(9)]
    got = list(pixfeed.iter_resize(imgs, (20, 10), interpolation="bicubic", prefetch=3))
    want = pixfeed.resize(imgs, (20, 10), interpolation="bicubic")
    assert len(got) == 9
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # A generator input, per-image sizes, a 4-D batch.
    gen = (a for a in imgs[:3])
    sizes = [(5, 5), 7, (3, 9)]
    for g, a, s in zip(pixfeed.iter_resize(gen, sizes), imgs, sizes, strict=False):
        np.testing.assert_array_equal(g, pixfeed.resize(a, s))
    assert len(list(pixfeed.iter_resize(rand(4, 10, 10, 3), 5))) == 4
    assert list(pixfeed.iter_resize([], (3, 3))) == []
    gc.collect()
    assert not _iter_threads()


def test_iter_resize_is_lazy_and_computes_ahead() -> None:
    pulled: list[int] = []

    def source():
        for i in range(100):
            pulled.append(i)
            yield rand(64, 64, 3)

    it = pixfeed.iter_resize(source(), (32, 32), prefetch=2)
    assert pulled == []  # nothing happens before the first next()
    next(it)
    # The first result plus up to `prefetch` items in flight, no more.
    assert len(pulled) <= 3
    it.close()


def test_iter_resize_stops_on_break_and_leaves_no_threads() -> None:
    imgs = [rand(300, 400, 3) for _ in range(40)]
    before = len(_iter_threads())
    for i, _ in enumerate(pixfeed.iter_resize(imgs, (100, 100), prefetch=4)):
        assert _iter_threads()
        if i == 2:
            break
    gc.collect()
    deadline = time.monotonic() + 5
    while _iter_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_iter_threads()) == before == 0
    # close() on an unfinished iterator does the same.
    it = pixfeed.iter_resize(imgs, (100, 100))
    next(it)
    it.close()
    assert not _iter_threads()


def test_iter_resize_prefetch_ceiling() -> None:
    from pixfeed._args import MAX_PREFETCH

    imgs = [rand(6, 5) for _ in range(3)]
    # Refused before any thread starts (a thread per image in flight otherwise).
    for bad in (MAX_PREFETCH + 1, 10**9):
        with pytest.raises(ValueError, match=f"prefetch: at most {MAX_PREFETCH} images"):
            pixfeed.iter_resize(imgs, (3, 2), prefetch=bad)
    assert not _iter_threads()
    with pytest.raises(TypeError, match="prefetch"):
        pixfeed.iter_resize(imgs, (3, 2), prefetch=2.0)
    got = list(pixfeed.iter_resize(imgs, (3, 2), prefetch=MAX_PREFETCH))
    want = [pixfeed.resize(im, (3, 2)) for im in imgs]
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_iter_resize_errors() -> None:
    with pytest.raises(TypeError, match="images"):
        pixfeed.iter_resize(rand(10, 10, 3), 5)
    with pytest.raises(TypeError, match="images"):
        pixfeed.iter_resize(5, 5)
    with pytest.raises(ValueError, match="prefetch"):
        pixfeed.iter_resize([rand(4, 4)], 2, prefetch=0)
    with pytest.raises(ValueError, match="interpolation"):
        pixfeed.iter_resize([rand(4, 4)], 2, interpolation="x")
    with pytest.raises(ValueError, match="sizes"):
        pixfeed.iter_resize([rand(4, 4)] * 3, [(2, 2), (3, 3)])
    # A bad image surfaces at its position, after the good ones.
    it = pixfeed.iter_resize([rand(4, 4), np.zeros((4, 4), np.float32)], 2)
    assert next(it).shape == (2, 2)
    with pytest.raises(TypeError, match="uint8"):
        next(it)
    gc.collect()
    assert not _iter_threads()
