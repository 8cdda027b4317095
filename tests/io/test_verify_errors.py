"""Data you can trust: `pixfeed scan --verify` and `Loader.errors()`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from pixfeed.scan import verify


@pytest.fixture(scope="module")
def mixed_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], set[str]]:
    """Good JPEG/PNG/WebP/BMP files, plus corrupt, truncated and empty ones."""
    root = tmp_path_factory.mktemp("verify")
    rng = np.random.default_rng(1)
    good: list[str] = []
    bad: set[str] = set()
    for i in range(24):
        arr = rng.integers(0, 256, (64 + i, 80, 3), dtype=np.uint8)
        ext = ["jpg", "png", "webp", "bmp"][i % 4]
        p = root / ("sub" if i % 3 else "") / f"good{i}.{ext}"
        p.parent.mkdir(exist_ok=True)
        Image.fromarray(arr).save(p)
        good.append(str(p))
    # Truncated (half of a good file), corrupt (garbage after a valid header), empty, text.
    for i, src in enumerate(good[:4]):
        data = Path(src).read_bytes()
        t = root / f"truncated{i}{Path(src).suffix}"
        t.write_bytes(data[: len(data) // 2])
        bad.add(str(t))
    j = Path(good[0]).read_bytes()
    c = root / "corrupt.jpg"
    c.write_bytes(j[:200] + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
    bad.add(str(c))
    (root / "empty.png").write_bytes(b"")
    bad.add(str(root / "empty.png"))
    (root / "text.jpg").write_text("hello, not a JPEG")
    bad.add(str(root / "text.jpg"))
    return root, good, bad


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=dict(os.environ),
    )


def test_verify_finds_every_broken_file_and_nothing_else(
    mixed_tree: tuple[Path, list[str], set[str]],
) -> None:
    root, good, bad = mixed_tree
    paths = pixfeed.scan(root)
    assert set(paths) == set(good) | bad
    broken = verify(paths, threads=2, chunk=5)
    assert {p for p, _, _ in broken} == bad
    fmts = {Path(p).name: f for p, f, _ in broken}
    assert fmts["text.jpg"] == "unknown" and fmts["truncated1.png"] == "png"
    assert all(r for _, _, r in broken)


def test_scan_verify_cli_text_json_csv(mixed_tree: tuple[Path, list[str], set[str]]) -> None:
    root, _good, bad = mixed_tree
    r = run_cli("scan", str(root), "--verify")
    assert r.returncode == 1
    assert {line.split("\t")[0] for line in r.stdout.splitlines()} == bad
    assert f"{len(bad)} of" in r.stderr
    r = run_cli("scan", str(root), "--verify", "--json", "--progress", "on")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert {b["path"] for b in doc["broken"]} == bad and doc["checked"] == len(bad) + 24
    assert "files" in r.stderr, "a progress line"
    r = run_cli("scan", str(root), "--verify", "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {row["path"] for row in rows} == bad and all(row["reason"] for row in rows)
    good_only = run_cli("scan", str(root / "sub"), "--verify")
    assert good_only.returncode == 0 and good_only.stdout == ""


@pytest.mark.parametrize("on_error", ["skip", "substitute"])
def test_loader_errors_report(mixed_tree: tuple[Path, list[str], set[str]], on_error: str) -> None:
    _root, good, bad = mixed_tree
    paths = good + sorted(bad)
    ld = pixfeed.Loader(
        paths,
        batch_size=8,
        pipeline=pixfeed.Pipeline(16),
        on_error=on_error,
        seed=0,  # type: ignore[arg-type]
    )
    for _ in ld:
        pass
    for _ in ld:  # a second epoch: substitutes are drawn again, skips reported again
        pass
    errs = ld.errors()
    assert {e.path for e in errs} == bad
    assert sorted(e.epoch for e in errs) == [0] * len(bad) + [1] * len(bad)
    action = "skipped" if on_error == "skip" else "substituted"
    assert all(e.action == action and e.reason for e in errs)
    if on_error == "substitute":
        assert all(e.substitute in good for e in errs)
    else:
        assert all(e.substitute is None for e in errs)
    assert all(paths[e.index] == e.path for e in errs)


def test_loader_errors_records_a_raise(mixed_tree: tuple[Path, list[str], set[str]]) -> None:
    _root, good, bad = mixed_tree
    one = sorted(bad)[0]
    ld = pixfeed.Loader([*good[:3], one], batch_size=4, pipeline=pixfeed.Pipeline(16))
    with pytest.raises(pixfeed.PixfeedError):
        next(iter(ld))
    (e,) = ld.errors()
    assert e.path == one and e.action == "raised" and e.epoch == 0
