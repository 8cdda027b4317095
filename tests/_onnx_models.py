"""Tiny YOLO-shaped ONNX detectors built with onnx.helper (no download), whose detections
follow the image content, for the `pixfeed filter` tests.

The network input (B, 3, S, S) is cut into a G x G grid of anchors (one per cell, box = the
cell). Class c's score in a cell is the cell's mean of ``relu(x_c - (x_other1 + x_other2)/2)``
for c in red, green, blue: a pure red cell scores 1 for "red" and 0 otherwise; black, white,
gray (and the letterbox padding) score 0 everywhere. So an image made of coloured cells
aligned with the grid has exactly one detection per coloured cell, of that colour's class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NAMES = ("red", "green", "blue")
NAMES_META = "{0: 'red', 1: 'green', 2: 'blue'}"


def _const(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(value, name=name + "_value")
    )


def build_grid_detector(
    path: Path,
    *,
    size: int = 64,
    grid: int = 4,
    layout: str = "v8",
    names: str | None = NAMES_META,
    batch: int | str = "batch",
    float16: bool = False,
) -> Path:
    """Write the grid detector to ``path`` (YOLOv8 (B, 7, G*G) or YOLOv5 (B, G*G, 8));
    ``float16``: the input is float16 (cast to float inside)."""
    cell = size // grid
    n = grid * grid
    weights = np.full((3, 3, 1, 1), -0.5, np.float32)
    for c in range(3):
        weights[c, c, 0, 0] = 1.0
    ys, xs = np.divmod(np.arange(n), grid)
    boxes = np.stack(
        [(xs + 0.5) * cell, (ys + 0.5) * cell, np.full(n, cell), np.full(n, cell)]
    ).astype(np.float32)[None]  # (1, 4, N)
    nodes = [
        _const("w", weights),
        _const("boxes", boxes),
        _const("shape", np.array([0, 3, n], np.int64)),
        _const("zero", np.zeros((), np.float32)),
        helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT)
        if float16
        else helper.make_node("Identity", ["images"], ["x"]),
        helper.make_node("Conv", ["x", "w"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["pos"]),
        helper.make_node(
            "AveragePool", ["pos"], ["pooled"], kernel_shape=[cell, cell], strides=[cell, cell]
        ),
        helper.make_node("Reshape", ["pooled", "shape"], ["scores"]),  # (B, 3, N)
        # (B, 1, N) zeros, so that the constant boxes broadcast to the batch size.
        helper.make_node("ReduceMax", ["scores"], ["rmax"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["rmax", "zero"], ["zeros"]),
        helper.make_node("Add", ["boxes", "zeros"], ["bboxes"]),  # (B, 4, N)
    ]
    if layout == "v8":
        nodes.append(helper.make_node("Concat", ["bboxes", "scores"], ["output0"], axis=1))
        out_shape = [batch, 4 + 3, n]
    elif layout == "v5":
        nodes += [
            _const("one", np.ones((), np.float32)),
            helper.make_node("Add", ["zeros", "one"], ["objectness"]),  # (B, 1, N) ones
            helper.make_node("Concat", ["bboxes", "objectness", "scores"], ["raw"], axis=1),
            helper.make_node("Transpose", ["raw"], ["output0"], perm=[0, 2, 1]),
        ]
        out_shape = [batch, n, 5 + 3]
    else:
        raise ValueError(layout)
    in_type = TensorProto.FLOAT16 if float16 else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "grid_detector",
        [helper.make_tensor_value_info("images", in_type, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
    )
    return _save(graph, path, names)


def build_whole_image_detector(
    path: Path, *, names: str | None = NAMES_META, imgsz: str | None = None
) -> Path:
    """A detector with a dynamic input (B, 3, H, W): one anchor, the whole network input,
    scored as the grid detector scores a cell (YOLOv8 layout (B, 7, 1))."""
    weights = np.full((3, 3, 1, 1), -0.5, np.float32)
    for c in range(3):
        weights[c, c, 0, 0] = 1.0
    nodes = [
        _const("w", weights),
        _const("hw_idx", np.array([2, 3], np.int64)),
        _const("half", np.array([0.5, 0.5, 1.0, 1.0], np.float32)),
        _const("order", np.array([1, 0, 1, 0], np.int64)),
        _const("box_shape", np.array([1, 4, 1], np.int64)),
        _const("score_shape", np.array([0, 3, 1], np.int64)),
        _const("zero", np.zeros((), np.float32)),
        helper.make_node("Shape", ["images"], ["shape"]),
        helper.make_node("Gather", ["shape", "hw_idx"], ["hw"]),  # [H, W]
        helper.make_node("Gather", ["hw", "order"], ["whwh"]),  # [W, H, W, H]
        helper.make_node("Cast", ["whwh"], ["whwh_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["whwh_f", "half"], ["box"]),  # cx, cy, w, h
        helper.make_node("Reshape", ["box", "box_shape"], ["box1"]),
        helper.make_node("Conv", ["images", "w"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["pos"]),
        helper.make_node("GlobalAveragePool", ["pos"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "score_shape"], ["scores"]),
        helper.make_node("ReduceMax", ["scores"], ["rmax"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["rmax", "zero"], ["zeros"]),
        helper.make_node("Add", ["box1", "zeros"], ["bboxes"]),
        helper.make_node("Concat", ["bboxes", "scores"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "whole_image_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 3, "h", "w"])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["b", 7, 1])],
    )
    return _save(graph, path, names, imgsz)


def build_classifier(path: Path, *, size: int = 64) -> Path:
    """Not a detector: (B, 3, S, S) -> (B, 3) channel means."""
    nodes = [
        _const("shape", np.array([0, 3], np.int64)),
        helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "shape"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 3])],
    )
    return _save(graph, path, None)


def _save(graph: onnx.GraphProto, path: Path, names: str | None, imgsz: str | None = None) -> Path:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="pixfeed-tests"
    )
    model.ir_version = 8  # readable by every onnxruntime >= 1.10
    props = {"stride": "16"}
    if names is not None:
        props["names"] = names
    if imgsz is not None:
        props["imgsz"] = imgsz  # Ultralytics: "[height, width]"
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def cell_image(cells: dict[tuple[int, int], str], *, grid: int = 4, cell: int = 32) -> np.ndarray:
    """A square RGB image of grid x grid cells, black except ``{(row, col): colour}``."""
    colours = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
    img = np.zeros((grid * cell, grid * cell, 3), np.uint8)
    for (r, c), name in cells.items():
        img[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = colours[name]
    return img
