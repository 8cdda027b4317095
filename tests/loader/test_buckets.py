"""Aspect-ratio bucketing and elastic (other world size) resume."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

import pixfeed
from pixfeed.buckets import image_sizes

BUCKETS = [(64, 32), (48, 48), (32, 64), (56, 40)]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """JPEGs of many aspect ratios (wide, square, tall), with texture."""
    d = tmp_path_factory.mktemp("buckets")
    rng = np.random.default_rng(0)
    out = []
    for i in range(45):
        w = int(rng.integers(40, 200))
        h = int(rng.integers(40, 200))
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        p = d / f"im{i:03d}.jpg"
        Image.fromarray(arr).save(p, quality=85)
        out.append(str(p))
    return out


def loader(paths: list[str], **kw: object) -> pixfeed.Loader:
    crop = kw.pop("crop", "center")
    pipe = pixfeed.Pipeline(pixfeed.Buckets(BUCKETS), crop=crop, dtype="uint8")  # type: ignore[arg-type]
    kw.setdefault("batch_size", 4)
    return pixfeed.Loader(paths, list(range(len(paths))), pipeline=pipe, **kw)  # type: ignore[arg-type]


def test_from_area() -> None:
    b = pixfeed.Buckets.from_area(224 * 224, 32)
    assert (224, 224) in b.sizes
    for w, h in b.sizes:
        assert w % 32 == 0 and h % 32 == 0 and w * h <= 224 * 224
        assert max(w / h, h / w) <= 2.0
        assert (w + 32) * h > 224 * 224 or w * (h + 32) > 224 * 224
    with pytest.raises(ValueError):
        pixfeed.Buckets([])
    with pytest.raises(ValueError, match="duplicate"):
        pixfeed.Buckets([(8, 8), (8, 8)])


def test_header_sizes_and_nearest_bucket(mixed: list[str]) -> None:
    sizes, errors = image_sizes([*mixed, b"not an image"], threads=2)
    assert list(errors) == [len(mixed)]
    for p, (w, h) in zip(mixed, sizes, strict=False):
        assert Image.open(p).size == (w, h)
    b = pixfeed.Buckets(BUCKETS)
    got = b.assign(sizes[:-1])
    for (w, h), k in zip(sizes[:-1], got, strict=True):
        dist = [abs(np.log(w / h) - np.log(bw / bh)) for bw, bh in BUCKETS]
        assert dist[k] == min(dist)


@pytest.mark.parametrize("crop", ["center", "random_resized"])
def test_every_sample_once_one_shape_per_batch_and_aspect(mixed: list[str], crop: str) -> None:
    ld = loader(mixed, crop=crop, seed=3)
    b = pixfeed.Buckets(BUCKETS)
    sizes, _ = image_sizes(mixed)
    want = b.assign(sizes)
    seen = []
    for x, y in ld:
        shapes = {tuple(xi.shape) for xi in x}
        assert len(shapes) == 1
        buckets = {int(want[i]) for i in y}
        assert len(buckets) == 1, "one bucket per batch"
        bw, bh = BUCKETS[buckets.pop()]
        assert x.shape[1:] == (3, bh, bw)
        seen += y.tolist()
    assert sorted(seen) == list(range(len(mixed)))
    # The crop windows (as the loader draws them) have the bucket's aspect ratio within 1 px.
    pipe = ld.pipeline
    for i, (w, h) in enumerate(sizes):
        (x0, y0, cw, ch), _ = pipe.sample_params(int(w), int(h), seed=3, epoch=0, index=i)
        bw, bh = BUCKETS[int(want[i])]
        assert abs(cw - ch * bw / bh) <= 1.0 and abs(ch - cw * bh / bw) <= 1.0
        assert 0 <= x0 and x0 + cw <= w and 0 <= y0 and y0 + ch <= h
        if crop == "center":
            assert abs(x0 - (w - cw) / 2) <= 1 and abs(y0 - (h - ch) / 2) <= 1
            assert cw == w or ch == h, "the largest window"


def test_center_bucket_matches_pillow_cover_crop(mixed: list[str]) -> None:
    pipe = pixfeed.Pipeline(pixfeed.Buckets(BUCKETS), crop="center", dtype="uint8", exact=True)
    ld = pixfeed.Loader(mixed[:8], list(range(8)), pipeline=pipe, batch_size=1, shuffle=False)
    for x, y in ld:
        i = int(y[0])
        im = Image.open(mixed[i]).convert("RGB")
        (x0, y0, cw, ch), flip = pipe.sample_params(*im.size, seed=0, index=i)
        assert not flip
        bh, bw = x.shape[2:]
        # torchvision's resized_crop: crop, then resize (antialiased bilinear).
        box = (int(x0), int(y0), int(x0 + cw), int(y0 + ch))
        ref = np.asarray(im.crop(box).resize((bw, bh), Image.Resampling.BILINEAR))
        assert np.abs(x[0].transpose(1, 2, 0).astype(int) - ref).max() <= 1


@pytest.mark.parametrize("world", range(1, 9))
def test_equal_batches_per_rank_and_coverage(mixed: list[str], world: int) -> None:
    per_rank = []
    seen: Counter[int] = Counter()
    for rank in range(world):
        ys = [y for _, y in loader(mixed, rank=rank, world_size=world, seed=5)]
        per_rank.append(len(ys))
        seen.update(np.concatenate(ys).tolist())
    assert len(set(per_rank)) == 1
    assert set(seen) == set(range(len(mixed)))
    # Wrap-padding repeats at most world - 1 whole batches.
    assert sum(seen.values()) - len(mixed) <= (world - 1) * 4


def test_bucketed_threads_and_resume(mixed: list[str]) -> None:
    one = [(x, y) for x, y in loader(mixed, threads=1, seed=8, prefetch=0)]
    two = [(x, y) for x, y in loader(mixed, threads=2, seed=8)]
    assert len(one) == len(two)
    for (a, la), (b, lb) in zip(one, two, strict=True):
        assert np.array_equal(la, lb) and np.array_equal(a, b)
    ld = loader(mixed, seed=8)
    it = iter(ld)
    for _ in range(3):
        next(it)
    state = ld.state_dict()
    del it
    resumed = loader(mixed, seed=0)
    resumed.load_state_dict(state)
    rest = [(x, y) for x, y in resumed]
    assert len(rest) == len(one) - 3
    for (a, la), (b, lb) in zip(one[3:], rest, strict=True):
        assert np.array_equal(la, lb) and np.array_equal(a, b)


def test_epochs_differ_and_bucketed_pipeline_needs_a_loader(mixed: list[str]) -> None:
    ld = loader(mixed, seed=1)
    e0 = np.concatenate([y for _, y in ld]).tolist()
    e1 = np.concatenate([y for _, y in ld]).tolist()
    assert e0 != e1 and sorted(e0) == sorted(e1)
    pipe = pixfeed.Pipeline(pixfeed.Buckets(BUCKETS))
    with pytest.raises(TypeError, match="bucket"):
        pipe(mixed[:2], seed=0)
    with pytest.raises(ValueError, match="none"):
        pixfeed.Pipeline(pixfeed.Buckets(BUCKETS), crop="none")


def _elastic(make: object, n: int, consumed_batches: int, new_world: int) -> None:
    assert callable(make)
    old_world = 4
    consumed: list[int] = []
    state = None
    for rank in range(old_world):
        ld = make(rank=rank, world_size=old_world)
        it = iter(ld)
        for _ in range(consumed_batches):
            consumed += next(it)[1].tolist()
        if rank == 0:
            state = ld.state_dict()
        del it
    resumed: list[int] = []
    lens = []
    for rank in range(new_world):
        ld = make(rank=rank, world_size=new_world)
        ld.load_state_dict(state)
        ys = [y.tolist() for _, y in ld]
        lens.append(len(ys))
        resumed += [v for y in ys for v in y]
    assert len(set(lens)) == 1, "equal batches per rank after the resume"
    total = Counter(consumed + resumed)
    assert set(total) == set(range(n)), "no sample lost"
    # Nothing repeated but the wrap-padding of the resumed part (fewer than one sample, or
    # one batch when bucketed, per new rank).
    assert sum(total.values()) - n < new_world * 4
    assert len(consumed) == len(set(consumed)), "the old ranks consumed distinct samples"


@pytest.mark.parametrize("new_world", [2, 3])
def test_elastic_resume_plain(mixed: list[str], new_world: int) -> None:
    labels = list(range(len(mixed)))
    pipe = pixfeed.Pipeline(24, dtype="uint8")

    def make(**kw: int) -> pixfeed.Loader:
        return pixfeed.Loader(mixed, labels, pipeline=pipe, batch_size=4, seed=2, **kw)  # type: ignore[arg-type]

    _elastic(make, len(mixed), 2, new_world)

    # Exactly once when no padding is needed: 40 samples, 4 ranks x 2 batches x 4 = 32
    # consumed, 8 left for 2 ranks.
    def make40(**kw: int) -> pixfeed.Loader:
        return pixfeed.Loader(mixed[:40], labels[:40], pipeline=pipe, batch_size=4, seed=2, **kw)  # type: ignore[arg-type]

    consumed = []
    for rank in range(4):
        it = iter(make40(rank=rank, world_size=4))
        consumed += next(it)[1].tolist() + next(it)[1].tolist()
    state = make40(rank=0, world_size=4)
    it = iter(state)
    next(it), next(it)
    st = state.state_dict()
    resumed = []
    for rank in range(2):
        ld = make40(rank=rank, world_size=2)
        ld.load_state_dict(st)
        resumed += np.concatenate([y for _, y in ld]).tolist()
    assert sorted(consumed + resumed) == list(range(40))


@pytest.mark.parametrize("new_world", [2, 3])
def test_elastic_resume_bucketed(mixed: list[str], new_world: int) -> None:
    def make(**kw: int) -> pixfeed.Loader:
        return loader(mixed, seed=4, **kw)

    _elastic(make, len(mixed), 1, new_world)
