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

from pixfeed import Pipeline
from pixfeed.torch import ImageDataset

__all__ = ["VantixLoader"]


class VantixLoader(ImageDataset):
    """Vantix's loader: a `pixfeed.torch.ImageDataset` with Vantix's arguments and
    pipeline. The epoch changes only through `set_epoch` (as in Vantix: every pass over a
    loader left alone is the same epoch)."""

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
        self.image_paths = list(image_paths)
        self.width, self.height = width, height
        self.batch_size, self.augment, self.shuffle = batch_size, augment, shuffle
        self.transform = transform
        self.queue_size = queue_size
        self.seed = seed
        pipeline = Pipeline(
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
        super().__init__(
            self.image_paths,
            pipeline=pipeline,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            prefetch=queue_size,
        )
        self.set_epoch(0)

    def __iter__(self) -> Iterator[Any]:
        for batch in super().__iter__():
            yield self.transform(batch) if self.transform else batch
