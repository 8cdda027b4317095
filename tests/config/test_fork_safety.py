"""A forked child (torch DataLoader workers, multiprocessing) gets its own thread pool:
using the parent's would deadlock, since its threads do not exist in the child."""

from __future__ import annotations

import multiprocessing as mp
import sys

import numpy as np
import pytest

import pixfeed


def _child(q: mp.Queue) -> None:  # type: ignore[type-arg]
    imgs = [np.full((64, 64, 3), i, np.uint8) for i in range(16)]
    out = pixfeed.flip(imgs, threads=2)
    q.put(int(sum(int(o[0, 0, 0]) for o in out)))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_pool_survives_fork() -> None:
    imgs = [np.zeros((64, 64, 3), np.uint8)] * 16
    pixfeed.flip(imgs, threads=2)  # the parent's pool exists now
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(timeout=60)
    alive = p.is_alive()
    if alive:
        p.kill()
    assert not alive, "the forked child deadlocked on the parent's pool"
    assert p.exitcode == 0
    assert q.get(timeout=5) == sum(range(16))
