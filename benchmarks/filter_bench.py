"""The filter suite: `pixfeed.filter_images` against a per-image Pillow +
onnxruntime loop with the same model and the same post-processing, on the ImageNet-like
JPEGs (files in the page cache).

Floor: filter over 200 images, batch 8: >= 2x the per-image Pillow + onnxruntime loop, same
results. Checked before timing: every detection (class and box) is found by both systems,
except ones whose confidence lies within 0.002 of the threshold; the two letterbox resizes
(pixfeed's and Pillow's bilinear) round differently by at most one level on some pixels.

Models (built here with onnx.helper, YOLOv8 layout (B, 4 + 3, 400), 640x640 input, a 32-px
grid of 400 anchors; weights fixed by a seed):

* ``grid``: the test suite's colour detector at 640 with the pooling first (32x32 average
  pool, 1x1 conv, ReLU): one pass over the input, so inference is cheap and the pipeline
  around it is what is measured (the case of a small model, or of a GPU doing inference);
* ``conv``: five 3x3 stride-2 convolutions (3->16->32->64->64->64, ReLU) and a 1x1 sigmoid
  head: ~0.35 G multiply-adds per image (about 1/25 of YOLOv8n), so CPU inference is a
  large share of the time. Its head bias is calibrated on the images so that about 2 % of
  the anchors pass conf 0.25.

Systems (on the machine's 2 cores):

* pixfeed ``filter_images`` (batch 8, cache off, a budget of 2 threads): two streams, each
  taking batches in turn and running decode, letterbox (straight into the float tensor),
  ``session.run`` and post-processing chunk by chunk on one core, with a one-thread ONNX
  Runtime session (the chunk size tuned on the first batches);
* pixfeed ``filter_images`` with batch 1 (variant: what batching adds);
* Pillow + onnxruntime per image: ``Image.open`` + ``convert("RGB")``, letterbox with
  Pillow's bilinear resize (the images are enlarged to 640, where Pillow's bilinear is the
  plain, non-antialiased one, like pixfeed's) and a numpy canvas, ``/ 255`` to float32 NCHW,
  ``session.run`` on one image, the same ``pixfeed.yolo_postprocess`` + ``scale_boxes``;
  with 2 intra-op threads and spinning off, with onnxruntime's default (spinning), and with
  1 thread: the floor takes the fastest;
* the same Pillow loop feeding batches of 8 (variant: batching without overlap);
* a bound, not a system: ``session.run`` alone on inputs letterboxed beforehand, in
  pixfeed's layout (two threads, one-thread sessions).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import peers
from .data import DataSet
from .harness import Case, Floor, Workload

TITLE = "filter"
WORKLOADS: list[tuple[str, str]] = [
    ("filter-grid", "filter 200 JPEGs, batch 8, tiny colour-grid detector (640 input)"),
    ("filter-conv", "filter 200 JPEGs, batch 8, small conv detector (~0.35 GMAC, 640 input)"),
]
INPUTS = (
    "200 ImageNet-like JPEGs (~500x375, q90) in the page cache; models built by "
    "benchmarks/filter_bench.py (YOLOv8 layout, 640x640 input, 400 anchors, 3 classes)."
)
SIZE = 640
CELL = 32
BATCH = 8
THREADS = 2
CONF = 0.25
IOU = 0.45
SEED = 6
MODEL_DIR = Path(__file__).resolve().parent / "out" / "models"


# Models ------------------------------------------------------------------------------------


def _grid_boxes() -> np.ndarray:
    g = SIZE // CELL
    ys, xs = np.divmod(np.arange(g * g), g)
    return np.stack(
        [(xs + 0.5) * CELL, (ys + 0.5) * CELL, np.full(g * g, CELL), np.full(g * g, CELL)]
    ).astype(np.float32)[None]


def _model(nodes: list[Any], name: str, path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    n = (SIZE // CELL) ** 2
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["b", 7, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": "{0: 'a', 1: 'b', 2: 'c'}"})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _const(name: str, value: np.ndarray) -> Any:
    from onnx import helper, numpy_helper

    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def _head(scores_in: str) -> list[Any]:
    """(B, 3, 20, 20) scores -> the (B, 7, 400) output with the constant grid boxes."""
    from onnx import helper

    n = (SIZE // CELL) ** 2
    return [
        _const("boxes", _grid_boxes()),
        _const("shape", np.array([0, 3, n], np.int64)),
        _const("zero", np.zeros((), np.float32)),
        helper.make_node("Reshape", [scores_in, "shape"], ["scores"]),
        helper.make_node("ReduceMax", ["scores"], ["rmax"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["rmax", "zero"], ["zeros"]),
        helper.make_node("Add", ["boxes", "zeros"], ["bboxes"]),
        helper.make_node("Concat", ["bboxes", "scores"], ["output0"], axis=1),
    ]


def grid_model(path: Path) -> Path:
    """Per 32-px cell: relu(mean_c - (mean of the two other channels) / 2) for c in R, G, B
    (the test suite's colour detector with the pooling first, so that the network costs one
    pass over its input)."""
    from onnx import helper

    w = np.full((3, 3, 1, 1), -0.5, np.float32)
    for c in range(3):
        w[c, c, 0, 0] = 1.0
    nodes = [
        _const("w", w),
        helper.make_node(
            "AveragePool", ["images"], ["pooled"], kernel_shape=[CELL] * 2, strides=[CELL] * 2
        ),
        helper.make_node("Conv", ["pooled", "w"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["cells"]),
        *_head("cells"),
    ]
    return _model(nodes, "grid", path)


_CHANNELS = (3, 16, 32, 64, 64, 64)


def _conv_nodes(bias: np.ndarray) -> list[Any]:
    from onnx import helper

    rng = np.random.default_rng(SEED)
    nodes: list[Any] = []
    x = "images"
    for i, (cin, cout) in enumerate(itertools.pairwise(_CHANNELS)):
        w = rng.normal(0.0, np.sqrt(2.0 / (9 * cin)), (cout, cin, 3, 3)).astype(np.float32)
        nodes += [
            _const(f"w{i}", w),
            _const(f"b{i}", np.zeros(cout, np.float32)),
            helper.make_node(
                "Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], strides=[2, 2], pads=[1, 1, 1, 1]
            ),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        x = f"r{i}"
    wh = rng.normal(0.0, np.sqrt(1.0 / _CHANNELS[-1]), (3, _CHANNELS[-1], 1, 1)).astype(np.float32)
    nodes += [
        _const("wh", wh),
        _const("bh", bias.astype(np.float32)),
        helper.make_node("Conv", [x, "wh", "bh"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["probs"]),
        *_head("probs"),
    ]
    return nodes


def conv_model(path: Path, calibration: Sequence[np.ndarray]) -> Path:
    """The conv detector, its head bias set so that ~2 % of the anchors of the calibration
    tensors pass conf 0.25 (per class)."""
    import onnxruntime as ort

    raw = _model(_conv_nodes(np.zeros(3)), "conv", path.with_suffix(".raw.onnx"))
    sess = ort.InferenceSession(str(raw), providers=["CPUExecutionProvider"])
    out = np.concatenate([sess.run(None, {"images": t})[0] for t in calibration])
    probs = np.clip(out[:, 4:, :], 1e-6, 1 - 1e-6)  # (N, 3, 400) sigmoid(logit)
    logits = np.log(probs / (1 - probs))
    q98 = np.percentile(logits.transpose(1, 0, 2).reshape(3, -1), 98, axis=1)
    bias = np.log(CONF / (1 - CONF)) - q98
    raw.unlink()
    return _model(_conv_nodes(bias), "conv", path)


# Systems ------------------------------------------------------------------------------------


def pillow_letterbox(
    path: str, image_mod: Any
) -> tuple[np.ndarray, float, tuple[int, int], tuple[int, int]]:
    """Pillow open + RGB + letterbox to SIZE (ultralytics' geometry: half-even rounded size,
    odd padding pixel right/bottom, gray 114) -> (1, 3, S, S) float32 and the undo info."""
    im = image_mod.open(path)
    im = im.convert("RGB")
    w, h = im.size
    r = min(SIZE / w, SIZE / h)
    nw, nh = round(w * r), round(h * r)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), image_mod.Resampling.BILINEAR)
    canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
    left, top = (SIZE - nw) // 2, (SIZE - nh) // 2
    canvas[top : top + nh, left : left + nw] = np.asarray(im)
    x = canvas.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255)
    return x, r, (left, top), (w, h)


def pillow_detections(
    paths: list[str], session: Any, image_mod: Any, pixfeed: Any, batch: int
) -> list[np.ndarray]:
    """Per image (n, 6) detections in the image's pixels, the Pillow way."""
    name = session.get_inputs()[0].name
    found = []
    for start in range(0, len(paths), batch):
        prepared = [pillow_letterbox(p, image_mod) for p in paths[start : start + batch]]
        x = np.concatenate([p[0] for p in prepared])
        out = session.run(None, {name: x})[0]
        dets = pixfeed.yolo_postprocess(out, conf=CONF, iou=IOU, layout="v8")
        for d, (_, r, pad, size) in zip(dets, prepared, strict=True):
            found.append(pixfeed.scale_boxes(d, r, pad, size))
    return found


def pillow_loop(
    paths: list[str], session: Any, image_mod: Any, pixfeed: Any, batch: int
) -> Callable[[], np.ndarray]:
    def call() -> np.ndarray:
        dets = pillow_detections(paths, session, image_mod, pixfeed, batch)
        return np.array([int(np.sum(d[:, 5] == 0)) for d in dets], np.int32)

    return call


def inference_only(
    paths: list[str], session: Any, image_mod: Any, pixfeed: Any
) -> Callable[[], np.ndarray]:
    """``session.run`` per image on inputs letterboxed beforehand (8 of them, C-contiguous,
    cycled: the models' cost does not depend on the pixels), from ``THREADS`` threads at once
    (pixfeed's layout: one-thread sessions, one stream per core): the rate no pipeline around
    this model can beat with this session layout, a bound, not a system."""
    name = session.get_inputs()[0].name
    inputs = [np.ascontiguousarray(pillow_letterbox(p, image_mod)[0]) for p in paths[:8]]

    def stream(k: int, counts: np.ndarray) -> None:
        for i in range(k, len(paths), THREADS):
            pred = session.run(None, {name: inputs[i % len(inputs)]})[0]
            dets = pixfeed.yolo_postprocess(pred, conf=CONF, iou=IOU, layout="v8")
            counts[i] = int(np.sum(dets[0][:, 5] == 0))

    def call() -> np.ndarray:
        counts = np.zeros(len(paths), np.int32)
        threads = [threading.Thread(target=stream, args=(k, counts)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return counts

    return call


def pixfeed_detections(paths: list[str], detector: Any, pixfeed: Any, batch: int) -> Any:
    res = pixfeed.filter_images(
        paths,
        detector,
        classes=[0],
        conf=CONF,
        iou=IOU,
        batch_size=batch,
        cache=False,
        config=pixfeed.Config(threads=THREADS),
    )
    if res.errors:
        raise RuntimeError(f"pixfeed filter failed on {res.errors[0].path}: {res.errors[0].error}")
    return res


def pixfeed_filter(
    paths: list[str], detector: Any, pixfeed: Any, batch: int
) -> Callable[[], np.ndarray]:
    def call() -> np.ndarray:
        res = pixfeed_detections(paths, detector, pixfeed, batch)
        return np.array([r.count for r in res.images], np.int32)

    return call


def _key(box: Sequence[float]) -> tuple[float, ...]:
    return tuple(round(float(v), 1) for v in box)


def compare_results(ours: Any, theirs: list[np.ndarray], tol: float = 2e-3) -> str:
    """A sentence on how pixfeed's detections compare with the Pillow loop's; raises when
    they differ by more than detections within ``tol`` of the confidence threshold (the
    letterbox resizes round differently: pixfeed's bilinear and Pillow's differ by at most
    one level on some pixels)."""
    same = 0
    borderline = 0
    worst = 0.0
    for r, d in zip(ours.images, theirs, strict=True):
        a = {
            (int(x.class_id), tuple(round(v, 1) for v in x.box)): x.confidence for x in r.detections
        }
        b = {(int(row[5]), tuple(round(float(v), 1) for v in row[:4])): float(row[4]) for row in d}
        if a.keys() == b.keys():
            same += 1
        for key in a.keys() & b.keys():
            worst = max(worst, abs(a[key] - b[key]))
        for key in a.keys() ^ b.keys():
            score = a.get(key, b.get(key, 0.0))
            if abs(score - CONF) > tol:
                raise RuntimeError(
                    f"results differ beyond rounding on {r.path}: detection {key} "
                    f"with confidence {score:.4f} is found by one system only"
                )
            borderline += 1
    ours_matched = [r.count > 0 for r in ours.images]
    theirs_matched = [bool(np.any(d[:, 5] == 0)) for d in theirs]
    flips = sum(a != b for a, b in zip(ours_matched, theirs_matched, strict=True))
    matched = (
        "identical"
        if flips == 0
        else f"different for {flips} image(s), all through such borderline detections"
    )
    return (
        f"Same results: matched set (any class-0 detection, {sum(ours_matched)} images) "
        f"{matched}; {same} of {len(theirs)} images have identical detections (class and "
        f"box) in pixfeed and the Pillow loop; {borderline} detection(s) differ, each within "
        f"{tol} of conf {CONF} (the two letterbox resizes round differently by at most one "
        f"level); confidences of common detections differ by at most {worst:.1e}."
    )


def _session(ort: Any, model: Path, spinning: bool, threads: int = THREADS) -> Any:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def _workload(ds: DataSet, n: int, which: str) -> Workload:
    name, title = WORKLOADS[0 if which == "grid" else 1]
    paths = ds.paths[:n]
    ds.read(n)  # into the page cache
    wl = Workload(
        name=name,
        title=title,
        description=(
            f"{len(paths)} files of '{ds.name}' (in the page cache): decode, letterbox to "
            f"{SIZE}, infer (ONNX Runtime), YOLO post-process, boxes back to the image, count "
            f"class 0 per image; batch {BATCH}; {THREADS} cores."
        ),
        n_images=len(paths),
        input_megapixels=ds.megapixels(n),
        notes=[
            "Output compared by the harness: the number of class-0 detections per image.",
        ],
    )
    px, pil, ortp = peers.get("pixfeed"), peers.get("Pillow"), peers.get("onnxruntime")
    for p in (px, pil, ortp):
        if not p.ok:
            wl.missing[p.name] = p.error or "not installed"
    if not (px.ok and pil.ok and ortp.ok):
        return wl
    pixfeed, ort, image_mod = px.module, ortp.module, pil.module
    try:
        import onnx  # noqa: F401
    except ImportError as e:
        wl.missing["onnx (to build the model)"] = str(e)
        return wl
    if which == "grid":
        model = grid_model(MODEL_DIR / "grid640.onnx")
        wl.notes.append(
            "Model: colour grid (32x32 average pool + 1x1 conv + ReLU), one pass over the "
            "input: inference is cheap, the pipeline around it is measured."
        )
    else:
        calib = [pillow_letterbox(p, image_mod)[0] for p in ds.paths[-16:]]
        model = conv_model(MODEL_DIR / "conv640.onnx", calib)
        wl.notes.append(
            "Model: five 3x3 stride-2 convs (16-32-64-64-64) + 1x1 sigmoid head, "
            "~0.35 G MAC/image, random weights (seed 6), head bias calibrated for ~2 % "
            "of anchors above conf 0.25: inference is a large share of the time."
        )
    session = _session(ort, model, spinning=False)
    spinning = _session(ort, model, spinning=True)
    one_thread = _session(ort, model, spinning=False, threads=1)
    # As filter_images builds it from a path: one intra-op thread, one stream per core.
    detector = pixfeed.YoloDetector(
        model, backend="cpu", threads=pixfeed.detect.filter.INFERENCE_THREADS
    )
    wl.notes.append(
        compare_results(
            pixfeed_detections(paths, detector, pixfeed, BATCH),
            pillow_detections(paths, session, image_mod, pixfeed, 1),
        )
    )
    wl.notes.append(
        "onnxruntime sessions: pixfeed's (as filter_images makes it with 2 threads in all) "
        "has 1 intra-op thread and is run by 2 streams at once, each decoding, letterboxing "
        "and inferring its own batches on one core; "
        "the Pillow loop is measured with 2 intra-op threads with and without spinning "
        "(onnxruntime's default spins) and with 1 thread; the floor takes the fastest."
    )

    wl.add(
        Case(
            "pixfeed",
            pixfeed_filter(paths, detector, pixfeed, BATCH),
            label="pixfeed filter_images",
            note=f"batch {BATCH}, 2 streams",
        )
    )
    wl.add(
        Case(
            "pixfeed",
            pixfeed_filter(paths, detector, pixfeed, 1),
            label="pixfeed filter_images batch 1",
            primary=False,
            peer=False,
            note="variant: no batching",
        )
    )
    per_image = [
        "Pillow + onnxruntime per image",
        "Pillow + onnxruntime per image (spinning)",
        "Pillow + onnxruntime per image (1 thread)",
    ]
    loops = [  # (session, images per run, label, note)
        (session, 1, per_image[0], "the issue's baseline, no spinning"),
        (spinning, 1, per_image[1], "onnxruntime's default session options"),
        (one_thread, 1, per_image[2], "1 intra-op thread, no spinning"),
        (session, BATCH, "Pillow + onnxruntime batch 8", "variant: batched, no overlap"),
    ]
    for sess, batch, label, note in loops:
        fn = pillow_loop(paths, sess, image_mod, pixfeed, batch)
        wl.add(Case("Pillow", fn, label=label, note=note))
    wl.add(
        Case(
            "onnxruntime",
            inference_only(paths, one_thread, image_mod, pixfeed),
            label="onnxruntime inference only (bound)",
            primary=False,
            peer=False,
            note=f"{THREADS} one-thread streams (as pixfeed); inputs letterboxed beforehand: "
            "no decode at all",
        )
    )
    wl.floor = Floor(
        2.0,
        per_image,
        ">= 2x a per-image Pillow + onnxruntime loop with the same model, same results",
    )
    return wl


def build(
    sets: dict[str, DataSet], *, quick: bool, only: Sequence[str] | None = None
) -> list[Workload]:
    n = 64 if quick else 200
    makers = {
        "filter-grid": lambda: _workload(sets["imagenet"], n, "grid"),
        "filter-conv": lambda: _workload(sets["imagenet"], n, "conv"),
    }
    return [makers[name]() for name, _ in WORKLOADS if not only or name in only]
