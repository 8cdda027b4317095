"""PyTorch integration: `ImageDataset` (see :mod:`pixfeed.integrations.torch`). Importing
this module imports torch; ``import pixfeed`` never does."""

from __future__ import annotations

from pixfeed.integrations.torch import ImageDataset

__all__ = ["ImageDataset"]
