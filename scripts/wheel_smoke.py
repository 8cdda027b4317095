#!/usr/bin/env python3
"""Smoke test of an *installed* pixfeed wheel (scripts/wheel_check.sh drives it).

    python wheel_smoke.py reference DIR   # with Pillow (the dev venv): fixtures + reference.npz
    python wheel_smoke.py smoke DIR       # with the wheel's venv: numpy and pixfeed only
    python wheel_smoke.py hashes DIR OUT  # SHA-256 of every JPEG/PNG fixture decoded as RGB

`reference` writes every decoder fixture (scripts/make_fixtures.py) into DIR with Pillow's
pixels (the reference the test suite uses), a Pillow resize and a torchvision-rule NMS
answer. `smoke` then checks, against the installed package (never the source tree): every
fixture format decodes to Pillow's pixels (exact; lossy WebP within 2 levels), a resize
within 1 level of Pillow, a Loader epoch whose batches are the decoded-and-resized images,
and nms. `hashes` is what runs under qemu: its output must equal the native run's.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESIZE_SIZE = (101, 67)  # (width, height): odd, shrinks both ways
# Divergences from Pillow tested on their own by the suite (tests/decode/test_decode_reference.py).
SKIP_TAGS = {"xmp_orientation", "exif_after_idat"}


def image_fixtures(manifest: dict[str, dict[str, object]]) -> list[str]:
    return sorted(
        n
        for n, m in manifest.items()
        if m["kind"] == "image" and not SKIP_TAGS & set(m["tags"])  # type: ignore[arg-type]
    )


def nms_reference(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Greedy NMS as torchvision's CPU kernel (stable descending sort, IoU > thr drops)."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    area = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    removed = np.zeros(len(boxes), bool)
    for i in order:
        if removed[i]:
            continue
        keep.append(int(i))
        w = np.maximum(np.minimum(x2[i], x2) - np.maximum(x1[i], x1), 0)
        h = np.maximum(np.minimum(y2[i], y2) - np.maximum(y1[i], y1), 0)
        inter = w * h
        iou = inter / (area[i] + area - inter)
        removed |= iou > thr
    return keep


def nms_input() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(14)
    xy = rng.uniform(0, 200, (300, 2))
    wh = rng.uniform(5, 60, (300, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float64)
    scores = rng.uniform(0, 1, 300)
    return boxes, scores


def reference(d: Path) -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT / "tests"))
    import make_fixtures
    from PIL import Image

    from conftest import pil_reference

    d.mkdir(parents=True, exist_ok=True)
    manifest = make_fixtures.generate(d)
    ref = {}
    for name in image_fixtures(manifest):
        ref[f"rgb/{name}"] = pil_reference(d / name, "RGB")
    src = ref["rgb/jpeg_astronaut_444.jpg"]
    ref["resize"] = np.asarray(Image.fromarray(src).resize(RESIZE_SIZE, Image.BILINEAR))
    boxes, scores = nms_input()
    ref["nms"] = np.asarray(nms_reference(boxes, scores, 0.5), np.int64)
    np.savez_compressed(d / "reference.npz", **ref)
    print(f"wheel_smoke: {len(ref)} references in {d}")
    return 0


def check_installed() -> None:
    import pixfeed
    from pixfeed import _core

    where = Path(pixfeed.__file__).resolve()
    if ROOT / "python" in where.parents and not os.environ.get("WHEEL_SMOKE_DEV"):
        raise SystemExit(f"wheel_smoke: pixfeed imported from the source tree ({where})")
    info = _core.build_info()
    print(
        f"wheel_smoke: pixfeed {pixfeed.__version__} from {where.parent} "
        f"({Path(_core.__file__).name}), Python {sys.version.split()[0]}, "
        f"simd {info['simd']}, jpeg decoder {info.get('jpeg_decoder')}"
    )


def smoke(d: Path) -> int:
    import pixfeed

    check_installed()
    manifest = json.loads((d / "manifest.json").read_text())
    ref = np.load(d / "reference.npz")
    names = image_fixtures(manifest)
    fmts: dict[str, int] = {}
    for name in names:
        got = pixfeed.decode(d / name, mode="RGB")
        want = ref[f"rgb/{name}"]
        if got.shape != want.shape:
            raise SystemExit(f"{name}: shape {got.shape} != Pillow {want.shape}")
        diff = int(np.abs(got.astype(np.int16) - want.astype(np.int16)).max(initial=0))
        limit = 2 if manifest[name]["lossy"] else 0
        if diff > limit:
            raise SystemExit(f"{name}: differs from Pillow by {diff} (limit {limit})")
        fmts[str(manifest[name]["fmt"])] = fmts.get(str(manifest[name]["fmt"]), 0) + 1
    if set(fmts) != {"jpeg", "png", "bmp", "webp"}:
        raise SystemExit(f"wheel_smoke: fixture formats {sorted(fmts)}")
    print(f"wheel_smoke: decode equals Pillow on {len(names)} fixtures {fmts}")

    src = pixfeed.decode(d / "jpeg_astronaut_444.jpg")
    small = pixfeed.resize(src, RESIZE_SIZE)
    diff = int(np.abs(small.astype(np.int16) - ref["resize"].astype(np.int16)).max())
    if small.shape != ref["resize"].shape or diff > 1:
        raise SystemExit(f"resize: {small.shape} vs {ref['resize'].shape}, max diff {diff}")
    print(f"wheel_smoke: resize within {diff} of Pillow")

    jpegs = sorted(d / n for n in names if manifest[n]["fmt"] == "jpeg")[:12]
    pipe = pixfeed.Pipeline(48, crop="resize", flip=0.0, dtype="uint8", layout="NHWC")
    direct = pipe([str(p) for p in jpegs], seed=0)
    loader = pixfeed.Loader(
        [str(p) for p in jpegs], list(range(len(jpegs))), pipeline=pipe, batch_size=5, threads=2
    )
    seen = 0
    for images, labels in loader:
        for img, label in zip(images, labels, strict=True):
            if not np.array_equal(img, direct[int(label)]):
                raise SystemExit(f"Loader: {jpegs[int(label)].name} differs from the Pipeline's")
            # The pipeline's fused decode+resize stays near a plain decode and resize.
            plain = pixfeed.resize(pixfeed.decode(jpegs[int(label)]), (48, 48))
            mean = float(np.abs(img.astype(np.int16) - plain.astype(np.int16)).mean())
            if mean > 6:
                raise SystemExit(f"Loader: {jpegs[int(label)].name} mean diff {mean:.2f} > 6")
            seen += 1
    loader.close()
    if seen != len(jpegs):
        raise SystemExit(f"Loader: {seen} images in an epoch, expected {len(jpegs)}")
    print(f"wheel_smoke: a Loader epoch of {seen} images in batches of 5")

    boxes, scores = nms_input()
    keep = pixfeed.nms(boxes, scores, 0.5)
    if not np.array_equal(keep, ref["nms"]):
        raise SystemExit("nms: kept set differs from the reference")
    print(f"wheel_smoke: nms keeps {len(keep)} of {len(boxes)}")
    return 0


def hashes(d: Path, out: Path) -> int:
    import pixfeed

    check_installed()
    manifest = json.loads((d / "manifest.json").read_text())
    result = {}
    for name in image_fixtures(manifest):
        if manifest[name]["fmt"] in ("jpeg", "png"):
            a = pixfeed.decode(d / name, mode="RGB")
            result[name] = f"{a.shape} {hashlib.sha256(a.tobytes()).hexdigest()}"
    out.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"wheel_smoke: {len(result)} JPEG/PNG hashes -> {out}")
    return 0


def main(argv: list[str]) -> int:
    os.environ.setdefault("PIXFEED_NUM_THREADS", "2")
    if len(argv) >= 2 and argv[0] == "reference":
        return reference(Path(argv[1]))
    if len(argv) >= 2 and argv[0] == "smoke":
        return smoke(Path(argv[1]))
    if len(argv) >= 3 and argv[0] == "hashes":
        return hashes(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
