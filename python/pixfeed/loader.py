"""`Loader`: seeded, sharded, resumable batches from the fused native pipeline (docs/loader.md).

A background thread asks the native pipeline for batch k+1.. while the consumer uses batch k
(at most ``prefetch`` batches wait, so memory is bounded). The native work runs on pixfeed's
thread pool with the GIL released. Stopping is prompt whatever the way out: the end of the
epoch, ``break`` (the iterator is dropped), an exception in the consumer, Ctrl-C, ``close()``.
"""

from __future__ import annotations

import copy
import os
import queue
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core, _env, _producer, _sampler
from pixfeed.pipeline import Pipeline
from pixfeed.shards import Shards

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["LoadError", "Loader", "LoaderOptions"]

OnError = Literal["raise", "skip", "substitute"]


class LoaderOptions(TypedDict, total=False):
    """The `Loader`'s keyword arguments, for APIs that pass them on (``**kwargs``)."""

    pipeline: Pipeline | None
    batch_size: int
    shuffle: bool | Literal["global", "shards"]
    seed: int
    drop_last: bool
    prefetch: int
    threads: int | None
    rank: int | None
    world_size: int | None
    on_error: OnError
    pin_memory: bool
    output: Literal["numpy", "torch"]
    progress: bool
    strict: bool | None
    shard_buffer: tuple[int, int] | None


_SUBSTITUTE_TRIES = 16
_MAX_ERRORS = 100_000  # errors() keeps this many
_MAX_OPEN_SHARDS = 1024
_MAX_SHARD_BUFFER = 1 << 20  # sample indices
_SHARD_BUFFER = (4, 1000)  # shuffle="shards": open shards, shuffle buffer


@dataclass(frozen=True)
class LoadError:
    """One sample that failed to load: its source (the path, or ``"<bytes>"``), why (the
    exception's type and message), the epoch, and what the loader did: ``"raised"``,
    ``"skipped"`` or ``"substituted"`` (then ``substitute`` is the path used instead)."""

    path: str
    reason: str
    epoch: int
    action: Literal["raised", "skipped", "substituted"]
    index: int
    substitute: str | None = None


@dataclass
class _Stats:
    images: int = 0
    batches: int = 0
    native_seconds: float = 0.0
    wait_seconds: float = 0.0
    skipped: int = 0
    substituted: int = 0
    failed_sources: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    iterating_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _pipeline(pipeline: Pipeline | None, strict: bool | None) -> Pipeline:
    """The Loader's pipeline: ``pipeline`` (default ``Pipeline()``), copied when ``strict``
    overrides its setting (the caller's object stays as it was)."""
    pipe = pipeline if pipeline is not None else Pipeline()
    if not isinstance(pipe, Pipeline):
        raise TypeError(f"pipeline: expected a pixfeed.Pipeline, got {type(pipeline).__name__}")
    if strict is not None and bool(strict) != pipe.strict:
        pipe = copy.copy(pipe)
        pipe.strict = bool(strict)
    return pipe


def _prefetch(value: Any, pipe: Pipeline, batch_size: int) -> int:
    """``prefetch`` checked: at most `_args.MAX_PREFETCH`, and its waiting batches (at the
    largest bucket's size) must fit in the machine's physical memory where that is known."""
    prefetch = _args.prefetch(value)
    sizes = pipe.buckets.sizes if pipe.buckets is not None else [pipe.size]
    pixels = max(int(w) * int(h) for w, h in sizes)
    batch = batch_size * pixels * pipe.channels * np.dtype(pipe.numpy_dtype).itemsize
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: not checked
        return prefetch
    if 0 < memory < prefetch * batch:
        raise ValueError(
            f"prefetch: {prefetch} waiting batches of {batch / 2**30:.1f} GiB would not fit "
            f"in this machine's {memory / 2**30:.1f} GiB of memory; lower prefetch or batch_size"
        )
    return prefetch


def _check_choices(on_error: Any, output: Any) -> None:
    """The Loader's arguments with a fixed set of values (ValueError naming the argument)."""
    if on_error not in ("raise", "skip", "substitute"):
        raise ValueError(f"on_error: expected 'raise', 'skip' or 'substitute', got {on_error!r}")
    if output not in ("numpy", "torch"):
        raise ValueError(f"output: expected 'numpy' or 'torch', got {output!r}")


def _source_name(src: _args.Native) -> str:
    return src if isinstance(src, str) else str(src) if isinstance(src, _core.Member) else "<bytes>"


class Loader:
    """Batches of ``(images, labels)`` (or images alone when ``labels`` is None).

    See docs/loader.md. ``len(loader)`` is this rank's (and DataLoader worker's) number of
    batches per epoch.
    Epochs: each new ``iter(loader)`` (each ``for`` loop) starts the next epoch, with a fresh
    shuffle and fresh random crops, as a torch DataLoader does; once ``set_epoch(e)`` is
    called the loader uses exactly the epoch it is given (DistributedSampler semantics: DDP
    code that calls ``set_epoch`` every epoch keeps its order). ``state_dict()`` /
    ``load_state_dict()`` resume mid-epoch exactly where the last yielded batch left off,
    on the same or another number of ranks. A pipeline whose ``size`` is a `pixfeed.Buckets`
    makes every batch from one aspect-ratio bucket. ``shuffle``: True (or ``"global"``) is a
    permutation of all samples per (seed, epoch); ``"shards"`` (a `pixfeed.Shards` source
    only) permutes and splits whole shards and mixes ``shard_buffer=(open_shards, buffer)``
    at a time (docs/loader.md). ``errors()`` lists the samples that
    failed to load (with ``on_error="skip"`` or ``"substitute"`` the run goes on).
    ``strict``: None (default) keeps the pipeline's setting (strict unless it says
    otherwise): a file with corrupt data is a ``DecodeError`` (kind ``"corrupt"``) that
    ``on_error`` then handles; False decodes what the decoder recovered. ``prefetch``: batches
    made ahead of the consumer, 0 (made on demand) to 256, fewer when that many would not fit
    in memory. With ``on_error="substitute"`` and ``shuffle="shards"`` a substitute comes from
    the rank's own shards.
    """

    def __init__(
        self,
        sources: Sequence[_args.Source] | Shards,
        labels: Sequence[Any] | npt.ArrayLike | None = None,
        *,
        pipeline: Pipeline | None = None,
        batch_size: int = 64,
        shuffle: bool | Literal["global", "shards"] = True,
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
        shard_buffer: tuple[int, int] | None = None,
    ) -> None:
        shard_sizes = _shard_layout(sources)
        #: The `pixfeed.Shards` given as ``sources`` (its images and, by default, labels).
        self.shards: Any = None
        if shard_sizes is not None:
            shards: Any = sources
            self.shards = shards
            labels = shards.labels if labels is None else labels
            sources = shards.sources
        if isinstance(sources, (str, bytes)):
            raise TypeError("sources: expected a sequence of paths or bytes, got a single source")
        # A shard source was replaced by its list of sources above.
        items = cast("Sequence[_args.Source]", sources)
        self._sources = [_args.source(s, f"sources[{i}]") for i, s in enumerate(items)]
        self._labels: np.ndarray | None = None
        if labels is not None:
            self._labels = _labels(labels, len(self._sources), output)
        self.pipeline = _pipeline(pipeline, strict)
        _check_choices(on_error, output)
        self.batch_size = _args.positive_int(batch_size, "batch_size")
        self.prefetch = _prefetch(prefetch, self.pipeline, self.batch_size)
        if isinstance(shuffle, str) and shuffle not in ("global", "shards"):
            raise ValueError(
                f"shuffle: expected True, False, 'global' or 'shards', got {shuffle!r}"
            )
        self.shuffle = bool(shuffle)
        self._shard_sizes = shard_sizes if shuffle == "shards" else None
        self.shard_buffer = _shard_buffer(shard_buffer, self._shard_sizes, shuffle)
        self.seed = _args.seed(seed)
        self.drop_last = bool(drop_last)
        self.threads = _args.threads(threads)
        self.rank, self.world_size = _env.distributed(rank, world_size)
        if self._shard_sizes is not None and (
            np.count_nonzero(self._shard_sizes) < self.world_size
        ):
            raise ValueError(
                f"shuffle: 'shards' needs a shard per rank: {self.world_size} ranks, "
                f"{np.count_nonzero(self._shard_sizes)} non-empty shards"
            )
        self.on_error = on_error
        self.output = output
        self.pin_memory = bool(pin_memory)
        self.progress = bool(progress)
        self.epoch = 0
        self._explicit_epoch = False  # set_epoch was called: never advance on our own
        self._iterated = False  # an epoch was started since the last set_epoch/load
        self._start_batch = 0
        self._next_batch = 0
        self._offset = 0  # units of the epoch order consumed before an elastic resume
        self._stats = _Stats()
        self._live: weakref.WeakSet[_EpochIterator] = weakref.WeakSet()
        self._closed = False
        self._bad: set[int] = set()
        #: The class names, for a loader made by `from_folder` (else None).
        self.classes: list[str] | None = None
        self._shard_plan: tuple[tuple[int, ...], _sampler.EpochPlan] | None = None
        self._bucket_of, self._bucket_pipes = self._assign_buckets()

    def _assign_buckets(self) -> tuple[np.ndarray | None, list[Pipeline]]:
        """Each source's bucket (from its header) and each bucket's pipeline, for a bucketed
        pipeline; else (None, [])."""
        buckets = self.pipeline.buckets
        if buckets is None:
            return None, []
        if self._shard_sizes is not None:
            raise ValueError("shuffle: 'shards' does not combine with bucketing (Buckets)")
        from pixfeed.buckets import image_sizes

        sizes, errors = image_sizes(
            self._sources, apply_exif=self.pipeline.apply_exif, threads=self.threads
        )
        # An unreadable header goes to bucket 0; its decode fails (and is handled by
        # on_error) when its batch is made.
        sizes[list(errors)] = buckets.sizes[0]
        return buckets.assign(sizes), [self.pipeline.for_bucket(i) for i in range(len(buckets))]

    @classmethod
    def from_folder(
        cls,
        root: str | os.PathLike[str],
        *,
        allow_empty: bool = False,
        **kwargs: Unpack[LoaderOptions],
    ) -> Loader:
        """A Loader over the class-per-folder tree under ``root`` (`pixfeed.image_folder`'s
        rules, those of torchvision's ImageFolder), labelled with class indices; the class
        names are in ``loader.classes``. Other arguments are the Loader's."""
        from pixfeed.folder import image_folder

        paths, labels, classes = image_folder(root, allow_empty=allow_empty)
        loader = cls(paths, np.asarray(labels, dtype=np.int64), **kwargs)
        loader.classes = classes
        return loader

    # -- planning --------------------------------------------------------------------------
    def _plan(self, epoch: int) -> _sampler.EpochPlan:
        worker, num_workers = _env.dataloader_worker()
        offset = self._offset if epoch == self.epoch else 0
        if self._shard_sizes is not None:
            # A pure function of these, cached: len() and state_dict() ask for it too.
            key = (self.seed, epoch, worker, num_workers)
            if self._shard_plan is None or self._shard_plan[0] != key:
                plan = _sampler.plan_shard_epoch(
                    self._shard_sizes,
                    batch_size=self.batch_size,
                    seed=self.seed,
                    epoch=epoch,
                    drop_last=self.drop_last,
                    rank=self.rank,
                    world_size=self.world_size,
                    worker=worker,
                    num_workers=num_workers,
                    open_shards=self.shard_buffer[0],
                    buffer=self.shard_buffer[1],
                )
                self._shard_plan = (key, plan)
            return self._shard_plan[1]
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
            offset=offset,
            buckets=self._bucket_of,
        )

    def _units(self, epoch: int) -> int:
        """The length of the epoch's unpadded order: samples, or batches when bucketed."""
        if self._bucket_of is None:
            return len(self._sources)
        return len(
            _sampler.bucket_batches(
                self._bucket_of,
                batch_size=self.batch_size,
                seed=self.seed,
                epoch=epoch,
                shuffle=self.shuffle,
                drop_last=self.drop_last,
            )
        )

    def __len__(self) -> int:
        return len(self._plan(self.epoch).batches)

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order and randomness from the next iteration on (and from
        then on only the epochs given here: the loader no longer advances on its own)."""
        epoch = _args.epoch(epoch)
        self._explicit_epoch = True
        self._iterated = False
        if epoch != self.epoch:
            self.epoch = epoch
            self._start_batch = 0
            self._offset = 0

    # -- resume ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: the epoch and the number of batches already yielded.

        ``explicit_epoch`` records whether epochs come from `set_epoch` (True) or advance on
        each iteration (False); a finished epoch of an advancing loader is saved as the
        start of the next one. ``offset`` and ``world_size`` let a run on another number of
        ranks resume the epoch (see `load_state_dict`)."""
        epoch, batch, offset = self.epoch, self._next_batch, self._offset
        if (
            not self._explicit_epoch
            and self._iterated
            and batch > 0
            and batch >= len(self._plan(epoch).batches)
        ):
            epoch, batch, offset = epoch + 1, 0, 0
        return {
            "epoch": epoch,
            "batch": batch,
            "offset": offset,
            "drop_last": self.drop_last,
            "bucketed": self._bucket_of is not None,
            **self._shuffle_state(),
            "explicit_epoch": self._explicit_epoch,
            "seed": self.seed,
            "num_samples": len(self._sources),
            "batch_size": self.batch_size,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next iteration yield exactly the batches after ``state``'s.

        Elastic resume: a state saved with another ``world_size`` (a job restarted on fewer
        or more ranks; every rank saved at the same batch, as in lock-step DDP training)
        continues the epoch on this loader's ranks: what the old ranks consumed is skipped
        and the rest of the epoch is dealt out anew, so no sample is lost or repeated (but
        for the wrap-padding that gives every rank the same number of batches, as
        DistributedSampler pads). Any rank's state will do: they are equal but for ``rank``.
        With ``shuffle="shards"`` the shards are split by rank, so a state from the middle
        of an epoch resumes only on the same number of ranks (ValueError otherwise); a state
        from an epoch's start resumes on any.
        """
        for key in ("epoch", "batch", "seed", "num_samples", "batch_size"):
            if key not in state:
                raise ValueError(f"state: missing key {key!r}")
        if state["num_samples"] != len(self._sources) or state["batch_size"] != self.batch_size:
            raise ValueError(
                "state: saved for a different data set or batch size "
                f"({state['num_samples']} samples, batch {state['batch_size']})"
            )
        if bool(state.get("bucketed", False)) != (self._bucket_of is not None):
            raise ValueError("state: saved by a loader with bucketing on/off the other way")
        ours = self._shuffle_state()
        theirs = {  # states saved before shuffle="shards" have neither key
            "shuffle": state.get("shuffle", "global" if self.shuffle else False),
            "shard_buffer": state.get("shard_buffer"),
        }
        if theirs["shard_buffer"] is not None:
            theirs["shard_buffer"] = [int(v) for v in theirs["shard_buffer"]]
        if theirs != ours:
            raise ValueError(f"state: saved with {theirs}, this loader has {ours}")
        seed, epoch = (
            _args.seed(state["seed"], "state['seed']"),
            _args.epoch(state["epoch"], "state['epoch']"),
        )
        self.seed, self.epoch = seed, epoch
        self._explicit_epoch = bool(state.get("explicit_epoch", True))
        self._iterated = False
        offset = int(state.get("offset", 0))
        batch = int(state["batch"])
        old_world = int(state.get("world_size", self.world_size))
        if old_world != self.world_size and (batch > 0 or offset > 0):
            if self._shard_sizes is not None:
                raise ValueError(
                    f"state: saved mid-epoch on {old_world} ranks; shuffle='shards' splits the "
                    f"shards by rank, so it resumes mid-epoch only on {old_world} ranks, not "
                    f"{self.world_size} (or from an epoch's start, or with shuffle='global')"
                )
            if bool(state.get("drop_last", self.drop_last)) != self.drop_last:
                raise ValueError("state: an elastic resume needs the same drop_last")
            units = self._units(self.epoch)
            per_rank = batch if self._bucket_of is not None else batch * self.batch_size
            offset, batch = _sampler.consumed(units, offset, old_world, per_rank), 0
        self._offset = offset
        self._start_batch = batch
        self._next_batch = self._start_batch

    def _shuffle_state(self) -> dict[str, Any]:
        """How the epoch's order is drawn, as state_dict saves it."""
        if self._shard_sizes is not None:
            return {"shuffle": "shards", "shard_buffer": list(self.shard_buffer)}
        return {"shuffle": "global" if self.shuffle else False, "shard_buffer": None}

    # -- stats -----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Throughput and error counts since this loader was made.

        ``iterating_seconds``: wall time spent in epochs, from each epoch's first request
        to its latest batch (the consumer's work between batches included; time between
        epochs or before iterating not); ``images_per_second``: ``images`` over that time.
        ``native_seconds``: time the pipeline spent producing batches (on the producer
        thread, overlapping the consumer); ``consumer_wait_seconds``: time the consumer
        waited for a batch."""
        s = self._stats
        with s.lock:
            elapsed = s.iterating_seconds
            return {
                "images": s.images,
                "batches": s.batches,
                "iterating_seconds": elapsed,
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
        if self._iterated and not self._explicit_epoch:
            self.epoch += 1  # a new pass without set_epoch: the next epoch
            self._start_batch = 0
            self._offset = 0
        self._iterated = True
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
    def _pipeline_for(self, indices: np.ndarray) -> Pipeline:
        """The pipeline of a batch: the loader's, or its bucket's when bucketed."""
        if self._bucket_of is None or len(indices) == 0:
            return self.pipeline
        return self._bucket_pipes[int(self._bucket_of[int(indices[0])])]

    def _alloc(self, n: int, pipe: Pipeline | None = None) -> npt.NDArray[Any]:
        pipe = self.pipeline if pipe is None else pipe
        shape = pipe._buffer_shape(n)
        if self.pin_memory and self.output == "torch":
            pinned: npt.NDArray[Any] | None = _pinned_empty(shape, self.pipeline.numpy_dtype)
            if pinned is not None:
                return pinned
        # Recycled memory: a fresh batch-sized allocation would be page-faulted and zeroed by
        # the kernel on every batch; see buffers.rs.
        dtype = np.dtype(self.pipeline.numpy_dtype)
        raw = _core.recycled_empty(int(np.prod(shape)) * dtype.itemsize)
        return raw.view(dtype).reshape(shape)

    def _produce(self, epoch: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        srcs = [self._sources[int(i)] for i in indices]
        pipe = self._pipeline_for(indices)
        out = self._alloc(len(indices), pipe)
        t0 = time.perf_counter()
        errors = pipe._run(srcs, indices.tolist(), self.seed, epoch, out, self.threads)
        keep = np.ones(len(indices), dtype=bool)
        used = indices.copy()
        for k, exc in sorted(errors.items()):
            name = _source_name(srcs[k])
            self._bad.add(int(indices[k]))
            reason = f"{type(exc).__name__}: {exc}"
            with self._stats.lock:
                self._stats.failed_sources.append(name)
            if self.on_error == "raise":
                self._record(LoadError(name, reason, epoch, "raised", int(indices[k])))
                raise exc
            if self.on_error == "skip":
                keep[k] = False
                with self._stats.lock:
                    self._stats.skipped += 1
                self._record(LoadError(name, reason, epoch, "skipped", int(indices[k])))
                continue
            sub = self._substitute(epoch, int(indices[k]), out[k : k + 1], pipe)
            used[k] = sub
            with self._stats.lock:
                self._stats.substituted += 1
            self._record(
                LoadError(
                    name,
                    reason,
                    epoch,
                    "substituted",
                    int(indices[k]),
                    _source_name(self._sources[sub]),
                )
            )
        native = time.perf_counter() - t0
        images = pipe._present(out if keep.all() else out[keep])
        labels = None if self._labels is None else self._labels[used[keep]]
        with self._stats.lock:
            self._stats.native_seconds += native
        return images, labels

    def _record(self, error: LoadError) -> None:
        with self._stats.lock:
            if len(self._stats.errors) < _MAX_ERRORS:
                self._stats.errors.append(error)

    def errors(self) -> list[LoadError]:
        """Every sample that failed to load since this loader was made (the first 100,000),
        in the order met: a run over corrupt files ends with a report of them."""
        with self._stats.lock:
            return list(self._stats.errors)

    def _substitute(
        self, epoch: int, bad_index: int, slot: np.ndarray, pipe: Pipeline | None = None
    ) -> int:
        """Fill `slot` with a decodable sample chosen deterministically from (seed, epoch,
        bad_index); returns its index. With ``shuffle="shards"`` it comes from the shards
        this rank (DataLoader worker) reads in the epoch: a rank never reads another's."""
        rng = np.random.Generator(np.random.PCG64([self.seed, epoch, bad_index, 7]))
        if self._shard_sizes is None:
            pool = rng.permutation(len(self._sources))
        else:
            worker, num_workers = _env.dataloader_worker()
            own = _sampler.reader_samples(
                self._shard_sizes,
                seed=self.seed,
                epoch=epoch,
                rank=self.rank,
                world_size=self.world_size,
                worker=worker,
                num_workers=num_workers,
            )
            pool = own[rng.permutation(len(own))]
        tried = 0
        for cand in pool:
            c = int(cand)
            if c == bad_index or c in self._bad:
                continue
            errs = (pipe or self.pipeline)._run(
                [self._sources[c]], [c], self.seed, epoch, slot, self.threads
            )
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


def _shard_layout(sources: object) -> np.ndarray | None:
    """The samples per shard of a shard source (a `pixfeed.Shards`: samples stored shard by
    shard, with ``sources``, ``labels`` and ``shard_sizes``), or None for a sequence of
    sources."""
    sizes = getattr(sources, "shard_sizes", None)
    if sizes is None or not hasattr(sources, "sources"):
        return None
    sizes = np.asarray(sizes, dtype=np.int64)
    n = len(getattr(sources, "sources"))  # noqa: B009 - duck typed
    if sizes.ndim != 1 or (sizes < 0).any() or int(sizes.sum()) != n:
        raise ValueError(f"sources: shard_sizes must be >= 0 and add up to {n} samples")
    return sizes


def _shard_buffer(value: Any, shard_sizes: np.ndarray | None, shuffle: object) -> tuple[int, int]:
    """``shard_buffer=(open_shards, buffer)``, checked, for ``shuffle="shards"``."""
    if shuffle == "shards" and shard_sizes is None:
        raise ValueError(
            "shuffle: 'shards' needs a shard source (pixfeed.Shards); a list of files "
            "shuffles globally (shuffle=True)"
        )
    if value is None:
        return _SHARD_BUFFER
    if shard_sizes is None:
        raise ValueError("shard_buffer: only used with shuffle='shards'")
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 2:
        raise TypeError(f"shard_buffer: expected (open_shards, buffer), got {value!r}")
    k = _args.positive_int(value[0], "shard_buffer")
    b = _args.positive_int(value[1], "shard_buffer")
    if k > _MAX_OPEN_SHARDS or b > _MAX_SHARD_BUFFER:
        raise ValueError(
            f"shard_buffer: expected at most ({_MAX_OPEN_SHARDS}, {_MAX_SHARD_BUFFER}) "
            f"(open shards, buffered samples), got {tuple(value)!r}"
        )
    return k, b


def _labels(labels: Any, n: int, output: str) -> np.ndarray:
    """Labels as an array that torch can take: one number, or one fixed-size array of numbers
    (multi-label, soft targets), per source. Anything else is rejected here, not at the first
    batch."""
    try:
        lab = np.asarray(labels)
    except ValueError as e:  # ragged nested sequences
        raise ValueError(
            "labels: expected one number or one equal-length array of numbers per source "
            f"(multi-label labels must all have the same length): {e}"
        ) from None
    if lab.ndim == 0 or len(lab) != n:
        raise ValueError(
            f"labels: expected one per source ({n}), got {0 if lab.ndim == 0 else len(lab)}"
        )
    if lab.dtype.kind not in "biuf":
        example = lab.reshape(-1)[0] if lab.size else None
        hint = (
            "; map class names to ints first (pixfeed.image_folder / Loader.from_folder do)"
            if lab.dtype.kind in "US" or isinstance(example, str)
            else ""
        )
        raise TypeError(
            "labels: expected ints, floats, bools or equal-length arrays of them (they must "
            f"become a tensor), got dtype {lab.dtype} (e.g. {example!r}){hint}"
        )
    if output == "torch" and lab.dtype.kind == "u" and lab.dtype.itemsize > 1:
        # torch has no general uint16/32/64 tensors: int64 when the values fit.
        if lab.size and int(lab.max()) > np.iinfo(np.int64).max:
            raise ValueError("labels: unsigned values above 2**63 - 1 cannot become a tensor")
        lab = lab.astype(np.int64)
    return lab


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
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(loader.prefetch, 1))
        self._finished = False
        self._mark: float | None = None  # the end of the last counted span of iteration
        self._progress = None
        if loader.progress:
            from pixfeed._progress import Progress

            self._progress = Progress(len(self._batches) - start, "batches")
        if loader.prefetch > 0 and start < len(self._batches):
            items = _produced(weakref.ref(loader), self._batches, epoch, start, self._stop)
            self._thread = threading.Thread(
                target=_producer.run,
                args=(self._queue, self._stop, items),
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
        t0 = time.perf_counter()
        if self._mark is None:
            self._mark = t0
        try:
            if self._thread is None:
                item: Any = loader._produce(self._epoch, self._batches[self._next])
            else:
                item = self._get()
        except BaseException:
            self.close()
            raise
        if isinstance(item, _producer.Failure):
            self.close()
            raise item.exc
        if item is _producer.DONE:  # pragma: no cover - guarded by the batch count above
            self._finish()
            raise StopIteration
        images, labels = item
        now = time.perf_counter()
        with loader._stats.lock:
            loader._stats.wait_seconds += now - t0
            loader._stats.images += len(images)
            loader._stats.batches += 1
            loader._stats.iterating_seconds += now - self._mark
        self._mark = now
        self._next += 1
        loader._next_batch = self._next
        if self._progress is not None:
            self._progress.update()
        return loader._deliver(images, labels)

    def _get(self) -> Any:
        while True:
            try:
                return self._queue.get(timeout=_producer.POLL)
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() and self._queue.empty():
                    failure = RuntimeError("pixfeed loader thread ended unexpectedly")
                    return _producer.Failure(failure)

    def _finish(self) -> None:
        self._finished = True
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.close()

    def close(self) -> None:
        """Stop the producer and wait for it (it checks the flag between batches)."""
        _producer.stop_workers(self._queue, self._stop, [self._thread] if self._thread else [])
        self._thread = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _produced(
    loader_ref: weakref.ref[Loader],
    batches: list[np.ndarray],
    epoch: int,
    start: int,
    stop: threading.Event,
) -> Iterator[object]:
    """The producer thread's items (`_producer.run`): the epoch's batches in order, a
    failure as a `_producer.Failure`. Holds only a weak reference to the loader between
    batches so dropping it stops us."""
    for b in range(start, len(batches)):
        if stop.is_set():
            return
        loader = loader_ref()
        if loader is None:
            return
        try:
            item: object = loader._produce(epoch, batches[b])
        except BaseException as e:  # delivered to the consumer, raised there
            item = _producer.Failure(e)
        del loader
        yield item
