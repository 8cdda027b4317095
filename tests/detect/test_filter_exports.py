"""Pre-annotation exports of `pixfeed filter` (--labelme, --yolo) and the confidence range
(--conf-max), with a real ONNX detector (tests/_onnx_models.py) on real image files."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from _onnx_models import build_grid_detector
from test_cli_filter import cli
from test_filter import CFG, make_folder


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_grid_detector(tmp_path_factory.mktemp("export-model") / "grid.onnx")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "images")


def run_json(tmp: Path, folder: Path, model: Path, *extra: str) -> dict[str, object]:
    r = cli(tmp, str(folder), "--model", str(model), "--json", "--no-cache", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def selected(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    """Matched images of a --json run -> that image's entry (selected detections only)."""
    out = {}
    for img in doc["images"]:  # type: ignore[attr-defined]
        if img["matched"]:
            img = dict(img, detections=[d for d in img["detections"] if d["selected"]])
            out[img["path"]] = img
    return out


@pytest.mark.parametrize("extra", [(), ("--classes", "blue"), ("--count", "at_least:2")])
def test_labelme_files_match_the_detections(
    folder: Path, model: Path, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    out = tmp_path / "lm"
    doc = run_json(tmp_path, folder, model, "-r", "--labelme", str(out), *extra)
    want = selected(doc)
    assert want  # the run has matches to export
    files = sorted(out.rglob("*.json"))
    assert len(files) == len(want)
    for f in files:
        lm = json.loads(f.read_text())
        image = (f.parent / lm["imagePath"]).resolve()
        assert image.is_file()
        rel = image.relative_to(folder.resolve())
        assert f.relative_to(out) == rel.with_suffix(".json")  # mirrors DIR's layout
        w = want[str(folder / rel)]
        assert (lm["imageWidth"], lm["imageHeight"]) == (w["width"], w["height"])
        h, wd = np.asarray(Image.open(image)).shape[:2]
        assert (lm["imageWidth"], lm["imageHeight"]) == (wd, h)
        assert lm["imageData"] is None and lm["flags"] == {} and lm["version"]
        got = sorted((s["label"], *s["points"][0], *s["points"][1]) for s in lm["shapes"])
        ref = sorted((d["class"], *d["box"]) for d in w["detections"])  # type: ignore[attr-defined]
        assert len(got) == len(ref)
        for g, r in zip(got, ref, strict=True):
            assert g[0] == r[0]
            assert np.allclose(g[1:], r[1:], atol=0.5)
        for s in lm["shapes"]:
            assert s["shape_type"] == "rectangle" and s["group_id"] is None
            assert s["flags"] == {} and 0 < s["score"] <= 1
            assert s["description"] == f"score={s['score']:.5f}"


def test_labelme_embed_holds_the_file_bytes(folder: Path, model: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm"
    run_json(tmp_path, folder, model, "--labelme", str(out), "--labelme-embed")
    files = sorted(out.glob("*.json"))
    assert files
    for f in files:
        lm = json.loads(f.read_text())
        data = base64.b64decode(lm["imageData"])
        assert data == (f.parent / lm["imagePath"]).read_bytes()


def test_yolo_lines_round_trip(folder: Path, model: Path, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    doc = run_json(tmp_path, folder, model, "--yolo", str(out), "--classes", "blue,red")
    want = selected(doc)
    names = (out / "classes.txt").read_text().splitlines()
    assert names == ["red", "blue"]  # the selected classes, renumbered in the model's order
    txts = sorted(p for p in out.glob("*.txt") if p.name != "classes.txt")
    assert len(txts) == len(want)
    for t in txts:
        w = want[w_path(want, t.stem)]
        boxes = []
        for line in t.read_text().splitlines():
            c, cx, cy, bw, bh = line.split()
            W, H = w["width"], w["height"]  # type: ignore[index]
            x1, y1 = (float(cx) - float(bw) / 2) * W, (float(cy) - float(bh) / 2) * H
            x2, y2 = (float(cx) + float(bw) / 2) * W, (float(cy) + float(bh) / 2) * H
            boxes.append((names[int(c)], x1, y1, x2, y2))
        ref = sorted((d["class"], *d["box"]) for d in w["detections"])  # type: ignore[index]
        assert len(boxes) == len(ref)
        for g, r in zip(sorted(boxes), ref, strict=True):
            assert g[0] == r[0] and np.allclose(g[1:], r[1:], atol=0.5)


def w_path(want: dict[str, dict[str, object]], stem: str) -> str:
    [path] = [p for p in want if Path(p).stem == stem]
    return path


def test_yolo_without_classes_keeps_model_ids(folder: Path, model: Path, tmp_path: Path) -> None:
    res = pixfeed.filter_images(folder, model, cache=False, config=CFG)
    out = tmp_path / "yolo"
    assert res.write_yolo(out) == len(res.matched) + 1
    assert (out / "classes.txt").read_text().splitlines() == ["red", "green", "blue"]
    ids = {line.split()[0] for t in out.glob("?_*.txt") for line in t.read_text().splitlines()}
    assert ids == {"0", "2"}  # red and blue cells in the top folder
    # a re-run with the same content writes nothing and refuses nothing
    assert res.write_yolo(out) == 0


def test_existing_files_are_refused_unless_overwrite(
    folder: Path, model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lm"
    out.mkdir()
    mine = out / "a_red1.json"
    mine.write_text('{"my": "hand-made annotation"}')
    r = cli(tmp_path, str(folder), "--model", str(model), "--no-cache", "--labelme", str(out))
    assert r.returncode == 2 and "a_red1.json exists" in r.stderr
    assert mine.read_text() == '{"my": "hand-made annotation"}'
    assert sorted(out.iterdir()) == [mine]  # nothing written
    r = cli(
        tmp_path, str(folder), "--model", str(model), "--no-cache", "--labelme", str(out),
        "--overwrite",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(mine.read_text())["shapes"][0]["label"] == "red"
    # the same run again: every file already holds its content
    r = cli(tmp_path, str(folder), "--model", str(model), "--no-cache", "--labelme", str(out))
    assert r.returncode == 0, r.stderr


def test_labels_next_to_the_images(folder: Path, model: Path, tmp_path: Path) -> None:
    """LabelMe's usual layout: x.json beside x.png in the image folder itself."""
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    run_json(tmp_path, folder, model, "--labelme", str(folder), "--yolo", str(folder))
    for name, data in before.items():
        assert (folder / name).read_bytes() == data  # no image or other file touched
    lm = json.loads((folder / "a_red1.json").read_text())
    assert lm["imagePath"] == "a_red1.png"
    assert (folder / "a_red1.txt").read_text().startswith("0 ")
    assert (folder / "notes.txt").read_text() == "not listed"


def test_library_refuses_an_input(tmp_path: Path, model: Path) -> None:
    folder = make_folder(tmp_path / "images")
    res = pixfeed.filter_images(folder, model, cache=False, config=CFG)
    out = tmp_path / "lm"
    out.mkdir()
    os.link(folder / "a_red1.png", out / "a_red1.json")  # another name of an input
    with pytest.raises(FileExistsError, match="would replace the input"):
        res.write_labelme(out, overwrite=True)
    assert sorted(out.iterdir()) == [out / "a_red1.json"]


# confidence range ------------------------------------------------------------------------


def shaded(fills: list[float]) -> np.ndarray:
    """128x128, a red cell in row 0 per fill fraction: a cell a fraction f red scores f."""
    img = np.zeros((128, 128, 3), np.uint8)
    for col, f in enumerate(fills):
        img[0 : round(32 * f), 32 * col : 32 * col + 32] = (255, 0, 0)
    return img


def test_conf_max_selects_a_range(tmp_path: Path, model: Path) -> None:
    d = tmp_path / "shades"
    d.mkdir()
    Image.fromarray(shaded([1.0, 0.75, 0.5])).save(d / "a.png")
    Image.fromarray(shaded([1.0])).save(d / "b.png")
    cache = tmp_path / "c.sqlite"
    full = pixfeed.filter_images(d, model, cache=cache, config=CFG)
    scores = sorted(round(x.confidence, 2) for x in full.images[0].detections)
    assert scores == [0.5, 0.75, 1.0]
    ranged = pixfeed.filter_images(d, model, cache=cache, conf_max=0.9, config=CFG)
    assert ranged.cached == 2 and ranged.inferred == 0  # applied after the cache
    a, b = ranged.images
    assert sorted(round(x.confidence, 2) for x in a.detections if x.selected) == [0.5, 0.75]
    assert len(a.detections) == 3  # the one above the range is still listed
    assert a.count == 2 and a.matched and not b.matched and b.count == 0
    out = tmp_path / "lm"
    ranged.write_labelme(out)
    lm = json.loads((out / "a.json").read_text())
    assert sorted(s["score"] for s in lm["shapes"]) == pytest.approx([0.5, 0.75], abs=0.01)
    assert not (out / "b.json").exists()
    with pytest.raises(ValueError, match="conf_max"):
        pixfeed.filter_images(d, model, conf=0.5, conf_max=0.4, cache=False, config=CFG)


def test_cli_conf_max(tmp_path: Path, model: Path) -> None:
    d = tmp_path / "shades"
    d.mkdir()
    Image.fromarray(shaded([1.0, 0.75])).save(d / "a.png")
    Image.fromarray(shaded([1.0])).save(d / "b.png")
    doc = run_json(tmp_path, d, model, "--conf-max", "0.9")
    assert doc["matched"] == [str(d / "a.png")]
    assert doc["settings"]["conf_max"] == 0.9  # type: ignore[index]
    r = cli(tmp_path, str(d), "--model", str(model), "--conf-max", "1.5")
    assert r.returncode == 2
    r = cli(tmp_path, str(d), "--model", str(model), "--conf", "0.8", "--conf-max", "0.5")
    assert r.returncode == 2 and "conf_max" in r.stderr
