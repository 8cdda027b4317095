"""`pixfeed resize` as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

import pixfeed


def test_resize_folder_keeps_formats(tmp_path: Path) -> None:
    photo = Image.fromarray(skimage.data.astronaut())
    srcs = []
    for name in ("a.jpg", "b.png", "c.bmp", "d.webp"):
        p = tmp_path / name
        photo.save(p, **({"lossless": True} if name.endswith("webp") else {}))
        srcs.append(p)
    (tmp_path / "bad.png").write_bytes(b"nope")
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pixfeed",
            "resize",
            *map(str, srcs),
            str(tmp_path / "bad.png"),
            "--size",
            "64x48",
            "--out",
            str(out),
            "--on-error",
            "skip",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.png", "c.bmp", "d.webp"]
    for name, fmt in [("a.jpg", "JPEG"), ("b.png", "PNG"), ("c.bmp", "BMP"), ("d.webp", "WEBP")]:
        img = Image.open(out / name)
        assert img.format == fmt and img.size == (64, 48)
    want = pixfeed.resize(pixfeed.decode(srcs[1]), (64, 48))
    assert np.array_equal(np.asarray(Image.open(out / "b.png")), want)
    assert '"skipped": 1' in r.stdout
