"""`filter` never loses data nor dies on hostile input: the result cache recovers from damage
(damaged, truncated, malformed rows, damage found mid-run) and refuses unusable paths; its key
sees content changes that keep size and mtime; hostile model metadata is bounded; exports are
safe for spreadsheets; outputs never replace the images (CLI: tests/detect/test_cli_filter.py)."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from _onnx_models import build_grid_detector, cell_image
from pixfeed.detect.cache import CacheError
from pixfeed.detect.detector import MAX_METADATA_DEPTH, parse_names
from test_filter import CFG, make_folder


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("safety-model") / "grid.onnx")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "images")


def run(folder: Path, model: Path, **kw: object) -> pixfeed.FilterResult:
    kw.setdefault("config", CFG)
    return pixfeed.filter_images(folder, model, **kw)  # type: ignore[arg-type]


def quiet_run(folder: Path, model: Path, **kw: object) -> pixfeed.FilterResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a run on a healthy cache warns about nothing
        return run(folder, model, **kw)


def set_aside(cache: Path) -> list[Path]:
    return sorted(cache.parent.glob(cache.name + ".corrupt-*"))


# --------------------------------------------------------------------------------------------
# A damaged cache is set aside; a fresh one takes its place


def test_not_a_database_is_set_aside(folder: Path, model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    junk = b"this is not a database" * 100
    cache.write_bytes(junk)
    with pytest.warns(UserWarning, match=r"damaged.*moved to .*c\.sqlite\.corrupt-"):
        first = run(folder, model, cache=cache)
    assert (first.inferred, first.cached) == (7, 0)
    (aside,) = set_aside(cache)
    assert aside.read_bytes() == junk  # kept, not deleted
    again = quiet_run(folder, model, cache=cache)
    assert (again.inferred, again.cached) == (0, 7)
    assert again.matched_paths == first.matched_paths


def test_truncated_database_is_set_aside(folder: Path, model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    first = quiet_run(folder, model, cache=cache)
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2 + 7])
    with pytest.warns(UserWarning, match="damaged"):
        res = run(folder, model, cache=cache)
    assert res.matched_paths == first.matched_paths and res.inferred == 7
    assert len(set_aside(cache)) == 1
    assert quiet_run(folder, model, cache=cache).cached == 7


def test_damage_found_during_the_run(folder: Path, model: Path, tmp_path: Path) -> None:
    # The header and schema page are intact: the damage shows at the first lookup.
    cache = tmp_path / "c.sqlite"
    first = quiet_run(folder, model, cache=cache)
    with sqlite3.connect(cache) as db:
        page = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(cache.read_bytes())
    assert len(data) > page
    data[page:] = b"\xa5" * (len(data) - page)
    cache.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="damaged"):
        res = run(folder, model, cache=cache)
    assert res.matched_paths == first.matched_paths
    assert res.counts["errors"] == first.counts["errors"]
    assert len(set_aside(cache)) == 1
    assert quiet_run(folder, model, cache=cache).cached == 7


def test_foreign_table_is_set_aside(folder: Path, model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with sqlite3.connect(cache) as db:
        db.execute("PRAGMA user_version = 2")
        db.execute("CREATE TABLE detections (a, b)")
        db.execute("INSERT INTO detections VALUES (1, 2)")
    with pytest.warns(UserWarning, match="unexpected columns"):
        assert run(folder, model, cache=cache).inferred == 7
    with sqlite3.connect(set_aside(cache)[0]) as db:
        assert db.execute("SELECT * FROM detections").fetchall() == [(1, 2)]


def test_malformed_rows_are_misses(folder: Path, model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    first = quiet_run(folder, model, cache=cache)
    bad = {
        "a_red1.png": "boxes = x'0102'",  # not whole detections
        "b_red2.png": "width = 'wide'",
        "c_blue1.png": "height = -3",
        "d_mixed.png": "boxes = 'text'",
        "e_black.png": "size = NULL",
    }
    with sqlite3.connect(cache) as db:
        db.execute("PRAGMA ignore_check_constraints = 1")
        for name, change in bad.items():
            if "NULL" in change:  # NOT NULL column: rebuild the row with a string instead
                change = "size = 'x'"
            n = db.execute(
                f"UPDATE detections SET {change} WHERE path = ?", (str(folder / name),)
            ).rowcount
            assert n == 1
    res = quiet_run(folder, model, cache=cache)
    assert (res.inferred, res.cached) == (5, 2)
    assert res.matched_paths == first.matched_paths
    assert quiet_run(folder, model, cache=cache).cached == 7  # rewritten


# --------------------------------------------------------------------------------------------
# Unusable paths: an error for a path given, a warning for the default one


def test_a_folder_or_unwritable_path_is_an_error(folder: Path, model: Path, tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="is a folder"):
        run(folder, model, cache=tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CacheError, match="cannot create the folder"):
        run(folder, model, cache=blocker / "c.sqlite")
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_read_only_cache_is_an_error(folder: Path, model: Path, tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    cache = d / "c.sqlite"
    quiet_run(folder, model, cache=cache)
    before = cache.read_bytes()
    cache.chmod(0o444)
    d.chmod(0o555)
    try:
        with pytest.raises(CacheError, match="not writable"):
            run(folder, model, cache=cache)
    finally:
        d.chmod(0o755)
    assert cache.read_bytes() == before


def test_a_database_read_only_to_sqlite(
    folder: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only file is to a non-root user, for anyone: SQLite's read-only mode. Hits
    # are served; the first write fails, warns, and the run goes on without storing.
    cache = tmp_path / "c.sqlite"
    first = quiet_run(folder, model, cache=cache)
    (folder / "a_red1.png").touch()  # one miss to store
    os.utime(folder / "a_red1.png", ns=(1, 10**18))
    before = cache.read_bytes()
    import pixfeed.detect.cache as fc

    real = sqlite3.connect
    monkeypatch.setattr(
        fc.sqlite3,
        "connect",
        lambda path, **kw: real(f"file:{path}?mode=ro", uri=True, **kw),
    )
    with pytest.warns(UserWarning, match="disabled for this run.*readonly"):
        res = run(folder, model, cache=cache)
    assert (res.inferred, res.cached) == (1, 6)
    assert res.matched_paths == first.matched_paths
    assert cache.read_bytes() == before and not set_aside(cache)


def test_a_path_not_writable_by_this_user_is_an_error(
    folder: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a non-root user sees a read-only file (root is let through: see above/below).
    cache = tmp_path / "c.sqlite"
    quiet_run(folder, model, cache=cache)
    before = cache.read_bytes()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == cache else real(p, mode))
    with pytest.raises(CacheError, match="not writable"):
        run(folder, model, cache=cache)
    assert cache.read_bytes() == before


def test_an_unusable_default_cache_only_warns(
    folder: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PIXFEED_CACHE_DIR", str(blocker))
    with pytest.warns(UserWarning, match="result cache disabled"):
        res = run(folder, model, cache=True)
    assert res.inferred == 7 and res.settings["cache"] is None


def test_a_damaged_default_cache_recovers(
    folder: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXFEED_CACHE_DIR", str(tmp_path / "pf"))
    (tmp_path / "pf").mkdir()
    (tmp_path / "pf" / "filter.sqlite").write_bytes(b"\0garbage" * 512)
    with pytest.warns(UserWarning, match="damaged"):
        assert run(folder, model, cache=True).inferred == 7
    assert quiet_run(folder, model, cache=True).cached == 7  # later runs are healthy


# --------------------------------------------------------------------------------------------
# The key sees new content with the old size and mtime


def test_content_change_with_the_same_size_and_mtime(
    folder: Path, model: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite"
    quiet_run(folder, model, cache=cache, classes="red")
    # `cp -p` / `rsync -t`: a file with other content (same size) gets the old mtime.
    p = folder / "e_black.png"
    red = cell_image({(0, 0): "red"})
    other = tmp_path / "other.png"
    Image.fromarray(red).save(other)
    old = p.read_bytes()
    new = other.read_bytes()
    # Same length: pad the shorter PNG after its IEND chunk (decoders ignore trailing bytes).
    n = max(len(old), len(new))
    p_st = p.stat()
    old_padded, new_padded = old + b"\0" * (n - len(old)), new + b"\0" * (n - len(new))
    p.write_bytes(old_padded)
    os.utime(p, ns=(p_st.st_atime_ns, p_st.st_mtime_ns))
    base = quiet_run(folder, model, cache=cache, classes="red")
    assert not next(r for r in base.images if r.path == str(p)).matched
    st = p.stat()
    staged = tmp_path / "staged.png"
    staged.write_bytes(new_padded)
    shutil.copystat(p, staged)  # cp -p: the old mtime on new content
    os.replace(staged, p)  # rsync: a new inode
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    res = quiet_run(folder, model, cache=cache, classes="red")
    assert res.inferred == 1
    assert next(r for r in res.images if r.path == str(p)).matched
    # In place (`touch -r`: same inode, same size and mtime; only the ctime moves).
    ino = p.stat().st_ino
    with open(p, "r+b") as f:
        f.write(old_padded)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) == (
        ino,
        st.st_size,
        st.st_mtime_ns,
    )
    res = quiet_run(folder, model, cache=cache, classes="red")
    assert res.inferred == 1
    assert not next(r for r in res.images if r.path == str(p)).matched


# --------------------------------------------------------------------------------------------
# Hostile model metadata, spreadsheet formulas, line breaks in names


def test_deeply_nested_metadata_is_a_clear_error(tmp_path: Path, folder: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    bad = build_grid_detector(tmp_path / "deep.onnx", names=deep)
    with pytest.raises(pixfeed.ModelError, match="nested more than"):
        run(folder, bad, cache=False)
    with pytest.raises(ValueError, match="nested more than"):
        parse_names("{0: " * 1000 + "'a'" + "}" * 1000)
    ok = "{0: 'red', 1: 'green', 2: 'blue'}"
    assert parse_names(ok) == {0: "red", 1: "green", 2: "blue"}
    # Brackets inside names do not count; the ceiling is generous for real metadata.
    assert parse_names("{0: '[[[[', 1: \"]]}\"}") == {0: "[[[[", 1: "]]}"}
    nested = "[" * MAX_METADATA_DEPTH + "]" * MAX_METADATA_DEPTH
    with pytest.raises(ValueError, match="expected a name"):
        parse_names(nested)  # within the ceiling: parsed, then rejected as not names


def test_csv_cells_never_start_a_formula(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "imgs"
    d.mkdir()
    names = ["=HYPERLINK(1).png", "+1.png", "-2.png", "@SUM.png", "plain.png"]
    for n in names:
        Image.fromarray(cell_image({(0, 0): "red"})).save(d / n)
    model = build_grid_detector(
        tmp_path / "m.onnx", names="{0: '=cmd|calc', 1: '+green', 2: '@blue'}"
    )
    res = run(d, model, cache=False)
    out = tmp_path / "r.csv"
    res.write_csv(out)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    for row in rows:
        for col in ("path", "class", "error"):
            assert not row[col].startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_name = {os.path.basename(r["path"].lstrip("'")): r for r in rows}
    assert by_name["plain.png"]["path"] == str(d / "plain.png")  # only risky cells change
    assert by_name["plain.png"]["class"] == "'=cmd|calc"
    # Paths from a folder are absolute; relative ones (a list, run from the folder) are not.
    monkeypatch.chdir(d)
    rel = pixfeed.filter_images(names, model, config=CFG, cache=False)
    rel.write_csv(out)
    with open(out, newline="", encoding="utf-8") as f:
        got = [r["path"] for r in csv.DictReader(f)]
    assert got == ["'=HYPERLINK(1).png", "'+1.png", "'-2.png", "'@SUM.png", "plain.png"]


def test_txt_export_with_nul_separators(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    d.mkdir()
    odd = "two\nlines.png"
    for n in (odd, "a.png"):
        Image.fromarray(cell_image({(0, 0): "red"})).save(d / n)
    model = build_grid_detector(tmp_path / "m.onnx")
    res = run(d, model, cache=False)
    res.write_txt(tmp_path / "lines.txt")
    res.write_txt(tmp_path / "nul.txt", null=True)
    want = [str(d / "a.png"), str(d / odd)]
    assert (tmp_path / "nul.txt").read_bytes().split(b"\0") == [*map(os.fsencode, want), b""]
    # Newline-separated, the odd name splits into two lines: why -0 exists.
    assert len((tmp_path / "lines.txt").read_text().splitlines()) == 3


def test_exclude_leaves_a_folder_out(folder: Path, model: Path) -> None:
    every = run(folder, model, cache=False, recursive=True)
    assert any("/sub/" in p for p in (r.path for r in every.images))
    some = run(folder, model, cache=False, recursive=True, exclude=[folder / "sub"])
    assert [r.path for r in some.images] == [r.path for r in every.images if "/sub/" not in r.path]
    assert np.array_equal(len(some.images), len(every.images) - 1)
