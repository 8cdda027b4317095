"""`ImageCache` (docs/toolkit.md): read-only hits, invalidation by in-place edits, LRU
eviction under the byte cap, preload, concurrent use, bad arguments."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import pixfeed
from pixfeed.cache import ImageCache

PAST_NS = 1_600_000_000 * 10**9  # Sep 2020: far from the racy window of "now"


def image(seed: int, w: int = 40, h: int = 30, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (h, w, channels) if channels > 1 else (h, w)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def write(
    path: Path, seed: int, *, w: int = 40, h: int = 30, fmt: str = "bmp", age: int = 0
) -> None:
    """An image file with an old mtime (``age`` picks a distinct one), so that the cache may
    keep it at once. BMP: the file size depends on the dimensions only."""
    path.write_bytes(pixfeed.encode(image(seed, w, h), fmt))  # type: ignore[arg-type]
    t = PAST_NS + age * 10**9
    os.utime(path, ns=(t, t))


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(6):
        p = tmp_path / f"img{i}.bmp"
        write(p, i)
        paths.append(p)
    return paths


NBYTES = 40 * 30 * 3  # one decoded RGB test image


def test_hit_returns_the_same_read_only_pixels(files: list[Path]) -> None:
    cache = ImageCache(max_mb=10)
    p = files[0]
    miss = cache.get(p)
    hit = cache.get(str(p))
    want = pixfeed.decode(p)
    assert np.array_equal(miss, want) and np.array_equal(hit, want)
    for a in (miss, hit):
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[0, 0, 0] = 1
        with pytest.raises(ValueError):
            a.flags.writeable = True
    s = cache.stats()
    assert (s["hits"], s["misses"], s["entries"], s["bytes"]) == (1, 1, 1, NBYTES)
    assert s["hit_rate"] == 0.5 and s["max_bytes"] == 10 * 2**20


def test_modes_are_separate_entries(files: list[Path]) -> None:
    cache = ImageCache()
    gray = cache.get(files[0], mode="L")
    rgb = cache.get(files[0])
    assert gray.shape == (30, 40) and rgb.shape == (30, 40, 3)
    assert np.array_equal(cache.get(files[0], mode="L"), pixfeed.decode(files[0], mode="L"))
    assert len(cache) == 2 and cache.stats()["hits"] == 1


def test_in_place_edit_same_size_new_mtime_misses(files: list[Path]) -> None:
    cache = ImageCache()
    p = files[0]
    old = cache.get(p)
    size = p.stat().st_size
    # Rewrite in place (same inode), same byte size, different pixels, another old mtime.
    with open(p, "r+b") as f:
        f.write(pixfeed.encode(image(99), "bmp"))
    t = PAST_NS + 5 * 10**9
    os.utime(p, ns=(t, t))
    assert p.stat().st_size == size
    new = cache.get(p)
    assert np.array_equal(new, image(99)) and not np.array_equal(new, old)
    s = cache.stats()
    assert (s["misses"], s["hits"], s["invalidations"], s["entries"]) == (2, 0, 1, 1)
    assert s["bytes"] == NBYTES  # the stale entry's bytes were released
    assert cache.get(p) is new  # and the new one is cached


def test_touch_alone_misses(files: list[Path]) -> None:
    cache = ImageCache()
    p = files[1]
    cache.get(p)
    t = PAST_NS + 7 * 10**9
    os.utime(p, ns=(t, t))  # same content, new mtime
    assert p not in cache
    cache.get(p)
    assert cache.stats()["misses"] == 2


def test_edit_restoring_the_old_mtime_still_misses(files: list[Path]) -> None:
    """ctime cannot be set back: an edit that restores size and mtime is still seen."""
    cache = ImageCache()
    p = files[2]
    cache.get(p)
    before = p.stat()
    time.sleep(0.02)  # let the ctime clock tick (ordering, not a timing assertion)
    with open(p, "r+b") as f:
        f.write(pixfeed.encode(image(77), "bmp"))
    os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = p.stat()
    assert after.st_mtime_ns == before.st_mtime_ns and after.st_size == before.st_size
    if after.st_ctime_ns == before.st_ctime_ns:
        pytest.skip("ctime did not move (coarse filesystem clock)")
    assert np.array_equal(cache.get(p), image(77))


def test_new_size_and_replacement_by_rename_miss(files: list[Path], tmp_path: Path) -> None:
    cache = ImageCache()
    p = files[3]
    cache.get(p)
    write(p, 50, w=20, h=10, age=9)
    assert cache.get(p).shape == (10, 20, 3)
    # Replaced by rename (new inode), even with the very same size and mtime.
    tmp = tmp_path / "tmp.bmp"
    write(tmp, 51, w=20, h=10, age=9)
    os.replace(tmp, p)
    assert np.array_equal(cache.get(p), image(51, 20, 10))
    assert cache.stats()["invalidations"] == 2


def test_a_file_written_a_millisecond_ago_is_cached(tmp_path: Path) -> None:
    """A script that writes images and then views them gets hits: the just-written
    ("racy") file is cached with a hash of its bytes, and hits re-check that hash."""
    p = tmp_path / "fresh.bmp"
    p.write_bytes(pixfeed.encode(image(5), "bmp"))
    cache = ImageCache()
    a = cache.get(p)
    assert np.array_equal(a, image(5)) and not a.flags.writeable
    assert len(cache) == 1 and p in cache
    for _ in range(3):
        assert cache.get(p) is a
    s = cache.stats()
    assert s["hits"] == 3 and s["misses"] == 1
    assert s["rehashes"] >= 1  # the racy entry's bytes were compared (in `in` and the gets)


def test_an_edit_in_the_same_tick_is_never_served_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writes of the same size within one time tick: size, mtime, ctime, inode all
    alike. The filesystem is made unable to tell them apart (stat reports the first write's
    signature for both); only the content hash can, and it does."""
    import pixfeed.cache as cache_module

    p = tmp_path / "edited.bmp"
    p.write_bytes(pixfeed.encode(image(6), "bmp"))
    first = os.stat(p)
    cache = ImageCache()
    assert np.array_equal(cache.get(p), image(6))
    p.write_bytes(pixfeed.encode(image(7), "bmp"))  # same size (BMP: dimensions only)
    os.utime(p, ns=(first.st_atime_ns, first.st_mtime_ns))
    assert os.stat(p).st_size == first.st_size
    real_stat = os.stat
    monkeypatch.setattr(
        cache_module, "_stat", lambda path: first if str(path) == str(p) else real_stat(path)
    )
    assert p not in cache
    assert np.array_equal(cache.get(p), image(7))  # never the first write's pixels
    assert cache.stats()["invalidations"] == 1
    assert np.array_equal(cache.get(p), image(7))  # the edit is cached in turn: a hit
    assert cache.stats()["hits"] == 1
    # The same through preload: the stale entry is found out, the new pixels are loaded.
    p.write_bytes(pixfeed.encode(image(8), "bmp"))
    job = cache.preload([p])
    job.wait()
    assert job.loaded == 1 and job.already_cached == 0
    assert np.array_equal(cache.get(p), image(8))


def test_a_settled_racy_entry_drops_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the file's mtime is a tick in the past, the first matching hash clears the racy
    mark: later hits need the stat alone (no read)."""
    import pixfeed.cache as cache_module

    p = tmp_path / "settles.bmp"
    p.write_bytes(pixfeed.encode(image(9), "bmp"))
    cache = ImageCache()
    cache.get(p)
    cache.get(p)
    before = cache.stats()["rehashes"]
    assert before == 1
    later = time.time_ns() + 10 * 10**9  # the clock 10 s on: the mtime is safely past
    monkeypatch.setattr(cache_module.time, "time_ns", lambda: later)
    cache.get(p)  # re-hashed once more, then the mark is cleared
    cache.get(p)
    cache.get(p)
    s = cache.stats()
    assert s["rehashes"] == before + 1 and s["hits"] == 4


def test_put_of_a_just_written_file_is_checked_by_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pixfeed.cache as cache_module

    p = tmp_path / "put.bmp"
    p.write_bytes(pixfeed.encode(image(10), "bmp"))
    first = os.stat(p)
    cache = ImageCache()
    cache.put(p, image(10))
    p.write_bytes(pixfeed.encode(image(11), "bmp"))
    real_stat = os.stat
    monkeypatch.setattr(
        cache_module, "_stat", lambda path: first if str(path) == str(p) else real_stat(path)
    )
    assert np.array_equal(cache.get(p), image(11))


def test_a_just_written_corrupt_file_names_its_path(tmp_path: Path) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    with pytest.raises(pixfeed.DecodeError) as info:
        ImageCache().get(p)
    assert info.value.source == str(p) and str(p) in str(info.value)


def test_file_changed_while_decoding_is_not_kept(
    files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write landing between the stat and the end of the decode: the decoded (old) pixels
    are returned, but not cached under the new file's identity."""
    import pixfeed.cache as cache_module

    p = files[0]
    real_decode = cache_module.decode

    def decode_then_replace(path: str, **kw: object) -> np.ndarray:
        out = real_decode(path, **kw)  # type: ignore[arg-type]
        tmp = tmp_path / "next.bmp"
        write(tmp, 42, age=3)
        os.replace(tmp, p)
        return out

    monkeypatch.setattr(cache_module, "decode", decode_then_replace)
    cache = ImageCache()
    assert np.array_equal(cache.get(p), image(0))  # what was read
    assert len(cache) == 0
    monkeypatch.setattr(cache_module, "decode", real_decode)
    assert np.array_equal(cache.get(p), image(42))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    cache = ImageCache()
    with pytest.raises(FileNotFoundError) as e:
        cache.get(tmp_path / "missing.jpg")
    assert e.value.filename == str(tmp_path / "missing.jpg")
    assert (tmp_path / "missing.jpg") not in cache


def test_deleted_file_is_not_served_from_memory(files: list[Path]) -> None:
    cache = ImageCache()
    cache.get(files[0])
    files[0].unlink()
    with pytest.raises(FileNotFoundError):
        cache.get(files[0])


def test_lru_eviction_keeps_bytes_under_the_cap(files: list[Path]) -> None:
    cache = ImageCache(max_mb=3.5 * NBYTES / 2**20)  # room for three
    for p in files[:3]:
        cache.get(p)
    cache.get(files[0])  # now the most recent; files[1] is the least
    cache.get(files[3])
    assert files[1] not in cache
    assert all(p in cache for p in (files[0], files[2], files[3]))
    s = cache.stats()
    assert s["entries"] == 3 and s["bytes"] == 3 * NBYTES <= s["max_bytes"]
    assert s["evictions"] == 1
    cache.get(files[4])  # evicts files[2], the least recently used now
    cache.get(files[5])  # evicts files[0]
    assert [p in cache for p in files] == [False, False, False, True, True, True]
    assert cache.stats()["evictions"] == 3


def test_an_image_larger_than_the_cap_is_returned_not_cached(files: list[Path]) -> None:
    cache = ImageCache(max_mb=(NBYTES - 1) / 2**20)
    a = cache.get(files[0])
    assert np.array_equal(a, pixfeed.decode(files[0])) and not a.flags.writeable
    assert len(cache) == 0 and cache.stats()["bytes"] == 0
    off = ImageCache(max_mb=0)  # caching disabled
    off.get(files[0])
    off.get(files[0])
    assert off.stats()["misses"] == 2 and len(off) == 0


def test_put_contains_len_clear(files: list[Path]) -> None:
    cache = ImageCache()
    mine = image(123)
    cache.put(files[0], mine)
    mine[...] = 0  # the cache holds a copy
    got = cache.get(files[0])
    assert np.array_equal(got, image(123)) and not got.flags.writeable
    with pytest.raises(ValueError):
        got.flags.writeable = True
    assert cache.stats()["hits"] == 1
    assert files[0] in cache and str(files[0]) in cache and files[1] not in cache
    cache.put(files[1], image(1, channels=1), mode="L")
    assert len(cache) == 2 and files[1] in cache
    cache.clear()
    assert len(cache) == 0 and files[0] not in cache and cache.stats()["bytes"] == 0
    assert cache.stats()["hits"] == 1  # counters survive clear()


def test_preload_then_get_are_all_hits(files: list[Path], tmp_path: Path) -> None:
    cache = ImageCache()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    job = cache.preload([*files, bad, tmp_path / "missing.png"], chunk_size=4)
    assert isinstance(job, pixfeed.Preload)
    assert job.wait(timeout=120)
    assert job.done() and job.loaded == len(files)
    assert set(job.errors) == {str(bad), str(tmp_path / "missing.png")}
    assert isinstance(job.errors[str(bad)], pixfeed.DecodeError)
    assert isinstance(job.errors[str(tmp_path / "missing.png")], FileNotFoundError)
    for p in files:
        assert np.array_equal(cache.get(p), pixfeed.decode(p))
    s = cache.stats()
    assert (s["hits"], s["misses"], s["preloaded"]) == (len(files), 0, len(files))
    again = cache.preload(files)
    assert again.wait(timeout=120)
    assert (again.loaded, again.already_cached) == (0, len(files))


def test_preload_does_not_block_get(files: list[Path]) -> None:
    """get() works while a preload is in flight (the lock is never held across a decode)."""
    cache = ImageCache()
    job = cache.preload(files * 20, chunk_size=2)
    for p in files:
        assert np.array_equal(cache.get(p), pixfeed.decode(p))
    assert job.wait(timeout=120)
    job.cancel()  # harmless once done


def test_concurrent_get_put_from_8_threads(tmp_path: Path) -> None:
    """Random get/put/contains/clear from 8 threads over many files while one thread keeps
    replacing some files: every array returned is a true version of its file, read-only;
    the byte total always matches the entries and stays under the cap; no stale entry
    survives."""
    n_files = 40
    paths = [tmp_path / f"f{i}.bmp" for i in range(n_files)]
    for i, p in enumerate(paths):
        write(p, i, age=i)
    versions = {str(p): [image(i)] for i, p in enumerate(paths)}
    changing = [str(p) for p in paths[:5]]
    for k, p in enumerate(changing):
        versions[p].append(image(1000 + k))
    cache = ImageCache(max_mb=12 * NBYTES / 2**20)  # a third of the files: evictions happen
    stop = threading.Event()
    failures: list[BaseException] = []
    gets = [0] * 8

    def rewriter() -> None:
        k = 0
        while not stop.is_set():
            for j, p in enumerate(changing):
                tmp = p + ".tmp"
                write(Path(tmp), 1000 + j if k % 2 == 0 else changing_seed(p), age=100 + k)
                os.replace(tmp, p)  # atomic: readers see one version or the other
            k += 1

    def changing_seed(p: str) -> int:
        return int(Path(p).stem[1:])

    def user(t: int) -> None:
        rng = random.Random(t)
        try:
            for _ in range(400):
                p = str(paths[rng.randrange(n_files)])
                op = rng.random()
                if op < 0.75:
                    a = cache.get(p)
                    gets[t] += 1
                    assert not a.flags.writeable
                    assert any(np.array_equal(a, v) for v in versions[p]), p
                elif op < 0.9 and p not in changing:
                    cache.put(p, versions[p][0])
                elif op < 0.99:
                    _ = p in cache
                else:
                    cache.clear()
                s = cache.stats()
                assert 0 <= s["bytes"] <= s["max_bytes"]
        except BaseException as e:
            failures.append(e)

    rw = threading.Thread(target=rewriter)
    rw.start()
    threads = [threading.Thread(target=user, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    rw.join()
    assert not failures, failures[0]
    s = cache.stats()
    assert s["hits"] + s["misses"] == sum(gets)
    with cache._lock:
        held = sum(e.nbytes for e in cache._entries.values())
        assert held == s["bytes"] <= s["max_bytes"]
        assert len(cache._entries) == s["entries"]
    # Nothing stale: every file now reads as its current content.
    for p in paths:
        assert np.array_equal(cache.get(p), pixfeed.decode(p))


def test_bad_arguments(files: list[Path]) -> None:
    for bad in (-1, -0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="max_mb"):
            ImageCache(max_mb=bad)
    for wrong in ("512", True):
        with pytest.raises(TypeError, match="max_mb"):
            ImageCache(max_mb=wrong)  # type: ignore[arg-type]
    cache = ImageCache()
    with pytest.raises(TypeError, match="path"):
        cache.get(123)  # type: ignore[arg-type]
    # Bytes are a file name here (as in os.stat), never image data.
    with pytest.raises(FileNotFoundError) as missing:
        cache.get(b"no-such-file.png")
    assert missing.value.filename == "no-such-file.png"
    with pytest.raises(ValueError, match="mode"):
        cache.get(files[0], mode="CMYK")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="image"):
        cache.put(files[0], [[1, 2]])
    for threads in (0, pixfeed.MAX_THREADS + 1, 2**70):
        with pytest.raises(ValueError, match="threads"):
            cache.preload(files, threads=threads)
    with pytest.raises(ValueError, match="chunk_size"):
        cache.preload(files, chunk_size=0)
    with pytest.raises(ValueError, match="mode"):
        cache.preload(files, mode="nope")  # type: ignore[arg-type]
    for bad_ahead in (-1, 1.5, True):
        with pytest.raises(ValueError, match="read_ahead"):
            ImageCache(read_ahead=bad_ahead)  # type: ignore[arg-type]
    assert cache.stats()["misses"] == 0  # bad calls count nothing


def test_configuration_sets_budget_and_read_ahead(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """cache_mb and preload (docs/cli.md) reach the cache through a Config; explicit
    arguments win; without a Config nothing is read and the defaults hold."""
    assert (ImageCache().max_bytes, ImageCache().read_ahead) == (512 << 20, 0)
    cfg = pixfeed.Config(cache_mb=3, preload=True)
    cache = ImageCache(config=cfg)
    assert (cache.max_bytes, cache.read_ahead) == (3 << 20, pixfeed.cache.READ_AHEAD)
    explicit = ImageCache(1, read_ahead=2, config=cfg)
    assert (explicit.max_bytes, explicit.read_ahead) == (1 << 20, 2)
    assert ImageCache(config=pixfeed.Config(cache_mb=0)).max_bytes == 0
    monkeypatch.setenv("PIXFEED_CACHE_MB", "7")
    monkeypatch.setenv("PIXFEED_PRELOAD", "yes")
    from_env = ImageCache(config=pixfeed.load_config(cwd=files[0].parent))
    assert (from_env.max_bytes, from_env.read_ahead) == (7 << 20, pixfeed.cache.READ_AHEAD)


def test_read_ahead_preloads_the_next_files_of_the_folder(files: list[Path]) -> None:
    """A miss preloads the files after it (sorted by name), not those before it; the next
    gets are hits; without read-ahead nothing else is decoded."""
    plain = ImageCache()
    plain.get(files[1])
    assert plain.read_ahead_job is None and files[2] not in plain

    cache = ImageCache(read_ahead=3)
    assert np.array_equal(cache.get(files[1]), pixfeed.decode(files[1]))
    job = cache.read_ahead_job
    assert job is not None and job.wait(timeout=120)
    assert (job.total, job.loaded) == (3, 3)
    assert [p in cache for p in files] == [False, True, True, True, True, False]
    for p in files[2:5]:
        cache.get(p)
    s = cache.stats()
    assert (s["hits"], s["misses"], s["preloaded"]) == (3, 1, 3)
    # A miss on the last file has nothing after it; a newer miss replaces the job.
    cache.get(files[5])
    assert cache.read_ahead_job is None
    cache.get(files[0])
    later = cache.read_ahead_job
    assert later is not None and later.wait(timeout=120)
    assert later.already_cached == 3  # files 1..3 were kept
