"""`pixfeed.filter_images` end to end: tiny real ONNX detectors (tests/_onnx_models.py) in a
real onnxruntime session on real image files whose content decides the detections."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from _onnx_models import (
    build_classifier,
    build_grid_detector,
    build_whole_image_detector,
    cell_image,
)
from pixfeed.config import Config
from pixfeed.detect.detector import parse_names, yolo_layout

CFG = Config(threads=2, batch_size=3)  # no config files or env in these tests

# name -> {(row, col): colour} of a 128x128 image of 32 px cells (4x4 grid, as the model's).
SQUARES = {
    "a_red1.png": {(0, 0): "red"},
    "b_red2.png": {(1, 1): "red", (3, 2): "red"},
    "c_blue1.png": {(2, 3): "blue"},
    "d_mixed.png": {(0, 3): "red", (1, 0): "blue", (2, 0): "blue", (3, 3): "blue"},
    "e_black.png": {},
    "f_red3.jpg": {(0, 1): "red", (2, 2): "red", (3, 0): "red"},
}


def _truth(cells: dict[tuple[int, int], str]) -> set[tuple[str, tuple[int, ...]]]:
    return {
        (c, (32 * col, 32 * row, 32 * col + 32, 32 * row + 32)) for (row, col), c in cells.items()
    }


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "v8": build_grid_detector(d / "grid_v8.onnx"),
        "v5": build_grid_detector(d / "grid_v5.onnx", layout="v5"),
        "v8_nonames": build_grid_detector(d / "grid_nonames.onnx", names=None),
        "v8_json": build_grid_detector(
            d / "grid_json.onnx", names='{"0": "red", "1": "green", "2": "blue"}'
        ),
        "batch1": build_grid_detector(d / "grid_batch1.onnx", batch=1),
        "fp16": build_grid_detector(d / "grid_fp16.onnx", float16=True),
        "whole": build_whole_image_detector(d / "whole.onnx"),
        "classifier": build_classifier(d / "classifier.onnx"),
    }


def make_folder(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, cells in SQUARES.items():
        Image.fromarray(cell_image(cells)).save(d / name, quality=95)
    # 128x64: letterboxed into the 64x64 input with 16 px of padding above and below.
    wide = np.zeros((64, 128, 3), np.uint8)
    wide[0:32, 32:64] = (255, 0, 0)
    Image.fromarray(wide).save(d / "g_wide.png")
    (d / "h_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40)
    (d / "i_not_an_image.png").write_text("hello, I am text")
    (d / "notes.txt").write_text("not listed")
    (d / "sub").mkdir(exist_ok=True)
    Image.fromarray(cell_image({(1, 2): "green"})).save(d / "sub" / "j_green1.png")
    return d


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "images")


def run(folder: Path, model: Path | pixfeed.YoloDetector, **kw: object) -> pixfeed.FilterResult:
    kw.setdefault("cache", False)
    kw.setdefault("config", CFG)
    return pixfeed.filter_images(folder, model, **kw)  # type: ignore[arg-type]


def dets(r: pixfeed.ImageResult) -> set[tuple[str, tuple[int, ...]]]:
    return {(d.class_name, tuple(round(v) for v in d.box)) for d in r.detections}


def test_detections_follow_the_content(folder: Path, models: dict[str, Path]) -> None:
    res = run(folder, models["v8"], classes="red")
    names = [Path(r.path).name for r in res.images]
    assert names == sorted(names)  # path order
    assert names == [*sorted(SQUARES), "g_wide.png", "h_corrupt.jpg", "i_not_an_image.png"]
    by_name = {Path(r.path).name: r for r in res.images}
    for name, cells in SQUARES.items():
        r = by_name[name]
        assert r.error is None and (r.width, r.height) == (128, 128)
        assert dets(r) == _truth(cells), name
        if name.endswith(".png"):
            assert all(d.confidence == pytest.approx(1.0, abs=1e-6) for d in r.detections)
        assert r.count == sum(c == "red" for c in cells.values())
    # The letterbox padding scores nothing; the box comes back in the wide image's pixels.
    assert dets(by_name["g_wide.png"]) == {("red", (32, 0, 64, 32))}
    assert {Path(p).name for p in res.matched_paths} == {
        "a_red1.png",
        "b_red2.png",
        "d_mixed.png",
        "f_red3.jpg",
        "g_wide.png",
    }
    errors = {Path(r.path).name: r.error for r in res.errors}
    assert set(errors) == {"h_corrupt.jpg", "i_not_an_image.png"}
    assert all(errors.values())
    assert res.counts == {"total": 9, "matched": 5, "errors": 2, "inferred": 7, "cached": 0}
    assert res.model["layout"] == "v8" and res.model["names"] == {
        "0": "red",
        "1": "green",
        "2": "blue",
    }


@pytest.mark.parametrize(
    ("classes", "count", "want"),
    [
        ("red", "at_least:2", {"b_red2.png", "f_red3.jpg"}),
        ("red", "exactly:1", {"a_red1.png", "d_mixed.png", "g_wide.png"}),
        ("red", "at_most:0", {"c_blue1.png", "e_black.png"}),  # errors never match
        ("blue", "at_least:3", {"d_mixed.png"}),
        ([2], "at_least:3", {"d_mixed.png"}),
        ("red,blue", "exactly:4", {"d_mixed.png"}),
        ("Blue, 0", "exactly:4", {"d_mixed.png"}),  # names fold case; ids mix with names
        (None, "exactly:1", {"a_red1.png", "c_blue1.png", "g_wide.png"}),
        ("green", "any", set()),
    ],
)
def test_class_and_count_selection(
    folder: Path, models: dict[str, Path], classes: object, count: str, want: set[str]
) -> None:
    res = run(folder, models["v8"], classes=classes, count=count)
    assert {Path(p).name for p in res.matched_paths} == want


def test_recursive_and_explicit_lists(folder: Path, models: dict[str, Path]) -> None:
    res = run(folder, models["v8"], classes="green", recursive=True)
    assert [Path(p).name for p in res.matched_paths] == ["j_green1.png"]
    assert res.counts["total"] == 10
    # A list keeps its order.
    paths = [folder / "c_blue1.png", folder / "a_red1.png"]
    res = run(paths, models["v8"])
    assert [Path(r.path).name for r in res.images] == ["c_blue1.png", "a_red1.png"]
    assert res.matched_paths == [str(p) for p in paths]


def test_v5_layout_gives_the_same_detections(folder: Path, models: dict[str, Path]) -> None:
    v8 = run(folder, models["v8"])
    v5 = run(folder, models["v5"])
    assert v5.model["layout"] == "v5" and v5.model["num_classes"] == 3
    assert [dets(r) for r in v5.images] == [dets(r) for r in v8.images]
    assert v5.matched_paths == v8.matched_paths


def test_names_from_json_metadata_a_names_file_or_none(
    folder: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    res = run(folder, models["v8_json"], classes="blue")
    assert {Path(p).name for p in res.matched_paths} == {"c_blue1.png", "d_mixed.png"}
    names = tmp_path / "names.txt"
    names.write_text("rouge\n\nvert\nbleu\n")
    res = run(folder, models["v8_nonames"], names=names, classes="bleu", count="at_least:3")
    assert [Path(p).name for p in res.matched_paths] == ["d_mixed.png"]
    # Without names the layout comes from the shape (7 < 16 anchors: YOLOv8) and classes
    # are named by their ids.
    res = run(folder, models["v8_nonames"], classes="2", count="at_least:3")
    assert [Path(p).name for p in res.matched_paths] == ["d_mixed.png"]
    assert res.images[0].detections[0].class_name == "0"
    with pytest.raises(ValueError, match="unknown class 'red'"):
        run(folder, models["v8_nonames"], classes="red")
    with pytest.raises(ValueError, match=r"unknown class 'purple'.*red, green, blue"):
        run(folder, models["v8"], classes="purple")
    with pytest.raises(ValueError, match=r"class id 3 out of range"):
        run(folder, models["v8"], classes=[3])


def test_batch_size_does_not_change_results(folder: Path, models: dict[str, Path]) -> None:
    # batch 1 cycles the reused input tensors many times; 16 holds every image at once.
    results = [run(folder, models["v8"], batch_size=b, recursive=True) for b in (1, 2, 16)]
    ref = [dets(r) for r in results[-1].images]
    assert sum(map(len, ref)) == 13
    for res in results:
        assert [dets(r) for r in res.images] == ref
        assert [r.error is None for r in res.images] == [
            r.error is None for r in results[-1].images
        ]


def test_fixed_batch_model_runs_in_chunks(folder: Path, models: dict[str, Path]) -> None:
    det = pixfeed.YoloDetector(models["batch1"])
    assert det.fixed_batch == 1
    res = run(folder, det, batch_size=4)
    ref = run(folder, models["v8"])
    assert [dets(r) for r in res.images] == [dets(r) for r in ref.images]


def test_float16_model(folder: Path, models: dict[str, Path]) -> None:
    res = run(folder, models["fp16"])
    ref = run(folder, models["v8"])
    assert [dets(r) for r in res.images] == [dets(r) for r in ref.images]


@pytest.mark.parametrize("fp16", [False, True])
def test_preprocess_equals_letterbox_then_normalize(
    folder: Path, models: dict[str, Path], fp16: bool
) -> None:
    det = pixfeed.YoloDetector(models["fp16" if fp16 else "v8"])
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for h, w in ((128, 128), (37, 91), (200, 13), (64, 64))
    ]
    images.append(images[1][:, ::2])  # strided rows of pixels: copied first
    tensor, placements = det.preprocess(images)
    assert tensor.shape == (5, 3, 64, 64)
    assert tensor.dtype == (np.float16 if fp16 else np.float32)
    for img, got, place in zip(images, tensor, placements, strict=True):
        lb = pixfeed.letterbox(np.ascontiguousarray(img), 64)
        want = pixfeed.normalize(
            lb.image, mean=0.0, std=1.0, dtype="float16" if fp16 else "float32"
        )
        assert np.array_equal(got, want)
        assert (place.scale, place.pad) == (lb.scale, lb.pad)
    with pytest.raises(ValueError, match=r"images\[0\]: expected an RGB"):
        det.preprocess([np.zeros((8, 8), np.uint8)])


def test_import_pixfeed_does_not_import_onnxruntime() -> None:
    code = "import sys, pixfeed; print('onnxruntime' in sys.modules, 'onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_dynamic_input_uses_imgsz(folder: Path, models: dict[str, Path]) -> None:
    det = pixfeed.YoloDetector(models["whole"])
    assert det.input_size == (640, 640)
    assert pixfeed.YoloDetector(models["whole"], imgsz=96).input_size == (96, 96)
    res = run(
        [folder / "c_blue1.png", folder / "g_wide.png"], models["whole"], imgsz=128, conf=0.05
    )
    assert res.settings["imgsz"] == [128, 128]
    # One anchor: the whole network input, clipped back to the image.
    blue, wide = res.images
    assert dets(blue) == {("blue", (0, 0, 128, 128))}
    assert dets(wide) == {("red", (0, 0, 128, 64))}
    assert blue.detections[0].confidence == pytest.approx(1 / 16, abs=1e-3)
    with pytest.raises(ValueError, match="fixed input of 64x64"):
        pixfeed.YoloDetector(models["v8"], imgsz=640)


def test_dynamic_input_size_from_metadata(tmp_path: Path) -> None:
    m = build_whole_image_detector(tmp_path / "meta.onnx", imgsz="[320, 480]")
    assert pixfeed.YoloDetector(m).input_size == (480, 320)  # metadata is (height, width)
    assert pixfeed.YoloDetector(m, imgsz=96).input_size == (96, 96)
    junk = build_whole_image_detector(tmp_path / "junk.onnx", imgsz="big")
    assert pixfeed.YoloDetector(junk).input_size == (640, 640)


def test_result_cache_infers_only_what_changed(
    folder: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "filter.sqlite"
    first = run(folder, models["v8"], classes="red", cache=cache)
    assert (first.inferred, first.cached) == (7, 0)
    assert first.settings["cache"] == str(cache)

    again = run(folder, models["v8"], classes="red", cache=cache)
    assert (again.inferred, again.cached) == (0, 7)
    assert all(r.cached for r in again.images if r.error is None)
    assert [dets(r) for r in again.images] == [dets(r) for r in first.images]
    assert again.matched_paths == first.matched_paths
    assert again.counts["errors"] == 2  # failures are not cached: tried again

    # Class and count selection are applied after the cache.
    other = run(folder, models["v8"], classes="blue", count="at_least:1", cache=cache)
    assert (other.inferred, other.cached) == (0, 7)
    assert {Path(p).name for p in other.matched_paths} == {"c_blue1.png", "d_mixed.png"}

    # Touching a file (same bytes, new mtime) re-infers it alone.
    p = folder / "e_black.png"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = run(folder, models["v8"], classes="red", cache=cache)
    assert (touched.inferred, touched.cached) == (1, 6)
    assert [r.cached for r in touched.images if Path(r.path).name == "e_black.png"] == [False]

    # An in-place edit keeping the mtime is caught by the size; new content, new answer.
    p = folder / "c_blue1.png"
    st = p.stat()
    Image.fromarray(cell_image({(0, 0): "red", (1, 1): "red", (2, 2): "red"})).save(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size != st.st_size
    edited = run(folder, models["v8"], classes="red", count="at_least:3", cache=cache)
    assert (edited.inferred, edited.cached) == (1, 6)
    assert {Path(p).name for p in edited.matched_paths} == {"c_blue1.png", "f_red3.jpg"}

    # Settings that change raw detections, and another model, are separate cache entries.
    assert run(folder, models["v8"], conf=0.5, cache=cache).inferred == 7
    assert run(folder, models["v8"], conf=0.5, cache=cache).inferred == 0
    assert run(folder, models["v8"], max_det=1, cache=cache).inferred == 7
    assert run(folder, models["v5"], cache=cache).inferred == 7
    assert run(folder, models["v8"], cache=cache).inferred == 0


def test_default_cache_location(
    folder: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXFEED_CACHE_DIR", str(tmp_path / "pfcache"))
    res = run(folder, models["v8"], cache=True)
    assert res.settings["cache"] == str(tmp_path / "pfcache" / "filter.sqlite")
    assert run(folder, models["v8"], cache=True).inferred == 0
    assert run(folder, models["v8"], cache=False).inferred == 7


def test_unusable_cache_file(folder: Path, models: dict[str, Path], tmp_path: Path) -> None:
    # A folder is not a cache file (damaged files are set aside: test_filter_safety.py).
    with pytest.raises(OSError, match="is a folder"):
        run(folder, models["v8"], cache=tmp_path)


def test_not_a_yolo_model(folder: Path, models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(pixfeed.ModelError) as ei:
        run(folder, models["classifier"])
    msg = str(ei.value)
    assert str(models["classifier"]) in msg and "[" in msg and "YOLO" in msg
    assert ei.value.model == str(models["classifier"])

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07 definitely not protobuf" * 10)
    with pytest.raises(pixfeed.ModelError, match="cannot load the ONNX model"):
        pixfeed.YoloDetector(garbage)
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx"):
        pixfeed.YoloDetector(tmp_path / "missing.onnx")
    # A 3-D output that fits neither layout for the model's 3 classes.
    wrong_names = tmp_path / "wrong_names.onnx"
    build_grid_detector(wrong_names, names="{0: 'a', 1: 'b'}")
    with pytest.raises(pixfeed.ModelError, match=r"\[.*7, 16\] does not fit 2 classes"):
        pixfeed.YoloDetector(wrong_names)
    with pytest.raises(pixfeed.ModelError, match="metadata 'names'"):
        pixfeed.YoloDetector(build_grid_detector(tmp_path / "badnames.onnx", names="[[["))


def test_yolo_layout_rules() -> None:
    assert yolo_layout([1, 84, 8400], 80, "m") == ("v8", 80)
    assert yolo_layout([1, 25200, 85], 80, "m") == ("v5", 80)
    assert yolo_layout([1, 84, 8400], None, "m") == ("v8", 80)
    assert yolo_layout([1, 25200, 85], None, "m") == ("v5", 80)
    assert yolo_layout([2, 7, 8], 3, "m") == ("v8", 3)  # fits both: per-anchor dim smaller
    for shape in ([1, 10], [1, 3, 4, 5], [1, 4, 4], [1, 4, 100], [1, "n", 85]):
        with pytest.raises(pixfeed.ModelError, match="m: output shape"):
            yolo_layout(shape, None, "m")


def test_parse_names() -> None:
    assert parse_names("{0: 'person', 1: 'bicycle'}") == {0: "person", 1: "bicycle"}
    assert parse_names('{"0": "a", "2": "c"}') == {0: "a", 2: "c"}
    assert parse_names('["a", "b"]') == {0: "a", 1: "b"}
    for bad in ("person", "{0: 1}", "{'x': 'a'}", "{-1: 'a'}", "__import__('os')"):
        with pytest.raises(ValueError):
            parse_names(bad)


def test_streams_use_the_whole_budget(folder: Path, models: dict[str, Path]) -> None:
    from pixfeed.detect.filter import INFERENCE_THREADS, inference_streams, thread_budget

    assert [thread_budget(n) for n in (0, 1, 2, 8)] == [1, 1, 2, 8]
    assert thread_budget(None) == max(1, len(os.sched_getaffinity(0)))
    res = run(folder, models["v8"], config=Config(threads=3))
    assert res.settings["threads"] == 3
    assert (res.settings["inference_threads"], res.settings["streams"]) == (INFERENCE_THREADS, 3)
    # A detector with several intra-op threads (or onnxruntime's default) gets fewer streams.
    two = pixfeed.YoloDetector(models["v8"], backend="cpu", threads=2)
    default = pixfeed.YoloDetector(models["v8"], backend="cpu")
    assert [inference_streams(two, n) for n in (1, 2, 4, 5)] == [1, 1, 2, 2]
    assert inference_streams(default, 4) == 1


def test_streams_give_the_same_results_as_one(folder: Path, models: dict[str, Path]) -> None:
    """Streams finish out of order; results stay in path order and equal one stream's,
    whatever the batch size (uneven spans near the end included)."""
    one = pixfeed.YoloDetector(models["v8"], backend="cpu", threads=1)
    ref = run(folder, one, config=Config(threads=1), batch_size=3)
    assert ref.settings["streams"] == 1
    for threads, batch in ((2, 1), (2, 3), (3, 2), (4, 8)):
        res = run(folder, one, config=Config(threads=threads), batch_size=batch)
        assert res.settings["streams"] == threads
        assert [r.path for r in res.images] == [r.path for r in ref.images]
        assert [r.error for r in res.images] == [r.error for r in ref.images]
        for a, b in zip(res.images, ref.images, strict=True):
            assert [tuple(d) for d in a.detections] == [tuple(d) for d in b.detections]


def test_count_rule_parsing() -> None:
    assert str(pixfeed.CountRule.parse("AT_LEAST:2")) == "at_least:2"
    assert pixfeed.CountRule.parse("exactly:0").matches(0)
    for bad in ("some", "at_least", "at_least:-1", "at_least:x", "exactly:2:3", "most:1"):
        with pytest.raises(ValueError, match="count"):
            pixfeed.CountRule.parse(bad)


def test_bad_arguments(folder: Path, models: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="conf"):
        run(folder, models["v8"], conf=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        run(folder, models["v8"], batch_size=0)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run(folder / "nowhere", models["v8"])
    with pytest.raises(NotADirectoryError, match="a_red1"):
        run(folder / "a_red1.png", models["v8"])
    det = pixfeed.YoloDetector(models["v8"])
    with pytest.raises(ValueError, match="imgsz"):
        run(folder, det, imgsz=64)


def test_detector_on_arrays(models: dict[str, Path]) -> None:
    det = pixfeed.YoloDetector(models["v8"], backend="cpu", threads=1)
    assert det.providers == ["CPUExecutionProvider"]
    images = [cell_image({(3, 3): "green"}), cell_image({}, cell=8)]
    found = det.detect(images)
    assert found[0].shape == (1, 6) and found[0].dtype == np.float32
    assert found[0][0].tolist() == pytest.approx([96, 96, 128, 128, 1.0, 1.0])
    assert found[1].shape == (0, 6)
    assert det.detect([]) == []


def test_progress_and_a_failing_consumer_stop_the_background_thread(
    folder: Path, models: dict[str, Path]
) -> None:
    seen: list[tuple[int, int]] = []
    run(folder, models["v8"], batch_size=2, on_progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (9, 9) and all(t == 9 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    def explode(done: int, total: int) -> None:
        raise RuntimeError("stop here")

    # Streams (a model path: one-thread session, 2 streams) and one prefetching thread (a
    # detector with 2 intra-op threads): both stop when the consumer fails.
    two_threads = pixfeed.YoloDetector(models["v8"], backend="cpu", threads=2)
    for model in (models["v8"], two_threads):
        with pytest.raises(RuntimeError, match="stop here"):
            run(folder, model, batch_size=1, on_progress=explode)
        assert not [t for t in threading.enumerate() if t.name.startswith("pixfeed-filter-")]


def test_cpu_chunk_tuning_keeps_outputs(models: dict[str, Path]) -> None:
    """A dynamic-batch model on the CPU runs in tuned chunks: every candidate chunk size
    (1, 2, 4, the whole batch) is tried, one is kept, and the output never changes."""
    det = pixfeed.YoloDetector(models["v8"], backend="cpu")
    assert det._chunks is not None
    rng = np.random.default_rng(3)
    x = rng.random((8, 3, *det.input_size[::-1]), np.float32)
    first = det.infer(x)
    for _ in range(12):
        assert np.array_equal(det.infer(x), first)
    assert det._chunks.best in (1, 2, 4, 8)
    # A fixed-batch model is not tuned: its batch size is the model's.
    assert pixfeed.YoloDetector(models["batch1"], backend="cpu")._chunks is None


def test_chunk_tuner_keeps_the_fastest_per_image() -> None:
    from pixfeed.detect.detector import _ChunkTuner

    tuner = _ChunkTuner()
    per_image = {1: 3.0, 2: 1.0, 4: 2.0, 8: 4.0}  # seconds per image of each chunk size
    tried = []
    while tuner.best is None:
        c = tuner.chunk(8)
        tried.append(c)
        tuner.record(8, c, per_image[c] * 8)
    assert sorted(tried) == [1, 1, 2, 2, 4, 4, 8, 8]
    assert tuner.best == 2 and tuner.chunk(8) == 2 and tuner.chunk(1) == 1
    # A smaller (last) batch never gets a chunk larger than itself.
    assert _ChunkTuner().chunk(3) in (1, 2, 3)
