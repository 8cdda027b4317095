"""``Loader(prefetch=)`` has a ceiling (`pixfeed._args.MAX_PREFETCH`, 256 batches) and refuses
a depth whose waiting batches alone would not fit in physical memory; either error names
``prefetch``."""

from __future__ import annotations

import os

import numpy as np
import pytest

import pixfeed
from pixfeed._args import MAX_PREFETCH
from pixfeed._sample import make_sample_set


def test_the_ceiling() -> None:
    assert MAX_PREFETCH == 256
    for value in (MAX_PREFETCH + 1, 10**6, 2**64):
        with pytest.raises(ValueError, match=rf"prefetch: at most 256 batches, got {value}$"):
            pixfeed.Loader(["a.jpg"], prefetch=value)
    with pytest.raises(ValueError, match="prefetch: must be >= 0, got -1"):
        pixfeed.Loader(["a.jpg"], prefetch=-1)
    for bad in ("2", 2.0, True, None):
        with pytest.raises(TypeError, match="prefetch: expected an int"):
            pixfeed.Loader(["a.jpg"], prefetch=bad)  # type: ignore[arg-type]
    assert pixfeed.Loader(["a.jpg"], prefetch=np.int64(3)).prefetch == 3


def test_the_deepest_prefetch_gives_the_same_batches(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    paths = [str(p) for p in make_sample_set(tmp_path_factory.mktemp("prefetch"), 12)]

    def batches(prefetch: int) -> list[np.ndarray]:
        ld = pixfeed.Loader(paths, pipeline=pixfeed.Pipeline(16), batch_size=2, prefetch=prefetch)
        return [np.array(x) for x in ld]

    deep, none = batches(MAX_PREFETCH), batches(0)
    assert len(deep) == len(none) == 6
    for a, b in zip(deep, none, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batches_that_cannot_fit_in_memory_are_refused() -> None:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pytest.skip("physical memory unknown here")
    pipe = pixfeed.Pipeline(4096, dtype="float32")
    per_image = 4096 * 4096 * 3 * 4
    # A batch of about 1% of memory (at least one image): 256 of them cannot fit, one can.
    batch_size = max(1, memory // (100 * per_image))
    with pytest.raises(ValueError, match=r"prefetch: 256 waiting batches of .* GiB would not"):
        pixfeed.Loader(["a.jpg"], pipeline=pipe, batch_size=batch_size, prefetch=MAX_PREFETCH)
    assert pixfeed.Loader(["a.jpg"], pipeline=pipe, batch_size=batch_size, prefetch=1).prefetch == 1
    # Bucketed: the largest bucket counts.
    buckets = pixfeed.Buckets([(16, 16), (4096, 4096)])
    with pytest.raises(ValueError, match="prefetch: 256 waiting batches"):
        pixfeed.Loader(
            ["a.jpg"],
            pipeline=pixfeed.Pipeline(buckets, dtype="float32"),
            batch_size=batch_size,
            prefetch=MAX_PREFETCH,
        )
