"""PyTorch integration (imported only when used; `import pixfeed` never imports torch).

`ImageDataset` is an `IterableDataset` of ready batches for ``DataLoader(batch_size=None)``:
each DataLoader worker builds its own `Loader`, which shards batches by worker (and by rank
under DDP), so every sample appears exactly once per epoch across workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from torch.utils.data import IterableDataset

from pixfeed.loader import Loader
from pixfeed.pipeline import Pipeline

__all__ = ["ImageDataset"]


class ImageDataset(IterableDataset[Any]):
    """Batches of ``(images, labels)`` tensors (or images alone) from `pixfeed.Loader`.

    Use with ``torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=...)``.
    Call ``set_epoch(e)`` before each epoch, as with DistributedSampler.
    """

    def __init__(
        self,
        sources: Sequence[Any],
        labels: Sequence[Any] | None = None,
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
        on_error: str = "raise",
    ) -> None:
        super().__init__()
        self._kwargs: dict[str, Any] = {
            "pipeline": pipeline if pipeline is not None else Pipeline(),
            "batch_size": batch_size,
            "shuffle": shuffle,
            "seed": seed,
            "drop_last": drop_last,
            "prefetch": prefetch,
            "threads": threads,
            "rank": rank,
            "world_size": world_size,
            "on_error": on_error,
            "output": "torch",
        }
        self._sources = list(sources)
        self._labels = None if labels is None else list(labels)
        self.epoch = 0
        # Validate everything now, in the main process, rather than in a worker.
        Loader(self._sources, self._labels, **self._kwargs).close()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _loader(self) -> Loader:
        loader = Loader(self._sources, self._labels, **self._kwargs)
        loader.set_epoch(self.epoch)
        return loader

    def __len__(self) -> int:
        """Batches per epoch for this rank (all DataLoader workers together, when called from
        the main process as DataLoader does)."""
        loader = self._loader()
        try:
            return len(loader)
        finally:
            loader.close()

    def __iter__(self) -> Iterator[Any]:
        loader = self._loader()
        try:
            yield from loader
        finally:
            loader.close()
