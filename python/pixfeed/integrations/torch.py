"""PyTorch integration (imported only when used; `import pixfeed` never imports torch).

`ImageDataset` is an `IterableDataset` of ready batches for ``DataLoader(batch_size=None)``:
each DataLoader worker builds its own `Loader`, which shards batches by worker (and by rank
under DDP), so every sample appears exactly once per epoch across workers.

Epochs reach the workers through a small tensor in shared memory (torch's own way of sharing
state with worker processes), so they work with ``persistent_workers=True`` too: each pass
over the DataLoader is the next epoch, and ``set_epoch`` in the main process is seen by
long-lived workers at their next pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from pixfeed import _args
from pixfeed.loader import Loader, _shard_layout

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from pixfeed.loader import LoaderOptions

__all__ = ["ImageDataset"]

_MAX_WORKERS = 1024
# Shared epoch state: [base epoch, explicit (set_epoch called), passes started by worker 0..]
_BASE, _EXPLICIT, _PASSES = 0, 1, 2


class ImageDataset(IterableDataset[Any]):
    """Batches of ``(images, labels)`` tensors (or images alone) from `pixfeed.Loader`.

    Use with ``torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=...)``.
    Each pass is the next epoch (fresh shuffle), with or without ``persistent_workers``;
    calling ``set_epoch(e)`` before each epoch, as with DistributedSampler, pins the epoch
    (DDP ranks then agree on it by construction). ``sources`` may be a `pixfeed.Shards`:
    with ``shuffle="shards"`` each worker then reads shards of its own.

    Keyword arguments are the `Loader`'s (``output`` aside: batches are always tensors),
    checked here, in the main process.
    """

    def __init__(
        self,
        sources: Sequence[Any],
        labels: Sequence[Any] | None = None,
        **kwargs: Unpack[LoaderOptions],
    ) -> None:
        super().__init__()
        if "output" in kwargs:
            raise TypeError("output: ImageDataset always yields torch tensors")
        self._kwargs: dict[str, Any] = {**kwargs, "output": "torch"}
        # A shard source (pixfeed.Shards) stays itself: shuffle="shards" needs its layout.
        self._sources = sources if _shard_layout(sources) is not None else list(sources)
        self._labels = None if labels is None else list(labels)
        self.epoch = 0
        # Shared with DataLoader workers (persistent ones included): see the module docstring.
        self._epoch_state = torch.zeros(_PASSES + _MAX_WORKERS, dtype=torch.int64)
        self._epoch_state.share_memory_()  # type: ignore[no-untyped-call]
        # Validate everything now, in the main process, rather than in a worker.
        Loader(self._sources, self._labels, **self._kwargs).close()

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch`` for the next pass (in every worker, persistent ones included),
        and from then on only the epochs given here."""
        self.epoch = _args.epoch(epoch)
        st = self._epoch_state
        st[_PASSES:] = 0
        st[_BASE] = self.epoch
        st[_EXPLICIT] = 1

    def _next_epoch(self) -> int:
        """The epoch of the pass this worker (or the main process) is starting."""
        info = get_worker_info()
        worker = 0 if info is None else int(info.id)
        if worker >= _MAX_WORKERS:
            raise ValueError(f"ImageDataset supports at most {_MAX_WORKERS} DataLoader workers")
        st = self._epoch_state
        if int(st[_EXPLICIT]):
            return int(st[_BASE])
        # Every worker starts every pass, so each one's own count of passes is the epoch.
        passes = int(st[_PASSES + worker])
        st[_PASSES + worker] = passes + 1
        return int(st[_BASE]) + passes

    def _loader(self, epoch: int | None = None) -> Loader:
        loader = Loader(self._sources, self._labels, **self._kwargs)
        loader.set_epoch(self.epoch if epoch is None else epoch)
        return loader

    def __len__(self) -> int:
        """Batches per epoch for this rank (all DataLoader workers together, when called from
        the main process as DataLoader does). With ``shuffle="shards"`` each worker pads its
        own shards' stream (or cuts it), so an epoch under workers may differ by a few batches."""
        loader = self._loader()
        try:
            return len(loader)
        finally:
            loader.close()

    def __iter__(self) -> Iterator[Any]:
        loader = self._loader(self._next_epoch())
        try:
            yield from loader
        finally:
            loader.close()
