"""Recycled batch buffers (crates/pixfeed-py/src/buffers.rs): memory goes back to the pool
only when no array or view can reach it any more."""

from __future__ import annotations

import gc

import numpy as np

from pixfeed import _core


def test_buffer_is_not_reused_while_a_view_lives() -> None:
    n = 1 << 20
    a = _core.recycled_empty(n)
    assert a.flags.writeable and a.dtype == np.uint8 and a.shape == (n,)
    view = a.view(np.float32).reshape(256, -1)[3:]
    view[...] = 7.0
    del a
    gc.collect()
    b = _core.recycled_empty(n)  # must be a different buffer: `view` still uses the first
    b[...] = 0
    assert np.all(view == 7.0)
    addr_view = view.__array_interface__["data"][0]
    addr_b = b.__array_interface__["data"][0]
    assert not (addr_b <= addr_view < addr_b + n)


def test_buffer_returns_to_the_pool_after_the_last_view() -> None:
    n = (1 << 20) + 8  # a size no other test uses
    before = _core.recycled_pool_bytes()
    a = _core.recycled_empty(n)
    addr = a.__array_interface__["data"][0]
    v = a[10:]
    del a
    gc.collect()
    assert _core.recycled_pool_bytes() == before
    del v
    gc.collect()
    assert _core.recycled_pool_bytes() == before + n
    c = _core.recycled_empty(n)
    assert c.__array_interface__["data"][0] == addr
    assert _core.recycled_pool_bytes() == before
