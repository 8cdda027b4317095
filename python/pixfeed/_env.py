"""Distributed and DataLoader-worker context, found without importing torch unless it is
already imported by the user."""

from __future__ import annotations

import os
import sys


def _int_env(name: str) -> int | None:
    v = os.environ.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"environment variable {name}={v!r} is not an integer") from None


def distributed(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """(rank, world_size) from the arguments, else torch.distributed (if initialized), else
    Ray Train's context (inside a Ray Train worker), else the RANK / WORLD_SIZE environment
    variables, else (0, 1)."""
    if rank is None or world_size is None:
        r, w = None, None
        dist = sys.modules.get("torch.distributed")
        if dist is not None and dist.is_available() and dist.is_initialized():
            r, w = dist.get_rank(), dist.get_world_size()
        if r is None:
            r, w = _ray_train()
        if r is None:
            r, w = _int_env("RANK"), _int_env("WORLD_SIZE")
        rank = rank if rank is not None else (r if r is not None else 0)
        world_size = world_size if world_size is not None else (w if w is not None else 1)
    if world_size < 1:
        raise ValueError(f"world_size: must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank: must be in [0, {world_size}), got {rank}")
    return rank, world_size


def _ray_train() -> tuple[int | None, int | None]:
    """(world rank, world size) inside a Ray Train worker (only if ``ray.train`` is already
    imported), else (None, None)."""
    train = sys.modules.get("ray.train")
    if train is None:
        return None, None
    try:
        ctx = train.get_context()
        return int(ctx.get_world_rank()), int(ctx.get_world_size())
    except Exception:  # not inside a training worker
        return None, None


def dataloader_worker() -> tuple[int, int]:
    """(worker id, number of workers) inside a torch DataLoader worker, else (0, 1)."""
    data = sys.modules.get("torch.utils.data")
    if data is None:
        return 0, 1
    info = data.get_worker_info()
    if info is None:
        return 0, 1
    return int(info.id), int(info.num_workers)
