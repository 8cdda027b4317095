"""The built-in sample set for `pixfeed demo`: real photographs from scikit-image's bundled
sample data, cut into ImageNet-sized JPEGs with a seeded RNG, made once and cached."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

__all__ = ["default_dir", "make_sample_set"]

_VERSION = "1"
_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle_left")


def default_dir() -> Path:
    base = os.environ.get("PIXFEED_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pixfeed"
    )
    return Path(base) / f"demo-v{_VERSION}"


def _photos() -> list[np.ndarray]:
    try:
        import skimage.data as data
    except ImportError as e:  # pragma: no cover - the demo's requirements include it
        raise RuntimeError(
            "pixfeed demo needs scikit-image for its sample photos: pip install scikit-image"
        ) from e
    out = []
    for name in _PHOTOS:
        fn = getattr(data, name, None)
        if fn is None:
            continue
        try:
            img = np.asarray(fn())
        except Exception:  # a photo that needs a download (pooch) is skipped
            continue
        if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
            out.append(img)
    if not out:
        raise RuntimeError("no scikit-image sample photo could be loaded")
    return out


def make_sample_set(directory: Path | None = None, count: int = 200) -> list[Path]:
    """Write `count` JPEGs of about 500x375 (quality 90, 4:2:0) cut from real photos."""
    from PIL import Image

    directory = Path(directory or default_dir())
    paths = [directory / f"img{i:04d}.jpg" for i in range(count)]
    if all(p.exists() for p in paths):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    photos = _photos()
    for i, path in enumerate(paths):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        ch = int(rng.integers(h // 2, h + 1))
        cw = int(rng.integers(w // 2, w + 1))
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        crop = Image.fromarray(photo[y : y + ch, x : x + cw])
        out_w = int(rng.integers(440, 560))
        out_h = int(out_w * rng.uniform(0.66, 0.8))
        crop = crop.resize((out_w, out_h), Image.Resampling.BICUBIC)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buf = io.BytesIO()
        crop.save(buf, "JPEG", quality=90)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
    return paths
