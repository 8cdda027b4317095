"""Tar shards in the WebDataset layout: `pixfeed.Shards`, the native tar index, shard members
as sources, the Loader over shards, `write_shards` and the `pixfeed shards` command
(docs/shards.md). The reference is the `webdataset` library reading the same files."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pixfeed
from pixfeed import shards as shards_mod
from pixfeed._sample import _photos

wds = pytest.importorskip("webdataset")

N_SHARDS = 8
FORMATS = [tarfile.GNU_FORMAT] * 3 + [tarfile.PAX_FORMAT] * 3 + [tarfile.USTAR_FORMAT] * 2


def _jpeg(rng: np.random.Generator, photos: list[np.ndarray], fmt: str = "JPEG") -> bytes:
    photo = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    ch, cw = int(rng.integers(48, 160)), int(rng.integers(48, 160))
    y, x = int(rng.integers(0, h - ch)), int(rng.integers(0, w - cw))
    buf = io.BytesIO()
    Image.fromarray(photo[y : y + ch, x : x + cw]).save(buf, fmt, quality=85)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _sample_members(
    s: int, i: int, rng: np.random.Generator, photos: list[np.ndarray]
) -> list[tuple[str, bytes]]:
    """The members of sample i of shard s: mostly ``key.jpg`` + ``key.cls`` + ``key.json``,
    with upper-case extensions, names with several dots, names over 100 characters, PNGs,
    folders in keys and non-ASCII names mixed in."""
    label = int(rng.integers(0, 10))
    key = f"s{s}/sample{i:04d}"
    ext = "jpg"
    image = None
    kind = i % 7
    if kind == 1:
        ext = "JPG"  # webdataset lower-cases extensions, not keys
        key = f"s{s}/Upper{i:04d}"
    elif kind == 2:
        key = f"s{s}/{'long_folder_name_' * 6}/sample{i:04d}"  # over 100 characters
    elif kind == 3:
        ext = "png"
        image = _jpeg(rng, photos, "PNG")
    elif kind == 4:
        key = f"s{s}/dots.v2/sample{i:04d}"  # a dot in a folder is not an extension
    elif kind == 5 and FORMATS[s] != tarfile.USTAR_FORMAT:
        key = f"s{s}/ünïcode-{i:04d}"
    image = image if image is not None else _jpeg(rng, photos)
    members = [
        (f"{key}.{ext}", image),
        (f"{key}.cls", str(label).encode()),
        (f"{key}.json", json.dumps({"label": label, "i": i}).encode()),
    ]
    if kind == 6:
        members.append((f"{key}.Extra.TXT", b"several dots, upper case"))
    return members


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """8 shards of 23-57 samples written with Python's tarfile (3 GNU, 3 pax, 2 ustar). Shard
    5 holds a sample without an image; shard 2 a directory and a symlink member."""
    d = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(16)
    photos = _photos()
    urls = []
    for s in range(N_SHARDS):
        path = d / f"train-{s:06d}.tar"
        urls.append(str(path))
        with tarfile.open(path, "w", format=FORMATS[s]) as tar:
            for i in range(int(rng.integers(23, 58))):
                for name, data in _sample_members(s, i, rng, photos):
                    _add(tar, name, data)
                if s == 2 and i == 3:
                    info = tarfile.TarInfo("s2/a_folder.d")
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    link = tarfile.TarInfo("s2/link.jpg")
                    link.type = tarfile.SYMTYPE
                    link.linkname = "s2/sample0000.jpg"
                    tar.addfile(link)
                if s == 5 and i == 10:
                    _add(tar, "s5/no_image.cls", b"4")
                    _add(tar, "s5/no_image.txt", b"no image here")
    return {"dir": d, "urls": urls, "pattern": str(d / "train-{000000..000007}.tar")}


def _wds_samples(urls: list[str]) -> list[dict[str, Any]]:
    ds = wds.WebDataset(urls, shardshuffle=False, empty_check=False)
    return list(ds)


# -- grouping and contents equal webdataset's ----------------------------------------------


def test_pattern_expands_to_the_shards(shard_set: dict[str, Any]) -> None:
    sh = pixfeed.Shards(shard_set["pattern"], missing="skip")
    assert sh.urls == shard_set["urls"]
    assert shards_mod.expand_urls("a{1..3}b{x,y}") == [
        "a1bx", "a1by", "a2bx", "a2by", "a3bx", "a3by"
    ]  # fmt: skip
    assert shards_mod.expand_urls(["p-{08..10}.tar"]) == ["p-08.tar", "p-09.tar", "p-10.tar"]


def test_grouping_keys_labels_and_bytes_equal_webdatasets(shard_set: dict[str, Any]) -> None:
    urls = shard_set["urls"]
    sh = pixfeed.Shards(urls, label="cls", missing="skip")
    ref = _wds_samples(urls)
    with_image = [r for r in ref if any(e in r for e in ("jpg", "png"))]
    assert [(r["__key__"], r["__url__"]) for r in with_image] == [
        (k, urls[s]) for k, s in zip(sh.keys, sh.shard_of, strict=True)
    ]
    assert sh.skipped == [(urls[5], "s5/no_image", sh.skipped[0][2])]
    assert "no image" in sh.skipped[0][2]
    assert len(sh) == len(with_image) == int(sh.shard_sizes.sum())
    assert sh.labels is not None
    for i, r in enumerate(with_image):
        sample = sh[i]
        got = {e: shards_mod._pread(m.path, m.offset, m.size) for e, m in sample.members.items()}
        want = {e: v for e, v in r.items() if not e.startswith("__")}
        assert got == want, r["__key__"]
        assert sh.read(i) == (r["jpg"] if "jpg" in r else r["png"])
        assert sample.label == int(r["cls"]) == sh.labels[i]
    # Several dots: everything after the first one is the (lower-cased) extension.
    assert any("extra.txt" in sh[i].members for i in range(len(sh)))
    assert any(len(k) > 100 for k in sh.keys)
    assert any("ü" in k for k in sh.keys)
    assert any(k.split("/")[-1].startswith("Upper") for k in sh.keys)
    # Samples are stored shard by shard.
    assert (np.diff(sh.shard_of) >= 0).all()
    assert sh.shard_sizes.tolist() == np.bincount(sh.shard_of, minlength=N_SHARDS).tolist()
    assert sh.shard_of.dtype == np.int64 and sh.shard_sizes.dtype == np.int64


def test_json_label_and_image_preference(shard_set: dict[str, Any]) -> None:
    urls = shard_set["urls"][:2]
    sh = pixfeed.Shards(urls, label="json:label", image="png;jpg")
    by_cls = pixfeed.Shards(urls, label="cls")
    assert sh.labels is not None and by_cls.labels is not None
    assert sh.labels.tolist() == by_cls.labels.tolist()
    # Only PNG samples when only png is an image.
    png_only = pixfeed.Shards(urls, image="png", missing="skip")
    assert all(m.name.endswith(".png") for m in png_only.sources)
    assert len(png_only) + len(png_only.skipped) == len(sh)


# -- members are sources everywhere a path is ------------------------------------------------


def test_member_decodes_as_its_bytes_roi_and_reduce(shard_set: dict[str, Any]) -> None:
    sh = pixfeed.Shards(shard_set["urls"][0])
    for i in (0, 3, 5):
        m, data = sh.sources[i], sh.read(i)
        assert isinstance(m, pixfeed.Member)
        np.testing.assert_array_equal(pixfeed.decode(m), pixfeed.decode(data))
        np.testing.assert_array_equal(
            pixfeed.decode(m, roi=(3, 5, 30, 20)), pixfeed.decode(data, roi=(3, 5, 30, 20))
        )
        np.testing.assert_array_equal(
            pixfeed.decode(m, reduce_to=(20, 20)), pixfeed.decode(data, reduce_to=(20, 20))
        )
        assert pixfeed.probe(m) == pixfeed.probe(data)
    crops = pixfeed.crop_paths(sh.sources[:4], [0.1] * 4, [0.2] * 4, 0.5, 24)
    want = pixfeed.crop_paths([sh.read(i) for i in range(4)], [0.1] * 4, [0.2] * 4, 0.5, 24)
    np.testing.assert_array_equal(crops, want)
    pipe = pixfeed.Pipeline(size=32)
    np.testing.assert_array_equal(
        pipe(sh.sources[:4], seed=1), pipe([sh.read(i) for i in range(4)], seed=1)
    )
    got = pixfeed.decode_batch(sh.sources[:6])
    for g, i in zip(got, range(6), strict=True):
        np.testing.assert_array_equal(g, pixfeed.decode(sh.read(i)))
    m = sh.sources[1]
    assert pickle.loads(pickle.dumps(m)) == m
    assert str(m) == f"{m.path}:{m.name} @ offset {m.offset}"


def test_global_loader_equals_the_file_loader(shard_set: dict[str, Any], tmp_path: Path) -> None:
    sh = pixfeed.Shards(shard_set["urls"], label="cls", missing="skip")
    files = []
    for i in range(len(sh)):
        p = tmp_path / f"{i:05d}{Path(sh.sources[i].name).suffix.lower()}"
        p.write_bytes(sh.read(i))
        files.append(str(p))
    pipe = pixfeed.Pipeline(size=48, scale=(0.2, 1.0), flip=True)
    for world in (None, 3):
        kw: dict[str, Any] = {"batch_size": 16, "seed": 5, "pipeline": pipe}
        if world:
            kw.update(rank=1, world_size=world)
        a = [(np.array(x), np.array(y)) for x, y in pixfeed.Loader(sh, **kw)]
        b = [(np.array(x), np.array(y)) for x, y in pixfeed.Loader(files, sh.labels, **kw)]
        assert len(a) == len(b) > 0
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    assert pixfeed.Loader(sh, pipeline=pipe).shards is sh


def test_shard_shuffle_over_real_shards(shard_set: dict[str, Any]) -> None:
    """``shuffle="shards"`` (tests/loader/test_shard_shuffle.py) on a real `Shards`: every
    rank the same number of batches, each sample from the rank's own shards."""
    sh = pixfeed.Shards(shard_set["urls"], label="cls", missing="skip")
    ids = np.arange(len(sh))
    counts, shards_seen = [], []
    for rank in range(3):
        loader = pixfeed.Loader(
            sh, ids, pipeline=pixfeed.Pipeline(size=32), batch_size=8, seed=2,
            shuffle="shards", rank=rank, world_size=3,
        )  # fmt: skip
        got = np.concatenate([y for _, y in loader])
        counts.append(len(loader))
        shards_seen.append(set(sh.shard_of[got].tolist()))
    assert len(set(counts)) == 1 and counts[0] > 0
    assert not (shards_seen[0] & shards_seen[1] or shards_seen[1] & shards_seen[2])


@pytest.mark.parametrize("shuffle", ["global", "shards"])
def test_world_of_three_disjoint_complete_equal(shard_set: dict[str, Any], shuffle: str) -> None:
    """World size 3 over real shards, both modes: equal batch counts, and the ranks' samples
    cover the data set, each sample on one rank only (padding aside: repeats stay on the rank
    that pads)."""
    sh = pixfeed.Shards(shard_set["urls"], label="cls", missing="skip")
    ids = np.arange(len(sh))
    counts, seen = [], []
    for rank in range(3):
        loader = pixfeed.Loader(
            sh, ids, pipeline=pixfeed.Pipeline(size=32), batch_size=8, seed=3,
            shuffle=shuffle, rank=rank, world_size=3,
        )  # fmt: skip
        counts.append(len(loader))
        seen.append(set(np.concatenate([y for _, y in loader]).tolist()))
    assert len(set(counts)) == 1 and counts[0] > 0
    assert set().union(*seen) == set(ids.tolist())
    if shuffle == "shards":  # whole shards per rank: no sample on two ranks
        assert not (seen[0] & seen[1] or seen[1] & seen[2] or seen[0] & seen[2])
    else:  # DistributedSampler: at most the wrap-padding (< 3 samples) repeats
        assert sum(map(len, seen)) - len(ids) < 3


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shuffle", ["global", "shards"])
def test_resume_over_shards_equals_the_tail(
    shard_set: dict[str, Any], shuffle: str, threads: int
) -> None:
    """state_dict() after k batches, loaded into a fresh Loader, yields exactly the rest of
    the uninterrupted epoch (images and labels), in both shuffle modes."""
    sh = pixfeed.Shards(shard_set["urls"], label="cls", missing="skip")
    kw: dict[str, Any] = {
        "pipeline": pixfeed.Pipeline(size=32, flip=True),
        "batch_size": 16,
        "seed": 9,
        "shuffle": shuffle,
        "threads": threads,
    }
    full = [(np.array(x), np.array(y)) for x, y in pixfeed.Loader(sh, **kw)]
    k = 3
    first = pixfeed.Loader(sh, **kw)
    it = iter(first)
    for _ in range(k):
        next(it)
    state = first.state_dict()
    first.close()
    resumed = pixfeed.Loader(sh, **kw)
    resumed.load_state_dict(state)
    tail = [(np.array(x), np.array(y)) for x, y in resumed]
    assert len(tail) == len(full) - k > 0
    for (xa, ya), (xb, yb) in zip(tail, full[k:], strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


# -- bad input --------------------------------------------------------------------------------


def _copy(src: str, dst: Path, cut: int | None = None) -> str:
    data = Path(src).read_bytes()
    dst.write_bytes(data if cut is None else data[:cut])
    return str(dst)


def test_truncated_shard_names_shard_and_offset(shard_set: dict[str, Any], tmp_path: Path) -> None:
    src = shard_set["urls"][6]  # ustar: no extended headers
    size = os.path.getsize(src)
    bad = _copy(src, tmp_path / "cut.tar", size // 2 + 100)
    with pytest.raises(pixfeed.ShardError) as ei:
        pixfeed.Shards(bad)
    assert ei.value.kind == "truncated"
    assert "cut.tar" in str(ei.value) and str(ei.value.offset) in str(ei.value)
    assert 0 < ei.value.offset < size // 2 + 100
    # An empty file is a download cut at its start, not an empty shard.
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    with pytest.raises(pixfeed.ShardError, match="empty") as ei:
        pixfeed.Shards(str(empty))
    assert (ei.value.kind, ei.value.offset) == ("truncated", 0)


def test_corrupt_header_checksum(shard_set: dict[str, Any], tmp_path: Path) -> None:
    src = shard_set["urls"][6]
    data = bytearray(Path(src).read_bytes())
    idx = pixfeed.Shards(src)
    at = idx.sources[2].offset - 512  # the header of sample 2's image
    data[at + 10] ^= 0x21
    bad = tmp_path / "sum.tar"
    bad.write_bytes(bytes(data))
    with pytest.raises(pixfeed.ShardError) as ei:
        pixfeed.Shards(str(bad))
    assert (ei.value.kind, ei.value.offset) == ("corrupt", at)
    assert "checksum" in str(ei.value) and "sum.tar" in str(ei.value)


def test_member_larger_than_the_file(tmp_path: Path) -> None:
    info = tarfile.TarInfo("big.jpg")
    info.size = 10**9
    header = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    path = tmp_path / "big.tar"
    path.write_bytes(bytes(header) + b"\xff" * 512 + bytes(1024))
    with pytest.raises(pixfeed.ShardError, match="past the end") as ei:
        pixfeed.Shards(str(path))
    assert ei.value.offset == 0 and ei.value.kind == "truncated"


def test_sample_without_image_is_an_error_or_skipped(shard_set: dict[str, Any]) -> None:
    url = shard_set["urls"][5]
    with pytest.raises(pixfeed.ShardError, match=r"no_image.*no image member") as ei:
        pixfeed.Shards(url)
    assert url in str(ei.value) and ei.value.offset > 0
    sh = pixfeed.Shards(url, missing="skip")
    assert [k for _, k, _ in sh.skipped] == ["s5/no_image"]


@pytest.mark.parametrize("label", ["txt", "json:", "json", 3, "CLS"])
def test_unknown_label_format(shard_set: dict[str, Any], label: Any) -> None:
    with pytest.raises(ValueError, match="label"):
        pixfeed.Shards(shard_set["urls"][0], label=label)


def test_missing_label_member_or_field(shard_set: dict[str, Any]) -> None:
    with pytest.raises(pixfeed.ShardError, match="has no 'nope'"):
        pixfeed.Shards(shard_set["urls"][0], label="json:nope")
    sh = pixfeed.Shards(shard_set["urls"][5], label="json:label", missing="skip")
    assert [k for _, k, _ in sh.skipped] == ["s5/no_image"]


def test_missing_shard(shard_set: dict[str, Any], tmp_path: Path) -> None:
    urls = [*shard_set["urls"][:2], str(tmp_path / "gone.tar")]
    with pytest.raises(FileNotFoundError) as ei:
        pixfeed.Shards(urls)
    assert ei.value.filename == urls[2]
    sh = pixfeed.Shards(urls, missing="skip")
    assert sh.skipped[0][:2] == (urls[2], None)
    assert sh.shard_sizes[2] == 0 and len(sh) == sh.shard_sizes[:2].sum()


def test_shard_cut_after_indexing_is_a_typed_error(
    shard_set: dict[str, Any], tmp_path: Path
) -> None:
    path = Path(_copy(shard_set["urls"][0], tmp_path / "later.tar"))
    sh = pixfeed.Shards(str(path))
    last = sh.sources[-1]
    with open(path, "r+b") as f:
        f.truncate(last.offset + 10)
    with pytest.raises(pixfeed.ShardError) as ei:
        pixfeed.decode(last)
    assert ei.value.source == str(last) and ei.value.offset == last.offset
    loader = pixfeed.Loader(sh, pipeline=pixfeed.Pipeline(size=32), on_error="skip", shuffle=False)
    n = sum(len(x) for x in loader)
    assert n == len(sh) - 1
    assert loader.errors()[0].path == str(last)


# -- the index --------------------------------------------------------------------------------


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real = shards_mod._build

    def spy(urls: list[str], threads: int | None) -> Any:
        calls.append(list(urls))
        return real(urls, threads)

    monkeypatch.setattr(shards_mod, "_build", spy)
    return calls


def test_sidecar_index_is_used_when_fresh(
    shard_set: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [_copy(u, tmp_path / Path(u).name) for u in shard_set["urls"][:3]]
    calls = _count_builds(monkeypatch)
    ref = pixfeed.Shards(urls)
    assert calls == [urls]
    for u in urls:
        shards_mod.write_sidecar(u)
    again = pixfeed.Shards(urls)
    assert calls == [urls, []]
    assert again.sources == ref.sources and again.keys == ref.keys
    # A stale sidecar (the shard changed) and a broken one are rebuilt, never trusted.
    os.utime(urls[0], ns=(1, 1))
    Path(urls[1] + ".pfidx").write_text('{"format": "pixfeed-tar-index", garbage')
    third = pixfeed.Shards(urls)
    assert calls[-1] == urls[:2]
    assert third.sources == ref.sources
    # Fresh, but offsets that cannot be right (not block-aligned): rebuilt.
    doc = json.loads(Path(urls[2] + ".pfidx").read_text())
    doc["shards"][0]["offsets"][0] += 7
    Path(urls[2] + ".pfidx").write_text(json.dumps(doc))
    assert pixfeed.Shards(urls[2:]).sources == ref.sources[-len(pixfeed.Shards(urls[2:])) :]
    assert calls[-1] == urls[2:]


def test_single_index_file(
    shard_set: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = shard_set["urls"][:4]
    calls = _count_builds(monkeypatch)
    path = tmp_path / "all.idx"
    a = pixfeed.Shards(urls, index=path)
    assert path.read_text().startswith('{"format": "pixfeed-tar-index"')
    b = pixfeed.Shards(urls, index=str(path))
    assert calls == [urls, []]
    assert a.sources == b.sources
    # Other shards join the file; the entries already there stay.
    more = shard_set["urls"][4:6]
    pixfeed.Shards(more, index=path, missing="skip")
    assert calls[-1] == more
    pixfeed.Shards([*urls, *more], index=path, missing="skip")
    assert calls[-1] == []
    # A user's file of the same name is never overwritten.
    user = tmp_path / "mine.idx"
    user.write_text("my notes")
    with pytest.raises(ValueError, match="not a pixfeed tar index"):
        pixfeed.Shards(urls, index=user)
    assert user.read_text() == "my notes"


# -- writing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageFolder tree: 3 classes, JPEGs and PNGs (some with upper-case extensions)."""
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(3)
    photos = _photos()
    for c, name in enumerate(["cat", "dog", "zebra"]):
        (root / name).mkdir()
        for i in range(7 + c):
            png = i % 3 == 0
            ext = ".PNG" if png and i % 2 else ".png" if png else ".jpg"
            data = _jpeg(rng, photos, "PNG" if png else "JPEG")
            (root / name / f"img.{i}{ext}").write_bytes(data)
    return root


def test_write_shards_read_back_by_webdataset_and_pixfeed(folder: Path, tmp_path: Path) -> None:
    paths, labels, _ = pixfeed.image_folder(folder)
    out = pixfeed.write_shards(paths, labels, str(tmp_path / "o" / "part-%04d.tar"), max_count=5)
    assert out == [str(tmp_path / "o" / f"part-{i:04d}.tar") for i in range(len(out))]
    assert len(out) == -(-len(paths) // 5)
    assert all(Path(p + ".pfidx").exists() for p in out)
    sh = pixfeed.Shards(out, label="cls")
    ref = _wds_samples(out)
    assert len(sh) == len(ref) == len(paths)
    assert sh.labels is not None and sh.labels.tolist() == labels
    for i, r in enumerate(ref):
        ext = Path(paths[i]).suffix.lower().lstrip(".")
        assert r["__key__"] == sh.keys[i] == f"{i:09d}"
        assert r[ext] == sh.read(i) == Path(paths[i]).read_bytes()
        assert int(r["cls"]) == labels[i]
    # Refuses to overwrite; replaces when asked.
    with pytest.raises(FileExistsError, match=r"part-0000\.tar"):
        pixfeed.write_shards(paths, labels, str(tmp_path / "o" / "part-%04d.tar"))
    again = pixfeed.write_shards(
        paths[:3], None, str(tmp_path / "o" / "part-{:04d}.tar"), overwrite=True
    )
    assert len(pixfeed.Shards(again)) == 3


def test_write_shards_by_bytes_and_keys(folder: Path, tmp_path: Path) -> None:
    paths, labels, _ = pixfeed.image_folder(folder)
    keys = [f"k/{i}" for i in range(len(paths))]
    out = pixfeed.write_shards(
        paths, labels, str(tmp_path / "b-{}.tar"), max_bytes=40_000, keys=keys
    )
    assert len(out) > 1
    got = pixfeed.Shards(out)
    assert got.keys == keys
    for s, p in enumerate(out):
        # Beyond max_bytes only by tarfile's padding to 10 KiB, or a sample larger alone.
        assert got.shard_sizes[s] == 1 or os.path.getsize(p) <= 40_000 + 10240
    with pytest.raises(ValueError, match="keys"):
        pixfeed.write_shards(paths[:1], None, str(tmp_path / "c-%d.tar"), keys=["a.b"])
    with pytest.raises(ValueError, match="pattern"):
        pixfeed.write_shards(paths[:1], None, str(tmp_path / "c.tar"))
    # A user's file where a sidecar would go is never overwritten.
    (tmp_path / "d-0.tar.pfidx").write_text("theirs")
    with pytest.raises(FileExistsError, match="pfidx"):
        pixfeed.write_shards(paths[:1], None, str(tmp_path / "d-%d.tar"))
    assert (tmp_path / "d-0.tar.pfidx").read_text() == "theirs"
    assert not (tmp_path / "d-0.tar").exists()


def test_cli_shards(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pixfeed.cli import main

    pattern = str(tmp_path / "cli-%03d.tar")
    assert main(["shards", str(folder), pattern, "--max-count", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == ["cat", "dog", "zebra"]
    paths, labels, _ = pixfeed.image_folder(folder)
    sh = pixfeed.Shards(report["shards"], label="cls")
    assert sh.labels is not None and sh.labels.tolist() == labels
    assert [sh.read(i) for i in range(len(sh))] == [Path(p).read_bytes() for p in paths]
    assert main(["shards", str(folder), pattern]) == 1
    assert "exists" in capsys.readouterr().err
