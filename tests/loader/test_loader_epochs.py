"""Epochs that advance on their own (no set_epoch needed), and set_epoch still winning."""

from __future__ import annotations

import numpy as np
import pytest

import pixfeed
from pixfeed._sample import make_sample_set


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [str(p) for p in make_sample_set(tmp_path_factory.mktemp("epoch_jpegs"), 20)]


def order(loader: pixfeed.Loader) -> list[int]:
    return np.concatenate([y for _, y in loader]).tolist()


def test_each_pass_without_set_epoch_is_the_next_epoch(jpegs: list[str]) -> None:
    labels = list(range(len(jpegs)))
    ld = pixfeed.Loader(jpegs, labels, batch_size=8, seed=3, pipeline=pixfeed.Pipeline(32))
    passes = [order(ld) for _ in range(3)]
    assert passes[0] != passes[1] != passes[2]
    assert all(sorted(p) == labels for p in passes)
    assert ld.epoch == 2
    # The same orders as DDP-style code that calls set_epoch(e) before each epoch.
    ddp = pixfeed.Loader(jpegs, labels, batch_size=8, seed=3, pipeline=pixfeed.Pipeline(32))
    for e in range(3):
        ddp.set_epoch(e)
        assert order(ddp) == passes[e]


def test_explicit_set_epoch_wins_and_is_recorded(jpegs: list[str]) -> None:
    labels = list(range(len(jpegs)))
    ld = pixfeed.Loader(jpegs, labels, batch_size=8, seed=3, pipeline=pixfeed.Pipeline(32))
    assert ld.state_dict()["explicit_epoch"] is False
    ld.set_epoch(5)
    a, b = order(ld), order(ld)
    assert a == b, "after set_epoch the loader never advances on its own"
    assert ld.epoch == 5 and ld.state_dict()["explicit_epoch"] is True


def test_state_of_an_advancing_loader_resumes_where_it_stood(jpegs: list[str]) -> None:
    labels = list(range(len(jpegs)))
    pipe = pixfeed.Pipeline(32)
    ref = pixfeed.Loader(jpegs, labels, batch_size=4, seed=9, pipeline=pipe)
    epochs = [order(ref) for _ in range(3)]

    ld = pixfeed.Loader(jpegs, labels, batch_size=4, seed=9, pipeline=pipe)
    order(ld)  # epoch 0 done: saved as the start of epoch 1
    assert ld.state_dict()["epoch"] == 1 and ld.state_dict()["batch"] == 0
    it = iter(ld)  # epoch 1, two batches in
    got = [next(it)[1], next(it)[1]]
    state = ld.state_dict()
    assert (state["epoch"], state["batch"], state["explicit_epoch"]) == (1, 2, False)
    del it

    resumed = pixfeed.Loader(jpegs, labels, batch_size=4, seed=0, pipeline=pipe)
    resumed.load_state_dict(state)
    rest = order(resumed)
    assert np.concatenate(got).tolist() + rest == epochs[1]
    assert order(resumed) == epochs[2], "after the resumed epoch it keeps advancing"
