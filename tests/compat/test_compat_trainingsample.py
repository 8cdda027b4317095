"""pixfeed.compat.trainingsample: trainingsample's documented examples run unchanged, every
behaviour trainingsample 0.3's own test suite checks holds for the shim (checked against numpy,
OpenCV and Pillow, so these run without trainingsample), outputs equal trainingsample's where
both are defined (when it is installed), clear errors where trainingsample is silent.

Never call ``trainingsample.rgb_to_rgba_optimized`` in this process: it aborts the process on
4-channel input and, for some image sizes, returns garbage and corrupts the heap (seen with
0.3.2); it is compared in a subprocess only.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
import pixfeed.compat.trainingsample as tsr

ts: Any = None
try:
    ts = importlib.import_module("trainingsample")
except ImportError:  # the behaviour tests run without it; the comparisons skip
    pass

needs_ts = pytest.mark.skipif(ts is None, reason="trainingsample is not installed")

needs_resize = pytest.mark.skipif(
    not hasattr(pixfeed, "resize"), reason="pixfeed.resize is not in this build yet"
)


@pytest.fixture
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (100, 100, 3), dtype=np.uint8) for _ in range(3)]


# --------------------------------------------------------------------------------------------
# trainingsample's documented examples (README "Python example" and its test-suite usage)


@needs_ts
def test_readme_example_crop_and_luminance() -> None:
    images = [np.random.randint(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    cropped = tsr.batch_crop_images(images, [(50, 50, 320, 320)] * len(images))
    assert len(cropped) == 8 and all(c.shape == (320, 320, 3) for c in cropped)
    theirs = ts.batch_crop_images(images, [(50, 50, 320, 320)] * len(images))
    for a, b in zip(cropped, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    luminance = tsr.batch_calculate_luminance(cropped)
    assert isinstance(luminance, list) and all(isinstance(v, float) for v in luminance)
    np.testing.assert_allclose(luminance, ts.batch_calculate_luminance(cropped), atol=1e-6)


@needs_resize
@needs_ts
def test_readme_example_full() -> None:
    images = [np.random.randint(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    cropped = tsr.batch_crop_images(images, [(50, 50, 320, 320)] * len(images))
    resized = tsr.batch_resize_images(cropped, [(224, 224)] * len(cropped))
    luminance = tsr.batch_calculate_luminance(resized)
    theirs = ts.batch_resize_images(cropped, [(224, 224)] * len(cropped))
    for a, b in zip(resized, theirs, strict=True):
        assert a.shape == (224, 224, 3)
        assert np.abs(a.astype(int) - b).max() <= 1
    np.testing.assert_allclose(luminance, ts.batch_calculate_luminance(theirs), atol=0.5)


@needs_ts
def test_documented_crop_calls(images: list[np.ndarray]) -> None:
    boxes = [(10, 10, 50, 50), (20, 20, 40, 40), (5, 5, 60, 60)]
    ours = tsr.batch_crop_images(images, boxes)
    assert [r.shape for r in ours] == [(50, 50, 3), (40, 40, 3), (60, 60, 3)]
    for a, b in zip(ours, ts.batch_crop_images(images, boxes), strict=True):
        np.testing.assert_array_equal(a, b)
    sizes = [(50, 50), (60, 60), (40, 40)]
    ours = tsr.batch_center_crop_images(images, sizes)
    assert [r.shape for r in ours] == [(50, 50, 3), (60, 60, 3), (40, 40, 3)]
    for a, b in zip(ours, ts.batch_center_crop_images(images, sizes), strict=True):
        np.testing.assert_array_equal(a, b)
    rand = tsr.batch_random_crop_images(images, [(50, 50)] * 3)
    assert all(r.shape == (50, 50, 3) for r in rand)
    lum = tsr.batch_calculate_luminance(images)
    assert len(lum) == 3 and all(isinstance(v, float) and 0 <= v <= 255 for v in lum)
    with pytest.raises(ValueError, match="Cropping failed"):
        tsr.batch_crop_images([images[0]], [(90, 90, 50, 50)])
    assert tsr.batch_crop_images([], []) == []
    assert tsr.batch_calculate_luminance([]) == []
    assert tsr.batch_center_crop_images([], []) == []
    assert tsr.batch_random_crop_images([], []) == []


# --------------------------------------------------------------------------------------------
# Equal to trainingsample where both are defined


@needs_ts
def test_center_crop_placement_equals_trainingsample() -> None:
    rng = np.random.default_rng(1)
    for h, w in [(11, 9), (10, 13), (7, 8), (64, 33)]:
        for c in (1, 3, 4):
            a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
            for cw in range(1, w + 1, 2):
                for ch in range(1, h + 1, 3):
                    ours = tsr.batch_center_crop_images([a], [(cw, ch)])[0]
                    theirs = ts.batch_center_crop_images([a], [(cw, ch)])[0]
                    np.testing.assert_array_equal(ours, theirs)


@needs_ts
def test_crop_and_luminance_on_views_and_channels() -> None:
    rng = np.random.default_rng(2)
    big = rng.integers(0, 256, (90, 120, 4), dtype=np.uint8)
    views = [big, big[..., :3], big[..., :1], big[5:70, 9:100, :3], big[::2, ::3, :3]]
    for v in views:
        np.testing.assert_array_equal(
            tsr.batch_crop_images([v], [(3, 4, 20, 10)])[0],
            ts.batch_crop_images([v], [(3, 4, 20, 10)])[0],
        )
    np.testing.assert_allclose(
        tsr.batch_calculate_luminance(views), ts.batch_calculate_luminance(views), atol=1e-6
    )


@needs_ts
def test_rgba_to_rgb_equals_trainingsample() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1, 4), (3, 7, 4), (480, 640, 4)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        ours, speed = tsr.rgba_to_rgb_optimized(a)
        theirs, _ = ts.rgba_to_rgb_optimized(a)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, a[..., :3])
        assert isinstance(speed, float) and speed > 0


@needs_ts
def test_rgb_to_rgba(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    ours, speed = tsr.rgb_to_rgba_optimized(a, 200)
    assert ours.shape == (480, 640, 4) and isinstance(speed, float)
    np.testing.assert_array_equal(ours[..., :3], a)
    assert (ours[..., 3] == 200).all()
    # trainingsample, out of process (see the module docstring).
    np.save(tmp_path / "in.npy", a)
    script = textwrap.dedent(
        f"""
        import numpy as np, trainingsample as ts
        a = np.load({str(tmp_path / "in.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, ts.rgb_to_rgba_optimized(a, 200)[0])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    if proc.returncode != 0 or not (tmp_path / "out.npy").exists():
        pytest.skip(f"trainingsample.rgb_to_rgba_optimized failed: {proc.stderr[-300:]!r}")
    np.testing.assert_array_equal(ours, np.load(tmp_path / "out.npy"))


# --------------------------------------------------------------------------------------------
# Clear errors where trainingsample is silent (or crashes)


@needs_ts
def test_length_mismatches_raise(images: list[np.ndarray]) -> None:
    # trainingsample truncates to the shorter list.
    assert len(ts.batch_crop_images(images, [(10, 10, 50, 50)] * 2)) == 2
    with pytest.raises(ValueError, match="crop_boxes: 2 values for 3 images"):
        tsr.batch_crop_images(images, [(10, 10, 50, 50)] * 2)
    with pytest.raises(ValueError, match="target_sizes"):
        tsr.batch_random_crop_images(images, [(10, 10)] * 4)
    with pytest.raises(ValueError, match="target_sizes"):
        tsr.batch_center_crop_images(images, [(10, 10)] * 2)
    # One box / size for all images is accepted (a superset).
    assert len(tsr.batch_crop_images(images, (1, 2, 3, 4))) == 3
    assert len(tsr.batch_center_crop_images(images, (30, 20))) == 3


@needs_ts
def test_oversized_crops_raise(images: list[np.ndarray]) -> None:
    # trainingsample silently returns a smaller crop.
    assert ts.batch_center_crop_images([images[0]], [(120, 50)])[0].shape == (50, 100, 3)
    with pytest.raises(ValueError, match="larger"):
        tsr.batch_center_crop_images([images[0]], [(120, 50)])
    with pytest.raises(ValueError, match="larger"):
        tsr.batch_random_crop_images([images[0]], [(50, 101)])


def test_conversion_errors() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="3 channels"):
        tsr.rgb_to_rgba_optimized(rgba, 255)  # trainingsample aborts the process here
    with pytest.raises(ValueError, match="4 channels"):
        tsr.rgba_to_rgb_optimized(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="alpha"):
        tsr.rgb_to_rgba_optimized(np.zeros((4, 4, 3), np.uint8), 256)
    strided = np.zeros((8, 8, 3), np.uint8)[:, ::2]
    out, _ = tsr.rgb_to_rgba_optimized(strided, 7)  # trainingsample aborts on views too
    assert out.shape == (8, 4, 4) and (out[..., 3] == 7).all()


# --------------------------------------------------------------------------------------------
# Resizes: pixfeed.resize(antialias=False) == cv2.resize == trainingsample (max diff 1)


@needs_resize
@needs_ts
def test_resize_functions_equal_trainingsample() -> None:
    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(3)]
    sizes = [(20, 10), (64, 64), (33, 47)]
    for a, b in zip(
        tsr.batch_resize_images(imgs, sizes), ts.batch_resize_images(imgs, sizes), strict=True
    ):
        assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1
    for code in (tsr.INTER_NEAREST, tsr.INTER_LINEAR, tsr.INTER_CUBIC, tsr.INTER_LANCZOS4):
        ours = tsr.batch_resize_images_zero_copy(imgs, sizes, code)
        theirs = ts.batch_resize_images_zero_copy(imgs, sizes, code)
        for a, b in zip(ours, theirs, strict=True):
            assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1
    one = tsr.batch_resize_images_zero_copy(imgs[0], (16, 16))
    assert isinstance(one, np.ndarray) and one.shape == (16, 16, 3)
    video = rng.integers(0, 256, (4, 48, 64, 3), dtype=np.uint8)
    ours_v = tsr.batch_resize_videos([video], [(20, 10)])
    theirs_v = ts.batch_resize_videos([video], [(20, 10)])
    assert ours_v[0].shape == (4, 10, 20, 3)
    assert np.abs(ours_v[0].astype(int) - theirs_v[0]).max() <= 1
    with pytest.raises(ValueError, match="target_sizes"):
        tsr.batch_resize_images(imgs, sizes[:2])


@needs_resize
def test_resize_iterator_yields_in_order_and_counts_down() -> None:
    imgs = [np.full((32, 48, 3), 17, np.uint8), np.full((24, 40, 3), 231, np.uint8)]
    it = tsr.batch_resize_images_iterator(imgs, [(12, 8), (10, 6)])
    assert len(it) == 2
    first = next(it)
    assert first.shape == (8, 12, 3) and (first == 17).all()
    assert len(it) == 1
    second = next(it)
    assert second.shape == (6, 10, 3) and (second == 231).all()
    assert len(it) == 0
    with pytest.raises(StopIteration):
        next(it)


# --------------------------------------------------------------------------------------------
# The behaviours trainingsample 0.3's own test suite checks, as our own tests of the shim
# (references: numpy slicing, cv2.resize, Pillow; trainingsample only where noted)


def gradient(h: int = 200, w: int = 300) -> np.ndarray:
    """Red rises left to right, green top to bottom, blue constant: every pixel is unique."""
    y, x = np.indices((h, w))
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full((h, w), 77)], axis=-1).astype(
        np.uint8
    )


def png_bytes(a: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def test_crops_are_exact_windows() -> None:
    g = gradient()
    out = tsr.batch_crop_images([g, g, g], [(50, 25, 100, 75), (0, 0, 300, 200), (299, 199, 1, 1)])
    np.testing.assert_array_equal(out[0], g[25:100, 50:150])
    assert out[0][0, 0].tolist() == g[25, 50].tolist()
    assert out[0][74, 99].tolist() == g[99, 149].tolist()
    np.testing.assert_array_equal(out[1], g)
    np.testing.assert_array_equal(out[2], g[199:, 299:])
    assert all(o.dtype == np.uint8 for o in out)
    # Each crop alone equals the same crop in a batch.
    for box, whole in zip(
        [(10, 20, 50, 60), (25, 35, 40, 50)],
        tsr.batch_crop_images([g, g], [(10, 20, 50, 60), (25, 35, 40, 50)]),
        strict=True,
    ):
        np.testing.assert_array_equal(tsr.batch_crop_images([g], [box])[0], whole)
    tiny = gradient(2, 2)
    assert tsr.batch_crop_images([tiny], [(0, 0, 1, 1)])[0].shape == (1, 1, 3)


@pytest.mark.parametrize(
    "box",
    [(250, 150, 100, 100), (50, 180, 100, 100), (90, 90, 211, 5), (10, 10, 0, 50), (10, 10, 50, 0)],
)
def test_bad_crop_boxes_raise(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="Cropping failed"):
        tsr.batch_crop_images([gradient()], [box])


def test_center_crops_take_the_middle() -> None:
    g = gradient()
    out = tsr.batch_center_crop_images([g], [(100, 100)])[0]
    assert out.shape == (100, 100, 3)
    assert out[50, 50].tolist() == g[100, 150].tolist()
    np.testing.assert_array_equal(out, g[50:150, 100:200])
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    c = tsr.batch_center_crop_images([red], [(32, 32)])[0]
    assert (c[..., 0] == 255).all() and (c[..., 1:] == 0).all()
    wide, tall = gradient(50, 500), gradient(500, 50)
    assert [a.shape for a in tsr.batch_center_crop_images([wide, tall], [(25, 25)] * 2)] == [
        (25, 25, 3),
        (25, 25, 3),
    ]


def test_random_crops_are_windows_of_the_image_and_vary() -> None:
    g = gradient()
    crops = [tsr.batch_random_crop_images([g], [(64, 48)])[0] for _ in range(6)]
    assert all(c.shape == (48, 64, 3) for c in crops)
    starts = set()
    for c in crops:
        # gradient pixels are unique: the top-left pixel locates the window.
        y = int(np.argmin(np.abs(g[:, 0, 1].astype(int) - c[0, 0, 1])))
        x = int(np.argmin(np.abs(g[0, :, 0].astype(int) - c[0, 0, 0])))
        assert x + 64 <= 300 and y + 48 <= 200
        starts.add((x, y))
    assert len(starts) > 1


def test_resizes_equal_cv2_for_every_shape() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(8)
    shapes = [(200, 300), (2, 2), (50, 500), (500, 50), (480, 640), (1024, 256)]
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]
    sizes = [(150, 150), (10, 10), (64, 64), (64, 64), (224, 224), (100, 200)]
    out = tsr.batch_resize_images(imgs, sizes)
    for a, img, (w, h) in zip(out, imgs, sizes, strict=True):
        assert a.shape == (h, w, 3) and a.dtype == np.uint8
        ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        assert np.abs(a.astype(int) - ref).max() <= 1
    # Alone or in a batch: the same pixels.
    for a, img, size in zip(out, imgs, sizes, strict=True):
        np.testing.assert_array_equal(tsr.batch_resize_images([img], [size])[0], a)
    with pytest.raises(ValueError):
        tsr.batch_resize_images([imgs[0]], [(0, 100)])
    assert tsr.batch_resize_images([], []) == []


def test_video_resize_keeps_frames_in_order() -> None:
    video = np.zeros((5, 64, 64, 3), np.uint8)
    for f in range(5):
        video[f, ..., 0] = 40 * f + 10
    out = tsr.batch_resize_videos([video], [(32, 32)])[0]
    assert out.shape == (5, 32, 32, 3)
    assert [int(out[f, ..., 0].mean()) for f in range(5)] == [10, 50, 90, 130, 170]
    clips = [np.zeros((3, 40, 30, 3), np.uint8), np.zeros((2, 20, 50, 3), np.uint8)]
    assert [c.shape for c in tsr.batch_resize_videos(clips, [(16, 12)] * 2)] == [
        (3, 12, 16, 3),
        (2, 12, 16, 3),
    ]


def test_luminance_of_known_colours_and_a_gradient() -> None:
    for rgb, want in [
        ((255, 255, 255), 255.0),
        ((0, 0, 0), 0.0),
        ((255, 0, 0), 0.299 * 255),
        ((0, 255, 0), 0.587 * 255),
        ((0, 0, 255), 0.114 * 255),
    ]:
        (lum,) = tsr.batch_calculate_luminance([np.full((10, 10, 3), rgb, np.uint8)])
        assert isinstance(lum, float) and abs(lum - want) < 0.5
    g = gradient().astype(np.float64)
    manual = float(np.mean(0.299 * g[..., 0] + 0.587 * g[..., 1] + 0.114 * g[..., 2]))
    assert abs(tsr.batch_calculate_luminance([gradient()])[0] - manual) < 1e-3


def test_zero_copy_variants() -> None:
    rng = np.random.default_rng(9)
    img = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    for view in (img, img[:, ::2, :]):
        assert tsr.batch_calculate_luminance_zero_copy([view]) == pytest.approx(
            tsr.batch_calculate_luminance([view]), abs=1e-9
        )
    np.testing.assert_array_equal(
        tsr.batch_crop_images_zero_copy([img], [(3, 4, 16, 8)])[0], img[4:12, 3:19]
    )
    np.testing.assert_array_equal(
        tsr.batch_center_crop_images_zero_copy([img], [(16, 8)])[0], img[124:132, 120:136]
    )
    strided = [img[:, ::2, :], img[::2, :, :]]
    for s in strided:
        with pytest.raises(ValueError, match="C-contiguous"):
            tsr.batch_crop_images_zero_copy([s], [(0, 0, 16, 16)])
        with pytest.raises(ValueError, match="C-contiguous"):
            tsr.batch_center_crop_images_zero_copy([s], [(16, 16)])
        with pytest.raises(ValueError, match="C-contiguous"):
            tsr.batch_resize_images_zero_copy(s, (16, 16))
        with pytest.raises(ValueError, match="C-contiguous"):
            tsr.batch_resize_images_iterator([s], [(16, 16)])
    with pytest.raises(ValueError, match="length mismatch"):
        tsr.batch_crop_images_zero_copy([img, img], [(0, 0, 5, 5)])


def test_concurrent_calls_from_threads() -> None:
    rng = np.random.default_rng(10)
    imgs = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(16)]
    want = tsr.batch_calculate_luminance([a[20:120, 20:120] for a in imgs])
    results: dict[int, list[float]] = {}
    errors: list[BaseException] = []

    def work(k: int, part: list[np.ndarray]) -> None:
        try:
            for _ in range(5):
                crops = tsr.batch_crop_images(part, [(20, 20, 100, 100)] * len(part))
                resized = tsr.batch_resize_images(crops, [(64, 64)] * len(crops))
                assert all(r.shape == (64, 64, 3) for r in resized)
                results[k] = tsr.batch_calculate_luminance(crops)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k, imgs[k * 8 : k * 8 + 8])) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results[0] + results[1] == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_imdecode_png_buffers(kind: type) -> None:
    img = gradient(4, 5)
    np.testing.assert_array_equal(tsr.imdecode_py(kind(png_bytes(img)), 1), img)
    rgba = np.dstack([img, np.arange(20, dtype=np.uint8).reshape(4, 5)])
    data = png_bytes(rgba)
    np.testing.assert_array_equal(tsr.imdecode_py(data, -1), rgba)
    np.testing.assert_array_equal(tsr.imdecode_py(data, 1), img)  # alpha dropped
    gray = tsr.imdecode_py(png_bytes(img[..., 1]), -1)
    assert gray.shape == (4, 5, 1)
    np.testing.assert_array_equal(gray[..., 0], img[..., 1])
    from PIL import Image

    luma = np.asarray(Image.fromarray(img).convert("L"))
    np.testing.assert_array_equal(tsr.imdecode_py(png_bytes(img), 0), np.dstack([luma] * 3))
    with pytest.raises(ValueError, match="imread flag"):
        tsr.imdecode_py(data, 2)


def test_imdecode_rejects_truncated_and_garbage() -> None:
    from PIL import Image

    y, x = np.indices((256, 256))
    img = np.stack([(x * 7) ^ (y * 3), (x * 5) ^ y, x ^ (y * 11)], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    data = buf.getvalue()
    with pytest.raises(RuntimeError, match="truncated"):
        tsr.imdecode_py(data[: len(data) // 10], 1)
    with pytest.raises(RuntimeError, match="Image decoding failed"):
        tsr.imdecode_py(b"not an image", 1)
    decoded = tsr.imdecode_py(data, 1)
    assert decoded.shape == (256, 256, 3)
    assert np.abs(decoded.astype(int) - np.asarray(Image.open(io.BytesIO(data)))).max() <= 3


def test_load_image_batch(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.bin"
    a.write_bytes(png_bytes(gradient(3, 4)))
    b.write_bytes(b"xx")
    got = tsr.load_image_batch([str(a), b, str(tmp_path / "missing.png"), str(tmp_path)])
    assert got == [a.read_bytes(), b"xx", None, None]
    assert tsr.load_image_batch([]) == []
    with pytest.raises(TypeError):
        tsr.load_image_batch(str(a))


def test_resize_py_fits_inside_dsize() -> None:
    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for dsize, shape in [
        ((20, 15), (14, 20)),
        ((100, 50), (50, 72)),
        ((10, 10), (7, 10)),
        ((0, 5), (1, 1)),
    ]:
        assert tsr.resize_py(img, dsize).shape == (*shape, 3)
    out = tsr.resize_py(img, (106, 74), tsr.INTER_NEAREST)
    np.testing.assert_array_equal(out, img.repeat(2, 0).repeat(2, 1))
    with pytest.raises(ValueError, match="interpolation"):
        tsr.resize_py(img, (10, 10), 3)
    from PIL import Image

    R = Image.Resampling
    filters = {0: R.NEAREST, 1: R.BILINEAR, 2: R.BICUBIC, 4: R.LANCZOS}
    for dsize in [(20, 15), (26, 18), (100, 50), (64, 64), (3, 1)]:
        for code, pil in filters.items():
            ours = tsr.resize_py(img, dsize, code)
            h, w = ours.shape[:2]
            ref = np.asarray(Image.fromarray(img).resize((w, h), pil))
            assert np.abs(ours.astype(int) - ref).max() <= 1
            # trainingsample: the same size; the same pixels except when it enlarges with
            # cubic or Lanczos (its kernels there match neither Pillow nor OpenCV).
            if ts is not None:
                theirs = ts.resize_py(img, dsize, code)
                assert ours.shape == theirs.shape
                if code in (0, 1) or (w <= 53 and h <= 37):
                    assert np.abs(ours.astype(int) - theirs).max() <= (4 if code == 4 else 1)


def test_opencv_named_resizes_equal_cv2() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(12)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for w, h in [(20, 15), (100, 80)]:
        for fn, code in [
            (tsr.resize_bilinear_opencv, cv2.INTER_LINEAR),
            (tsr.resize_lanczos4_opencv, cv2.INTER_LANCZOS4),
        ]:
            ref = cv2.resize(img, (w, h), interpolation=code)
            assert np.abs(fn(img, w, h).astype(int) - ref).max() <= 1
        ours = tsr.PyTrueBatchProcessor().true_batch_resize([img], [(w, h)], 1)[0]
        assert np.abs(ours.astype(int) - cv2.resize(img, (w, h))).max() <= 1


def test_cvt_color_codes() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(13)
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    rgba = np.dstack([img, img[..., :1]])
    np.testing.assert_array_equal(tsr.cvt_color_py(img, 4), img[..., ::-1])
    np.testing.assert_array_equal(tsr.cvt_color_py(img, 5), img[..., ::-1])
    np.testing.assert_array_equal(tsr.cvt_color_py(rgba, 5), rgba[..., [2, 1, 0, 3]])
    gray = tsr.cvt_color_py(img, cv2.COLOR_RGB2GRAY)
    assert gray.shape == (9, 11, 1)
    assert np.abs(gray[..., 0].astype(int) - cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)).max() <= 1
    np.testing.assert_array_equal(tsr.cvt_color_py(gray, 8), np.dstack([gray[..., 0]] * 3))
    for code in (0, 1, 2, 3, 6):
        src = rgba if code in (1, 3) else img
        np.testing.assert_allclose(
            tsr.cvt_color_py(src, code).astype(int).squeeze(),
            cv2.cvtColor(src, code).astype(int),
            atol=1,
        )
    with pytest.raises(NotImplementedError, match=r"cv2\.cvtColor"):
        tsr.cvt_color_py(img, cv2.COLOR_RGB2HSV)
    with pytest.raises(ValueError, match="Unsupported color conversion code"):
        tsr.cvt_color_py(img, 999)
    with pytest.raises(ValueError, match="3-channel"):
        tsr.cvt_color_py(rgba, 4)
    with pytest.raises(RuntimeError, match="Color conversion failed"):  # as trainingsample
        tsr.cvt_color_py(rgba, 7)


def test_batch_processors() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(14)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    bp = tsr.PyBatchProcessor.with_config(True, 4)
    assert [a.shape for a in bp.batch_resize([img, img], [(20, 15), (8, 8)])] == [
        (14, 20, 3),
        (6, 8, 3),
    ]
    assert [a.shape for a in bp.batch_cvt_color([img], 7)] == [(37, 53, 1)]
    data = png_bytes(img)
    out = bp.batch_preprocess_pipeline([data, bytearray(data)], [(106, 74), (106, 74)], 4)
    ref = cv2.resize(img, (106, 74))[..., ::-1]
    assert all(np.abs(a.astype(int) - ref).max() <= 1 for a in out)
    with pytest.raises(RuntimeError, match="pipeline failed"):
        bp.batch_preprocess_pipeline([b"xx"], [(20, 15)])
    with pytest.raises(NotImplementedError, match=r"cv2\.Canny"):
        bp.batch_canny([img[..., 0]], 50, 100)
    tb = tsr.PyTrueBatchProcessor.with_config(True, 4, 16)
    assert tb.strided_luminance([img]) == pytest.approx(tsr.batch_calculate_luminance([img]))
    assert tb.strided_luminance([img], 4) == pytest.approx(
        tsr.batch_calculate_luminance([img[::4, ::4]])
    )
    np.testing.assert_array_equal(tb.true_batch_cvt_color([img], 4)[0], img[..., ::-1])


def test_every_public_name_exists_and_the_rest_name_their_alternative() -> None:
    names = [
        "INTER_CUBIC", "INTER_LANCZOS4", "INTER_LINEAR", "INTER_NEAREST", "PyBatchProcessor",
        "PyCascadeClassifier", "PyTrueBatchProcessor", "PyVideoCapture", "PyVideoWriter",
        "ResizeIterator", "batch_calculate_luminance", "batch_calculate_luminance_zero_copy",
        "batch_center_crop_images", "batch_center_crop_images_zero_copy", "batch_crop_images",
        "batch_crop_images_zero_copy", "batch_random_crop_images", "batch_resize_images",
        "batch_resize_images_iterator", "batch_resize_images_zero_copy", "batch_resize_videos",
        "canny_py", "cvt_color_py", "fourcc_py", "get_opencv_data_path_py", "imdecode_py",
        "load_image_batch", "resize_bilinear_opencv", "resize_lanczos4_opencv", "resize_py",
        "rgb_to_rgba_optimized", "rgba_to_rgb_optimized",
    ]  # fmt: skip
    assert sorted(tsr.__all__) == sorted(names)
    if ts is not None:
        assert {n for n in dir(ts) if not n.startswith("_")} - set(names) <= {"trainingsample"}
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: tsr.canny_py(np.zeros((4, 4), np.uint8), 1, 2), "cv2.Canny"),
        (lambda: tsr.fourcc_py("m", "p", "4", "v"), "cv2.VideoWriter_fourcc"),
        (lambda: tsr.get_opencv_data_path_py(), "cv2.data"),
        (lambda: tsr.PyVideoCapture("x.mp4"), "cv2.VideoCapture"),
        (lambda: tsr.PyVideoWriter("x.mp4", "mp4v", 30.0, (4, 4)), "cv2.VideoWriter"),
        (lambda: tsr.PyCascadeClassifier("x.xml"), "cv2.CascadeClassifier"),
    ]
    for call, alt in cases:
        with pytest.raises(NotImplementedError, match=alt.replace(".", r"\.")):
            call()
