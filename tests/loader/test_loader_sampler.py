"""The loader's index plan: DistributedSampler semantics, worker sharding, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pixfeed._sampler import epoch_order, plan_epoch


@pytest.mark.parametrize("n", [1, 7, 100, 101, 257])
@pytest.mark.parametrize("world", range(1, 9))
@pytest.mark.parametrize("drop_last", [False, True])
def test_ddp_equal_batches_cover_and_no_duplicates_beyond_padding(
    n: int, world: int, drop_last: bool
) -> None:
    if drop_last and n < world:
        pytest.skip("every rank empty")
    bs = 8
    plans = [
        plan_epoch(
            n,
            batch_size=bs,
            seed=3,
            epoch=1,
            shuffle=True,
            drop_last=drop_last,
            rank=r,
            world_size=world,
        )
        for r in range(world)
    ]
    counts = {len(p.batches) for p in plans}
    assert len(counts) == 1, "every rank gets the same number of batches"
    per_rank = {p.samples_per_rank for p in plans}
    assert len(per_rank) == 1
    seen = np.concatenate([np.concatenate(p.batches) for p in plans if p.batches] or [[]])
    if drop_last:
        assert per_rank == {n // world}
        assert len(seen) == len(set(seen.tolist())), "no duplicates when truncating"
        # Full batches only.
        assert all(len(b) == bs for p in plans for b in p.batches)
    else:
        assert per_rank == {math.ceil(n / world)}
        assert set(seen.tolist()) == set(range(n)), "the union covers the data set"
        assert len(seen) - len(set(seen.tolist())) == math.ceil(n / world) * world - n


def test_order_depends_only_on_seed_and_epoch() -> None:
    a = epoch_order(1000, 5, 2, True)
    assert np.array_equal(a, epoch_order(1000, 5, 2, True))
    assert not np.array_equal(a, epoch_order(1000, 5, 3, True))
    assert not np.array_equal(a, epoch_order(1000, 6, 2, True))
    assert sorted(a.tolist()) == list(range(1000))
    assert np.array_equal(epoch_order(10, 5, 2, False), np.arange(10))


def test_worker_sharding_keeps_global_batch_order() -> None:
    full = plan_epoch(100, batch_size=8, seed=0, epoch=0, shuffle=True, drop_last=False)
    parts = [
        plan_epoch(
            100,
            batch_size=8,
            seed=0,
            epoch=0,
            shuffle=True,
            drop_last=False,
            worker=w,
            num_workers=3,
        ).batches
        for w in range(3)
    ]
    # DataLoader takes worker 0's first batch, then worker 1's, ...: round robin.
    interleaved = [parts[b % 3][b // 3] for b in range(len(full.batches))]
    for x, y in zip(interleaved, full.batches, strict=True):
        assert np.array_equal(x, y)


def test_seeds_are_taken_mod_2_64() -> None:
    def order(seed: int) -> list[int]:
        plan = plan_epoch(50, batch_size=5, seed=seed, epoch=0, shuffle=True, drop_last=False)
        return [int(i) for b in plan.batches for i in b]

    assert order(-1) == order(2**64 - 1) == order(2**65 - 1)
    assert order(-1) != order(0)
    with pytest.raises(TypeError, match="seed"):
        order(True)
