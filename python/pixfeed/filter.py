"""`filter_images`: run a YOLO ONNX detector over a folder (or a list) of images and keep the
ones whose detections satisfy a rule (the library side of `pixfeed filter`).

How a run goes:

1. the images are listed (a folder: sorted, optionally recursive; a list: as given) and
   stat'ed; results always come back in that order;
2. each image is looked up in the result cache by (absolute path, size, mtime_ns, ctime_ns,
   inode, model sha256, imgsz, conf, iou, max_det); hits are not decoded at all;
3. the misses are decoded by pixfeed, letterboxed, run through ONNX Runtime and
   post-processed (:func:`~pixfeed.yolo_postprocess`, boxes scaled back to each original
   image), then stored in the cache batch by batch. On the CPU, each thread of the budget is
   one *stream* doing all of that for its own batches with a one-thread ONNX Runtime session
   run (all release the GIL): the cores never wait on each other. Otherwise (CUDA, or a
   detector with several intra-op threads) one background thread prepares the next batch
   while ONNX Runtime runs the current one;
4. the class selection (``classes``), the confidence range's top (``conf_max``) and the
   count rule (``count``) are applied last, so changing them never re-infers. ``max_det``
   applies to all classes before selection.

An image that cannot be read or decoded is reported (``ImageResult.error``) and counted; it
never stops the run and never matches.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from pixfeed import _args
from pixfeed.config import Config, load_config
from pixfeed.decode import decode_batch
from pixfeed.detector import NamesArg, Placement, YoloDetector
from pixfeed.errors import DecodeError
from pixfeed.scan import IMAGES

if TYPE_CHECKING:  # imported when used: `import pixfeed` stays light
    from pixfeed._filter_cache import CachedResult, FileKey, ResultCache

__all__ = [
    "IMAGE_EXTENSIONS",
    "INFERENCE_THREADS",
    "CountRule",
    "Detection",
    "FilterResult",
    "ImageResult",
    "filter_images",
    "inference_streams",
    "thread_budget",
]

#: File extensions listed in a folder (case-insensitive): the formats pixfeed decodes.
IMAGE_EXTENSIONS = IMAGES

PathLike = str | os.PathLike[str]
CountOp = Literal["any", "at_least", "exactly", "at_most"]


@dataclass(frozen=True)
class CountRule:
    """Which images match, by the number ``n`` of detections of the selected classes:
    ``any`` (n >= 1), ``at_least:N``, ``exactly:N``, ``at_most:N``."""

    op: CountOp = "any"
    value: int = 1

    @classmethod
    def parse(cls, text: str | CountRule) -> CountRule:
        """``"any"``, ``"at_least:N"``, ``"exactly:N"`` or ``"at_most:N"``."""
        if isinstance(text, CountRule):
            return text
        if not isinstance(text, str):
            raise TypeError(f"count: expected a str like 'at_least:2', got {type(text).__name__}")
        spec = text.strip().lower()
        if spec == "any":
            return cls("any", 1)
        op, sep, num = spec.partition(":")
        if op in ("at_least", "exactly", "at_most") and sep:
            try:
                n = int(num)
            except ValueError:
                n = -1
            if n >= 0:
                return cls(op, n)  # type: ignore[arg-type]
        raise ValueError(
            f"count: expected 'any', 'at_least:N', 'exactly:N' or 'at_most:N' (N >= 0), "
            f"got {text!r}"
        )

    def matches(self, n: int) -> bool:
        if self.op == "any":
            return n >= 1
        if self.op == "at_least":
            return n >= self.value
        if self.op == "exactly":
            return n == self.value
        return n <= self.value

    def __str__(self) -> str:
        return "any" if self.op == "any" else f"{self.op}:{self.value}"


class Detection(NamedTuple):
    """One detection, in the original image's pixels (a NamedTuple: runs make many)."""

    #: (x1, y1, x2, y2) corners.
    box: tuple[float, float, float, float]
    confidence: float
    class_id: int
    class_name: str
    #: Of a selected class (counts towards the rule).
    selected: bool


@dataclass(frozen=True)
class ImageResult:
    """One image's outcome. ``count`` is the number of detections of the selected classes."""

    path: str
    width: int | None = None
    height: int | None = None
    detections: tuple[Detection, ...] = ()
    count: int = 0
    matched: bool = False
    #: The detections came from the result cache (no inference this run).
    cached: bool = False
    #: Why the image could not be processed (None: it was).
    error: str | None = None


@dataclass(frozen=True)
class FilterResult:
    """Every image of a run, in path order, with the run's model and settings."""

    images: tuple[ImageResult, ...]
    #: Settings of the run (imgsz, conf, iou, max_det, batch_size, classes, count, cache, ...).
    settings: Mapping[str, Any]
    #: The model: path, sha256, input size, layout, class names, execution providers.
    model: Mapping[str, Any]
    #: Images run through the network in this run.
    inferred: int = 0
    #: Images whose detections came from the cache.
    cached: int = 0

    @property
    def matched(self) -> list[ImageResult]:
        return [r for r in self.images if r.matched]

    @property
    def matched_paths(self) -> list[str]:
        return [r.path for r in self.images if r.matched]

    @property
    def errors(self) -> list[ImageResult]:
        return [r for r in self.images if r.error is not None]

    @property
    def counts(self) -> dict[str, int]:
        """total, matched, errors, inferred, cached."""
        return {
            "total": len(self.images),
            "matched": sum(r.matched for r in self.images),
            "errors": sum(r.error is not None for r in self.images),
            "inferred": self.inferred,
            "cached": self.cached,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON export's content (see :meth:`write_json`)."""
        from pixfeed import _filter_export

        return _filter_export.to_dict(self)

    def write_json(self, path: PathLike) -> None:
        """counts, settings, model, matched paths, errors and every image's detections."""
        from pixfeed import _filter_export

        _filter_export.write_json(self, path)

    def write_txt(self, path: PathLike, *, null: bool = False) -> None:
        """The matched paths, one per line; ``null=True``: each ended by a NUL byte instead
        (as ``find -print0``), the only unambiguous form when a name may hold a newline."""
        from pixfeed import _filter_export

        _filter_export.write_txt(self, path, null=null)

    def write_csv(self, path: PathLike) -> None:
        """One row per detection (all classes; ``selected`` says which count), and one row
        with empty detection columns for an image without detections or with an error. A text
        cell (path, class, error) starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
        return gets a leading ``'`` so that spreadsheets show it as text, never run it as a
        formula."""
        from pixfeed import _filter_export

        _filter_export.write_csv(self, path)

    def write_report(self, path: PathLike, *, thumbnail: int = 256) -> None:
        """A self-contained HTML page: a thumbnail of every match (boxes drawn, the long side
        ``thumbnail`` pixels, JPEG in the page), its detections, the errors."""
        from pixfeed import _filter_export

        _filter_export.write_report(self, path, thumbnail=thumbnail)

    def write_labelme(
        self,
        folder: PathLike,
        *,
        root: PathLike | None = None,
        embed: bool = False,
        overwrite: bool = False,
    ) -> int:
        """One LabelMe JSON per matched image under ``folder`` (at the image's path relative
        to ``root``, default the folder filtered): a rectangle per selected detection with
        its label and score; ``imageData`` only with ``embed``. A file already holding the
        same content is left; another existing file is replaced only with ``overwrite`` and
        an image of the run never (``FileExistsError``, nothing written). Returns the number
        of files written. See ``pixfeed._filter_labels`` for the format."""
        from pixfeed import _filter_labels as fl

        files = [(d, b) for d, b, _ in fl.labelme_files(self, folder, root=root, embed=embed)]
        fl.check_inputs(files, [r.path for r in self.images], overwrite=overwrite)
        return fl.write_files(files, overwrite=overwrite)

    def write_yolo(
        self, folder: PathLike, *, root: PathLike | None = None, overwrite: bool = False
    ) -> int:
        """YOLO labels: one txt per matched image under ``folder`` (``class cx cy w h``,
        normalized, per selected detection) and ``classes.txt``; paths and overwrite rules
        as :meth:`write_labelme`. With a class selection the ids are renumbered 0, 1, ... in
        model id order and ``classes.txt`` lists the selected classes."""
        from pixfeed import _filter_labels as fl

        files = [(d, b) for d, b, _ in fl.yolo_files(self, folder, root=root)]
        fl.check_inputs(files, [r.path for r in self.images], overwrite=overwrite)
        return fl.write_files(files, overwrite=overwrite)


def thread_budget(threads: int | None) -> int:
    """The cores a filter run uses: ``threads``, or (None) those this process may use."""
    if threads is None:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            threads = os.cpu_count() or 1
    return max(1, threads)


#: ONNX Runtime intra-op threads of the session :func:`filter_images` makes from a path.
#: One: on the CPU the run's parallelism comes from streams (one per thread of the budget,
#: see :func:`inference_streams`). Measured on 2 cores (full bench runs, a ~0.35 GMAC model at
#: 640x640): two one-thread streams ran 366 images/s, decode and letterbox included, where
#: one two-thread session fed by a background decoder ran 221; one-thread sessions never
#: wait at a parallel section's barrier, and decoding needs no share of a core that an
#: intra-op thread sleeps on.
INFERENCE_THREADS = 1


def inference_streams(detector: YoloDetector, threads: int | None) -> int:
    """How many batches a run prepares and infers at once: on the CPU, the budget divided by
    the detector's intra-op threads (a detector left at onnxruntime's default, all cores,
    gets one stream); with CUDA one (the GPU runs one batch at a time)."""
    if detector.providers[:1] != ["CPUExecutionProvider"]:
        return 1
    budget = thread_budget(threads)
    return max(1, budget // (detector.threads or budget))


# Listing ----------------------------------------------------------------------------------


def _list_images(
    root: Path, recursive: bool, exclude: Sequence[PathLike] = ()
) -> tuple[list[str], dict[str, str]]:
    """Sorted image paths under ``root`` (:func:`pixfeed.scan`; symlinked folders are not
    followed), but none under the folders ``exclude``, and {folder: reason} for the
    subfolders that could not be read."""
    from pixfeed.scan import scan

    found = scan(root, extensions=IMAGE_EXTENSIONS, recursive=recursive, on_error="skip")
    unreadable = {
        folder: f"cannot list folder: {exc.strerror or exc}" for folder, exc in found.errors.items()
    }
    paths = list(found)
    if exclude:
        skip = [os.path.join(os.path.realpath(e), "") for e in exclude]

        def kept(p: str) -> bool:
            real = os.path.realpath(p)
            return not any(real.startswith(e) for e in skip)

        paths = [p for p in paths if kept(p)]
        unreadable = {f: why for f, why in unreadable.items() if kept(f)}
    return paths, unreadable


def _sources(
    source: PathLike | Sequence[PathLike], recursive: bool, exclude: Sequence[PathLike] = ()
) -> tuple[list[str], dict[str, str]]:
    if isinstance(source, (str, bytes, os.PathLike)):
        return _list_images(Path(os.fsdecode(source)), recursive, exclude)
    if isinstance(source, bytearray) or not isinstance(source, Sequence):
        raise TypeError(
            f"source: expected a folder or a sequence of image paths, got {type(source).__name__}"
        )
    paths = []
    for i, p in enumerate(source):
        if not isinstance(p, (str, bytes, os.PathLike)):
            raise TypeError(f"source[{i}]: expected a path, got {type(p).__name__}")
        paths.append(os.fsdecode(p))  # bytes: the name on disk, as os.fsdecode spells it
    return paths, {}


# Class selection --------------------------------------------------------------------------


def _class_ids(classes: Any, detector: YoloDetector) -> frozenset[int] | None:
    """Class ids from names or ids (``"person,car"``, ``["person", 2]``); None: all."""
    if classes is None:
        return None
    items: list[Any]
    if isinstance(classes, str):
        items = [c.strip() for c in classes.split(",") if c.strip()]
    elif isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        items = [int(classes)]
    elif isinstance(classes, Sequence):
        items = list(classes)
    else:
        raise TypeError(f"classes: expected names or ids, got {type(classes).__name__}")
    if not items:
        raise ValueError("classes: empty selection")
    names = detector.names or {}
    by_name = {v: k for k, v in names.items()}
    by_folded: dict[str, list[int]] = {}
    for k, v in names.items():
        by_folded.setdefault(v.casefold(), []).append(k)
    nc = detector.num_classes
    ids = set()
    for item in items:
        if isinstance(item, bool):
            raise TypeError(f"classes: expected names or ids, got {item!r}")
        if isinstance(item, str):
            text = item.strip()
            if text in by_name:
                ids.add(by_name[text])
                continue
            folded = by_folded.get(text.casefold(), [])
            if len(folded) == 1:
                ids.add(folded[0])
                continue
            if not text.lstrip("-").isdigit():
                known = ", ".join(list(by_name)[:30]) or "none: the model has no class names"
                more = " ..." if len(by_name) > 30 else ""
                raise ValueError(f"classes: unknown class {text!r} (known: {known}{more})")
            item = int(text)
        if not isinstance(item, (int, np.integer)):
            raise TypeError(f"classes: expected names or ids, got {item!r}")
        cid = int(item)
        if cid < 0 or (nc is not None and cid >= nc):
            limit = f" (the model has classes 0..{nc - 1})" if nc is not None else ""
            raise ValueError(f"classes: class id {cid} out of range{limit}")
        ids.add(cid)
    return frozenset(ids)


def _image_result(
    path: str,
    raw: CachedResult,
    cached: bool,
    selected: frozenset[int] | None,
    rule: CountRule,
    detector: YoloDetector,
    conf_max: float = 1.0,
) -> ImageResult:
    dets = tuple(
        Detection(
            (x1, y1, x2, y2),
            score,
            int(cls),
            detector.class_name(int(cls)),
            (selected is None or int(cls) in selected) and score <= conf_max,
        )
        for x1, y1, x2, y2, score, cls in raw.detections.tolist()
    )
    n = sum(d.selected for d in dets)
    return ImageResult(path, raw.width, raw.height, dets, n, rule.matches(n), cached, None)


# Inference pipeline -----------------------------------------------------------------------


@dataclass
class _Prepared:
    """One batch, decoded and letterboxed: index = position in the batch's path list."""

    indices: list[int]  # positions (in the run's path list) of the images in the tensor
    sizes: list[tuple[int, int]]
    boxes: list[Placement]
    tensor: npt.NDArray[Any]
    errors: dict[int, str]  # run position -> reason
    count: int  # images in the batch, decoded or not
    # Per image in ``indices``: detections in the original's pixels, when the batch was
    # inferred where it was prepared (streams); None: the consumer infers it.
    detections: list[npt.NDArray[np.float32]] | None = None


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def _prepare(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    threads: int | None,
    buffer: npt.NDArray[Any],
    strict: bool = True,
) -> _Prepared:
    decoded = decode_batch(paths, mode="RGB", threads=threads, on_error="none", strict=strict)
    errors = {positions[i]: _reason(e) for i, e in decoded.errors.items()}
    ok = [(positions[i], img) for i, img in enumerate(decoded) if img is not None]
    images = [img for _, img in ok]
    tensor, boxes = detector.preprocess(images, threads=threads, out=buffer[: len(images)])
    sizes = [(int(img.shape[1]), int(img.shape[0])) for img in images]
    return _Prepared([p for p, _ in ok], sizes, boxes, tensor, errors, len(paths))


@dataclass(frozen=True)
class _Settings:
    conf: float
    iou: float
    max_det: int
    strict: bool = True


def _detections(
    detector: YoloDetector, batch: _Prepared, settings: _Settings
) -> list[npt.NDArray[np.float32]]:
    if not batch.indices:
        return []
    return _postprocess(detector, detector.infer(batch.tensor), batch, settings)


def _postprocess(
    detector: YoloDetector,
    raw: npt.NDArray[np.float32],
    batch: _Prepared,
    settings: _Settings,
) -> list[npt.NDArray[np.float32]]:
    return detector.postprocess(
        raw,
        batch.boxes,
        batch.sizes,
        conf=settings.conf,
        iou=settings.iou,
        max_det=settings.max_det,
    )


def _reason(exc: BaseException) -> str:
    """What went wrong, without repeating the path (the export names it)."""
    if isinstance(exc, DecodeError):
        return f"{type(exc).__name__}: {exc.reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _put_unless_stopped(q: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item``, waiting for room, unless ``stop`` is set first (then False)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _stop_workers(
    q: queue.Queue[object], stop: threading.Event, workers: list[threading.Thread]
) -> None:
    """Stop background workers: set ``stop`` and empty the queue (a worker blocked on a
    full queue sees the flag) until every worker has ended."""
    stop.set()
    while any(t.is_alive() for t in workers):
        try:
            q.get_nowait()
        except queue.Empty:
            for t in workers:
                t.join(0.05)


def _prefetched(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    batch_size: int,
    threads: int | None,
    strict: bool = True,
) -> Generator[_Prepared, None, None]:
    """Batches prepared on a background thread, one ahead of the consumer. Closing the
    iterator (a break, an exception, Ctrl-C in the consumer) stops the thread."""
    q: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()
    # Input tensors are reused round-robin (fresh large arrays cost a page fault per 4 KiB).
    # Three suffice: while the consumer works on batch k it no longer needs batch k - 1, the
    # queue holds k + 1 and the producer fills k + 2; it can start k + 3 (in k's buffer) only
    # after the consumer has taken k + 1 from the queue, i.e. finished with k.
    w, h = detector.input_size
    shape = (min(batch_size, len(paths)), 3, h, w)
    buffers: list[npt.NDArray[Any]] = []

    def put(item: object) -> bool:
        return _put_unless_stopped(q, item, stop)

    def produce() -> None:
        try:
            for k, start in enumerate(range(0, len(paths), batch_size)):
                if stop.is_set():
                    return
                if len(buffers) < 3:
                    buffers.append(np.empty(shape, detector.input_dtype))
                end = start + batch_size
                item = _prepare(
                    detector,
                    paths[start:end],
                    positions[start:end],
                    threads,
                    buffers[k % 3],
                    strict,
                )
                if not put(item):
                    return
        except BaseException as e:  # handed to the consumer, which re-raises it
            put(_Failure(e))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="pixfeed-filter-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            assert isinstance(item, _Prepared)
            yield item
    finally:
        _stop_workers(q, stop, [worker])


def _streamed(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    batch_size: int,
    streams: int,
    settings: _Settings,
) -> Generator[_Prepared, None, None]:
    """Batches decoded, letterboxed, inferred and post-processed by ``streams`` threads at
    once, each on one core (one decode thread, the detector's session run from each: ONNX
    Runtime sessions run concurrently), yielded as they finish. A stream takes up to
    ``batch_size`` images at a time, fewer near the end so that the streams finish together.
    Closing the iterator (a break, an exception, Ctrl-C in the consumer) stops the threads
    after their current batch."""
    q: queue.Queue[object] = queue.Queue(maxsize=streams)
    stop = threading.Event()
    lock = threading.Lock()
    next_start = 0
    failures: list[BaseException] = []
    w, h = detector.input_size

    def take() -> tuple[int, int] | None:
        nonlocal next_start
        with lock:
            start, left = next_start, len(paths) - next_start
            if left <= 0 or stop.is_set():
                return None
            n = min(batch_size, -(-left // streams))
            next_start += n
            return start, start + n

    def put(item: object) -> bool:
        return _put_unless_stopped(q, item, stop)

    def work() -> None:
        buffer = np.empty((0, 3, h, w), detector.input_dtype)
        try:
            while (span := take()) is not None:
                start, end = span
                # The span goes through decode, letterbox and inference one chunk at a
                # time: a chunk's tensor is still in the cache when the network reads it.
                step = detector.chunk_size(end - start)
                if len(buffer) < step:
                    buffer = np.empty((step, 3, h, w), detector.input_dtype)
                started = time.perf_counter()
                for first in range(start, end, step):
                    last = min(first + step, end)
                    out = buffer[: last - first]
                    part = _prepare(
                        detector, paths[first:last], positions[first:last], 1, out, settings.strict
                    )
                    if part.indices:
                        raw = detector.run_chunks(part.tensor, step)
                        part.detections = _postprocess(detector, raw, part, settings)
                    part.tensor = buffer[:0]  # the consumer does not need it; reused
                    if not put(part):
                        return
                detector.record_chunk(end - start, step, time.perf_counter() - started)
        except BaseException as e:  # handed to the consumer, which re-raises it
            with lock:
                failures.append(e)
            stop.set()
            try:  # wakes the consumer; a full queue means it is not waiting
                q.put_nowait(_DONE)
            except queue.Full:
                pass
            return
        put(_DONE)

    workers = [
        threading.Thread(target=work, name=f"pixfeed-filter-stream-{k}", daemon=True)
        for k in range(streams)
    ]
    for t in workers:
        t.start()
    try:
        finished = 0
        while finished < len(workers):
            item = q.get()
            if failures:
                raise failures[0]
            if item is _DONE:
                finished += 1
                continue
            assert isinstance(item, _Prepared)
            yield item
    finally:
        _stop_workers(q, stop, workers)


def _open_cache(
    cache: bool | PathLike, model_sha: str, settings_key: str, max_entries: int = 0
) -> ResultCache | None:
    from pixfeed._filter_cache import CacheError, ResultCache, default_cache_path

    if cache is False or cache is None:
        return None
    if cache is True:
        try:
            return ResultCache(
                default_cache_path(), model_sha, settings_key, max_entries=max_entries
            )
        except OSError as e:  # the default location is a convenience: run without it
            warnings.warn(f"pixfeed filter: result cache disabled: {e}", stacklevel=3)
            return None
    try:
        return ResultCache(Path(cache), model_sha, settings_key, max_entries=max_entries)
    except OSError as e:
        raise CacheError(f"cache: cannot use {os.fspath(cache)}: {e}") from None


def filter_images(
    source: PathLike | Sequence[PathLike],
    model: PathLike | YoloDetector,
    *,
    classes: str | int | Sequence[str | int] | None = None,
    count: str | CountRule = "any",
    conf: float = 0.25,
    conf_max: float | None = None,
    iou: float = 0.45,
    max_det: int = 300,
    imgsz: int | tuple[int, int] | None = None,
    names: NamesArg = None,
    batch_size: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
    recursive: bool = False,
    exclude: Sequence[PathLike] = (),
    cache: bool | PathLike = True,
    cache_max_entries: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    config: Config | None = None,
    strict: bool = True,
) -> FilterResult:
    """Detect objects in images with a YOLO ONNX model and keep the images whose detections
    satisfy ``count`` over the ``classes`` selected.

    Args:
        source: a folder (images with the extensions in ``IMAGE_EXTENSIONS``, sorted;
            subfolders with ``recursive=True``) or a sequence of image paths (kept in order).
        exclude: folders whose images a folder ``source`` leaves out (e.g. an output folder
            inside it, so that a re-run never reads its own copies).
        model: an ``.onnx`` file, or a :class:`~pixfeed.YoloDetector` (then ``imgsz``,
            ``names`` and ``backend`` belong to it and must not be given here).
        classes: class names or ids to count (``"person,car"``, ``["person", 2]``); None: all.
        count: ``"any"``, ``"at_least:N"``, ``"exactly:N"``, ``"at_most:N"`` (or a
            :class:`CountRule`).
        conf, iou, max_det: as :func:`~pixfeed.yolo_postprocess` (per-class NMS).
        conf_max: the top of a confidence range: detections scoring above it are kept
            (listed) but not selected, so they neither count nor go into the label exports.
            Applied after the cache like ``classes`` (changing it never re-infers).
        imgsz: network input size for models with a dynamic input (default 640).
        names: class names (names file, list or mapping); default: the model's metadata.
        batch_size, threads, backend: default from the configuration (:func:`load_config`).
            ``threads`` is the whole budget (:func:`thread_budget`): on the CPU, that many
            streams each decode and infer their own batches (:func:`inference_streams`;
            the session made from a path has :data:`INFERENCE_THREADS` intra-op thread).
        cache: True: the default result cache (``$PIXFEED_CACHE_DIR``, ``$XDG_CACHE_HOME/
            pixfeed`` or ``~/.cache/pixfeed``, file ``filter.sqlite``), a path: that SQLite
            file, False: none. A damaged cache file is renamed ``<name>.corrupt-<time>`` with
            a warning and a fresh one started; a path that is a folder or cannot be written
            raises :class:`~pixfeed._filter_cache.CacheError` (an ``OSError``), while an
            unusable default cache only warns and the run goes on without one. True with
            ``cache = false`` in the configuration: none.
        cache_max_entries: rows the cache file keeps, least recently used pruned on write
            (default: the ``cache_max_entries`` key; 0: no limit).
        on_progress: called as ``on_progress(done, total)`` as images finish (cached,
            inferred or failed), e.g. to drive a progress bar.
        config: the configuration to take defaults from (default: :func:`load_config`).
        strict: True (default): an image with corrupt data (any decoder warning) is an
            error result; False: its recovered pixels are filtered, as Pillow decodes them.

    Returns a :class:`FilterResult`, images in path order.
    """
    from pixfeed._filter_cache import CachedResult, FileKey

    rule = CountRule.parse(count)
    cfg = config if config is not None else load_config()
    nthreads = _args.threads(threads) if threads is not None else cfg.threads
    nbatch = batch_size if batch_size is not None else cfg.batch_size
    if isinstance(nbatch, bool) or not isinstance(nbatch, int) or nbatch < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {nbatch!r}")
    for value, name in ((conf, "conf"), (iou, "iou")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    if isinstance(max_det, bool) or not isinstance(max_det, int) or max_det < 1:
        raise ValueError(f"max_det: expected an int >= 1, got {max_det!r}")
    top = 1.0 if conf_max is None else conf_max
    if isinstance(top, bool) or not isinstance(top, (int, float)) or not conf <= top <= 1:
        raise ValueError(f"conf_max: expected a number in [conf, 1] = [{conf}, 1], got {top!r}")
    top = float(top)

    if isinstance(model, YoloDetector):
        given = {"imgsz": imgsz, "names": names, "backend": backend}
        clash = [k for k, v in given.items() if v is not None]
        if clash:
            raise ValueError(
                f"{', '.join(clash)}: set on the YoloDetector, not here, when passing one"
            )
        detector = model
    else:
        detector = YoloDetector(
            model,
            imgsz=imgsz,
            names=names,
            backend=backend if backend is not None else cfg.backend,
            threads=INFERENCE_THREADS,
        )
    selected = _class_ids(classes, detector)
    streams = inference_streams(detector, nthreads)
    post = _Settings(float(conf), float(iou), max_det, bool(strict))
    paths, unreadable = _sources(source, recursive, exclude)

    w, h = detector.input_size
    settings_key = f"imgsz={w}x{h};conf={float(conf)!r};iou={float(iou)!r};max_det={max_det}"
    if not post.strict:
        settings_key += ";lenient"  # a lenient result may exist where strict fails
    if cache is True and not cfg.cache:
        cache = False
    max_entries = cache_max_entries if cache_max_entries is not None else cfg.cache_max_entries
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
        raise ValueError(f"cache_max_entries: expected an int >= 0, got {max_entries!r}")
    store = _open_cache(cache, detector.sha256, settings_key, max_entries)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, len(paths))

    results: list[ImageResult | None] = [None] * len(paths)
    keys: dict[int, FileKey] = {}
    todo: list[int] = []
    n_cached = 0
    try:
        for i, p in enumerate(paths):
            try:
                key = FileKey.of(p)
            except OSError as e:
                results[i] = ImageResult(p, error=_reason(e))
                progress(1)
                continue
            hit = store.get(key) if store is not None else None
            if hit is not None:
                results[i] = _image_result(p, hit, True, selected, rule, detector, top)
                n_cached += 1
                progress(1)
            else:
                keys[i] = key
                todo.append(i)

        n_inferred = 0
        todo_paths = [paths[i] for i in todo]
        streams = min(streams, max(1, len(todo)))  # never a thread without an image to work on
        if streams > 1:
            batches = _streamed(detector, todo_paths, todo, nbatch, streams, post)
        else:
            io = cfg.io_threads if cfg.io_threads is not None else nthreads
            batches = _prefetched(detector, todo_paths, todo, nbatch, io, post.strict)
        try:
            for batch in batches:
                for pos, reason in batch.errors.items():
                    results[pos] = ImageResult(paths[pos], error=reason)
                if batch.indices:
                    dets = batch.detections
                    if dets is None:
                        dets = _detections(detector, batch, post)
                    fresh = []
                    for pos, size, d in zip(batch.indices, batch.sizes, dets, strict=True):
                        res = CachedResult(size[0], size[1], d)
                        results[pos] = _image_result(
                            paths[pos], res, False, selected, rule, detector, top
                        )
                        fresh.append((keys[pos], res))
                    n_inferred += len(fresh)
                    if store is not None:
                        store.put_many(fresh)
                progress(batch.count)
        finally:
            batches.close()
    finally:
        if store is not None:
            store.close()

    images = [r for r in results if r is not None]
    assert len(images) == len(paths)
    images.extend(ImageResult(folder, error=why) for folder, why in sorted(unreadable.items()))
    names_map = detector.names
    model_info = {
        "path": str(detector.path),
        "sha256": detector.sha256,
        "input_size": list(detector.input_size),
        "layout": detector.layout,
        "num_classes": detector.num_classes,
        "names": None if names_map is None else {str(k): v for k, v in sorted(names_map.items())},
        "providers": detector.providers,
    }
    settings = {
        "source": source if isinstance(source, (str, os.PathLike)) else "<list>",
        "recursive": recursive,
        "imgsz": [w, h],
        "conf": conf,
        "conf_max": conf_max,
        "iou": iou,
        "max_det": max_det,
        "batch_size": nbatch,
        "threads": nthreads,
        "inference_threads": detector.threads,
        "streams": streams,
        "classes": None if selected is None else sorted(selected),
        "class_names": None
        if selected is None
        else [detector.class_name(c) for c in sorted(selected)],
        "count": str(rule),
        "cache": None if store is None else str(store.path),
    }
    return FilterResult(
        tuple(images),
        {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in settings.items()},
        model_info,
        inferred=n_inferred,
        cached=n_cached,
    )
