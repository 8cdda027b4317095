"""No lost data from the CLI: `resize`, `crop` and `filter --copy-to` never write over a file
unless --overwrite asks for it (and never over another input), two sources with one name get
two outputs, --copy-to inside the folder is not scanned; `filter`'s cache, names and outputs
(exit codes, warnings, -0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _onnx_models import build_grid_detector, cell_image
from pixfeed.config import ENV_VARS


def pixfeed_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    env.update(PIXFEED_CACHE_DIR=str(cwd / "cache"), XDG_CONFIG_HOME=str(cwd / "xdg"))
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=str(cwd),
    )


def photo(path: Path, seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path.read_bytes()


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------
# resize


def test_resize_refuses_to_replace_its_source(tmp_path: Path) -> None:
    src = tmp_path / "a" / "x.png"
    before = photo(src, 1)
    r = pixfeed_cli(tmp_path, "resize", str(src), "--size", "32x32", "--out", str(src.parent))
    assert r.returncode == 2
    assert "would replace its source" in r.stderr and "--overwrite" in r.stderr
    assert src.read_bytes() == before and os.listdir(src.parent) == ["x.png"]
    # Asked for: replaced by the resized image, atomically (no temporary file left).
    r = pixfeed_cli(
        tmp_path, "resize", str(src), "--size", "32x32", "--out", str(src.parent), "--overwrite"
    )
    assert r.returncode == 0, r.stderr
    assert Image.open(src).size == (32, 32) and os.listdir(src.parent) == ["x.png"]


def test_resize_never_replaces_another_source(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"
    files = {a: photo(a, 1), b: photo(b, 2)}
    for extra in ([], ["--overwrite"]):
        # a/x.png would be written as b/x.png, which is b's source.
        r = pixfeed_cli(tmp_path, "resize", str(a), str(b), "--size", "8x8", "--out", "b", *extra)
        assert r.returncode == 2 and "would replace the input" in r.stderr, r.stderr
        assert all(p.read_bytes() == data for p, data in files.items())
        assert sorted(os.listdir(tmp_path / "b")) == ["x.png"]


def test_resize_same_names_get_distinct_outputs(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"
    photo(a, 1, (64, 48))
    photo(b, 2, (48, 64))
    r = pixfeed_cli(tmp_path, "resize", str(a), str(b), "--size", "16x16", "--out", "o", "--json")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "o"
    assert sorted(os.listdir(out)) == ["x-1.png", "x.png"]
    assert json.loads(r.stdout)["renamed"] == {str(b): str(Path("o") / "x-1.png")}
    import pixfeed

    for src, name in ((a, "x.png"), (b, "x-1.png")):
        want = pixfeed.resize(pixfeed.decode(src), (16, 16))
        assert np.array_equal(np.asarray(Image.open(out / name)), want)
    r = pixfeed_cli(tmp_path, "resize", str(a), str(b), "--size", "16x16", "--out", "o2")
    assert "o2/x-1.png (its name was taken by an earlier source)" in r.stderr


def test_resize_refuses_existing_files_and_writes_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "in" / "a.png", tmp_path / "in" / "b.png"
    photo(a, 1)
    photo(b, 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"precious, not an image")
    r = pixfeed_cli(tmp_path, "resize", str(a), str(b), "--size", "8x8", "--out", str(out))
    assert r.returncode == 2 and "b.png exists" in r.stderr and "nothing was written" in r.stderr
    assert snapshot(out) == {"b.png": b"precious, not an image"}  # a.png not written either
    r = pixfeed_cli(
        tmp_path, "resize", str(a), str(b), "--size", "8x8", "--out", str(out), "--overwrite"
    )
    assert r.returncode == 0, r.stderr
    assert Image.open(out / "b.png").size == (8, 8) and Image.open(out / "a.png").size == (8, 8)


def test_resize_overwrite_through_a_hard_link_keeps_the_source(tmp_path: Path) -> None:
    src = tmp_path / "x.png"
    before = photo(src, 3)
    out = tmp_path / "out"
    out.mkdir()
    os.link(src, out / "x.png")  # the output name is another name of the source
    r = pixfeed_cli(tmp_path, "resize", str(src), "--size", "8x8", "--out", str(out))
    assert r.returncode == 2 and "would replace its source" in r.stderr
    r = pixfeed_cli(tmp_path, "resize", str(src), "--size", "8x8", "--out", str(out), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert src.read_bytes() == before  # the link was replaced, not written through
    assert Image.open(out / "x.png").size == (8, 8)


# --------------------------------------------------------------------------------------------
# crop


def write_csv(path: Path, rows: int) -> None:
    path.write_text("x,y,scale\n" + "0.1,0.1,0.5\n" * rows)


def test_crop_folder_output_refuses_sources_and_existing_files(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    files = {d / "a.png": photo(d / "a.png", 1), d / "b.png": photo(d / "b.png", 2)}
    write_csv(tmp_path / "w.csv", 2)
    args = ["crop", str(d / "a.png"), str(d / "b.png"), "--csv", "w.csv", "--window", "16"]
    r = pixfeed_cli(tmp_path, *args, "--out", str(d))
    assert r.returncode == 2 and "would replace its source" in r.stderr
    assert all(p.read_bytes() == data for p, data in files.items())
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    r = pixfeed_cli(tmp_path, *args, "--out", str(out))
    assert r.returncode == 2 and "a.png exists" in r.stderr
    assert snapshot(out) == {"a.png": b"keep me"}
    r = pixfeed_cli(tmp_path, *args, "--out", str(out), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert Image.open(out / "a.png").size == (16, 16) and Image.open(out / "b.png").size == (16, 16)


def test_crop_npy_output_refuses_an_existing_file(tmp_path: Path) -> None:
    photo(tmp_path / "a.png", 1)
    write_csv(tmp_path / "w.csv", 1)
    (tmp_path / "out.npy").write_bytes(b"earlier results")
    args = ["crop", "a.png", "--csv", "w.csv", "--window", "8", "--out", "out.npy"]
    r = pixfeed_cli(tmp_path, *args)
    assert r.returncode == 2 and "out.npy exists" in r.stderr
    assert (tmp_path / "out.npy").read_bytes() == b"earlier results"
    r = pixfeed_cli(tmp_path, *args, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "out.npy").shape == (1, 8, 8, 3)
    # The CSV is an input too: never an output.
    csv_npy = tmp_path / "rows.npy"
    csv_npy.write_text("x,y,scale\n0.1,0.1,0.5\n")
    r = pixfeed_cli(tmp_path, "crop", "a.png", "--csv", "rows.npy", "--window", "8", "--out",
                    "rows.npy", "--overwrite")  # fmt: skip
    assert r.returncode == 2 and "would replace the input" in r.stderr
    assert csv_npy.read_text() == "x,y,scale\n0.1,0.1,0.5\n"


# --------------------------------------------------------------------------------------------
# filter


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("ow-model") / "grid.onnx")


def red_folder(d: Path, names: list[str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for n in names:
        (d / n).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(cell_image({(0, 0): "red"})).save(d / n)
    Image.fromarray(cell_image({})).save(d / "empty.png")
    return d


def test_copy_to_refuses_existing_files(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png", "b.png"])
    dest = tmp_path / "picked"
    dest.mkdir()
    (dest / "b.png").write_bytes(b"someone else's b")
    args = ["filter", str(d), "--model", str(model), "--copy-to", str(dest)]
    r = pixfeed_cli(tmp_path, *args, "--txt", "m.txt")
    assert r.returncode == 2 and "b.png exists" in r.stderr, r.stderr
    assert snapshot(dest) == {"b.png": b"someone else's b"}
    assert not (tmp_path / "m.txt").exists()  # a refused run writes nothing
    r = pixfeed_cli(tmp_path, *args, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert snapshot(dest) == {n: (d / n).read_bytes() for n in ("a.png", "b.png")}
    # A re-run finds identical copies: nothing to refuse, nothing copied.
    r = pixfeed_cli(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert "copied" not in r.stderr


def test_copy_to_the_folder_itself_is_refused(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png"])
    before = snapshot(d)
    for extra in ([], ["--overwrite"]):
        r = pixfeed_cli(tmp_path, "filter", str(d), "--model", str(model), "--copy-to", str(d),
                        *extra)  # fmt: skip
        assert r.returncode == 2 and "--copy-to" in r.stderr
    assert snapshot(d) == before


def test_copy_to_inside_the_folder_is_not_scanned(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png", "sub/b.png"])
    args = ["filter", str(d), "--model", str(model), "-r", "--copy-to", str(d / "picked")]
    for _ in range(3):
        r = pixfeed_cli(tmp_path, *args, "--json")
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["counts"]["total"] == 3  # a.png, empty.png, sub/b.png; never the copies
        assert sorted(data["matched"]) == [str(d / "a.png"), str(d / "sub" / "b.png")]
    assert sorted(str(p.relative_to(d)) for p in (d / "picked").rglob("*.png")) == [
        "picked/a.png",
        "picked/sub/b.png",
    ]


def test_exports_never_replace_an_image(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png"])
    before = snapshot(d)
    for opt in ("--txt", "--csv", "--json", "--report"):
        r = pixfeed_cli(tmp_path, "filter", str(d), "--model", str(model), opt, str(d / "a.png"))
        assert r.returncode == 2 and "would replace the input" in r.stderr, (opt, r.stderr)
    assert snapshot(d) == before


def test_cache_errors_and_recovery(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png"])
    args = ["filter", str(d), "--model", str(model)]
    r = pixfeed_cli(tmp_path, *args, "--cache", str(tmp_path))
    assert r.returncode == 2 and "is a folder" in r.stderr and "Traceback" not in r.stderr
    # A damaged default cache: set aside with a warning, and every later run is healthy.
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "filter.sqlite").write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
    r = pixfeed_cli(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert "warning: the result cache" in r.stderr and "damaged" in r.stderr
    assert r.stdout.splitlines() == [str(d / "a.png")]
    assert len(list(cache_dir.glob("filter.sqlite.corrupt-*"))) == 1
    r = pixfeed_cli(tmp_path, *args)
    assert r.returncode == 0 and "warning" not in r.stderr and "2 from the cache" in r.stderr


def test_deep_metadata_exits_1_with_a_message(tmp_path: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png"])
    deep = build_grid_detector(tmp_path / "deep.onnx", names="{0: " * 100_000 + "0" + "}" * 100_000)
    r = pixfeed_cli(tmp_path, "filter", str(d), "--model", str(deep))
    assert r.returncode == 1, r.stderr
    assert "invalid model" in r.stderr and "nested more than" in r.stderr
    assert "Traceback" not in r.stderr


def test_nul_separated_paths(tmp_path: Path, model: Path) -> None:
    d = red_folder(tmp_path / "imgs", ["a.png", "two\nlines.png"])
    base = [sys.executable, "-m", "pixfeed", "filter", str(d), "--model", str(model), "--no-cache"]
    r = subprocess.run([*base, "-0", "--txt", "m.txt"], capture_output=True, timeout=300,
                       cwd=tmp_path, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    want = [os.fsencode(d / "a.png"), os.fsencode(d / "two\nlines.png")]
    assert r.stdout.split(b"\0") == [*want, b""]
    assert (tmp_path / "m.txt").read_bytes() == r.stdout
    r = subprocess.run(base, capture_output=True, timeout=300, cwd=tmp_path, check=False)
    assert r.returncode == 0 and b"use -0" in r.stderr
    assert len(r.stdout.splitlines()) == 3  # the line break in the name: ambiguous without -0
