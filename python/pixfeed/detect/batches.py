"""The inference pipeline of a filter run: batches of images decoded, letterboxed, run
through the detector and post-processed, on background threads (`prefetched`: one thread
one batch ahead; `streamed`: one stream per core, each inferring its own batches)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pixfeed import _producer
from pixfeed.decode import decode_batch
from pixfeed.detect.detector import Placement, YoloDetector
from pixfeed.errors import DecodeError

__all__ = ["Prepared", "Settings", "detections", "prefetched", "reason", "streamed"]


@dataclass
class Prepared:
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


def _prepare(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    threads: int | None,
    buffer: npt.NDArray[Any],
    strict: bool = True,
) -> Prepared:
    decoded = decode_batch(paths, mode="RGB", threads=threads, on_error="none", strict=strict)
    errors = {positions[i]: reason(e) for i, e in decoded.errors.items()}
    ok = [(positions[i], img) for i, img in enumerate(decoded) if img is not None]
    images = [img for _, img in ok]
    tensor, boxes = detector.preprocess(images, threads=threads, out=buffer[: len(images)])
    sizes = [(int(img.shape[1]), int(img.shape[0])) for img in images]
    return Prepared([p for p, _ in ok], sizes, boxes, tensor, errors, len(paths))


@dataclass(frozen=True)
class Settings:
    conf: float
    iou: float
    max_det: int
    strict: bool = True


def detections(
    detector: YoloDetector, batch: Prepared, settings: Settings
) -> list[npt.NDArray[np.float32]]:
    if not batch.indices:
        return []
    return _postprocess(detector, detector.infer(batch.tensor), batch, settings)


def _postprocess(
    detector: YoloDetector,
    raw: npt.NDArray[np.float32],
    batch: Prepared,
    settings: Settings,
) -> list[npt.NDArray[np.float32]]:
    return detector.postprocess(
        raw,
        batch.boxes,
        batch.sizes,
        conf=settings.conf,
        iou=settings.iou,
        max_det=settings.max_det,
    )


def reason(exc: BaseException) -> str:
    """What went wrong, without repeating the path (the export names it)."""
    if isinstance(exc, DecodeError):
        return f"{type(exc).__name__}: {exc.reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def prefetched(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    batch_size: int,
    threads: int | None,
    strict: bool = True,
) -> Generator[Prepared, None, None]:
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

    def produce() -> Iterator[Prepared]:
        for k, start in enumerate(range(0, len(paths), batch_size)):
            if stop.is_set():
                return
            if len(buffers) < 3:
                buffers.append(np.empty(shape, detector.input_dtype))
            end = start + batch_size
            buffer = buffers[k % 3]
            yield _prepare(
                detector, paths[start:end], positions[start:end], threads, buffer, strict
            )

    worker = threading.Thread(
        target=_producer.run, args=(q, stop, produce()), name="pixfeed-filter-decode", daemon=True
    )
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _producer.DONE:
                return
            if isinstance(item, _producer.Failure):
                raise item.exc
            assert isinstance(item, Prepared)
            yield item
    finally:
        _producer.stop_workers(q, stop, [worker])


def streamed(
    detector: YoloDetector,
    paths: list[str],
    positions: list[int],
    batch_size: int,
    streams: int,
    settings: Settings,
) -> Generator[Prepared, None, None]:
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
                    if not _producer.put(q, part, stop):
                        return
                detector.record_chunk(end - start, step, time.perf_counter() - started)
        except BaseException as e:  # handed to the consumer, which re-raises it
            with lock:
                failures.append(e)
            stop.set()
            try:  # wakes the consumer; a full queue means it is not waiting
                q.put_nowait(_producer.DONE)
            except queue.Full:
                pass
            return
        _producer.put(q, _producer.DONE, stop)

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
            if item is _producer.DONE:
                finished += 1
                continue
            assert isinstance(item, Prepared)
            yield item
    finally:
        _producer.stop_workers(q, stop, workers)
