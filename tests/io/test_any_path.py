"""Any path Python can name opens the file it names, through every entry point: a file
whose name is not UTF-8 (``caf\\xe9``, Latin-1 bytes) as ``scan`` and ``os.listdir`` return
it (a str with surrogate escapes), as bytes (where bytes are not image data), as an
``os.PathLike`` (str or bytes); errors name that path."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
from pixfeed.config import ENV_VARS

NAME = b"caf\xe9"  # not UTF-8


def pixels(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class BytesPath:
    """An ``os.PathLike`` whose ``__fspath__`` gives bytes (like ``os.DirEntry`` of a
    bytes ``scandir``)."""

    def __init__(self, path: bytes) -> None:
        self.path = path

    def __fspath__(self) -> bytes:
        return self.path


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """``caf\\xe9/`` holding ``caf\\xe9.png``, ``caf\\xe9.bmp`` (lossless: exact pixels) and a
    corrupt ``caf\\xe9-bad.jpg``."""
    d = os.path.join(os.fsencode(tmp_path), NAME)
    try:
        os.mkdir(d)
    except (OSError, UnicodeError):  # pragma: no cover - a filesystem that refuses such names
        pytest.skip("this filesystem refuses file names that are not UTF-8")
    with open(os.path.join(d, NAME + b".png"), "wb") as f:
        f.write(pixfeed.encode(pixels(1), "png"))
    with open(os.path.join(d, NAME + b".bmp"), "wb") as f:
        f.write(pixfeed.encode(pixels(2), "bmp"))
    with open(os.path.join(d, NAME + b"-bad.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40)
    return Path(os.fsdecode(d))


def spellings(folder: Path, name: bytes = NAME + b".png") -> list[Any]:
    """The ways to name one file: str (surrogate escapes), Path, bytes PathLike, DirEntry."""
    raw = os.path.join(os.fsencode(folder), name)
    entry = next(e for e in os.scandir(os.fsencode(folder)) if e.name == name)
    return [os.fsdecode(raw), Path(os.fsdecode(raw)), BytesPath(raw), entry]


def test_scan_lists_the_names_that_open(folder: Path) -> None:
    found = pixfeed.scan(folder.parent)
    want = sorted(
        os.fsdecode(os.path.join(os.fsencode(folder), n))
        for n in (NAME + b".bmp", NAME + b".png", NAME + b"-bad.jpg")
    )
    assert list(found) == want
    assert list(pixfeed.scan(os.fsencode(folder))) == want  # a bytes root
    assert list(pixfeed.scan(BytesPath(os.fsencode(folder)))) == want
    for p in found:
        assert os.path.exists(p)


def test_decode_and_probe_take_every_spelling(folder: Path) -> None:
    for path in spellings(folder):
        assert np.array_equal(pixfeed.decode(path), pixels(1)), path
        info = pixfeed.probe(path)
        assert (info.width, info.height, info.format) == (64, 48, "png")
    assert np.array_equal(
        pixfeed.decode(spellings(folder)[0], roi=(3, 4, 10, 8)), pixels(1)[4:12, 3:13]
    )


def test_batches_take_every_spelling(folder: Path) -> None:
    paths = spellings(folder)
    for batch in (
        pixfeed.decode_batch(paths, threads=2),
        pixfeed.load_images(paths, threads=2),
        pixfeed.load_images(paths, threads=2, progress=True),
    ):
        assert len(batch) == len(paths) and not batch.errors
        for img in batch:
            assert np.array_equal(img, pixels(1))


def test_crop_paths_takes_every_spelling(folder: Path) -> None:
    paths = spellings(folder)
    out = pixfeed.crop_paths(paths, 0.0, 0.0, 1.0, 16)
    want = pixfeed.crop_paths([pixfeed.encode(pixels(1), "png")] * len(paths), 0.0, 0.0, 1.0, 16)
    assert not out.errors and np.array_equal(out, want)


def test_pipeline_and_loader(folder: Path) -> None:
    paths = spellings(folder)
    pipe = pixfeed.Pipeline(16, crop="resize", dtype="uint8", layout="NHWC", mean=0, std=1)
    data = [pixfeed.encode(pixels(1), "png")] * len(paths)
    want = pipe(data, seed=0)
    assert np.array_equal(pipe(paths, seed=0), want)
    loader = pixfeed.Loader(paths, pipeline=pipe, batch_size=2, shuffle=False)
    got = np.concatenate([np.asarray(b) for b in loader])
    assert np.array_equal(got, want)
    loader.close()


def test_image_cache_takes_every_spelling(folder: Path) -> None:
    raw = os.path.join(os.fsencode(folder), NAME + b".bmp")
    t = 1_600_000_000 * 10**9  # an old mtime: cached on the first get
    os.utime(raw, ns=(t, t))
    cache = pixfeed.ImageCache(max_mb=10)
    for path in [*spellings(folder, NAME + b".bmp"), raw]:
        assert np.array_equal(cache.get(path), pixels(2))
        assert path in cache
    s = cache.stats()
    assert s["misses"] == 1 and s["hits"] == 4 and s["entries"] == 1
    # A just-written file (racy: read and hashed by the cache itself) too.
    png = os.path.join(os.fsencode(folder), NAME + b".png")
    assert np.array_equal(cache.get(png), pixels(1)) and np.array_equal(cache.get(png), pixels(1))
    cache.put(BytesPath(png), pixels(3))
    assert np.array_equal(cache.get(png), pixels(3))
    cache.clear()
    job = cache.preload([raw, BytesPath(png), Path(os.fsdecode(png))])
    job.wait()
    assert job.errors == {} and len(cache) == 2


def test_errors_name_the_path(folder: Path) -> None:
    bad = os.fsdecode(os.path.join(os.fsencode(folder), NAME + b"-bad.jpg"))
    missing = os.fsdecode(os.path.join(os.fsencode(folder), b"gone-" + NAME + b".png"))
    shown = "caf\\xe9"  # how the message shows the byte that is not UTF-8

    def check_decode_error(e: BaseException) -> None:
        assert isinstance(e, pixfeed.DecodeError), e
        assert e.source == bad and os.fsencode(e.source).endswith(NAME + b"-bad.jpg")
        assert shown in str(e) and str(e).encode("utf-8")  # printable anywhere

    def check_missing(e: BaseException) -> None:
        assert isinstance(e, FileNotFoundError), e
        assert e.filename == missing

    for path, check in ((bad, check_decode_error), (missing, check_missing)):
        with pytest.raises(Exception) as info:
            pixfeed.decode(path)
        check(info.value)
        with pytest.raises(Exception) as info:
            pixfeed.probe(Path(path))
        check(info.value)
        batch = pixfeed.decode_batch([path, BytesPath(os.fsencode(path))], on_error="none")
        check(batch.errors[0])
        check(batch.errors[1])
        check(pixfeed.load_images([path], on_error="skip").errors[0])
        check(pixfeed.crop_paths([path], 0, 0, 1.0, 8, on_error="skip").errors[0])
        with pytest.raises(Exception) as info:
            pixfeed.ImageCache().get(path)
        check(info.value)
        job = pixfeed.ImageCache().preload([path])
        job.wait()
        check(job.errors[path])
    loader = pixfeed.Loader([bad], batch_size=1, on_error="raise")
    with pytest.raises(pixfeed.DecodeError) as info:
        list(loader)
    check_decode_error(info.value)


def test_filter_images(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from _onnx_models import build_grid_detector, cell_image

    model = build_grid_detector(tmp_path / "grid.onnx")
    red = os.path.join(os.fsencode(folder), b"red-" + NAME + b".png")
    with open(red, "wb") as f:
        f.write(pixfeed.encode(cell_image({(1, 1): "red"}), "png"))
    cfg = pixfeed.Config(threads=1)
    cache = tmp_path / "filter.sqlite"
    first = pixfeed.filter_images(folder, model, classes="red", cache=cache, config=cfg)
    assert first.matched_paths == [os.fsdecode(red)]
    assert first.counts["errors"] == 1  # the corrupt file, reported
    again = pixfeed.filter_images(
        os.fsencode(folder), model, classes="red", cache=cache, config=cfg
    )
    assert again.matched_paths == [os.fsdecode(red)] and again.counts["inferred"] == 0
    listed = pixfeed.filter_images([red, BytesPath(red)], model, cache=False, config=cfg)
    assert listed.matched_paths == [os.fsdecode(red)] * 2
    txt = tmp_path / "m.txt"
    first.write_txt(txt)
    assert txt.read_bytes() == red + b"\n"
    first.write_csv(tmp_path / "m.csv")
    first.write_json(tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["matched"] == [os.fsdecode(red)]


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    env.update(PIXFEED_CACHE_DIR=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", *args],
        capture_output=True,
        timeout=300,
        check=False,
        env=env,
        cwd=str(tmp),
    )


def test_cli_resize_crop_scan_filter(folder: Path, tmp_path: Path) -> None:
    png = os.fsdecode(os.path.join(os.fsencode(folder), NAME + b".png"))
    bmp = os.fsdecode(os.path.join(os.fsencode(folder), NAME + b".bmp"))

    r = cli(tmp_path, "scan", str(folder))
    assert r.returncode == 0, r.stderr
    assert os.fsencode(png) + b"\n" in r.stdout

    out = tmp_path / "resized"
    r = cli(tmp_path, "resize", png, bmp, "--size", "16x12", "--out", str(out))
    assert r.returncode == 0, r.stderr
    made = sorted(os.listdir(os.fsencode(out)))
    assert made == [NAME + b".bmp", NAME + b".png"]
    want = pixfeed.resize(pixels(1), (16, 12))
    made_png = os.fsdecode(os.path.join(os.fsencode(out), NAME + b".png"))
    assert np.array_equal(pixfeed.decode(made_png), want)

    # A CSV naming the file: its bytes are the name on disk.
    table = tmp_path / "crops.csv"
    with open(table, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        csv.writer(f).writerows([["x", "y", "scale", "path"], [0, 0, 1.0, png]])
    r = cli(tmp_path, "crop", "--csv", str(table), "--window", "8", "--out", "w.npy")
    assert r.returncode == 0, r.stderr
    expected = pixfeed.crop_paths([png], 0, 0, 1.0, 8)
    assert np.array_equal(np.load(tmp_path / "w.npy"), expected)
    (tmp_path / "plain.csv").write_text("x,y,scale\n0,0,1.0\n")
    r = cli(tmp_path, "crop", bmp, "--csv", "plain.csv", "--window", "8", "--out", "crops")
    assert r.returncode == 0, r.stderr
    assert os.listdir(os.fsencode(tmp_path / "crops")) == [NAME + b".bmp"]

    pytest.importorskip("onnxruntime")
    from _onnx_models import build_grid_detector, cell_image

    red = os.path.join(os.fsencode(folder), b"red-" + NAME + b".png")
    with open(red, "wb") as f:
        f.write(pixfeed.encode(cell_image({(1, 1): "red"}), "png"))
    model = build_grid_detector(tmp_path / "grid.onnx")
    for _ in range(2):  # the second run is served by the result cache
        r = cli(
            tmp_path, "filter", str(folder), "--model", str(model), "--classes", "red",
            "--txt", "m.txt", "--csv", "m.csv",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout == red + b"\n"
        assert (tmp_path / "m.txt").read_bytes() == red + b"\n"
    assert b"0 inferred, 3 from the cache" in r.stderr
