"""Which samples each rank (and each DataLoader worker) sees, batch by batch.

DistributedSampler semantics: the epoch's order is a permutation drawn from (seed, epoch)
alone, so every rank computes the same one; it is then wrap-padded (or, with ``drop_last``,
truncated) to a multiple of ``world_size`` and dealt out round robin, so every rank gets the
same number of samples and batches. Inside a torch DataLoader worker the rank's batches are
dealt out again by worker (batch b goes to worker b % num_workers), which keeps the batches'
global order when DataLoader interleaves its workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EpochPlan", "plan_epoch"]


@dataclass(frozen=True)
class EpochPlan:
    """The dataset indices of one rank's (and worker's) batches in one epoch."""

    batches: list[np.ndarray]
    #: Samples this rank gets in the epoch, padding included (same on every rank).
    samples_per_rank: int


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The epoch's global order: a permutation keyed by (seed, epoch) only."""
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64([seed & (2**64 - 1), epoch, 0x5EED]))
    return rng.permutation(n).astype(np.int64)


def plan_epoch(
    n: int,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    shuffle: bool,
    drop_last: bool,
    rank: int = 0,
    world_size: int = 1,
    worker: int = 0,
    num_workers: int = 1,
) -> EpochPlan:
    order = epoch_order(n, seed, epoch, shuffle)
    if drop_last:
        per_rank = n // world_size
        total = per_rank * world_size
        order = order[:total]
    else:
        per_rank = math.ceil(n / world_size) if n else 0
        total = per_rank * world_size
        pad = total - n
        if pad > 0:
            # Wrap around as often as needed (n may be smaller than the padding).
            order = np.concatenate([order, np.resize(order, pad)])
    mine = order[rank:total:world_size]
    if drop_last:
        n_batches = len(mine) // batch_size
    else:
        n_batches = math.ceil(len(mine) / batch_size)
    batches = [mine[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]
    if num_workers > 1:
        batches = batches[worker::num_workers]
    return EpochPlan(batches, per_rank)
