"""``on_error="substitute"`` with ``shuffle="shards"``: a failed sample's substitute comes
from the shards its rank reads in the epoch (a rank never reads another rank's shards), chosen
from (seed, epoch, failed sample) alone. Real tar shards written by `pixfeed.write_shards`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
from pixfeed._sample import make_sample_set
from pixfeed._sampler import plan_shard_epoch, reader_samples

PER_SHARD = 6
N_SHARDS = 8
WORLD = 2
SEED = 5


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[pixfeed.Shards, set[int]]:
    """8 shards of 6 samples; sample i's label is i; the first two samples of every shard
    are truncated JPEGs (corrupt)."""
    d = tmp_path_factory.mktemp("substitute_shards")
    photos = make_sample_set(d / "photos", 24)
    paths, bad = [], set()
    for i in range(N_SHARDS * PER_SHARD):
        data = Path(photos[i % len(photos)]).read_bytes()
        if i % PER_SHARD < 2:
            data = data[: len(data) // 3]
            bad.add(i)
        p = d / f"img{i:03d}.jpg"
        p.write_bytes(data)
        paths.append(str(p))
    labels = list(range(len(paths)))
    urls = pixfeed.write_shards(paths, labels, str(d / "s-%03d.tar"), max_count=PER_SHARD)
    sh = pixfeed.Shards(urls, label="cls")
    assert sh.shard_sizes.tolist() == [PER_SHARD] * N_SHARDS
    return sh, bad


def run(sh: pixfeed.Shards, rank: int, epochs: int = 3) -> tuple[list[Any], pixfeed.Loader]:
    loader = pixfeed.Loader(
        sh, pipeline=pixfeed.Pipeline(16), batch_size=8, seed=SEED, shuffle="shards",
        on_error="substitute", rank=rank, world_size=WORLD,
    )  # fmt: skip
    out = []
    for _ in range(epochs):
        out.append([(np.array(x), np.array(y)) for x, y in loader])
    return out, loader


def own_shards(sh: pixfeed.Shards, rank: int, epoch: int) -> set[int]:
    """The shards the sampler deals to ``rank`` in ``epoch``."""
    plan = plan_shard_epoch(
        sh.shard_sizes, batch_size=8, seed=SEED, epoch=epoch, drop_last=False,
        rank=rank, world_size=WORLD,
    )  # fmt: skip
    return set(sh.shard_of[np.concatenate(plan.batches)].tolist())


def test_substitutes_come_from_the_ranks_own_shards(
    shard_set: tuple[pixfeed.Shards, set[int]],
) -> None:
    sh, bad = shard_set
    substituted = 0
    for rank in range(WORLD):
        epochs, loader = run(sh, rank)
        errors = loader.errors()
        assert {e.action for e in errors} == {"substituted"}
        for epoch, batches in enumerate(epochs):
            mine = own_shards(sh, rank, epoch)
            other = own_shards(sh, 1 - rank, epoch)
            assert mine and not mine & other
            labels = np.concatenate([y for _, y in batches])
            assert not set(labels.tolist()) & bad  # every corrupt sample was replaced
            assert set(sh.shard_of[labels].tolist()) <= mine
            subs = [e for e in errors if e.epoch == epoch]
            assert subs and all(e.index in bad for e in subs)
            urls = {sh.urls[s] for s in mine}
            for e in subs:
                assert e.substitute is not None
                assert any(e.substitute.startswith(f"{u}:") for u in urls), e.substitute
            substituted += len(subs)
    assert substituted >= 2 * WORLD * 3  # two corrupt samples per shard, every epoch


def test_substitution_is_deterministic(shard_set: tuple[pixfeed.Shards, set[int]]) -> None:
    sh, _ = shard_set
    (a, la), (b, lb) = run(sh, 1), run(sh, 1)
    for ea, eb in zip(a, b, strict=True):
        assert len(ea) == len(eb) > 0
        for (xa, ya), (xb, yb) in zip(ea, eb, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    assert la.errors() == lb.errors()


@pytest.mark.parametrize(("world", "workers"), [(1, 1), (2, 1), (2, 2), (3, 2)])
def test_reader_samples_are_the_samples_the_reader_reads(world: int, workers: int) -> None:
    sizes = np.array([5, 0, 9, 3, 7, 4, 6, 8])
    owners = np.full(int(sizes.sum()), -1)
    for r in range(world):
        for w in range(workers):
            kw = {"seed": 2, "epoch": 4, "rank": r, "world_size": world}
            kw.update(worker=w, num_workers=workers)
            own = reader_samples(sizes, **kw)
            plan = plan_shard_epoch(sizes, batch_size=4, drop_last=False, **kw)
            assert set(own.tolist()) == set(np.concatenate(plan.batches).tolist())
            assert (owners[own] == -1).all()  # no sample has two readers
            owners[own] = r * workers + w
    assert (owners >= 0).all()
