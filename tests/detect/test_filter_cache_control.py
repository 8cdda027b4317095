"""Result cache control: ``cache_max_entries`` (least recently used rows pruned on write),
``pixfeed filter --clear-cache``, ``pixfeed cache info|clear``, ``cache = false``."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pixfeed
from _onnx_models import build_grid_detector
from pixfeed.config import ENV_VARS, Config
from pixfeed.detect.cache import (
    CachedResult,
    FileKey,
    ResultCache,
    cache_info,
    clear_cache,
)
from test_cli_filter import cli
from test_filter import make_folder

CFG = Config(threads=2, batch_size=3)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("cc-model") / "grid.onnx")


def files(d: Path, n: int) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = d / f"{i:03d}.bin"
        p.write_bytes(bytes([i]))
        out.append(str(p))
    return out


def result(i: int) -> CachedResult:
    return CachedResult(10 + i, 20, np.array([[1, 2, 3, 4, 0.5, i % 3]], np.float32))


def stored_paths(db_file: Path) -> set[str]:
    with sqlite3.connect(db_file) as db:
        return {r[0] for r in db.execute("SELECT path FROM detections")}


def test_pruning_keeps_the_newest_n(tmp_path: Path) -> None:
    paths = files(tmp_path / "f", 10)
    db = tmp_path / "c.sqlite"
    with ResultCache(db, "m" * 64, "s", max_entries=4) as c:
        for i, p in enumerate(paths):
            c.put_many([(FileKey.of(p), result(i))])
    assert stored_paths(db) == {os.path.abspath(p) for p in paths[-4:]}
    assert cache_info(db)["rows"] == 4


def test_a_hit_counts_as_a_use(tmp_path: Path) -> None:
    paths = files(tmp_path / "f", 6)
    db = tmp_path / "c.sqlite"
    with ResultCache(db, "m" * 64, "s", max_entries=3) as c:
        for i, p in enumerate(paths[:3]):
            c.put_many([(FileKey.of(p), result(i))])
    with ResultCache(db, "m" * 64, "s", max_entries=3) as c:
        got = c.get(FileKey.of(paths[0]))  # the oldest row, used again
        assert got is not None and got.width == 10
        c.put_many([(FileKey.of(paths[3]), result(3))])
        c.put_many([(FileKey.of(paths[4]), result(4))])
    assert stored_paths(db) == {os.path.abspath(p) for p in (paths[0], paths[3], paths[4])}
    # a run of hits only records them when it closes
    with ResultCache(db, "m" * 64, "s", max_entries=3) as c:
        assert c.get(FileKey.of(paths[3])) is not None
    with ResultCache(db, "m" * 64, "s", max_entries=3) as c:
        c.put_many([(FileKey.of(paths[5]), result(5))])
        c.put_many([(FileKey.of(paths[1]), result(1))])
    assert stored_paths(db) == {os.path.abspath(p) for p in (paths[3], paths[5], paths[1])}


def test_clear_and_clear_one_model(tmp_path: Path) -> None:
    paths = files(tmp_path / "f", 5)
    db = tmp_path / "c.sqlite"
    for model, n in (("a" * 64, 3), ("b" * 64, 5)):
        with ResultCache(db, model, "s") as c:
            c.put_many([(FileKey.of(p), result(i)) for i, p in enumerate(paths[:n])])
    info = cache_info(db)
    assert info["rows"] == 8 and info["exists"] and info["bytes"] == db.stat().st_size > 0
    assert info["models"] == [
        {"sha256": "b" * 64, "rows": 5, "settings": 1},
        {"sha256": "a" * 64, "rows": 3, "settings": 1},
    ]
    assert clear_cache(db, model="bbbbbbbb") == 5
    assert cache_info(db)["models"] == [{"sha256": "a" * 64, "rows": 3, "settings": 1}]
    assert clear_cache(db) == 3
    assert cache_info(db)["rows"] == 0 and db.is_file()
    with pytest.raises(ValueError, match="model"):
        clear_cache(db, model="ab")
    missing = tmp_path / "none.sqlite"
    assert cache_info(missing) == {
        "file": str(missing),
        "exists": False,
        "bytes": 0,
        "rows": 0,
        "models": [],
    }
    assert clear_cache(missing) == 0 and not missing.exists()


def test_a_version_2_file_keeps_its_rows(tmp_path: Path) -> None:
    paths = files(tmp_path / "f", 2)
    db = tmp_path / "c.sqlite"
    with ResultCache(db, "m" * 64, "s") as c:
        c.put_many([(FileKey.of(p), result(i)) for i, p in enumerate(paths)])
    with sqlite3.connect(db) as con:  # as the previous release left it
        con.execute("DROP INDEX detections_used")
        con.execute("ALTER TABLE detections DROP COLUMN used")
        con.execute("PRAGMA user_version = 2")
    with ResultCache(db, "m" * 64, "s") as c:
        assert c.get(FileKey.of(paths[1])) is not None


def test_filter_images_cache_max_entries_and_config_off(tmp_path: Path, model: Path) -> None:
    folder = make_folder(tmp_path / "images")
    db = tmp_path / "c.sqlite"
    res = pixfeed.filter_images(folder, model, cache=db, cache_max_entries=3, config=CFG)
    assert res.inferred > 3 and cache_info(db)["rows"] == 3
    res = pixfeed.filter_images(folder, model, cache=db, config=Config(cache_max_entries=2))
    assert cache_info(db)["rows"] == 2  # the config key
    off = Config(threads=2, cache=False)
    env = tmp_path / "default-cache"
    os.environ["PIXFEED_CACHE_DIR"] = str(env)
    try:
        res = pixfeed.filter_images(folder, model, config=off)
    finally:
        del os.environ["PIXFEED_CACHE_DIR"]
    assert res.settings["cache"] is None and not env.exists()


def run_cache(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    env.update(PIXFEED_CACHE_DIR=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", "cache", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=str(tmp),
    )


def test_cli_cache_info_clear_and_clear_cache(tmp_path: Path, model: Path) -> None:
    folder = make_folder(tmp_path / "images")
    r = cli(tmp_path, str(folder), "--model", str(model), "--json")
    assert r.returncode == 0, r.stderr
    n = json.loads(r.stdout)["counts"]["inferred"]
    r = run_cache(tmp_path, "info", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    default = tmp_path / "cache" / "filter.sqlite"
    assert info["file"] == str(default) and info["rows"] == n > 0
    assert info["bytes"] == default.stat().st_size
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    assert [m["sha256"] for m in info["models"]] == [sha]
    text = run_cache(tmp_path, "info").stdout
    assert str(default) in text and f"rows   {n}" in text and sha in text

    # --clear-cache: the run starts from an empty cache
    r = cli(tmp_path, str(folder), "--model", str(model), "--json")
    assert json.loads(r.stdout)["counts"]["cached"] == n
    r = cli(tmp_path, str(folder), "--model", str(model), "--json", "--clear-cache")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["counts"]["inferred"] == n

    r = run_cache(tmp_path, "clear", "--model", "0123456789abcdef")
    assert r.returncode == 0 and json.loads(run_cache(tmp_path, "info", "--json").stdout)["rows"]
    r = run_cache(tmp_path, "clear", "--model", str(model))  # an .onnx file: hashed
    assert r.returncode == 0, r.stderr
    assert f"deleted {n} rows" in r.stderr
    assert json.loads(run_cache(tmp_path, "info", "--json").stdout)["rows"] == 0
    r = run_cache(tmp_path, "clear", "--model", "xyz")
    assert r.returncode == 2 and "model" in r.stderr
    (tmp_path / "junk.sqlite").write_bytes(b"not sqlite at all" * 100)
    r = run_cache(tmp_path, "info", "--cache", str(tmp_path / "junk.sqlite"))
    assert r.returncode == 2 and "junk.sqlite" in r.stderr


def test_cli_cache_max_entries_flag(tmp_path: Path, model: Path) -> None:
    folder = make_folder(tmp_path / "images")
    db = tmp_path / "c.sqlite"
    r = cli(tmp_path, str(folder), "--model", str(model), "--cache", str(db),
            "--cache-max-entries", "2")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert cache_info(db)["rows"] == 2
    r = cli(tmp_path, str(folder), "--model", str(model), "--cache-max-entries", "-1")
    assert r.returncode == 2
