"""Batch array ops (SPEC section 3): one image or many, parallel across images, GIL released.
Argument conventions are in `pixfeed._batch`."""

from __future__ import annotations

from typing import Any

from pixfeed import _args, _batch, _core

__all__ = ["flip"]


def flip(
    images: Any,
    *,
    horizontal: bool = True,
    vertical: bool = False,
    threads: int | None = None,
    out: Any = None,
) -> Any:
    """Mirror images left-right (``horizontal``) and/or top-bottom (``vertical``).

    Equal to ``a[:, ::-1]`` / ``a[::-1]`` made contiguous.
    """
    batch = _batch.images(images)
    nthreads = _args.threads(threads)
    if out is not None:
        first = batch.arrays[0].shape if batch.arrays else ()
        if any(a.shape != first for a in batch.arrays):
            raise ValueError("out: needs all images to have the same shape")
        _batch.check_out(out, (len(batch), *first))
        _core.flip(batch.arrays, bool(horizontal), bool(vertical), nthreads, out)
        return out
    results = _core.flip(batch.arrays, bool(horizontal), bool(vertical), nthreads)
    assert results is not None
    return batch.wrap(list(results))
