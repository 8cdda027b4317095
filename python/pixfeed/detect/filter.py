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
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed import _args
from pixfeed.config import Config, load_config
from pixfeed.detect import batches
from pixfeed.detect.cache import CachedResult, CacheError, FileKey, ResultCache, default_cache_path
from pixfeed.detect.detector import NamesArg, YoloDetector
from pixfeed.detect.types import CountRule, Detection, FilterResult, ImageResult, PathLike
from pixfeed.scan import IMAGES, scan

__all__ = [
    "IMAGE_EXTENSIONS",
    "INFERENCE_THREADS",
    "filter_images",
    "inference_streams",
    "thread_budget",
]

#: File extensions listed in a folder (case-insensitive): the formats pixfeed decodes.
IMAGE_EXTENSIONS = IMAGES


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
#: see :func:`inference_streams`): one-thread sessions never wait at a parallel section's
#: barrier, and decoding needs no share of a core that an intra-op thread sleeps on (figures
#: in benchmarks/RESULTS.md).
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


def _open_cache(
    cache: bool | PathLike, model_sha: str, settings_key: str, max_entries: int = 0
) -> ResultCache | None:
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


@dataclass(frozen=True)
class _Options:
    """A run's checked options, defaults taken from the configuration."""

    config: Config
    rule: CountRule
    threads: int | None
    batch_size: int
    post: batches.Settings
    conf_max: float
    cache: bool | PathLike
    max_entries: int


def _options(
    config: Config | None,
    count: str | CountRule,
    conf: float,
    conf_max: float | None,
    iou: float,
    max_det: int,
    batch_size: int | None,
    threads: int | None,
    cache: bool | PathLike,
    cache_max_entries: int | None,
    strict: bool,
) -> _Options:
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
    max_entries = cache_max_entries if cache_max_entries is not None else cfg.cache_max_entries
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
        raise ValueError(f"cache_max_entries: expected an int >= 0, got {max_entries!r}")
    post = batches.Settings(float(conf), float(iou), max_det, bool(strict))
    use_cache = False if cache is True and not cfg.cache else cache
    return _Options(cfg, rule, nthreads, nbatch, post, float(top), use_cache, max_entries)


def _detector(
    model: PathLike | YoloDetector,
    imgsz: int | tuple[int, int] | None,
    names: NamesArg,
    backend: str | None,
    cfg: Config,
) -> YoloDetector:
    """The given detector (then ``imgsz``, ``names`` and ``backend`` must be None), or one
    made from the model file with :data:`INFERENCE_THREADS` intra-op threads."""
    if isinstance(model, YoloDetector):
        given = {"imgsz": imgsz, "names": names, "backend": backend}
        clash = [k for k, v in given.items() if v is not None]
        if clash:
            raise ValueError(
                f"{', '.join(clash)}: set on the YoloDetector, not here, when passing one"
            )
        return model
    return YoloDetector(
        model,
        imgsz=imgsz,
        names=names,
        backend=backend if backend is not None else cfg.backend,
        threads=INFERENCE_THREADS,
    )


def _settings_key(detector: YoloDetector, post: batches.Settings) -> str:
    """The settings a cached result depends on (besides the model)."""
    w, h = detector.input_size
    key = f"imgsz={w}x{h};conf={post.conf!r};iou={post.iou!r};max_det={post.max_det}"
    if not post.strict:
        key += ";lenient"  # a lenient result may exist where strict fails
    return key


@dataclass
class _Run:
    """One run's images and counters, filled from the cache, then by inference."""

    detector: YoloDetector
    selected: frozenset[int] | None
    opts: _Options
    paths: list[str]
    on_progress: Callable[[int, int], None] | None
    results: list[ImageResult | None] = field(default_factory=list)
    keys: dict[int, FileKey] = field(default_factory=dict)
    done: int = 0
    cached: int = 0
    inferred: int = 0

    def progress(self, n: int) -> None:
        self.done += n
        if self.on_progress is not None:
            self.on_progress(self.done, len(self.paths))

    def result(self, pos: int, raw: CachedResult, cached: bool) -> None:
        self.results[pos] = _image_result(
            self.paths[pos],
            raw,
            cached,
            self.selected,
            self.opts.rule,
            self.detector,
            self.opts.conf_max,
        )

    def look_up(self, store: ResultCache | None) -> list[int]:
        """Results for the images in the cache (and those that cannot be stat'ed); returns
        the positions left to infer."""
        self.results = [None] * len(self.paths)
        todo: list[int] = []
        for i, p in enumerate(self.paths):
            try:
                key = FileKey.of(p)
            except OSError as e:
                self.results[i] = ImageResult(p, error=batches.reason(e))
                self.progress(1)
                continue
            hit = store.get(key) if store is not None else None
            if hit is not None:
                self.result(i, hit, True)
                self.cached += 1
                self.progress(1)
            else:
                self.keys[i] = key
                todo.append(i)
        return todo

    def infer(self, todo: list[int], streams: int, store: ResultCache | None) -> None:
        """Run the images at ``todo`` through the detector, storing fresh results."""
        detector, post, opts = self.detector, self.opts.post, self.opts
        todo_paths = [self.paths[i] for i in todo]
        if streams > 1:
            run = batches.streamed(detector, todo_paths, todo, opts.batch_size, streams, post)
        else:
            cfg = opts.config
            io = cfg.io_threads if cfg.io_threads is not None else opts.threads
            run = batches.prefetched(detector, todo_paths, todo, opts.batch_size, io, post.strict)
        try:
            for batch in run:
                for pos, reason in batch.errors.items():
                    self.results[pos] = ImageResult(self.paths[pos], error=reason)
                if batch.indices:
                    dets = batch.detections
                    if dets is None:
                        dets = batches.detections(detector, batch, post)
                    fresh = []
                    for pos, size, d in zip(batch.indices, batch.sizes, dets, strict=True):
                        res = CachedResult(size[0], size[1], d)
                        self.result(pos, res, False)
                        fresh.append((self.keys[pos], res))
                    self.inferred += len(fresh)
                    if store is not None:
                        store.put_many(fresh)
                self.progress(batch.count)
        finally:
            run.close()


def _model_info(detector: YoloDetector) -> dict[str, Any]:
    names_map = detector.names
    return {
        "path": str(detector.path),
        "sha256": detector.sha256,
        "input_size": list(detector.input_size),
        "layout": detector.layout,
        "num_classes": detector.num_classes,
        "names": None if names_map is None else {str(k): v for k, v in sorted(names_map.items())},
        "providers": detector.providers,
    }


def _run_settings(
    run: _Run,
    source: PathLike | Sequence[PathLike],
    recursive: bool,
    given: tuple[float, float | None, float],
    streams: int,
    store: ResultCache | None,
) -> dict[str, Any]:
    """The run's settings as recorded in the result (``given``: conf, conf_max and iou as
    the caller passed them)."""
    detector, opts, selected = run.detector, run.opts, run.selected
    conf, conf_max, iou = given
    settings = {
        "source": source if isinstance(source, (str, os.PathLike)) else "<list>",
        "recursive": recursive,
        "imgsz": list(detector.input_size),
        "conf": conf,
        "conf_max": conf_max,
        "iou": iou,
        "max_det": opts.post.max_det,
        "batch_size": opts.batch_size,
        "threads": opts.threads,
        "inference_threads": detector.threads,
        "streams": streams,
        "classes": None if selected is None else sorted(selected),
        "class_names": None
        if selected is None
        else [detector.class_name(c) for c in sorted(selected)],
        "count": str(opts.rule),
        "cache": None if store is None else str(store.path),
    }
    return {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in settings.items()}


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
            raises :class:`~pixfeed.detect.cache.CacheError` (an ``OSError``), while an
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
    opts = _options(
        config,
        count,
        conf,
        conf_max,
        iou,
        max_det,
        batch_size,
        threads,
        cache,
        cache_max_entries,
        strict,
    )
    detector = _detector(model, imgsz, names, backend, opts.config)
    selected = _class_ids(classes, detector)
    streams = inference_streams(detector, opts.threads)
    paths, unreadable = _sources(source, recursive, exclude)
    store = _open_cache(
        opts.cache, detector.sha256, _settings_key(detector, opts.post), opts.max_entries
    )
    run = _Run(detector, selected, opts, paths, on_progress)
    try:
        todo = run.look_up(store)
        streams = min(streams, max(1, len(todo)))  # never a thread without an image to work on
        run.infer(todo, streams, store)
    finally:
        if store is not None:
            store.close()

    images = [r for r in run.results if r is not None]
    assert len(images) == len(paths)
    images.extend(ImageResult(folder, error=why) for folder, why in sorted(unreadable.items()))
    return FilterResult(
        tuple(images),
        _run_settings(run, source, recursive, (conf, conf_max, iou), streams, store),
        _model_info(detector),
        inferred=run.inferred,
        cached=run.cached,
    )
