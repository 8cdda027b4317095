"""Which samples each rank (and each DataLoader worker) sees, batch by batch.

DistributedSampler semantics: the epoch's order is a permutation drawn from (seed, epoch)
alone, so every rank computes the same one; it is then wrap-padded (or, with ``drop_last``,
truncated) to a multiple of ``world_size`` and dealt out round robin, so every rank gets the
same number of samples and batches. Inside a torch DataLoader worker the rank's batches are
dealt out again by worker (batch b goes to worker b % num_workers), which keeps the batches'
global order when DataLoader interleaves its workers.

Elastic resume: with every rank at batch k, the samples consumed are exactly the first
``world_size * k * batch_size`` of the (unpadded) epoch order, whatever the world size, so a
run restarted on another number of ranks continues with ``offset`` = that count: the rest of
the order is dealt out to the new ranks the same way.

Bucketed epochs (`plan_epoch` with ``buckets``): the epoch's order is grouped by bucket (keeping the
order inside each bucket), cut into batches of one bucket each, the batches shuffled (seed,
epoch) and dealt out to ranks round robin, wrap-padded to a multiple of ``world_size`` so
every rank gets the same number of batches. The unit of ``offset`` is then a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pixfeed import _args

__all__ = ["EpochPlan", "bucket_batches", "consumed", "plan_epoch"]


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
    rng = np.random.Generator(np.random.PCG64([_args.seed(seed), epoch, 0x5EED]))
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
    offset: int = 0,
    buckets: np.ndarray | None = None,
) -> EpochPlan:
    """One rank's (and worker's) batches of the epoch over ``n`` samples; with ``buckets``
    (one bucket id per sample) a bucketed epoch, ``offset`` then counting batches (see the
    module docstring)."""
    if buckets is None:
        units: np.ndarray | list[np.ndarray] = epoch_order(n, seed, epoch, shuffle)[offset:]
    else:
        units = bucket_batches(
            buckets,
            batch_size=batch_size,
            seed=seed,
            epoch=epoch,
            shuffle=shuffle,
            drop_last=drop_last,
        )[offset:]
    count = len(units)
    if drop_last:
        per_rank = count // world_size
    else:
        per_rank = math.ceil(count / world_size) if count else 0
    # Wrap-padded (or truncated) to a multiple of world_size, then dealt out round robin.
    picks = (np.arange(per_rank * world_size, dtype=np.int64) % max(count, 1))[rank::world_size]
    if buckets is None:
        assert isinstance(units, np.ndarray)
        mine = units[picks]
        n_batches = len(mine) // batch_size if drop_last else math.ceil(len(mine) / batch_size)
        batches = [mine[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]
    else:
        batches = [units[int(i)] for i in picks]
    if num_workers > 1:
        batches = batches[worker::num_workers]
    return EpochPlan(batches, per_rank)


def consumed(n_units: int, offset: int, world_size: int, per_rank_units: int) -> int:
    """How many units of the epoch order (samples, or batches when bucketed) are consumed
    once every rank has consumed ``per_rank_units``: the new offset for an elastic resume."""
    return offset + min(world_size * per_rank_units, n_units - offset)


def bucket_batches(
    buckets: np.ndarray, *, batch_size: int, seed: int, epoch: int, shuffle: bool, drop_last: bool
) -> list[np.ndarray]:
    """The epoch's global batches (dataset indices), each from one bucket, in epoch order."""
    order = epoch_order(len(buckets), seed, epoch, shuffle)
    of = buckets[order]
    batches: list[np.ndarray] = []
    for b in np.unique(of):
        mine = order[of == b]
        stop = len(mine) - len(mine) % batch_size if drop_last else len(mine)
        batches.extend(mine[i : i + batch_size] for i in range(0, stop, batch_size))
    if shuffle:
        rng = np.random.Generator(np.random.PCG64([_args.seed(seed), epoch, 0xB0C7]))
        batches = [batches[int(i)] for i in rng.permutation(len(batches))]
    return batches
