"""Ray Data integration: `Decode`, `read_images`, `collate` (see
:mod:`pixfeed.integrations.ray`). ``import pixfeed`` never imports this module, and this
module imports ray only when one of its functions first needs it."""

from __future__ import annotations

from pixfeed.integrations.ray import Decode, assigned_cpus, collate, path_key, read_images

__all__ = ["Decode", "assigned_cpus", "collate", "path_key", "read_images"]
