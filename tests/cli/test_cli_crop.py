"""`pixfeed crop` as a user runs it: files + CSV -> .npy batch or a folder of images."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

import pixfeed


def make_files(d: Path) -> list[Path]:
    photo = Image.fromarray(skimage.data.astronaut())
    paths = []
    for name in ("a.jpg", "b.png", "c.bmp"):
        p = d / name
        photo.save(p)
        paths.append(p)
    return paths


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", "crop", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_npy_output_equals_crop_paths(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    (tmp_path / "crops.csv").write_text("x,y,scale\n0.1,0.2,0.3\n0.5,0.5,0.25\n0.9,0.9,0.5\n")
    out = tmp_path / "out" / "batch.npy"
    r = cli(
        *map(str, files), "--csv", str(tmp_path / "crops.csv"), "--window", "32", "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    got = np.load(out)
    want = pixfeed.crop_paths(files, [0.1, 0.5, 0.9], [0.2, 0.5, 0.9], [0.3, 0.25, 0.5], 32)
    assert got.shape == (3, 32, 32, 3)
    assert np.array_equal(got, want)


def test_folder_output_with_path_column_and_a_bad_file(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    rows = [f"{p.name},0.3,0.3,0.4" for p in files] + ["broken.jpg,0.5,0.5,0.5"]
    (tmp_path / "crops.csv").write_text("path,x,y,scale\n" + "\n".join(rows) + "\n")
    out = tmp_path / "windows"
    r = cli(
        "--csv",
        str(tmp_path / "crops.csv"),
        "--window",
        "24",
        "--out",
        str(out),
        "--on-error",
        "skip",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.png", "c.bmp"]
    png = np.asarray(Image.open(out / "b.png"))
    assert png.shape == (24, 24, 3)
    want = pixfeed.crop_paths([files[1]], [0.3], [0.3], [0.4], 24)[0]
    assert np.array_equal(png, want)  # PNG is lossless
    assert '"skipped": 1' in r.stdout and "broken.jpg" in r.stdout


def test_mismatched_rows_and_files(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    (tmp_path / "crops.csv").write_text("x,y,scale\n0.1,0.2,0.3\n")
    r = cli(
        *map(str, files),
        "--csv",
        str(tmp_path / "crops.csv"),
        "--window",
        "8",
        "--out",
        str(tmp_path / "o.npy"),
    )
    assert r.returncode == 2 and "must match" in r.stderr
    (tmp_path / "bad.csv").write_text("x,y\n0.1,0.2\n")
    r = cli(
        str(files[0]),
        "--csv",
        str(tmp_path / "bad.csv"),
        "--window",
        "8",
        "--out",
        str(tmp_path / "o.npy"),
    )
    assert r.returncode != 0 and "scale" in r.stderr
    (tmp_path / "range.csv").write_text("x,y,scale\n1.5,0.2,0.3\n")
    r = cli(
        str(files[0]),
        "--csv",
        str(tmp_path / "range.csv"),
        "--window",
        "8",
        "--out",
        str(tmp_path / "o.npy"),
    )
    assert r.returncode == 1 and "x" in r.stderr
