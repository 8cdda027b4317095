"""The shards-mode shuffle plan's per-sample walk (`pixfeed._core.shard_stream`) against the
Python loop it replaces, kept here as the reference: `plan_shard_epoch` must give the same
batches for every input (resume and the determinism contract depend on it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pixfeed import _core, _sampler
from pixfeed._sampler import plan_shard_epoch


def reference_stream(
    shards: list[int], starts: np.ndarray, sizes: np.ndarray, k: int, buffer: int, rng: Any
) -> np.ndarray:
    """The original pure-Python walk (same random draws, same order)."""
    n = int(sizes[shards].sum())
    pick = rng.random(n).tolist()
    buffer = max(buffer, 1)
    slot = rng.integers(0, buffer, n).tolist()
    bounds = [(int(starts[s]), int(starts[s] + sizes[s])) for s in shards]
    opened = [list(b) for b in bounds[:k]]
    following = iter(bounds[k:])
    out: list[int] = []
    buf: list[int] = []
    for i in range(n):
        j = int(pick[i] * len(opened))
        cur = opened[j]
        sample = cur[0]
        cur[0] = sample + 1
        if cur[0] == cur[1]:
            nxt = next(following, None)
            if nxt is None:
                opened[j] = opened[-1]
                opened.pop()
            else:
                opened[j] = list(nxt)
        if len(buf) < buffer:
            buf.append(sample)
        else:
            b = slot[i]
            out.append(buf[b])
            buf[b] = sample
    tail = np.asarray(buf, dtype=np.int64)[rng.permutation(len(buf))]
    return np.concatenate([np.asarray(out, dtype=np.int64), tail])


def _plans(monkeypatch: pytest.MonkeyPatch, sizes: np.ndarray, **kw: Any) -> tuple[Any, Any]:
    native = plan_shard_epoch(sizes, **kw)
    with monkeypatch.context() as m:
        m.setattr(_sampler, "_shard_stream", reference_stream)
        ref = plan_shard_epoch(sizes, **kw)
    return native, ref


def _same(a: Any, b: Any) -> bool:
    return (
        a.samples_per_rank == b.samples_per_rank
        and len(a.batches) == len(b.batches)
        and all(
            x.dtype == y.dtype and np.array_equal(x, y)
            for x, y in zip(a.batches, b.batches, strict=True)
        )
    )


def test_native_walk_matches_the_python_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(20261207)
    cases = 0
    for _ in range(120):
        n_shards = int(rng.integers(1, 40))
        sizes = rng.integers(0, 60, n_shards)
        sizes[rng.integers(0, n_shards)] += 1  # at least one non-empty shard
        if rng.random() < 0.2:
            sizes[rng.random(n_shards) < 0.3] = 0  # empty shards are left out of the plan
        world = int(rng.integers(1, 4))
        workers = int(rng.integers(1, 4))
        if int((sizes > 0).sum()) < world * workers:
            continue
        kw = {
            "batch_size": int(rng.integers(1, 20)),
            "seed": int(rng.integers(-(2**63), 2**63)),
            "epoch": int(rng.integers(0, 50)),
            "drop_last": bool(rng.random() < 0.5),
            "world_size": world,
            "num_workers": workers,
            "open_shards": int(rng.choice([1, 2, 3, 4, 8, 64])),
            "buffer": int(rng.choice([0, 1, 2, 5, 37, 1000, 10**9])),
        }
        for rank in range(world):
            for worker in range(workers):
                native, ref = _plans(monkeypatch, sizes, rank=rank, worker=worker, **kw)
                assert _same(native, ref), (sizes.tolist(), rank, worker, kw)
                cases += 1
    assert cases > 200


def test_native_walk_matches_on_a_large_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = np.random.default_rng(5).integers(300, 700, 60)
    for kw in (
        {"open_shards": 4, "buffer": 1000},
        {"open_shards": 60, "buffer": 7},
        {"open_shards": 1, "buffer": 40_000},
    ):
        native, ref = _plans(
            monkeypatch, sizes, batch_size=64, seed=11, epoch=3, drop_last=False, **kw
        )
        assert _same(native, ref), kw


def test_native_walk_refuses_inconsistent_input() -> None:
    pick = np.zeros(3)
    slot = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="pick"):
        _core.shard_stream([(0, 2)], 1, pick, slot, 1)
    with pytest.raises(ValueError, match="slot"):
        _core.shard_stream([(0, 3)], 1, pick, slot + 5, 2)
    with pytest.raises(ValueError, match="open_shards"):
        _core.shard_stream([(0, 3)], 0, pick, slot, 1)
    got = _core.shard_stream([(10, 13)], 1, pick, slot, 1)
    assert got.tolist() == [10, 11, 12]
