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

Shard epochs (`plan_shard_epoch`, ``shuffle="shards"``): samples are stored shard by shard
and read sequentially. The shards are permuted per (seed, epoch) and dealt out to ranks, then
inside a rank to DataLoader workers: every rank (worker) gets the same number of shards, or
one more, and each shard, in permuted order, goes to the one with the fewest samples so far
among those that may take one more, which keeps their samples close. A rank (or
worker) reads only its own shards: ``open_shards`` of them at a time, each step taking the
next sample of one of them chosen at random, through a shuffle buffer of ``buffer`` sample
indices (a full buffer gives out a random one for each new sample; it drains in random
order). Its numbers come from (seed, epoch, rank, worker) only. Every rank yields the same
number of batches: worker w of every rank is brought to the same number of samples, the most
any rank's worker w has, by wrap-padding its own stream (DistributedSampler's padding), or,
with ``drop_last``, the fewest any has, in whole batches, by truncating.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixfeed import _args, _core

__all__ = [
    "EpochPlan",
    "bucket_batches",
    "consumed",
    "plan_epoch",
    "plan_shard_epoch",
    "reader_samples",
    "shard_order",
]


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


def shard_order(n_shards: int, seed: int, epoch: int) -> np.ndarray:
    """The epoch's shard order: a permutation keyed by (seed, epoch) only."""
    rng = np.random.Generator(np.random.PCG64([_args.seed(seed), epoch, 0x54A2]))
    return rng.permutation(n_shards).astype(np.int64)


def _deal(shards: np.ndarray, sizes: np.ndarray, parts: int) -> list[list[int]]:
    """Each shard, in the given order, to the part with the fewest samples so far (ties: the
    lowest part) among those that may take one more: every part ends with
    ``len(shards) // parts`` shards or one more. Parts are returned by samples, most first."""
    floor, extra = divmod(len(shards), parts)
    heap = [(0, p) for p in range(parts)]
    out: list[list[int]] = [[] for _ in range(parts)]
    for s in shards.tolist():
        while True:  # a part that may take no more leaves the heap for good
            load, p = heapq.heappop(heap)
            if len(out[p]) < floor or (len(out[p]) == floor and extra > 0):
                break
        if len(out[p]) == floor:
            extra -= 1
        out[p].append(s)
        heapq.heappush(heap, (load + int(sizes[s]), p))
    return sorted(out, key=lambda part: -int(sizes[part].sum()) if part else 0)


def _shard_stream(
    shards: list[int], starts: np.ndarray, sizes: np.ndarray, k: int, buffer: int, rng: Any
) -> np.ndarray:
    """One reader's sample order: `k` open shards interleaved at random through a shuffle
    buffer of `buffer` indices (see the module docstring). numpy draws the random numbers;
    the walk, one step per sample, is native (`pixfeed._core.shard_stream`)."""
    n = int(sizes[shards].sum())
    pick = rng.random(n)  # which open shard gives the next sample
    buffer = max(buffer, 1)  # a buffer of one keeps the order
    slot = rng.integers(0, buffer, n, dtype=np.int64)  # which buffered sample leaves
    bounds = [(int(starts[s]), int(starts[s] + sizes[s])) for s in shards]
    walked = _core.shard_stream(bounds, k, pick, slot, buffer)
    # What is left in the buffer drains in random order.
    held = min(n, buffer)
    walked[n - held :] = walked[n - held :][rng.permutation(held)]
    return walked


def _shard_parts(
    sizes: np.ndarray, seed: int, epoch: int, world_size: int, num_workers: int
) -> list[list[list[int]]]:
    """``parts[r][w]``: the shards rank r's DataLoader worker w reads in the epoch (workers
    ordered by load, most first); [] when every shard is empty."""
    order = shard_order(len(sizes), seed, epoch)
    order = order[sizes[order] > 0]
    if len(order) == 0:
        return []
    if len(order) < world_size * num_workers:
        raise ValueError(
            f"shuffle='shards': {len(order)} non-empty shards cannot be split over "
            f"{world_size} ranks x {num_workers} DataLoader workers (each needs one of its "
            "own); use more shards, fewer workers, or shuffle='global'"
        )
    by_rank = _deal(order, sizes, world_size)
    return [_deal(np.asarray(p, dtype=np.int64), sizes, num_workers) for p in by_rank]


def reader_samples(
    shard_sizes: np.ndarray,
    *,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
    worker: int = 0,
    num_workers: int = 1,
) -> np.ndarray:
    """The dataset indices stored in the shards that rank ``rank``'s worker ``worker`` reads
    in the epoch (as `plan_shard_epoch` deals them), shard by shard in dealt order."""
    sizes = np.asarray(shard_sizes, dtype=np.int64)
    parts = _shard_parts(sizes, seed, epoch, world_size, num_workers)
    if not parts:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    mine = parts[rank][worker]
    return np.concatenate([np.arange(starts[s], starts[s] + sizes[s]) for s in mine])


def plan_shard_epoch(
    shard_sizes: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    drop_last: bool,
    rank: int = 0,
    world_size: int = 1,
    worker: int = 0,
    num_workers: int = 1,
    open_shards: int = 4,
    buffer: int = 1000,
) -> EpochPlan:
    """One rank's (and worker's) batches of a shard epoch (see the module docstring).

    ``shard_sizes[s]`` samples are stored in shard s, shard after shard: shard s holds the
    dataset indices ``sum(shard_sizes[:s])`` up to the next shard's first. Every worker of
    every rank needs at least one non-empty shard (else ValueError)."""
    sizes = np.asarray(shard_sizes, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    parts = _shard_parts(sizes, seed, epoch, world_size, num_workers)
    if not parts:
        return EpochPlan([], 0)
    # loads[r][w]: the samples of rank r's worker w (workers ordered by load, most first).
    loads = np.array([[int(sizes[w].sum()) for w in p] for p in parts], dtype=np.int64)
    if drop_last:
        per_worker = loads.min(axis=0) // batch_size * batch_size
    else:
        per_worker = loads.max(axis=0)
    mine = parts[rank][worker]
    wrng = np.random.Generator(np.random.PCG64([_args.seed(seed), epoch, rank, worker, 0x54A3]))
    stream = _shard_stream(mine, starts, sizes, open_shards, buffer, wrng)
    target = int(per_worker[worker])
    # Wrap-pad (as often as needed) or truncate to the target.
    stream = np.resize(stream, target)
    batches = [stream[i : i + batch_size] for i in range(0, target, batch_size)]
    return EpochPlan(batches, int(per_worker.sum()))
