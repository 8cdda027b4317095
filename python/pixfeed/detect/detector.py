"""A YOLO detector exported to ONNX, run by ONNX Runtime with pixfeed's pre- and
post-processing (:func:`~pixfeed.letterbox`, :func:`~pixfeed.yolo_postprocess`,
:func:`~pixfeed.scale_boxes`).

``onnxruntime`` is imported when a detector is created, never by ``import pixfeed``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.config import BACKENDS
from pixfeed.detect import geometry
from pixfeed.errors import BackendError, ModelError

__all__ = [
    "AUTO_ORDER",
    "BACKEND_PROVIDERS",
    "DEFAULT_IMGSZ",
    "Placement",
    "YoloDetector",
    "available_backends",
    "load_names",
    "parse_names",
    "yolo_layout",
]

#: Network input size used when the model's input has dynamic height/width.
DEFAULT_IMGSZ = 640

#: Letterbox padding value (ultralytics' gray).
PAD_COLOR = 114

Names = dict[int, str]
NamesArg = Sequence[str] | Mapping[int, str] | str | os.PathLike[str] | None


#: Ceilings on a metadata value parsed as a literal (class names, imgsz): its length in
#: characters and its bracket nesting (class names nest 1 deep).
MAX_METADATA_CHARS = 16 << 20
MAX_METADATA_DEPTH = 32


def _literal(text: str, what: str) -> object:
    """``text`` as JSON or a Python literal, within :data:`MAX_METADATA_CHARS` and
    :data:`MAX_METADATA_DEPTH` (checked before parsing: a deeply nested value would
    otherwise end in a RecursionError); ValueError naming ``what`` when it is not one."""
    if len(text) > MAX_METADATA_CHARS:
        raise ValueError(f"{what}: {len(text):,} characters, more than {MAX_METADATA_CHARS:,}")
    depth = deepest = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_METADATA_DEPTH:
                    raise ValueError(
                        f"{what}: nested more than {MAX_METADATA_DEPTH} deep: {text[:80]!r}"
                    )
        elif ch in "]})":
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"{what}: not a literal: {text[:80]!r}") from None


def parse_names(text: str) -> Names:
    """Class names as Ultralytics stores them in an ONNX model's metadata: a Python dict
    literal ``"{0: 'person', 1: 'bicycle'}"``; JSON (an object or a list) is accepted too.
    ValueError when the text is none of those, or longer or more deeply nested than
    :data:`MAX_METADATA_CHARS` and :data:`MAX_METADATA_DEPTH` allow."""
    try:
        value = _literal(text, "class names")
    except ValueError as e:
        raise ValueError(f"not a dict or list of class names ({e})") from None
    return _names_from(value)


def _names_from(value: object) -> Names:
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a dict or list of class names, got {type(value).__name__}")
    out: Names = {}
    for k, v in value.items():
        try:
            key = int(k)
        except (TypeError, ValueError):
            raise ValueError(f"class id {k!r} is not an integer") from None
        if key < 0 or not isinstance(v, str):
            raise ValueError(f"class {k!r}: expected a name (str) for a class id >= 0, got {v!r}")
        out[key] = v
    return out


def load_names(value: NamesArg) -> Names | None:
    """Class names from a names file (one per line, blank lines ignored), a list of names or
    an ``{id: name}`` mapping; None stays None."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(f"names: no such file: {path}")
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        names = [ln for ln in lines if ln]
        if not names:
            raise ValueError(f"names: {path} has no class names (one per line expected)")
        return dict(enumerate(names))
    try:
        return _names_from(value)
    except ValueError as e:
        raise ValueError(f"names: {e}") from None


_LAYOUTS_TEXT = (
    "expected a YOLOv8/YOLO11 output (batch, 4 + classes, anchors) or a YOLOv5 output "
    "(batch, anchors, 5 + classes)"
)


def yolo_layout(shape: Sequence[Any], num_classes: int | None, model: str) -> tuple[str, int]:
    """``("v8" | "v5", number of classes)`` of a YOLO output ``shape``; a :class:`ModelError`
    naming ``model`` and the shape when it is neither layout (or does not fit
    ``num_classes``, when the class names are known)."""
    dims = tuple(shape)
    if len(dims) != 3 or not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims[1:]):
        raise ModelError(model, f"output shape {list(dims)} is not a YOLO output: {_LAYOUTS_TEXT}")
    a, b = int(dims[1]), int(dims[2])
    if num_classes is not None:
        # (B, 4 + nc, 5 + nc) would fit both: the per-anchor dimension is the smaller one.
        if a == 4 + num_classes:
            return "v8", num_classes
        if b == 5 + num_classes:
            return "v5", num_classes
        raise ModelError(
            model,
            f"output shape {list(dims)} does not fit {num_classes} classes: {_LAYOUTS_TEXT}, "
            f"i.e. (batch, {4 + num_classes}, anchors) or (batch, anchors, {5 + num_classes})",
        )
    # Without names, the per-anchor dimension is the smaller one (anchors are many).
    if a < b and a >= 5:
        return "v8", a - 4
    if b < a and b >= 6:
        return "v5", b - 5
    raise ModelError(
        model,
        f"output shape {list(dims)} is not a YOLO output: {_LAYOUTS_TEXT} "
        "(pass class names to tell the layouts apart when both dimensions could be anchors)",
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: The ONNX Runtime execution provider of each ``backend`` value.
BACKEND_PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "directml": "DmlExecutionProvider",
}

#: ``backend = "auto"`` takes the first of these the installed onnxruntime has. TensorRT is
#: never picked by ``auto``: it compiles an engine per model on first load (minutes); ask
#: for it by name.
AUTO_ORDER: tuple[str, ...] = ("cuda", "directml", "openvino", "cpu")

_INSTALL_HINTS = {
    "cuda": "install onnxruntime-gpu",
    "tensorrt": "install onnxruntime-gpu with TensorRT",
    "openvino": "install onnxruntime-openvino",
    "directml": "install onnxruntime-directml (Windows)",
}


def available_backends(ort: Any = None) -> list[str]:
    """The ``backend`` values the installed onnxruntime can run (``auto`` not included), in
    `AUTO_ORDER` with ``tensorrt`` first when present; [] without onnxruntime."""
    if ort is None:
        try:
            import onnxruntime
        except ImportError:
            return []
        ort = onnxruntime
    have = set(ort.get_available_providers())
    order = ("tensorrt", *AUTO_ORDER)
    return [b for b in order if BACKEND_PROVIDERS[b] in have]


def _providers(ort: Any, backend: str, model: str) -> list[str]:
    """The session's provider list for ``backend``: the chosen one, then the ones it falls
    back on for operators it lacks (TensorRT -> CUDA -> CPU; others -> CPU)."""
    available = list(ort.get_available_providers())
    if backend == "auto":
        backend = next((b for b in AUTO_ORDER if BACKEND_PROVIDERS[b] in available), "cpu")
    want = BACKEND_PROVIDERS[backend]
    if want not in available:
        hint = _INSTALL_HINTS.get(backend)
        raise BackendError(
            backend,
            available,
            f"backend {backend!r} asked for, but this onnxruntime has no {want} (installed: "
            f"{', '.join(available)})" + (f"; {hint}" if hint else ""),
        )
    chain = [want]
    if backend == "tensorrt" and BACKEND_PROVIDERS["cuda"] in available:
        chain.append(BACKEND_PROVIDERS["cuda"])
    if want != "CPUExecutionProvider":
        chain.append("CPUExecutionProvider")
    return chain


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError(
            "pixfeed's ONNX detector needs onnxruntime: pip install onnxruntime "
            "(or onnxruntime-gpu for CUDA)"
        ) from e
    return onnxruntime


class Placement(NamedTuple):
    """Where a letterboxed image sits in the network input: resized = original * scale,
    then padded by (left, top) pixels (see :func:`~pixfeed.scale_boxes`)."""

    scale: float
    pad: tuple[int, int]


def _static(dim: Any) -> int | None:
    return int(dim) if isinstance(dim, (int, np.integer)) and dim > 0 else None


class _ChunkTuner:
    """Picks how many images go into one ``session.run`` on the CPU. ONNX Runtime's CPU
    convolutions slow down when a batch's activations outgrow the caches, so smaller chunks
    can be faster per image (figures in benchmarks/RESULTS.md). The best chunk depends on the
    model, the input size and the machine, so it is measured: each candidate (1, 2, 4 and the
    whole batch) runs ``TRIALS`` batches, then the fastest per image is kept. Every image is
    computed on its own in any case, so outputs do not depend on the choice (the tests check
    this)."""

    TRIALS = 2

    def __init__(self) -> None:
        self._times: dict[int, list[float]] = {}
        self._best: int | None = None

    def _candidates(self, n: int) -> list[int]:
        return sorted({c for c in (1, 2, 4, n) if c <= n})

    def chunk(self, n: int) -> int:
        if n <= 1:
            return 1
        if self._best is not None:
            return min(self._best, n)
        for c in self._candidates(n):
            if len(self._times.get(c, [])) < self.TRIALS:
                return c
        return n  # unreachable: record() decides once every candidate has its trials

    def record(self, n: int, chunk: int, seconds: float) -> None:
        """``seconds``: the time of a batch of ``n`` images run in chunks of ``chunk``."""
        if self._best is not None or n <= 1:
            return
        self._times.setdefault(chunk, []).append(seconds / n)
        cands = self._candidates(n)
        if all(len(self._times.get(c, [])) >= self.TRIALS for c in cands):
            self._best = min(cands, key=lambda c: min(self._times[c]))

    @property
    def best(self) -> int | None:
        """The chosen chunk size once tuned, else None."""
        return self._best


class YoloDetector:
    """A YOLOv5 / YOLOv8 / YOLO11 detector in an ONNX Runtime session.

    Args:
        model: path of the ``.onnx`` file (one image input ``(B, 3, H, W)``; float32 or
            float16; the first output is the raw YOLO output).
        imgsz: network input size, an int or ``(width, height)``; only for models whose
            input height/width are dynamic (default: the model's ``imgsz`` metadata, as
            Ultralytics exports it, else 640). A fixed input size wins; a different
            ``imgsz`` is a ``ValueError``.
        names: class names (a names file, a list or an ``{id: name}`` mapping); default:
            the model's ``names`` metadata, as Ultralytics exports it.
        backend: ``"auto"`` (the first of `AUTO_ORDER` that onnxruntime has: CUDA,
            DirectML, OpenVINO, else CPU), or by name ``"cpu"``, ``"cuda"``, ``"tensorrt"``,
            ``"openvino"``, ``"directml"`` (`BACKEND_PROVIDERS`); one that the installed
            onnxruntime lacks raises :class:`~pixfeed.BackendError` naming those it has.
        threads: ONNX Runtime intra-op threads (None: onnxruntime's default, all cores).

    Raises ``FileNotFoundError`` for a missing file and :class:`~pixfeed.ModelError` for a
    model that does not load or is not a YOLO detector.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        imgsz: int | tuple[int, int] | None = None,
        names: NamesArg = None,
        backend: str = "auto",
        threads: int | None = None,
    ) -> None:
        path = Path(model)
        label = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"model: no such file: {path}")
        if backend not in BACKENDS:
            raise ValueError(
                f"backend: expected one of {', '.join(map(repr, BACKENDS))}, got {backend!r}"
            )
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        #: ONNX Runtime intra-op threads (None: onnxruntime's default).
        self.threads = _args.threads(threads)
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        # Idle intra-op threads would spin on the cores that decode the next batch meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(path), options, providers=_providers(ort, backend, label)
            )
        except (ModelError, BackendError):
            raise
        except Exception as e:  # onnxruntime raises its own classes for bad files
            raise ModelError(label, f"cannot load the ONNX model: {e}") from None
        self.path = path
        self.sha256 = _sha256(path)
        self._session = session
        self.providers: list[str] = list(session.get_providers())

        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                label,
                f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                "a YOLO detector has one image input (batch, 3, height, width)",
            )
        inp = inputs[0]
        shape = list(inp.shape)
        if len(shape) != 4 or _static(shape[1]) not in (None, 3):
            raise ModelError(
                label, f"input {inp.name!r} has shape {shape}, expected (batch, 3, height, width)"
            )
        dtypes = {"tensor(float)": "float32", "tensor(float16)": "float16"}
        if inp.type not in dtypes:
            raise ModelError(label, f"input {inp.name!r} is {inp.type}, expected float or float16")
        self._input_name: str = inp.name
        self._input_dtype: str = dtypes[inp.type]
        #: Fixed batch size of the model's input, None when dynamic.
        self.fixed_batch: int | None = _static(shape[0])
        # Dynamic batch on the CPU: images per session.run, tuned on the first batches.
        self._chunks: _ChunkTuner | None = (
            _ChunkTuner()
            if self.fixed_batch is None and self.providers[:1] == ["CPUExecutionProvider"]
            else None
        )
        self.input_size: tuple[int, int] = self._input_size(shape, imgsz, label)

        if names is not None:
            self.names: Names | None = load_names(names)
        else:
            self.names = self._metadata_names(label)
        nc = None if self.names is None else max(self.names, default=-1) + 1
        self.layout: str | None = None
        self.num_classes: int | None = nc
        out_shape = list(session.get_outputs()[0].shape)
        if len(out_shape) != 3 or (_static(out_shape[1]) and _static(out_shape[2])):
            # Static (or plainly wrong) output shapes are checked now, before any decoding.
            self.layout, self.num_classes = yolo_layout(out_shape, nc, label)

    def _input_size(
        self, shape: list[Any], imgsz: int | tuple[int, int] | None, label: str
    ) -> tuple[int, int]:
        want: tuple[int, int] | None = None
        if imgsz is not None:
            if isinstance(imgsz, (int, np.integer)) and not isinstance(imgsz, bool):
                want = (int(imgsz), int(imgsz))
            elif isinstance(imgsz, Sequence) and len(imgsz) == 2:
                want = (int(imgsz[0]), int(imgsz[1]))
            else:
                raise TypeError(f"imgsz: expected an int or (width, height), got {imgsz!r}")
            if min(want) < 1:
                raise ValueError(f"imgsz: must be positive, got {imgsz!r}")
        h, w = _static(shape[2]), _static(shape[3])
        if h is not None and w is not None:
            if want is not None and want != (w, h):
                raise ValueError(
                    f"imgsz: the model {label} has a fixed input of {w}x{h}, "
                    f"got {want[0]}x{want[1]}"
                )
            return w, h
        if want is not None:
            return want
        mh, mw = self._metadata_imgsz()
        return (w or mw, h or mh)

    def _metadata_imgsz(self) -> tuple[int, int]:
        """(height, width) from Ultralytics' ``imgsz`` metadata ("[640, 640]", height first),
        else the default 640."""
        text = self._session.get_modelmeta().custom_metadata_map.get("imgsz")
        try:
            value = _literal(text, "imgsz") if text else None
        except ValueError:
            value = None
        if isinstance(value, int):
            value = [value, value]
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            return int(value[0]), int(value[1])
        return DEFAULT_IMGSZ, DEFAULT_IMGSZ

    def _metadata_names(self, label: str) -> Names | None:
        meta = self._session.get_modelmeta().custom_metadata_map
        text = meta.get("names")
        if text is None:
            return None
        try:
            return parse_names(text)
        except ValueError as e:
            raise ModelError(label, f"metadata 'names': {e} (pass class names instead)") from None

    def class_name(self, class_id: int) -> str:
        """The name of a class id (the id as text when the model has no name for it)."""
        if self.names is not None and class_id in self.names:
            return self.names[class_id]
        return str(class_id)

    # The three stages, public so that a pipeline can run them on different threads.

    @property
    def input_dtype(self) -> str:
        """``"float32"`` or ``"float16"``: the network input's element type."""
        return self._input_dtype

    def preprocess(
        self,
        images: Sequence[npt.NDArray[np.uint8]],
        *,
        threads: int | None = None,
        out: npt.NDArray[Any] | None = None,
    ) -> tuple[npt.NDArray[Any], list[Placement]]:
        """Letterbox RGB uint8 ``(H, W, 3)`` images to the input size straight into the
        network's ``(N, 3, H, W)`` tensor (values / 255, padding 114 / 255), in parallel
        native threads. Values equal :func:`~pixfeed.letterbox` then
        ``normalize(mean=0, std=1)``. ``out``: a C-contiguous array of that shape and the
        input dtype to write into (returned)."""
        w, h = self.input_size
        shape = (len(images), 3, h, w)
        if out is None:
            out = np.empty(shape, self._input_dtype)
        elif out.shape != shape or out.dtype != self._input_dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"out: expected a C-contiguous {self._input_dtype} array of shape {shape}, "
                f"got {out.dtype} {out.shape}"
            )
        if len(images) == 0:
            return out, []
        arrays = []
        for i, im in enumerate(images):
            if not isinstance(im, np.ndarray) or im.dtype != np.uint8:
                raise TypeError(f"images[{i}]: expected a uint8 numpy array")
            if im.ndim != 3 or im.shape[2] != 3:
                raise ValueError(f"images[{i}]: expected an RGB (H, W, 3) image, got {im.shape}")
            arrays.append(im if im.strides[1:] == (3, 1) else np.ascontiguousarray(im))
        # float16 tensors are filled through their uint16 bits.
        target = out.view(np.uint16) if self._input_dtype == "float16" else out
        geometry = _core.letterbox_tensor(
            arrays, w, h, [PAD_COLOR] * 3, True, self._input_dtype, _args.threads(threads), target
        )
        return out, [Placement(scale, (int(px), int(py))) for scale, (px, py) in geometry]

    def infer(self, tensor: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """Run the network on an ``(N, 3, H, W)`` tensor; returns its first output. A model
        with a fixed batch size is run in chunks of that size (the last one zero-padded).
        On the CPU, a model with a dynamic batch size is run in chunks of the size that
        proved fastest on the first batches (see :class:`_ChunkTuner`); the output is the
        same whatever the chunk size."""
        n = len(tensor)
        step = self.chunk_size(n)
        started = time.perf_counter()
        raw = self.run_chunks(tensor, step)
        self.record_chunk(n, step, time.perf_counter() - started)
        return raw

    def chunk_size(self, n: int) -> int:
        """Images per ``session.run`` for a batch of ``n``: the model's fixed batch size, the
        tuned chunk on the CPU (:class:`_ChunkTuner`, trying candidates until tuned), else
        ``n``."""
        if self.fixed_batch:
            return self.fixed_batch
        return self._chunks.chunk(n) if self._chunks is not None else max(n, 1)

    def record_chunk(self, n: int, chunk: int, seconds: float) -> None:
        """Tell the tuner that a batch of ``n`` images took ``seconds`` in chunks of
        ``chunk`` (callers that run chunks themselves, e.g. a filter stream, which times
        decoding too: the chunk that is fastest end to end wins)."""
        if self._chunks is not None:
            self._chunks.record(n, chunk, seconds)

    def run_chunks(self, tensor: npt.NDArray[Any], step: int) -> npt.NDArray[np.float32]:
        """The first output for ``tensor``, ``step`` images per ``session.run`` (the last
        chunk zero-padded to ``step``); not timed for the tuner."""
        n = len(tensor)
        parts = []
        for start in range(0, n, step):
            chunk = tensor[start : start + step]
            if len(chunk) < step:
                pad = np.zeros((step - len(chunk), *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            try:
                out = self._session.run(None, {self._input_name: chunk})[0]
            except Exception as e:  # onnxruntime's own error classes
                raise ModelError(str(self.path), f"inference failed: {e}") from None
            parts.append(np.asarray(out)[: min(step, n - start)])
        if not parts:
            return np.zeros((0, 0, 0), np.float32)
        raw = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if self.layout is None:
            self.layout, self.num_classes = yolo_layout(raw.shape, self.num_classes, str(self.path))
        elif raw.ndim != 3:
            yolo_layout(raw.shape, self.num_classes, str(self.path))  # raises, naming shape
        return np.asarray(raw, np.float32)

    def postprocess(
        self,
        raw: npt.NDArray[np.float32],
        boxes: Sequence[Placement],
        sizes: Sequence[tuple[int, int]],
        *,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
    ) -> list[npt.NDArray[np.float32]]:
        """Per image ``(n, 6)`` float32 rows ``x1, y1, x2, y2, confidence, class`` in the
        original image's pixels (``sizes`` are the originals' ``(width, height)``)."""
        if len(raw) == 0:
            return []
        dets = geometry.yolo_postprocess(
            raw, conf=conf, iou=iou, max_det=max_det, layout=self.layout
        )
        return [
            np.asarray(geometry.scale_boxes(d, b.scale, b.pad, size), np.float32)
            for d, b, size in zip(dets, boxes, sizes, strict=True)
        ]

    def detect(
        self,
        images: Sequence[npt.NDArray[np.uint8]],
        *,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
    ) -> list[npt.NDArray[np.float32]]:
        """Detections of RGB uint8 images: per image ``(n, 6)`` rows ``x1, y1, x2, y2,
        confidence, class`` in that image's pixels, by descending confidence."""
        tensor, boxes = self.preprocess(images)
        sizes = [(int(im.shape[1]), int(im.shape[0])) for im in images]
        return self.postprocess(
            self.infer(tensor), boxes, sizes, conf=conf, iou=iou, max_det=max_det
        )
