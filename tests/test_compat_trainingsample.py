"""pixfeed.compat.trainingsample: trainingsample's documented examples run unchanged, outputs
equal trainingsample's where both are defined, clear errors where trainingsample is silent.

Never call ``trainingsample.rgb_to_rgba_optimized`` in this process: it aborts the process on
4-channel input and, for some image sizes, returns garbage and corrupts the heap (seen with
0.3.2); it is compared in a subprocess only.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import pixfeed
import pixfeed.compat.trainingsample as tsr

ts = pytest.importorskip("trainingsample")

needs_resize = pytest.mark.skipif(
    not hasattr(pixfeed, "resize"), reason="pixfeed.resize is not in this build yet"
)


@pytest.fixture
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (100, 100, 3), dtype=np.uint8) for _ in range(3)]


# --------------------------------------------------------------------------------------------
# trainingsample's documented examples (README "Python example" and its test-suite usage)


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


def test_rgba_to_rgb_equals_trainingsample() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1, 4), (3, 7, 4), (480, 640, 4)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        ours, speed = tsr.rgba_to_rgb_optimized(a)
        theirs, _ = ts.rgba_to_rgb_optimized(a)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, a[..., :3])
        assert isinstance(speed, float) and speed > 0


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
