"""crop_paths (docs/crop-from-files.md): parallel_image_crop's geometry, against Pillow."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

import pixfeed


def ref_box(
    w: int, h: int, x: float, y: float, s: float, mip: float, center: bool
) -> tuple[int, ...]:
    """docs/crop-from-files.md's geometry, written out independently of the implementation."""
    s = min(s, mip)
    cw, ch = min(max(math.floor(w * s), 2), w), min(max(math.floor(h * s), 2), h)
    cx, cy = int(x * w), int(y * h)
    if center:
        cx, cy = max(cx - cw // 2, 0), max(cy - ch // 2, 0)
    return min(cx, w - cw), min(cy, h - ch), cw, ch


def reference(path: Path, box: tuple[int, ...], window: int, mode: str = "RGB") -> np.ndarray:
    x, y, w, h = box
    img = Image.open(path).convert(mode).crop((x, y, x + w, y + h))
    return np.asarray(img.resize((window, window), Image.Resampling.BILINEAR))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("crop_paths")
    photo = Image.fromarray(skimage.data.astronaut()).resize((1200, 900), Image.Resampling.BICUBIC)
    out = {}
    for name, img, kw in [
        ("rgb.jpg", photo, {"quality": 92}),
        ("rgb.png", photo, {}),
        ("rgb.bmp", photo, {}),
        ("gray.jpg", photo.convert("L"), {"quality": 92}),
        ("gray.bmp", photo.convert("L"), {}),
        ("tall.png", photo.rotate(90, expand=True), {}),
    ]:
        p = d / name
        img.save(p, **kw)
        out[name] = p
    return out


GEOMETRY = [
    (0.0, 0.0, 0.25),
    (1.0, 1.0, 0.25),  # clamped at the far corner
    (0.5, 0.5, 0.1),
    (0.99, 0.01, 0.5),
    (0.3, 0.7, 1.0),
    (0.2, 0.4, 3.0),  # scale > 1 capped by max_img_percent
    (0.5, 0.5, 0.0001),  # at least 2 pixels
]


@pytest.mark.parametrize("name", ["rgb.png", "rgb.bmp", "tall.png"])
@pytest.mark.parametrize("center", [False, True])
def test_lossless_sources_equal_pillow_crop_resize(
    files: dict[str, Path], name: str, center: bool
) -> None:
    path = files[name]
    w, h = Image.open(path).size
    xs, ys, ss = zip(*GEOMETRY, strict=True)
    for window in (32, 224):  # downscaling and (for the tiny crops) upscaling
        got = pixfeed.crop_paths(
            [path] * len(GEOMETRY),
            xs,
            ys,
            ss,
            window,
            max_img_percent=0.8,
            anchor="center" if center else "corner",
        )
        assert got.shape == (len(GEOMETRY), window, window, 3)
        for k, (x, y, s) in enumerate(GEOMETRY):
            want = reference(path, ref_box(w, h, x, y, s, 0.8, center), window)
            assert np.abs(got[k].astype(int) - want).max() <= 1, (name, x, y, s, window)


def test_jpeg_without_reduction_equals_pillow(files: dict[str, Path]) -> None:
    """Window close to the crop size: the DCT scale stays 1, so only the resize differs."""
    path = files["rgb.jpg"]
    got = pixfeed.crop_paths([path] * 3, [0.1, 0.5, 0.7], [0.2, 0.5, 0.1], 0.25, 200)
    for k, (x, y) in enumerate([(0.1, 0.2), (0.5, 0.5), (0.7, 0.1)]):
        want = reference(path, ref_box(1200, 900, x, y, 0.25, 1.0, False), 200)
        assert np.abs(got[k].astype(int) - want).max() <= 1


@pytest.mark.parametrize(("name", "mode"), [("rgb.jpg", "RGB"), ("gray.jpg", "L")])
def test_jpeg_reduced_decode_psnr(files: dict[str, Path], name: str, mode: str) -> None:
    """Crops shrunk by 2x or more decode at 1/2..1/8 scale: PSNR >= 35 dB vs full decode."""
    path = files[name]
    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(0, 1, 12), rng.uniform(0, 1, 12)
    for window, scale in [(32, 0.25), (64, 0.5), (48, 0.9)]:
        got = pixfeed.crop_paths([path] * 12, xs, ys, scale, window, mode=mode)
        assert got.ndim == (3 if mode == "L" else 4)
        for k in range(12):
            want = reference(
                path, ref_box(1200, 900, xs[k], ys[k], scale, 1.0, False), window, mode
            )
            assert psnr(got[k], want) >= 35.0, (window, scale, k, psnr(got[k], want))


def test_modes_channels_and_out(files: dict[str, Path]) -> None:
    path = files["gray.bmp"]
    g = pixfeed.crop_paths([path, path], [0.1, 0.6], [0.3, 0.2], 0.3, 40, mode="L")
    assert g.shape == (2, 40, 40)
    want = reference(path, ref_box(1200, 900, 0.1, 0.3, 0.3, 1.0, False), 40, "L")
    assert np.abs(g[0].astype(int) - want).max() <= 1
    rgba = pixfeed.crop_paths([files["rgb.png"]], [0.5], [0.5], 0.2, 16, mode="RGBA")
    assert rgba.shape == (1, 16, 16, 4) and (rgba[..., 3] == 255).all()
    out = np.zeros((2, 24, 24, 3), np.uint8)
    res = pixfeed.crop_paths(
        [files["rgb.jpg"]] * 2, np.array([0.2, 0.4]), np.array([0.2, 0.4]), [0.3, 0.4], 24, out=out
    )
    assert np.shares_memory(res, out) and out.any()
    with pytest.raises(ValueError, match="out"):
        pixfeed.crop_paths(
            [files["rgb.jpg"]], [0.2], [0.2], 0.3, 24, out=np.zeros((1, 24, 24), np.uint8)
        )


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"x": [1.5]}, "x"),
        ({"y": [-0.1]}, "y"),
        ({"scale": 0.0}, "scale"),
        ({"scale": [-1.0]}, "scale"),
        ({"window_size": 0}, "window_size"),
        ({"x": [0.1, 0.2]}, "x"),
        ({"max_img_percent": 0.0}, "max_img_percent"),
        ({"anchor": "middle"}, "anchor"),
        ({"interpolation": "cubic"}, "interpolation"),
        ({"x": [float("nan")]}, "x"),
    ],
)
def test_bad_arguments_name_themselves(
    files: dict[str, Path], kwargs: dict[str, object], word: str
) -> None:
    args: dict[str, object] = {"x": [0.5], "y": [0.5], "scale": 0.5, "window_size": 8}
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        pixfeed.crop_paths([files["rgb.png"]], **args)  # type: ignore[arg-type]


def test_bad_files_follow_on_error(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["rgb.jpg"].read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    missing = tmp_path / "missing.bmp"
    srcs = [files["rgb.png"], truncated, corrupt, missing, files["rgb.bmp"]]
    # The crop sits below the truncation point: rows past the end must raise, not be gray.
    with pytest.raises(pixfeed.DecodeError, match=r"truncated\.jpg"):
        pixfeed.crop_paths(srcs, 0.5, 0.9, 0.1, 16)
    got = pixfeed.crop_paths(srcs, 0.5, 0.9, 0.1, 16, on_error="skip")
    assert got.shape == (2, 16, 16, 3)
    assert set(got.errors) == {1, 2, 3}
    assert isinstance(got.errors[3], FileNotFoundError)
    assert "corrupt.png" in str(got.errors[2])
