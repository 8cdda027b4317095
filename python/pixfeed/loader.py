"""`Loader`: seeded, sharded, resumable batches from the fused native pipeline (SPEC section 5).

A background thread asks the native pipeline for batch k+1.. while the consumer uses batch k
(at most ``prefetch`` batches wait, so memory is bounded). The native work runs on pixfeed's
thread pool with the GIL released. Stopping is prompt whatever the way out: the end of the
epoch, ``break`` (the iterator is dropped), an exception in the consumer, Ctrl-C, ``close()``.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core, _env, _sampler
from pixfeed.pipeline import Pipeline

__all__ = ["Loader"]

OnError = Literal["raise", "skip", "substitute"]
_SUBSTITUTE_TRIES = 16
_POLL = 0.05  # seconds between checks of the stop flag while blocked


@dataclass
class _Stats:
    images: int = 0
    batches: int = 0
    native_seconds: float = 0.0
    wait_seconds: float = 0.0
    skipped: int = 0
    substituted: int = 0
    failed_sources: list[str] = field(default_factory=list)
    started: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Done:
    """End-of-epoch marker on the queue."""


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _source_name(src: str | bytes | bytearray) -> str:
    return src if isinstance(src, str) else "<bytes>"


class Loader:
    """Batches of ``(images, labels)`` (or images alone when ``labels`` is None).

    See SPEC section 5. ``len(loader)`` is this rank's (and DataLoader worker's) number of
    batches per epoch; ``set_epoch(e)`` reshuffles; ``state_dict()`` / ``load_state_dict()``
    resume mid-epoch exactly where the last yielded batch left off. ``strict``: None
    (default) keeps the pipeline's setting (strict unless it says otherwise): a file with
    corrupt data is a ``DecodeError`` (kind ``"corrupt"``) that ``on_error`` then handles;
    False decodes what the decoder recovered.
    """

    def __init__(
        self,
        sources: Sequence[_args.Source],
        labels: Sequence[Any] | npt.ArrayLike | None = None,
        *,
        pipeline: Pipeline | None = None,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        prefetch: int = 2,
        threads: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        on_error: OnError = "raise",
        pin_memory: bool = False,
        output: Literal["numpy", "torch"] = "numpy",
        progress: bool = False,
        strict: bool | None = None,
    ) -> None:
        if isinstance(sources, (str, bytes)):
            raise TypeError("sources: expected a sequence of paths or bytes, got a single source")
        self._sources = [_args.source(s, f"sources[{i}]") for i, s in enumerate(sources)]
        self._labels: np.ndarray | None = None
        if labels is not None:
            lab = np.asarray(labels)
            if lab.ndim == 0 or len(lab) != len(self._sources):
                raise ValueError(
                    f"labels: expected one per source ({len(self._sources)}), "
                    f"got {0 if lab.ndim == 0 else len(lab)}"
                )
            self._labels = lab
        self.pipeline = pipeline if pipeline is not None else Pipeline()
        if not isinstance(self.pipeline, Pipeline):
            raise TypeError(f"pipeline: expected a pixfeed.Pipeline, got {type(pipeline).__name__}")
        if strict is not None and bool(strict) != self.pipeline.strict:
            # The caller's pipeline object stays as it was.
            self.pipeline = copy.copy(self.pipeline)
            self.pipeline.strict = bool(strict)
        self.batch_size = _args.positive_int(batch_size, "batch_size")
        self.shuffle = bool(shuffle)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"prefetch: expected an int >= 0, got {prefetch!r}")
        self.prefetch = prefetch
        self.threads = _args.threads(threads)
        self.rank, self.world_size = _env.distributed(rank, world_size)
        if on_error not in ("raise", "skip", "substitute"):
            raise ValueError(
                f"on_error: expected 'raise', 'skip' or 'substitute', got {on_error!r}"
            )
        self.on_error = on_error
        if output not in ("numpy", "torch"):
            raise ValueError(f"output: expected 'numpy' or 'torch', got {output!r}")
        self.output = output
        self.pin_memory = bool(pin_memory)
        self.progress = bool(progress)
        self.epoch = 0
        self._start_batch = 0
        self._next_batch = 0
        self._stats = _Stats()
        self._live: weakref.WeakSet[_EpochIterator] = weakref.WeakSet()
        self._closed = False
        self._bad: set[int] = set()

    # -- planning --------------------------------------------------------------------------
    def _plan(self, epoch: int) -> _sampler.EpochPlan:
        worker, num_workers = _env.dataloader_worker()
        return _sampler.plan_epoch(
            len(self._sources),
            batch_size=self.batch_size,
            seed=self.seed,
            epoch=epoch,
            shuffle=self.shuffle,
            drop_last=self.drop_last,
            rank=self.rank,
            world_size=self.world_size,
            worker=worker,
            num_workers=num_workers,
        )

    def __len__(self) -> int:
        return len(self._plan(self.epoch).batches)

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order and randomness from the next iteration on."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch: expected an int >= 0, got {epoch!r}")
        if int(epoch) != self.epoch:
            self.epoch = int(epoch)
            self._start_batch = 0

    # -- resume ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: the epoch and the number of batches already yielded."""
        return {
            "epoch": self.epoch,
            "batch": self._next_batch,
            "seed": self.seed,
            "num_samples": len(self._sources),
            "batch_size": self.batch_size,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next iteration yield exactly the batches after ``state``'s."""
        for key in ("epoch", "batch", "seed", "num_samples", "batch_size"):
            if key not in state:
                raise ValueError(f"state: missing key {key!r}")
        if state["num_samples"] != len(self._sources) or state["batch_size"] != self.batch_size:
            raise ValueError(
                "state: saved for a different data set or batch size "
                f"({state['num_samples']} samples, batch {state['batch_size']})"
            )
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
        self._start_batch = int(state["batch"])
        self._next_batch = self._start_batch

    # -- stats -----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Throughput and error counts since this loader was made."""
        s = self._stats
        with s.lock:
            elapsed = 0.0 if s.started is None else time.perf_counter() - s.started
            return {
                "images": s.images,
                "batches": s.batches,
                "images_per_second": s.images / elapsed if elapsed > 0 else 0.0,
                "native_seconds": s.native_seconds,
                "consumer_wait_seconds": s.wait_seconds,
                "skipped": s.skipped,
                "substituted": s.substituted,
                "failed_sources": list(s.failed_sources),
            }

    # -- iteration -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        if self._closed:
            raise RuntimeError("this Loader is closed")
        plan = self._plan(self.epoch)
        start = self._start_batch
        self._start_batch = 0  # the next epoch (or a re-iteration) starts from the top
        self._next_batch = start
        it = _EpochIterator(self, plan, self.epoch, start)
        self._live.add(it)
        return it

    def close(self) -> None:
        """Stop background work of every live iterator (idempotent)."""
        self._closed = True
        for it in list(self._live):
            it.close()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for it in list(self._live):
                it.close()
        except Exception:
            pass

    # -- producing one batch (runs on the producer thread) ---------------------------------
    def _alloc(self, n: int) -> npt.NDArray[Any]:
        shape = self.pipeline.batch_shape(n)
        if self.pin_memory and self.output == "torch":
            pinned: npt.NDArray[Any] | None = _pinned_empty(shape, self.pipeline.numpy_dtype)
            if pinned is not None:
                return pinned
        # Recycled memory: a fresh batch-sized allocation would be page-faulted and zeroed by
        # the kernel on every batch (13% of the pipeline's time); see buffers.rs.
        dtype = np.dtype(self.pipeline.numpy_dtype)
        raw = _core.recycled_empty(int(np.prod(shape)) * dtype.itemsize)
        return raw.view(dtype).reshape(shape)

    def _produce(self, epoch: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        srcs = [self._sources[int(i)] for i in indices]
        out = self._alloc(len(indices))
        t0 = time.perf_counter()
        errors = self.pipeline._run(srcs, indices.tolist(), self.seed, epoch, out, self.threads)
        keep = np.ones(len(indices), dtype=bool)
        used = indices.copy()
        for k, exc in sorted(errors.items()):
            name = _source_name(srcs[k])
            self._bad.add(int(indices[k]))
            with self._stats.lock:
                self._stats.failed_sources.append(name)
            if self.on_error == "raise":
                raise exc
            if self.on_error == "skip":
                keep[k] = False
                with self._stats.lock:
                    self._stats.skipped += 1
                continue
            sub = self._substitute(epoch, int(indices[k]), out[k : k + 1])
            used[k] = sub
            with self._stats.lock:
                self._stats.substituted += 1
        native = time.perf_counter() - t0
        images = out if keep.all() else out[keep]
        labels = None if self._labels is None else self._labels[used[keep]]
        with self._stats.lock:
            self._stats.native_seconds += native
        return images, labels

    def _substitute(self, epoch: int, bad_index: int, slot: np.ndarray) -> int:
        """Fill `slot` with a decodable sample chosen deterministically from (seed, epoch,
        bad_index); returns its index."""
        n = len(self._sources)
        rng = np.random.Generator(np.random.PCG64([self.seed & (2**64 - 1), epoch, bad_index, 7]))
        tried = 0
        for cand in rng.permutation(n):
            c = int(cand)
            if c == bad_index or c in self._bad:
                continue
            errs = self.pipeline._run([self._sources[c]], [c], self.seed, epoch, slot, self.threads)
            if not errs:
                return c
            self._bad.add(c)
            tried += 1
            if tried >= _SUBSTITUTE_TRIES:
                break
        raise RuntimeError(
            f"on_error='substitute': no decodable replacement for sample {bad_index} "
            f"({_source_name(self._sources[bad_index])}) after {tried} tries"
        )

    def _deliver(self, images: np.ndarray, labels: np.ndarray | None) -> Any:
        if self.output == "torch":
            import torch

            t_images = images if isinstance(images, torch.Tensor) else torch.from_numpy(images)
            if labels is None:
                return t_images
            return t_images, torch.as_tensor(labels)
        return images if labels is None else (images, labels)


def _pinned_empty(shape: tuple[int, ...], dtype: type[np.generic]) -> Any:
    """A numpy view of a pinned torch buffer, or None (with a warning) without an accelerator."""
    import torch

    if not torch.cuda.is_available():
        warnings.warn(
            "pin_memory=True needs a CUDA device; batches use ordinary memory",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    tdtype = {np.float32: torch.float32, np.float16: torch.float16, np.uint16: torch.int16}.get(
        dtype, torch.uint8
    )
    return torch.empty(shape, dtype=tdtype, pin_memory=True).numpy().view(dtype)


class _EpochIterator:
    """One pass over an epoch's batches; owns the producer thread."""

    def __init__(self, loader: Loader, plan: _sampler.EpochPlan, epoch: int, start: int) -> None:
        self._loader = loader
        self._batches = plan.batches
        self._epoch = epoch
        self._next = start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(loader.prefetch, 1))
        self._finished = False
        self._progress = None
        if loader.progress:
            from pixfeed._progress import Progress

            self._progress = Progress(len(self._batches) - start, "batches")
        if loader.prefetch > 0 and start < len(self._batches):
            self._thread = threading.Thread(
                target=_producer,
                args=(weakref.ref(loader), self._batches, epoch, start, self._queue, self._stop),
                name="pixfeed-loader",
                daemon=True,
            )
            self._thread.start()

    def __iter__(self) -> _EpochIterator:
        return self

    def __len__(self) -> int:
        return len(self._batches) - self._next

    def __next__(self) -> Any:
        loader = self._loader
        if self._finished or self._next >= len(self._batches):
            self._finish()
            raise StopIteration
        with loader._stats.lock:
            if loader._stats.started is None:
                loader._stats.started = time.perf_counter()
        t0 = time.perf_counter()
        try:
            if self._thread is None:
                item: Any = loader._produce(self._epoch, self._batches[self._next])
            else:
                item = self._get()
        except BaseException:
            self.close()
            raise
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        if isinstance(item, _Done):  # pragma: no cover - guarded by the batch count above
            self._finish()
            raise StopIteration
        images, labels = item
        with loader._stats.lock:
            loader._stats.wait_seconds += time.perf_counter() - t0
            loader._stats.images += len(images)
            loader._stats.batches += 1
        self._next += 1
        loader._next_batch = self._next
        if self._progress is not None:
            self._progress.update()
        return loader._deliver(images, labels)

    def _get(self) -> Any:
        while True:
            try:
                return self._queue.get(timeout=_POLL)
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() and self._queue.empty():
                    return _Failure(RuntimeError("pixfeed loader thread ended unexpectedly"))

    def _finish(self) -> None:
        self._finished = True
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.close()

    def close(self) -> None:
        """Stop the producer and wait for it (it checks the flag between batches)."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            # Unblock a producer waiting on a full queue.
            while t.is_alive():
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass
                t.join(timeout=_POLL)
        self._thread = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _producer(
    loader_ref: weakref.ref[Loader],
    batches: list[np.ndarray],
    epoch: int,
    start: int,
    q: queue.Queue[Any],
    stop: threading.Event,
) -> None:
    """Producer thread: fills the queue in order until the epoch ends or `stop` is set.
    Holds only a weak reference to the loader between batches so dropping it stops us."""
    for b in range(start, len(batches)):
        if stop.is_set():
            return
        loader = loader_ref()
        if loader is None:
            return
        try:
            item: Any = loader._produce(epoch, batches[b])
        except BaseException as e:  # delivered to the consumer, raised there
            item = _Failure(e)
        del loader
        while not stop.is_set():
            try:
                q.put(item, timeout=_POLL)
                break
            except queue.Full:
                continue
        if isinstance(item, _Failure):
            return
    while not stop.is_set():
        try:
            q.put(_Done(), timeout=_POLL)
            return
        except queue.Full:
            continue
