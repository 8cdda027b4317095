"""`load_images` and `map_parallel` (docs/toolkit.md): order, error policies, progress,
threads, bad arguments."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import pixfeed


def image(seed: int, w: int = 24, h: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    out = []
    for i in range(30):
        fmt = ("png", "bmp", "jpeg")[i % 3]
        p = tmp_path / f"img{i:02d}.{fmt}"
        p.write_bytes(pixfeed.encode(image(i, 20 + i, 10 + i), fmt))  # type: ignore[arg-type]
        out.append(p)
    return out


def test_load_images_in_input_order(
    sources: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    shuffled = sources[::-1] + sources[:5]
    got = pixfeed.load_images(shuffled, threads=2)
    assert isinstance(got, pixfeed.DecodedBatch)
    assert len(got) == len(shuffled) and got.errors == {}
    for p, a in zip(shuffled, got, strict=True):
        assert np.array_equal(a, pixfeed.decode(p))
    assert capsys.readouterr().err == ""  # progress is off by default


def test_load_images_modes_and_bytes(sources: list[Path]) -> None:
    blobs = [p.read_bytes() for p in sources[:4]]
    got = pixfeed.load_images(blobs, mode="L")
    for b, a in zip(blobs, got, strict=True):
        assert a.ndim == 2 and np.array_equal(a, pixfeed.decode(b, mode="L"))


@pytest.mark.parametrize("progress", [False, True])
def test_load_images_error_policies(
    sources: list[Path], tmp_path: Path, progress: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    missing = tmp_path / "missing.png"
    # threads=1 with progress: chunks of 8, so the two failures fall in different chunks.
    batch = [*sources[:3], missing, *sources[3:20], corrupt, *sources[20:]]
    with pytest.raises(FileNotFoundError) as e:
        pixfeed.load_images(batch, threads=1, progress=progress)
    assert e.value.filename == str(missing)  # the first failure in input order

    skipped = pixfeed.load_images(batch, threads=1, progress=progress, on_error="skip")
    assert len(skipped) == len(sources) and skipped.skipped == 2
    assert set(skipped.errors) == {3, 21}
    assert isinstance(skipped.errors[21], pixfeed.DecodeError)
    assert skipped.errors[21].source == str(corrupt)
    for p, a in zip(sources, skipped, strict=True):
        assert np.array_equal(a, pixfeed.decode(p))

    nones = pixfeed.load_images(batch, threads=1, progress=progress, on_error="none")
    assert len(nones) == len(batch)
    assert nones[3] is None and nones[21] is None
    assert sum(a is None for a in nones) == 2
    err = capsys.readouterr().err
    assert ("load_images" in err) == progress


def test_load_images_progress_none_means_only_on_a_tty(
    sources: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pixfeed.load_images(sources, progress=None)  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_load_images_bad_arguments(sources: list[Path]) -> None:
    with pytest.raises(TypeError, match="sources"):
        pixfeed.load_images(str(sources[0]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sources"):
        pixfeed.load_images(iter(sources))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_error"):
        pixfeed.load_images(sources, on_error="substitute")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads"):
        pixfeed.load_images(sources, threads=0)
    with pytest.raises(TypeError, match="threads"):
        pixfeed.load_images(sources, threads=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="progress"):
        pixfeed.load_images(sources, progress="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        pixfeed.load_images(sources, mode="XYZ")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"sources\[1\]"):
        pixfeed.load_images([sources[0], 5])  # type: ignore[list-item]
    assert pixfeed.load_images([]) == []


# -- map_parallel ----------------------------------------------------------------------------


def test_map_parallel_keeps_order() -> None:
    got = pixfeed.map_parallel(lambda x: x * x, range(500), threads=4)
    assert isinstance(got, pixfeed.MapResult)
    assert list(got) == [x * x for x in range(500)]
    assert got.ok and got.errors == {} and got.failures == []
    got.raise_first()  # nothing to raise


def test_map_parallel_reports_errors_without_stopping() -> None:
    done: list[int] = []

    def fn(x: int) -> int:
        done.append(x)
        if x % 7 == 3:
            raise ValueError(f"bad item {x}")
        return -x

    got = pixfeed.map_parallel(fn, list(range(50)), threads=3)
    assert sorted(done) == list(range(50))  # every item ran
    failed = [x for x in range(50) if x % 7 == 3]
    assert [i for i, _ in got.failures] == failed
    assert all(isinstance(e, ValueError) and str(e) == f"bad item {i}" for i, e in got.failures)
    assert [got[i] for i in failed] == [None] * len(failed)
    assert [got[i] for i in range(50) if i not in failed] == [
        -x for x in range(50) if x not in failed
    ]
    assert not got.ok
    with pytest.raises(ValueError, match="bad item 3") as e:
        got.raise_first()
    assert e.value.__traceback__ is not None


def test_map_parallel_runs_on_that_many_threads() -> None:
    """Four items that each wait for all four to have started: only possible on 4 threads
    at once (a smaller pool fails with BrokenBarrierError after the timeout)."""
    barrier = threading.Barrier(4, timeout=30)
    idents: set[int] = set()

    def fn(x: int) -> int:
        idents.add(threading.get_ident())
        barrier.wait()
        return x

    got = pixfeed.map_parallel(fn, range(4), threads=4)
    assert got.ok, got.failures
    assert len(idents) == 4


def test_map_parallel_one_thread_runs_inline() -> None:
    idents = pixfeed.map_parallel(lambda _: threading.get_ident(), range(20), threads=1)
    assert set(idents) == {threading.get_ident()}


def test_map_parallel_nested_calls_do_not_deadlock() -> None:
    def outer(x: int) -> int:
        inner = pixfeed.map_parallel(lambda y: x * y, range(10), threads=2)
        inner.raise_first()
        return sum(v for v in inner if v is not None)

    got = pixfeed.map_parallel(outer, range(12), threads=2)
    assert list(got) == [x * 45 for x in range(12)]


def test_map_parallel_with_native_work(tmp_path: Path) -> None:
    """The common case: fn calls pixfeed (GIL released) on each item."""
    paths = []
    for i in range(8):
        p = tmp_path / f"{i}.png"
        p.write_bytes(pixfeed.encode(image(i), "png"))
        paths.append(p)
    got = pixfeed.map_parallel(lambda p: pixfeed.decode(p).mean(), paths, threads=2)
    assert list(got) == [pixfeed.decode(p).mean() for p in paths]


def test_map_parallel_keyboard_interrupt_stops_and_propagates() -> None:
    started: list[int] = []

    def fn(x: int) -> int:
        started.append(x)
        if x == 5:
            raise KeyboardInterrupt
        time.sleep(0.001)
        return x

    with pytest.raises(KeyboardInterrupt):
        pixfeed.map_parallel(fn, range(10_000), threads=2)
    assert len(started) < 10_000  # the remaining items were not started


def test_map_parallel_progress(capsys: pytest.CaptureFixture[str]) -> None:
    pixfeed.map_parallel(str, range(10), threads=2)
    assert capsys.readouterr().err == ""
    pixfeed.map_parallel(str, range(10), threads=2, progress=True)
    err = capsys.readouterr().err
    assert "map_parallel" in err and "10/10" in err


def test_map_parallel_accepts_any_iterable() -> None:
    assert list(pixfeed.map_parallel(abs, (x for x in (-1, -2, 3)))) == [1, 2, 3]
    assert list(pixfeed.map_parallel(abs, [])) == []


def test_map_parallel_bad_arguments() -> None:
    with pytest.raises(TypeError, match="fn"):
        pixfeed.map_parallel(5, [1])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="items"):
        pixfeed.map_parallel(abs, 5)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="threads"):
        pixfeed.map_parallel(abs, [1], threads=0)
    with pytest.raises(ValueError, match="threads"):
        pixfeed.map_parallel(abs, [1], threads=-3)
    with pytest.raises(TypeError, match="threads"):
        pixfeed.map_parallel(abs, [1], threads="4")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="progress"):
        pixfeed.map_parallel(abs, [1], progress=1)  # type: ignore[arg-type]
