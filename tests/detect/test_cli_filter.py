"""`pixfeed filter` as a user runs it: a folder, a real ONNX model, every export format, the
HTML report opened, re-runs served by the result cache."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _onnx_models import build_classifier, build_grid_detector, cell_image
from pixfeed.config import ENV_VARS
from test_filter import make_folder

ODD_NAME = "k_<b>&'odd\".png"  # escaped in the HTML report; one red cell


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("cli-model") / "grid.onnx")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    d = make_folder(tmp_path / "images")
    Image.fromarray(cell_image({(2, 1): "red"})).save(d / ODD_NAME)
    return d


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs with its own cache dir and no user/project config or PIXFEED_* settings."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    env.update(PIXFEED_CACHE_DIR=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", "filter", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=str(tmp),
    )


RED_MATCHES = ["a_red1.png", "b_red2.png", "d_mixed.png", "f_red3.jpg", "g_wide.png", ODD_NAME]


class ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str]] = []
        self.images: list[str] = []
        self.error_cells: list[str] = []
        self._in_errors = False
        self._in_td = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "figure" and a.get("class") == "match":
            self.figures.append(a)
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "table" and a.get("class") == "errors":
            self._in_errors = True
        elif tag == "td" and self._in_errors:
            self._in_td = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_errors = False
        if tag == "td":
            self._in_td = False

    def handle_data(self, data: str) -> None:
        if self._in_td:
            self.error_cells.append(data)


def test_every_export_agrees(folder: Path, model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = cli(
        tmp_path,
        str(folder),
        "--model",
        str(model),
        "--classes",
        "red",
        "--json",
        str(out / "result.json"),
        "--txt",
        str(out / "matched.txt"),
        "--csv",
        str(out / "detections.csv"),
        "--report",
        str(out / "report.html"),
        "--batch-size",
        "4",
    )
    assert r.returncode == 0, r.stderr
    want = [str(folder / n) for n in sorted(RED_MATCHES)]
    # stdout: the matched paths, like grep -l; the summary on stderr.
    assert r.stdout.splitlines() == want
    assert "6 of 10 images matched (2 errors; 8 inferred, 0 from the cache)" in r.stderr
    assert "h_corrupt.jpg" in r.stderr

    data = json.loads((out / "result.json").read_text())
    assert data["counts"] == {"total": 10, "matched": 6, "errors": 2, "inferred": 8, "cached": 0}
    assert data["matched"] == want
    assert data["settings"]["class_names"] == ["red"] and data["settings"]["count"] == "any"
    assert data["settings"]["batch_size"] == 4 and data["settings"]["imgsz"] == [64, 64]
    assert data["model"]["sha256"] and data["model"]["layout"] == "v8"
    assert {Path(e["path"]).name for e in data["errors"]} == {"h_corrupt.jpg", "i_not_an_image.png"}
    assert all(e["reason"] for e in data["errors"])
    images = {Path(i["path"]).name: i for i in data["images"]}
    assert [i["path"] for i in data["images"]] == sorted(i["path"] for i in data["images"])
    d = images["d_mixed.png"]
    assert d["count"] == 1 and d["matched"] and (d["width"], d["height"]) == (128, 128)
    assert {(x["class"], tuple(x["box"]), x["selected"]) for x in d["detections"]} == {
        ("red", (96.0, 0.0, 128.0, 32.0), True),
        ("blue", (0.0, 32.0, 32.0, 64.0), False),
        ("blue", (0.0, 64.0, 32.0, 96.0), False),
        ("blue", (96.0, 96.0, 128.0, 128.0), False),
    }

    assert (out / "matched.txt").read_text().splitlines() == want

    with open(out / "detections.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # One row per detection, one (empty) row per image without any, errors included.
    n_dets = sum(len(i["detections"]) for i in data["images"])
    n_empty = sum(not i["detections"] for i in data["images"])
    assert len(rows) == n_dets + n_empty
    from_csv = {
        (row["path"], row["class"], float(row["confidence"]), *map(float, row_box(row)))
        for row in rows
        if row["class"]
    }
    from_json = {
        (i["path"], x["class"], x["confidence"], *x["box"])
        for i in data["images"]
        for x in i["detections"]
    }
    assert from_csv == from_json
    assert sorted({row["path"] for row in rows if row["matched"] == "1"}) == want
    err_rows = {Path(row["path"]).name: row["error"] for row in rows if row["error"]}
    assert set(err_rows) == {"h_corrupt.jpg", "i_not_an_image.png"}

    page = (out / "report.html").read_text()
    assert "<b>&" not in page  # the odd file name is escaped
    parser = ReportParser()
    parser.feed(page)
    assert [f["data-path"] for f in parser.figures] == want
    assert len(parser.images) == len(want)
    for src, path in zip(parser.images, want, strict=True):
        assert src.startswith("data:image/jpeg;base64,")
        thumb = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert thumb.format == "JPEG"
        w, h = Image.open(path).size
        assert thumb.size == (min(w, 256), min(h, 256))  # 128-px images are not enlarged
    # a_red1's box (0, 0, 32, 32) is drawn: its bottom edge is red on the black row 32.
    a_thumb = Image.open(io.BytesIO(base64.b64decode(parser.images[0].split(",", 1)[1])))
    row = np.asarray(a_thumb.convert("RGB"))[32, 4:28].astype(int)
    assert row[:, 0].mean() > 120 and row[:, 0].mean() > row[:, 1].mean() + 60
    assert np.asarray(Image.open(want[0]))[32, 4:28].max() == 0
    assert {Path(c).name for c in parser.error_cells if c.startswith(str(folder))} == {
        "h_corrupt.jpg",
        "i_not_an_image.png",
    }


def row_box(row: dict[str, str]) -> list[str]:
    return [row["x1"], row["y1"], row["x2"], row["y2"]]


def _json_run(tmp: Path, folder: Path, model: Path, *extra: str) -> dict[str, object]:
    r = cli(tmp, str(folder), "--model", str(model), "--json", *extra)
    assert r.returncode == 0, r.stderr
    data: dict[str, object] = json.loads(r.stdout)  # --json without a path: stdout
    return data


def test_reruns_infer_only_what_changed(folder: Path, model: Path, tmp_path: Path) -> None:
    first = _json_run(tmp_path, folder, model, "--classes", "red")
    assert first["counts"] == {"total": 10, "matched": 6, "errors": 2, "inferred": 8, "cached": 0}
    assert first["settings"]["cache"] == str(tmp_path / "cache" / "filter.sqlite")  # type: ignore[index]
    again = _json_run(tmp_path, folder, model, "--classes", "red")
    assert again["counts"]["inferred"] == 0 and again["counts"]["cached"] == 8  # type: ignore[index]
    assert again["matched"] == first["matched"]

    blue = _json_run(tmp_path, folder, model, "--classes", "blue", "--count", "at_least:3")
    assert blue["counts"]["inferred"] == 0  # type: ignore[index]
    assert [Path(p).name for p in blue["matched"]] == ["d_mixed.png"]  # type: ignore[attr-defined]

    p = folder / "b_red2.png"
    p.touch()
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    touched = _json_run(tmp_path, folder, model, "--classes", "red")
    assert touched["counts"]["inferred"] == 1 and touched["counts"]["cached"] == 7  # type: ignore[index]
    assert [i["cached"] for i in touched["images"] if i["path"] == str(p)] == [False]  # type: ignore[attr-defined]

    fresh = _json_run(tmp_path, folder, model, "--classes", "red", "--no-cache")
    assert fresh["counts"]["inferred"] == 8 and fresh["settings"]["cache"] is None  # type: ignore[index]
    other = _json_run(tmp_path, folder, model, "--cache", str(tmp_path / "c2.sqlite"))
    assert other["counts"]["inferred"] == 8  # type: ignore[index]
    assert (tmp_path / "c2.sqlite").is_file()


def test_copy_to_and_recursive(folder: Path, model: Path, tmp_path: Path) -> None:
    dest = tmp_path / "picked"
    r = cli(
        tmp_path,
        str(folder),
        "--model",
        str(model),
        "-r",
        "--classes",
        "green",
        "--copy-to",
        str(dest),
        "--no-cache",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(folder / "sub" / "j_green1.png")]
    assert (dest / "sub" / "j_green1.png").read_bytes() == (
        folder / "sub" / "j_green1.png"
    ).read_bytes()
    assert "1 copied to" in r.stderr


def test_config_file_supplies_the_batch_size(folder: Path, model: Path, tmp_path: Path) -> None:
    (tmp_path / "pixfeed.toml").write_text("batch_size = 5\nthreads = 1\n")
    data = _json_run(tmp_path, folder, model, "--no-cache")
    assert data["settings"]["batch_size"] == 5 and data["settings"]["threads"] == 1  # type: ignore[index]
    data = _json_run(tmp_path, folder, model, "--no-cache", "--batch-size", "2")
    assert data["settings"]["batch_size"] == 2  # type: ignore[index]


def test_model_errors_exit_1_with_a_clear_message(folder: Path, tmp_path: Path) -> None:
    r = cli(tmp_path, str(folder), "--model", str(tmp_path / "nope.onnx"))
    assert r.returncode == 1 and "model not found" in r.stderr and "nope.onnx" in r.stderr
    classifier = build_classifier(tmp_path / "classifier.onnx")
    r = cli(tmp_path, str(folder), "--model", str(classifier))
    assert r.returncode == 1, r.stderr
    assert "classifier.onnx" in r.stderr and "not a YOLO output" in r.stderr
    assert "Traceback" not in r.stderr
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"junk" * 50)
    r = cli(tmp_path, str(folder), "--model", str(junk))
    assert r.returncode == 1 and "cannot load the ONNX model" in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--count", "lots"], "--count"),
        (["--classes", "purple"], "unknown class 'purple'"),
        (["--conf", "2"], "--conf"),
        (["--no-cache", "--cache", "x.sqlite"], "exclude each other"),
        (["--names", "missing.txt"], "missing.txt"),
        (["--imgsz", "320"], "fixed input of 64x64"),
    ],
)
def test_usage_errors_exit_2(
    folder: Path, model: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    r = cli(tmp_path, str(folder), "--model", str(model), *args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr


def test_missing_folder_exits_2(model: Path, tmp_path: Path) -> None:
    r = cli(tmp_path, str(tmp_path / "absent"), "--model", str(model))
    assert r.returncode == 2 and "not a directory" in r.stderr
