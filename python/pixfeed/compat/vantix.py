"""`VantixLoader` with vantixloader's signature, on pixfeed's loader.

Pixels as Vantix computes them: each file decoded at full size (JPEG: accurate IDCT, fancy
upsampling) without applying its EXIF orientation, the whole image resized (squashed) to
``width x height`` with antialiased bilinear (Pillow's arithmetic, pixfeed's exact mode),
scaled to [0, 1] as float32 NCHW tensors, randomly flipped horizontally when ``augment``.
For a given file and flip, a sample equals ``PIL.Image.open(path).convert("RGB").resize(
(width, height), BILINEAR)`` divided by 255.

Deliberate differences from Vantix:

- a file that fails to decode raises (naming it) instead of becoming a batch of zeros;
- shuffling and the flips are seeded ((seed, epoch, sample index), `set_epoch`) instead of
  drawn from global random state, so which samples are flipped differs from a Vantix run;
- under DDP every rank gets the same number of batches (DistributedSampler semantics)
  instead of ``indices[rank::world]``;
- images with an alpha channel or a palette are converted to RGB as Pillow's
  ``convert("RGB")`` does (alpha dropped), 16-bit PNGs are reduced to 8 bits (``v >> 8``);
- the decompression-bomb guard: images above 178,956,970 pixels raise.
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
            apply_exif=False,
            exact=True,
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
