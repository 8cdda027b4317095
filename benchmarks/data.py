"""Deterministic benchmark image sets, made from real photos (scikit-image's sample data).

Every set is generated with a seeded RNG and encoded with Pillow, then cached under
``benchmarks/out/data/<DATA_VERSION>/`` with a manifest; bump ``DATA_VERSION`` whenever the
recipe changes so that stale caches are never reused.

Sets (all 8-bit RGB):

* ``imagenet``: 256 ImageNet-like JPEGs, about 500x375 (a mix of landscape and portrait sizes
  as in ImageNet), random crops / scales / flips of the photos, mild sensor-like noise so the
  files have ImageNet-like sizes, Pillow quality 90, 4:2:0 chroma subsampling, baseline.
* ``jpeg2048`` / ``jpeg4000``: one 2048x2048 and one 4000x4000 JPEG (q90, 4:2:0): a 2x2 mosaic
  of upscaled photos plus mild noise, so they are not trivially compressible.
* ``png_small`` / ``bmp_small``: 32 PNGs / 24-bit BMPs of about 500x375 (the same kind of
  crops, without the added noise for PNG, which real PNGs rarely carry).
* ``png2048`` / ``bmp2048``: one 2048x2048 PNG / BMP (the mosaic).

The crop suite's sets are made on first use by :func:`ensure_crop`, in their own
cache ``benchmarks/out/data/crop-<CROP_VERSION>/`` (so that the sets above, and caches of
them made before, stay as they are):

* ``gray4000_jpeg`` / ``gray4000_png`` / ``gray4000_bmp``: 32 different 4000x4000 grayscale
  images, each a 2x2 mosaic of four randomly chosen, randomly cropped and flipped photos
  upscaled to 2000x2000 tiles; JPEG q90 with noise sigma 6 (as ``jpeg4000``), PNG (zlib level
  6) and 8-bit BMP (bottom-up, gray palette) of the same mosaic without noise (as
  ``png2048``/``bmp2048``).
* ``color512_jpeg`` / ``color512_png``: 32 different 512x512 RGB crops of the photos; JPEG
  q90 4:2:0 with noise sigma 8 (as ``imagenet``), PNG without noise.

The loader suite asks for an epoch of 1000 files: :func:`ensure_loader` makes
``imagenet1000`` (the ``imagenet`` recipe, its own seed) in ``loader-<LOADER_VERSION>/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_VERSION = "v1"
SEED = 20240601
CROP_VERSION = "c1"
CROP_SEED = 20240604
N_CROP = 32
N_IMAGENET = 256
N_SMALL = 32
LOADER_VERSION = "l1"
LOADER_SEED = 20240605
N_LOADER = 1000
JPEG_QUALITY = 90

# ImageNet's most common sizes (the short side is usually 333-375 at width 500).
_IMAGENET_SIZES = [
    (500, 375),
    (500, 375),
    (500, 375),
    (500, 375),
    (375, 500),
    (500, 333),
    (333, 500),
    (500, 400),
    (500, 500),
    (400, 300),
]

DEFAULT_DIR = Path(__file__).resolve().parent / "out" / "data"

#: A generator's account of what it wrote: per set, its description and files.
Manifest = dict[str, dict[str, object]]


@dataclass(frozen=True)
class ImageFile:
    path: str
    width: int
    height: int
    nbytes: int

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


@dataclass
class DataSet:
    name: str
    description: str
    files: list[ImageFile]

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def read(self, n: int | None = None) -> list[bytes]:
        """The files' bytes (the first ``n``), read into memory."""
        out = []
        for f in self.files[:n]:
            with open(f.path, "rb") as fh:
                out.append(fh.read())
        return out

    def megapixels(self, n: int | None = None) -> float:
        return sum(f.megapixels for f in self.files[:n])


def _photos() -> list[np.ndarray]:
    import skimage.data as d

    photos = []
    for name in (
        "astronaut",
        "coffee",
        "chelsea",
        "rocket",
        "immunohistochemistry",
        "hubble_deep_field",
        "retina",
        "colorwheel",
    ):
        photos.append(np.ascontiguousarray(getattr(d, name)()[..., :3]))
    left, right, _ = d.stereo_motorcycle()
    photos.append(np.ascontiguousarray(left))
    photos.append(np.ascontiguousarray(right))
    return photos


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BICUBIC))


def _noise(rng: np.random.Generator, a: np.ndarray, sigma: float) -> np.ndarray:
    n = rng.normal(0.0, sigma, size=a.shape).astype(np.float32)
    return np.clip(a.astype(np.float32) + n, 0, 255).astype(np.uint8)


def _random_crop(rng: np.random.Generator, photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A random crop of ``photo`` with the aspect of ``size`` (w, h), resized to ``size``."""
    h, w = photo.shape[:2]
    tw, th = size
    aspect = tw / th
    scale = rng.uniform(0.35, 1.0)  # fraction of the largest crop of that aspect
    cw = min(w, h * aspect) * np.sqrt(scale)
    ch = cw / aspect
    cw_i, ch_i = max(16, int(cw)), max(16, int(ch))
    x = int(rng.integers(0, w - cw_i + 1))
    y = int(rng.integers(0, h - ch_i + 1))
    crop = photo[y : y + ch_i, x : x + cw_i]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return _resize(np.ascontiguousarray(crop), size)


def _mosaic(photos: list[np.ndarray], side: int) -> np.ndarray:
    half = side // 2
    tiles = []
    for p in photos[:4]:
        h, w = p.shape[:2]
        s = min(h, w)
        y, x = (h - s) // 2, (w - s) // 2
        tiles.append(_resize(np.ascontiguousarray(p[y : y + s, x : x + s]), (half, half)))
    top = np.concatenate(tiles[:2], axis=1)
    bottom = np.concatenate(tiles[2:4], axis=1)
    return np.ascontiguousarray(np.concatenate([top, bottom], axis=0)[:side, :side])


def _random_mosaic(rng: np.random.Generator, photos: list[np.ndarray], side: int) -> np.ndarray:
    """A 2x2 mosaic of four random square crops (35-100 % of the largest), randomly flipped,
    each upscaled to ``side / 2``."""
    half = side // 2
    tiles = []
    for _ in range(4):
        tiles.append(_random_crop(rng, photos[int(rng.integers(len(photos)))], (half, half)))
    top = np.concatenate(tiles[:2], axis=1)
    bottom = np.concatenate(tiles[2:4], axis=1)
    return np.ascontiguousarray(np.concatenate([top, bottom], axis=0)[:side, :side])


def _gray(a: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(a).convert("L"))


def _encode(a: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(a)
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=False)
    elif fmt == "PNG":
        im.save(buf, "PNG", compress_level=6)
    elif fmt == "BMP":
        im.save(buf, "BMP")
    else:  # pragma: no cover
        raise ValueError(fmt)
    return buf.getvalue()


def _write_file(
    root: Path,
    sets: dict[str, dict[str, object]],
    set_name: str,
    fname: str,
    arr: np.ndarray,
    fmt: str,
) -> None:
    """Encode ``arr`` to ``root/set_name/fname`` and list it in ``sets[set_name]``."""
    d = root / set_name
    d.mkdir(parents=True, exist_ok=True)
    data = _encode(arr, fmt)
    (d / fname).write_bytes(data)
    entry = sets.setdefault(set_name, {"description": "", "files": []})
    files = entry["files"]
    assert isinstance(files, list)
    files.append(
        {
            "file": f"{set_name}/{fname}",
            "width": int(arr.shape[1]),
            "height": int(arr.shape[0]),
            "nbytes": len(data),
        }
    )


def _imagenet_like(rng: np.random.Generator, photos: list[np.ndarray]) -> np.ndarray:
    """One ImageNet-like image: a random photo, cropped to a random ImageNet size, noise
    sigma 8 (the rng draws are the same as when this was written inline: caches stay valid)."""
    photo = photos[int(rng.integers(len(photos)))]
    size = _IMAGENET_SIZES[int(rng.integers(len(_IMAGENET_SIZES)))]
    return _noise(rng, _random_crop(rng, photo, size), sigma=8.0)


def _generate(root: Path, rng: np.random.Generator, photos: list[np.ndarray]) -> Manifest:
    sets: dict[str, dict[str, object]] = {}

    def write(set_name: str, desc: str, items: list[tuple[str, np.ndarray, str]]) -> None:
        for fname, arr, fmt in items:
            _write_file(root, sets, set_name, fname, arr, fmt)
        sets[set_name]["description"] = desc

    # ImageNet-like JPEGs.
    items = [(f"{i:04d}.jpg", _imagenet_like(rng, photos), "JPEG") for i in range(N_IMAGENET)]
    write(
        "imagenet",
        f"{N_IMAGENET} ImageNet-like JPEGs (~500x375, q{JPEG_QUALITY}, 4:2:0, baseline)",
        items,
    )

    big_a = _noise(rng, _mosaic([photos[i] for i in (0, 1, 3, 8)], 2048), sigma=6.0)
    write("jpeg2048", "one 2048x2048 JPEG (q90, 4:2:0)", [("2048.jpg", big_a, "JPEG")])
    big_b = _noise(rng, _mosaic([photos[i] for i in (2, 5, 6, 9)], 4000), sigma=6.0)
    write("jpeg4000", "one 4000x4000 JPEG (q90, 4:2:0)", [("4000.jpg", big_b, "JPEG")])
    del big_b

    small = []
    for _ in range(N_SMALL):
        photo = photos[int(rng.integers(len(photos)))]
        size = _IMAGENET_SIZES[int(rng.integers(len(_IMAGENET_SIZES)))]
        small.append(_random_crop(rng, photo, size))
    write(
        "png_small",
        f"{N_SMALL} RGB PNGs (~500x375, zlib level 6)",
        [(f"{i:04d}.png", a, "PNG") for i, a in enumerate(small)],
    )
    write(
        "bmp_small",
        f"{N_SMALL} 24-bit BMPs (~500x375, bottom-up)",
        [(f"{i:04d}.bmp", a, "BMP") for i, a in enumerate(small)],
    )
    mosaic = _mosaic([photos[i] for i in (0, 1, 3, 8)], 2048)
    write("png2048", "one 2048x2048 RGB PNG (zlib level 6)", [("2048.png", mosaic, "PNG")])
    write("bmp2048", "one 2048x2048 24-bit BMP", [("2048.bmp", mosaic, "BMP")])
    return sets


def _generate_crop(root: Path, rng: np.random.Generator, photos: list[np.ndarray]) -> Manifest:
    """The crop suite's sets (see the module docstring), written one file at a time."""
    sets: dict[str, dict[str, object]] = {}
    for i in range(N_CROP):
        mosaic = _gray(_random_mosaic(rng, photos, 4000))
        _write_file(root, sets, "gray4000_jpeg", f"{i:04d}.jpg", _noise(rng, mosaic, 6.0), "JPEG")
        _write_file(root, sets, "gray4000_png", f"{i:04d}.png", mosaic, "PNG")
        _write_file(root, sets, "gray4000_bmp", f"{i:04d}.bmp", mosaic, "BMP")
    for i in range(N_CROP):
        a = _random_crop(rng, photos[int(rng.integers(len(photos)))], (512, 512))
        _write_file(root, sets, "color512_jpeg", f"{i:04d}.jpg", _noise(rng, a, 8.0), "JPEG")
        _write_file(root, sets, "color512_png", f"{i:04d}.png", a, "PNG")
    descriptions = {
        "gray4000_jpeg": f"{N_CROP} 4000x4000 grayscale JPEGs (2x2 photo mosaics + noise, "
        f"q{JPEG_QUALITY}, baseline)",
        "gray4000_png": f"{N_CROP} 4000x4000 grayscale PNGs (the mosaics, zlib level 6)",
        "gray4000_bmp": f"{N_CROP} 4000x4000 8-bit grayscale BMPs (the mosaics, bottom-up)",
        "color512_jpeg": f"{N_CROP} 512x512 RGB JPEGs (photo crops + noise, q{JPEG_QUALITY}, "
        "4:2:0, baseline)",
        "color512_png": f"{N_CROP} 512x512 RGB PNGs (the crops, zlib level 6)",
    }
    for name, desc in descriptions.items():
        sets[name]["description"] = desc
    return sets


def _generate_loader(root: Path, rng: np.random.Generator, photos: list[np.ndarray]) -> Manifest:
    sets: dict[str, dict[str, object]] = {}
    for i in range(N_LOADER):
        _write_file(root, sets, "imagenet1000", f"{i:04d}.jpg", _imagenet_like(rng, photos), "JPEG")
    sets["imagenet1000"]["description"] = (
        f"{N_LOADER} ImageNet-like JPEGs (~500x375, q{JPEG_QUALITY}, 4:2:0, baseline)"
    )
    return sets


def _digest(root: Path, sets: dict[str, dict[str, object]]) -> str:
    h = hashlib.sha256()
    for name in sorted(sets):
        files = sets[name]["files"]
        assert isinstance(files, list)
        for f in files:
            h.update(f["file"].encode())
            h.update((root / f["file"]).read_bytes())
    return h.hexdigest()[:16]


def _ensure(
    base: Path | str | None,
    dirname: str,
    version: str,
    seed: int,
    generate: Callable[[Path, np.random.Generator, list[np.ndarray]], Manifest],
    log: Callable[[str], None] | None,
) -> dict[str, DataSet]:
    """The sets in ``base/dirname``, made first when missing: ``generate(folder, rng, photos)``
    writes them, drawing from ``rng`` (seeded with ``seed``) and the sample ``photos``."""
    base = Path(base) if base is not None else DEFAULT_DIR
    root = base / dirname
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        if log is not None:
            log(f"bench: generating benchmark images in {root} ...")
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dirname}-", dir=base))
        try:
            sets = generate(tmp, np.random.default_rng(seed), _photos())
            manifest = {
                "version": version,
                "seed": seed,
                "digest": _digest(tmp, sets),
                "sets": sets,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
            try:
                os.rename(tmp, root)
            except OSError:  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    manifest = json.loads(manifest_path.read_text())
    out = {}
    for name, s in manifest["sets"].items():
        files = [
            ImageFile(str(root / f["file"]), f["width"], f["height"], f["nbytes"])
            for f in s["files"]
        ]
        out[name] = DataSet(name, s["description"], files)
    return out


def ensure(
    base: Path | str | None = None, *, log: Callable[[str], None] | None = print
) -> dict[str, DataSet]:
    """Generate (once) and return the benchmark sets, keyed by set name."""
    return _ensure(base, DATA_VERSION, DATA_VERSION, SEED, _generate, log)


def ensure_crop(
    base: Path | str | None = None, *, log: Callable[[str], None] | None = print
) -> dict[str, DataSet]:
    """Generate (once) and return the crop suite's sets (about 1 GB; a minute or two)."""
    return _ensure(base, f"crop-{CROP_VERSION}", CROP_VERSION, CROP_SEED, _generate_crop, log)


def ensure_loader(
    base: Path | str | None = None, *, log: Callable[[str], None] | None = print
) -> dict[str, DataSet]:
    """Generate (once) and return the loader suite's 1000-file set (about 100 MB)."""
    return _ensure(
        base, f"loader-{LOADER_VERSION}", LOADER_VERSION, LOADER_SEED, _generate_loader, log
    )


def manifest_info(
    base: Path | str | None = None, *, dirname: str = DATA_VERSION
) -> dict[str, object]:
    base = Path(base) if base is not None else DEFAULT_DIR
    m = json.loads((base / dirname / "manifest.json").read_text())
    return {"version": m["version"], "seed": m["seed"], "digest": m["digest"]}


def crop_manifest_info(base: Path | str | None = None) -> dict[str, object]:
    return manifest_info(base, dirname=f"crop-{CROP_VERSION}")


def loader_manifest_info(base: Path | str | None = None) -> dict[str, object]:
    return manifest_info(base, dirname=f"loader-{LOADER_VERSION}")


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    all_sets = (
        ensure_crop() if "--crop" in args else ensure_loader() if "--loader" in args else ensure()
    )
    for name, ds in all_sets.items():
        sizes = [f.nbytes for f in ds.files]
        print(
            f"{name:10s} {len(ds.files):4d} files  {ds.megapixels():7.2f} MP  "
            f"mean {np.mean(sizes) / 1024:8.1f} KiB  "
            f"{8 * sum(sizes) / (ds.megapixels() * 1e6):.2f} bits/px  {ds.description}"
        )
