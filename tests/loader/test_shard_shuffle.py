"""``shuffle="shards"``: shards permuted per (seed, epoch), split by rank then by DataLoader
worker, mixed through open shards and a shuffle buffer; equal batch counts on every rank and
exact resume.

The source here is a stand-in for `pixfeed.Shards` with the attributes the Loader reads:
``sources`` (one per sample, stored shard by shard), ``labels``, ``shard_of`` and
``shard_sizes``."""

from __future__ import annotations

import numpy as np
import pytest

import pixfeed
from pixfeed._sample import make_sample_set
from pixfeed._sampler import plan_shard_epoch, shard_order

# 8 shards of 23-57 samples, as the fixtures.
SIZES = [52, 23, 41, 57, 30, 44, 25, 36]


class FakeShards:
    """Samples stored shard by shard; sample i's label is i."""

    def __init__(self, paths: list[str], sizes: list[int]) -> None:
        self.shard_sizes = np.asarray(sizes, dtype=np.int64)
        self.shard_of = np.repeat(np.arange(len(sizes), dtype=np.int64), self.shard_sizes)
        n = int(self.shard_sizes.sum())
        self.sources = [paths[i % len(paths)] for i in range(n)]
        self.labels = np.arange(n, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sources)


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> FakeShards:
    paths = make_sample_set(tmp_path_factory.mktemp("shard_jpegs"), 24)
    return FakeShards([str(p) for p in paths], SIZES)


PIPE = pixfeed.Pipeline(32)
SHARD_OF = np.repeat(np.arange(len(SIZES)), SIZES)
N = sum(SIZES)


def plan(**kw: object) -> list[np.ndarray]:
    args: dict[str, object] = {"batch_size": 16, "seed": 3, "epoch": 1, "drop_last": False}
    args.update(kw)
    return plan_shard_epoch(np.asarray(SIZES), **args).batches  # type: ignore[arg-type]


def flat(batches: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)


def labels_of(loader: pixfeed.Loader) -> list[np.ndarray]:
    return [y for _, y in loader]


# -- the plan --------------------------------------------------------------------------------
@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("drop_last", [False, True])
def test_plan_splits_the_data_set_over_ranks_and_workers(
    world: int, workers: int, drop_last: bool
) -> None:
    if world * workers > len(SIZES):
        pytest.skip("fewer shards than readers: refused (tested below)")
    per_rank: list[list[np.ndarray]] = []
    shards_of_reader: list[set[int]] = []
    own = np.zeros((world, workers), dtype=np.int64)  # samples in each reader's shards
    got = np.zeros((world, workers), dtype=np.int64)  # samples each reader yields
    for r in range(world):
        mine: list[np.ndarray] = []
        for w in range(workers):
            b = plan(rank=r, world_size=world, worker=w, num_workers=workers, drop_last=drop_last)
            mine += b
            shards = set(SHARD_OF[flat(b)].tolist())
            shards_of_reader.append(shards)
            own[r, w] = sum(SIZES[s] for s in shards)
            got[r, w] = len(flat(b))
            if not drop_last:  # every sample of its shards, then repeats of them
                assert set(flat(b).tolist()) == set(np.flatnonzero(np.isin(SHARD_OF, list(shards))))
        per_rank.append(mine)
    assert len({len(b) for b in per_rank}) == 1, "every rank yields the same number of batches"
    for i, a in enumerate(shards_of_reader):
        for b in shards_of_reader[i + 1 :]:
            assert not a & b, "a reader never touches another reader's shard"
    seen = flat([flat(b) for b in per_rank])
    if drop_last:
        assert len(set(seen.tolist())) == len(seen), "truncated, never repeated"
        assert all(len(b) == 16 for r in per_rank for b in r), "whole batches only"
        # Worker w of every rank: the fewest samples any rank's worker w has, whole batches.
        assert (got == own.min(axis=0) // 16 * 16).all()
    else:
        assert set(seen.tolist()) == set(range(N)), "every sample is read"
        # Worker w of every rank is wrap-padded to the most samples any rank's worker w has.
        assert (got == own.max(axis=0)).all()
        assert len(seen) - N == (got - own).sum()


@pytest.mark.parametrize("epoch", range(4))
def test_world_three_uneven_shards_equal_batches_and_balance(epoch: int) -> None:
    counts, loads, n_shards = [], [], []
    for r in range(3):
        b = plan(rank=r, world_size=3, epoch=epoch)
        counts.append(len(b))
        own = set(SHARD_OF[flat(b)].tolist())
        n_shards.append(len(own))
        loads.append(sum(SIZES[s] for s in own))
    assert len(set(counts)) == 1
    assert sum(loads) == N and sorted(n_shards) == [2, 3, 3]
    # Each shard to the rank with the fewest samples so far: here within one shard's samples.
    assert max(loads) - min(loads) <= max(SIZES)


def test_each_rank_reads_its_shards_in_the_epoch_shard_order() -> None:
    order = shard_order(len(SIZES), 3, 1).tolist()
    for r in range(3):
        # One open shard and no buffer: the rank reads its shards one after the other,
        # each from its first sample to its last, in the epoch's shard order.
        got = flat(plan(rank=r, world_size=3, open_shards=1, buffer=1))
        own = [s for s in order if s in set(SHARD_OF[got].tolist())]
        expected = np.concatenate([np.flatnonzero(SHARD_OF == s) for s in own])
        n = len(expected)
        assert np.array_equal(got[:n], expected)
        assert np.array_equal(got[n:], expected[: len(got) - n]), "padding wraps around"


def test_open_shards_bound_how_many_shards_are_read_at_once() -> None:
    got = flat(plan(open_shards=3, buffer=1))[:N]
    assert sorted(got.tolist()) == list(range(N))
    first = {s: int(np.flatnonzero(SHARD_OF[got] == s)[0]) for s in range(len(SIZES))}
    last = {s: int(np.flatnonzero(SHARD_OF[got] == s)[-1]) for s in range(len(SIZES))}
    for i in range(N):
        open_now = sum(first[s] <= i <= last[s] for s in range(len(SIZES)))
        assert open_now <= 3
    assert max(sum(first[s] <= i <= last[s] for s in first) for i in range(N)) == 3
    for s in range(len(SIZES)):
        mine = got[SHARD_OF[got] == s]
        assert np.all(np.diff(mine) == 1), "each shard is read sequentially"
    # A buffer mixes samples across the open shards' reads: no longer sequential.
    mixed = flat(plan(open_shards=3, buffer=64))[:N]
    assert sorted(mixed.tolist()) == list(range(N))
    assert not np.array_equal(mixed, got)
    assert any(not np.all(np.diff(mixed[SHARD_OF[mixed] == s]) == 1) for s in range(8))


def test_order_depends_on_seed_and_epoch_only() -> None:
    a = flat(plan(seed=5, epoch=2, rank=1, world_size=2))
    assert np.array_equal(a, flat(plan(seed=5, epoch=2, rank=1, world_size=2)))
    assert not np.array_equal(a, flat(plan(seed=5, epoch=3, rank=1, world_size=2)))
    assert not np.array_equal(a, flat(plan(seed=6, epoch=2, rank=1, world_size=2)))
    assert not np.array_equal(shard_order(100, 5, 2), shard_order(100, 5, 3))


def test_too_few_shards_for_the_readers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"shuffle='shards'.*4 ranks x 3 DataLoader workers"):
        plan(world_size=4, num_workers=3)


def test_empty_shards_are_skipped() -> None:
    b = plan_shard_epoch(
        np.array([0, 5, 0, 7]), batch_size=4, seed=0, epoch=0, drop_last=False, world_size=2
    ).batches
    assert len(b) == 2
    none = plan_shard_epoch(np.array([0, 0]), batch_size=4, seed=0, epoch=0, drop_last=False)
    assert none.batches == [] and none.samples_per_rank == 0


# -- the Loader ------------------------------------------------------------------------------
def test_loader_yields_the_plan_with_per_sample_randomness(shards: FakeShards) -> None:
    ld = pixfeed.Loader(shards, pipeline=PIPE, batch_size=16, seed=3, shuffle="shards")
    ld.set_epoch(1)
    expected = plan(world_size=1)
    assert len(ld) == len(expected)
    got = [(x, y) for x, y in ld]
    assert all(np.array_equal(y, e) for (_, y), e in zip(got, expected, strict=True))
    # Crops come from (seed, epoch, sample index), as in global mode: only the order differs.
    idx = expected[2]
    ref = PIPE([shards.sources[i] for i in idx], seed=3, epoch=1, indices=idx.tolist())
    assert np.array_equal(got[2][0], ref)


def test_loader_world_three_disjoint_complete_equal(shards: FakeShards) -> None:
    per_rank = [
        labels_of(
            pixfeed.Loader(
                shards, pipeline=PIPE, batch_size=16, shuffle="shards", rank=r, world_size=3
            )
        )
        for r in range(3)
    ]
    assert len({len(b) for b in per_rank}) == 1
    seen = [set(flat(b).tolist()) for b in per_rank]
    assert set().union(*seen) == set(range(N))
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    shard_sets = [set(SHARD_OF[list(s)].tolist()) for s in seen]
    assert sum(map(len, shard_sets)) == len(SIZES), "each shard read by one rank"


def test_each_pass_is_a_new_epoch_and_set_epoch_repeats_it(shards: FakeShards) -> None:
    ld = pixfeed.Loader(shards, pipeline=PIPE, batch_size=32, seed=1, shuffle="shards")
    a, b = flat(labels_of(ld)), flat(labels_of(ld))
    assert not np.array_equal(a, b)
    assert sorted(a.tolist()) == sorted(b.tolist()) == list(range(N))
    ld.set_epoch(0)
    assert np.array_equal(flat(labels_of(ld)), a)


@pytest.mark.parametrize("threads", [1, 2])
def test_resume_after_k_batches_equals_the_uninterrupted_tail(
    shards: FakeShards, threads: int
) -> None:
    def make(**kw: object) -> pixfeed.Loader:
        return pixfeed.Loader(
            shards,
            pipeline=PIPE,
            batch_size=16,
            seed=7,
            shuffle="shards",
            shard_buffer=(2, 50),
            threads=threads,
            rank=1,
            world_size=2,
            **kw,  # type: ignore[arg-type]
        )

    ref = make()
    ref.set_epoch(4)
    full = list(ref)
    k = 3
    ld = make()
    ld.set_epoch(4)
    it = iter(ld)
    for _ in range(k):
        next(it)
    state = ld.state_dict()
    del it
    assert state["shuffle"] == "shards" and state["shard_buffer"] == [2, 50]
    assert state["batch"] == k
    resumed = make()
    resumed.load_state_dict(state)
    tail = list(resumed)
    assert len(tail) == len(full) - k
    for (x, y), (fx, fy) in zip(tail, full[k:], strict=True):
        assert np.array_equal(y, fy)
        assert np.array_equal(x, fx)


def test_state_refuses_another_mode_or_a_mid_epoch_world_change(shards: FakeShards) -> None:
    def make(**kw: object) -> pixfeed.Loader:
        return pixfeed.Loader(shards, pipeline=PIPE, batch_size=16, **kw)  # type: ignore[arg-type]

    ld = make(shuffle="shards", rank=0, world_size=2)
    it = iter(ld)
    next(it)
    state = ld.state_dict()
    del it
    with pytest.raises(ValueError, match=r"state: saved with .*'shards'"):
        make(shuffle=True, rank=0, world_size=2).load_state_dict(state)
    with pytest.raises(ValueError, match=r"state: saved with .*shard_buffer"):
        make(shuffle="shards", shard_buffer=(2, 10), world_size=2, rank=0).load_state_dict(state)
    with pytest.raises(ValueError, match="resumes mid-epoch only on 2 ranks"):
        make(shuffle="shards", rank=0, world_size=3).load_state_dict(state)
    # A global-mode state does not resume a shard-mode loader either.
    glob = make(shuffle=True).state_dict()
    assert glob["shuffle"] == "global" and glob["shard_buffer"] is None
    with pytest.raises(ValueError, match="state: saved with"):
        make(shuffle="shards").load_state_dict(glob)
    # From an epoch's start, any world size will do.
    start = make(shuffle="shards", rank=0, world_size=2).state_dict()
    three = make(shuffle="shards", rank=2, world_size=3)
    three.load_state_dict(start)
    assert len(labels_of(three)) == len(three)


def test_global_mode_over_shards_is_the_file_loader(shards: FakeShards) -> None:
    a = labels_of(pixfeed.Loader(shards, pipeline=PIPE, batch_size=32, seed=2))
    b = labels_of(
        pixfeed.Loader(shards.sources, shards.labels, pipeline=PIPE, batch_size=32, seed=2)
    )
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_dataloader_workers_read_disjoint_shards(shards: FakeShards) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from pixfeed.torch import ImageDataset

    ds = ImageDataset(shards, pipeline=PIPE, batch_size=16, seed=4, shuffle="shards")
    ds.set_epoch(2)
    dl = DataLoader(ds, batch_size=None, num_workers=2)
    got = torch.cat([y for _, y in dl]).numpy()
    workers = [flat(plan(seed=4, epoch=2, worker=w, num_workers=2)) for w in range(2)]
    assert sorted(got.tolist()) == sorted(np.concatenate(workers).tolist())
    assert set(got.tolist()) == set(range(N))
    a, b = (set(SHARD_OF[w].tolist()) for w in workers)
    assert not a & b and len(a | b) == len(SIZES)


def test_bad_arguments_are_refused_by_name(shards: FakeShards) -> None:
    def make(src: object = shards, **kw: object) -> pixfeed.Loader:
        kw.setdefault("pipeline", PIPE)
        return pixfeed.Loader(src, **kw)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="shuffle: expected True, False, 'global' or 'shards'"):
        make(shuffle="random")
    with pytest.raises(ValueError, match="shuffle: 'shards' needs a shard source"):
        make(shards.sources, shuffle="shards")
    with pytest.raises(ValueError, match="shuffle: 'shards' needs a shard per rank"):
        make(shuffle="shards", rank=0, world_size=9)
    for bad in [(0, 10), (4, 0), (1025, 10), (4, 2**20 + 1)]:
        with pytest.raises(ValueError, match="shard_buffer"):
            make(shuffle="shards", shard_buffer=bad)
    for bad_type in [4, "4,1000", (4,), (4, 1.5)]:
        with pytest.raises(TypeError, match="shard_buffer"):
            make(shuffle="shards", shard_buffer=bad_type)
    with pytest.raises(ValueError, match="shard_buffer: only used with shuffle='shards'"):
        make(shuffle=True, shard_buffer=(4, 10))
    with pytest.raises(ValueError, match="shuffle: 'shards' does not combine with bucketing"):
        make(
            shuffle="shards",
            pipeline=pixfeed.Pipeline(pixfeed.Buckets([(32, 32)]), crop="center"),
        )
    broken = FakeShards(shards.sources[:10], [5, 4])
    broken.sources = shards.sources[:10]
    with pytest.raises(ValueError, match="shard_sizes must be >= 0 and add up to 10"):
        make(broken)
    # An eight-shard set read by 3 ranks x 3 DataLoader workers: named at iteration.
    with pytest.raises(ValueError, match="DataLoader workers"):
        plan(world_size=3, num_workers=3)
    assert make(shuffle="shards", shard_buffer=[1, 1]).shard_buffer == (1, 1)
