"""`VantixLoader` with vantixloader's signature, on pixfeed's loader.

Same output as Vantix: float32 NCHW tensors of the whole image resized (squashed) to
``width x height`` with antialiased bilinear, scaled to [0, 1], randomly flipped when
``augment``. Differences, all deliberate: a file that fails to decode raises (naming it)
instead of becoming a batch of zeros; shuffling is seeded ((seed, epoch), `set_epoch`) rather
than global numpy state; under DDP every rank gets the same number of batches
(DistributedSampler semantics) instead of ``indices[rank::world]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from torch.utils.data import IterableDataset

from pixfeed.loader import Loader
from pixfeed.pipeline import Pipeline

__all__ = ["VantixLoader"]


class VantixLoader(IterableDataset[Any]):
    def __init__(
        self,
        image_paths: Sequence[Any],
        width: int = 224,
        height: int = 224,
        batch_size: int = 64,
        augment: bool = False,
        shuffle: bool = True,
        transform: Callable[[Any], Any] | None = None,
        queue_size: int = 3,
        *,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.image_paths = list(image_paths)
        self.width = width
        self.height = height
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = shuffle
        self.transform = transform
        self.queue_size = queue_size
        self.seed = seed
        self.epoch = 0
        self._pipeline = Pipeline(
            (width, height),
            crop="resize",
            flip=0.5 if augment else 0.0,
            mean=0.0,
            std=1.0,
            dtype="float32",
            layout="NCHW",
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _loader(self) -> Loader:
        loader = Loader(
            self.image_paths,
            pipeline=self._pipeline,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            seed=self.seed,
            prefetch=self.queue_size,
            output="torch",
        )
        loader.set_epoch(self.epoch)
        return loader

    def __len__(self) -> int:
        loader = self._loader()
        try:
            return len(loader)
        finally:
            loader.close()

    def __iter__(self) -> Iterator[Any]:
        loader = self._loader()
        try:
            for batch in loader:
                yield self.transform(batch) if self.transform else batch
        finally:
            loader.close()
