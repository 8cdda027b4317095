"""`decode_batch`, the thread settings and GIL release (docs/conventions.md, docs/decoding.md)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pixfeed
from conftest import ROOT, FixtureSet, diff_report

MIXED = [
    "jpeg_astronaut_420.jpg",
    "png_palette_trns.png",
    "bmp4_palette_topdown.bmp",
    "webp_lossless_alpha.webp",
    "jpeg_orient6.jpg",
    "png16_rgb.png",
    "jpeg_17x31_422_progressive.jpg",
    "webp_lossy.webp",
    "bmp8_rle8.bmp",
    "png_interlaced_gray1.png",
    "jpeg_cmyk_adobe.jpg",
    "png_1x1.png",
]


@pytest.fixture
def restore_threads():  # type: ignore[no-untyped-def]
    n = pixfeed.get_num_threads()
    yield
    pixfeed.set_num_threads(n)


@pytest.mark.parametrize("mode", ["RGB", "L", "unchanged"])
def test_order_and_equality_with_decode(fx: FixtureSet, mode: str) -> None:
    paths = [fx.path(n) for n in MIXED * 3]
    out = pixfeed.decode_batch(paths, mode=mode, threads=2)
    assert isinstance(out, list) and len(out) == len(paths)
    for p, a in zip(paths, out, strict=True):
        b = pixfeed.decode(p, mode=mode)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{p.name}: {diff_report(a, b)}"
        assert a.flags.c_contiguous and a.flags.writeable


def test_threads_do_not_change_results(fx: FixtureSet) -> None:
    srcs = [fx.data(n) for n in MIXED] + [fx.path(n) for n in MIXED]
    one = pixfeed.decode_batch(srcs, threads=1, reduce_to=(40, 40))
    two = pixfeed.decode_batch(srcs, threads=2, reduce_to=(40, 40))
    dflt = pixfeed.decode_batch(srcs, reduce_to=(40, 40))
    for a, b, c in zip(one, two, dflt, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_empty_batch() -> None:
    out = pixfeed.decode_batch([])
    assert list(out) == []


def test_sources_of_every_type(fx: FixtureSet) -> None:
    name = "png_palette_trns.png"
    data = fx.data(name)
    srcs = [fx.path(name), str(fx.path(name)), data, bytearray(data), memoryview(data)]
    out = pixfeed.decode_batch(srcs, mode="RGBA")
    for a in out:
        assert np.array_equal(a, out[0])


def test_options_apply_to_every_item(fx: FixtureSet) -> None:
    paths = [fx.path(n) for n in ("jpeg_orient6.jpg", "png_orient6.png", "webp_orient6.webp")]
    for kw in ({"apply_exif": False}, {"mode": "BGR"}, {"reduce_to": (30, 30)}):
        got = pixfeed.decode_batch(paths, **kw)
        for p, a in zip(paths, got, strict=True):
            assert np.array_equal(a, pixfeed.decode(p, **kw)), (p.name, kw)


def test_rois_per_image(fx: FixtureSet) -> None:
    paths = [fx.path(n) for n in ("jpeg_chelsea_420.jpg", "png_rgb.png", "bmp24_chelsea.bmp")]
    rois = [(5, 6, 30, 20), None, (100, 50, 1, 1)]
    got = pixfeed.decode_batch(paths, rois=rois)
    for p, r, a in zip(paths, rois, got, strict=True):
        assert np.array_equal(a, pixfeed.decode(p, roi=r))


def test_rois_broadcast(fx: FixtureSet) -> None:
    """docs/conventions.md: a box argument is one value (broadcast) or one per image."""
    paths = [fx.path(n) for n in ("jpeg_chelsea_420.jpg", "png_rgb.png", "bmp24_chelsea.bmp")]
    got = pixfeed.decode_batch(paths, rois=(3, 4, 10, 12))
    for p, a in zip(paths, got, strict=True):
        assert np.array_equal(a, pixfeed.decode(p, roi=(3, 4, 10, 12)))


def test_reduce_to_per_image(fx: FixtureSet) -> None:
    """docs/conventions.md: a size argument is one value (broadcast) or one per image."""
    paths = [fx.path(n) for n in ("jpeg_chelsea_420.jpg", "png_rgb.png", "bmp24_chelsea.bmp")]
    reqs = [(60, 60), (10, 10), (451, 300)]
    got = pixfeed.decode_batch(paths, reduce_to=reqs)
    for p, req, a in zip(paths, reqs, got, strict=True):
        assert np.array_equal(a, pixfeed.decode(p, reduce_to=req))


def test_reduce_to_broadcast(fx: FixtureSet) -> None:
    paths = [fx.path(n) for n in ("jpeg_chelsea_420.jpg", "png_rgb.png")]
    got = pixfeed.decode_batch(paths, reduce_to=(60, 60))
    for p, a in zip(paths, got, strict=True):
        assert np.array_equal(a, pixfeed.decode(p, reduce_to=(60, 60)))


def test_wrong_length_rois(fx: FixtureSet) -> None:
    paths = [fx.path("png_1x1.png")] * 3
    with pytest.raises(ValueError, match="rois"):
        pixfeed.decode_batch(paths, rois=[None, None])
    with pytest.raises(ValueError, match="rois"):
        pixfeed.decode_batch(paths, rois=[None] * 4)


def test_wrong_length_reduce_to(fx: FixtureSet) -> None:
    """Per-image sizes of the wrong length: ValueError, never silent truncation
    (docs/conventions.md)."""
    paths = [fx.path("png_1x1.png")] * 3
    with pytest.raises(ValueError, match="reduce_to"):
        pixfeed.decode_batch(paths, reduce_to=[(5, 5), (5, 5)])
    with pytest.raises(ValueError, match="reduce_to"):
        pixfeed.decode_batch(paths, reduce_to=[(5, 5)] * 4)


def test_roi_out_of_bounds_in_batch(fx: FixtureSet) -> None:
    paths = [fx.path("png_1x1.png"), fx.path("png_17x31.png")]
    with pytest.raises(ValueError, match="roi"):
        pixfeed.decode_batch(paths, rois=[None, (0, 0, 18, 31)])
    out = pixfeed.decode_batch(paths, rois=[None, (0, 0, 18, 31)], on_error="none")
    assert out[1] is None and isinstance(out.errors[1], ValueError) and "roi" in str(out.errors[1])


# ------------------------------------------------------------------------------------------
# on_error
# ------------------------------------------------------------------------------------------


@pytest.fixture
def mixed_sources(fx: FixtureSet, tmp_path: Path) -> tuple[list[object], dict[int, type]]:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(fx.data("jpeg_chelsea_420.jpg")[:3000])
    missing = tmp_path / "missing.png"
    srcs: list[object] = [
        fx.path("jpeg_astronaut_420.jpg"),  # 0 good
        missing,  # 1 missing
        fx.data("png_rgb.png"),  # 2 good
        corrupt,  # 3 corrupt
        fx.path("unsupported.gif"),  # 4 unsupported
        fx.path("webp_lossy.webp"),  # 5 good
        fx.data("bomb.jpg"),  # 6 too large
        tmp_path,  # 7 a directory
        fx.path("bmp1_pillow_bw.bmp"),  # 8 good
    ]
    bad = {
        1: FileNotFoundError,
        3: pixfeed.DecodeError,
        4: pixfeed.UnsupportedFormatError,
        6: pixfeed.ImageTooLargeError,
        7: IsADirectoryError,
    }
    return srcs, bad


@pytest.mark.parametrize("threads", [1, 2])
def test_on_error_raise_raises_first_failure(mixed_sources, threads: int) -> None:  # type: ignore[no-untyped-def]
    srcs, _bad = mixed_sources
    with pytest.raises(FileNotFoundError) as ei:
        pixfeed.decode_batch(srcs, threads=threads)
    assert str(srcs[1]) in str(ei.value)
    # without the missing file, the corrupt one (index 3) is first
    with pytest.raises(pixfeed.DecodeError) as ei2:
        pixfeed.decode_batch(srcs[:1] + srcs[2:], threads=threads)
    assert type(ei2.value) is pixfeed.DecodeError
    assert ei2.value.source == str(srcs[3])


@pytest.mark.parametrize("threads", [1, 2])
def test_on_error_skip(mixed_sources, threads: int) -> None:  # type: ignore[no-untyped-def]
    srcs, bad = mixed_sources
    out = pixfeed.decode_batch(srcs, on_error="skip", threads=threads)
    good = [i for i in range(len(srcs)) if i not in bad]
    assert isinstance(out, list) and len(out) == len(good)
    for i, a in zip(good, out, strict=True):
        assert np.array_equal(a, pixfeed.decode(srcs[i]))
    assert sorted(out.errors) == sorted(bad)
    for i, exc_type in bad.items():
        e = out.errors[i]
        assert isinstance(e, exc_type), (i, e)
        if isinstance(e, pixfeed.DecodeError):
            want = "<bytes>" if isinstance(srcs[i], bytes) else str(srcs[i])
            assert e.source == want, (i, e.source)
        else:
            assert str(srcs[i]) in str(e)


@pytest.mark.parametrize("threads", [1, 2])
def test_on_error_none(mixed_sources, threads: int) -> None:  # type: ignore[no-untyped-def]
    srcs, bad = mixed_sources
    out = pixfeed.decode_batch(srcs, on_error="none", threads=threads)
    assert len(out) == len(srcs)
    for i, a in enumerate(out):
        if i in bad:
            assert a is None
            assert isinstance(out.errors[i], bad[i])
        else:
            assert np.array_equal(a, pixfeed.decode(srcs[i]))
    assert sorted(out.errors) == sorted(bad)


def test_no_errors_attribute_is_empty(fx: FixtureSet) -> None:
    out = pixfeed.decode_batch([fx.path("png_1x1.png")], on_error="skip")
    assert out.errors == {}


def test_batch_max_pixels(fx: FixtureSet) -> None:
    srcs = [fx.path("png_17x31.png"), fx.path("png_rgb.png")]
    out = pixfeed.decode_batch(srcs, max_pixels=17 * 31, on_error="none")
    assert out[0] is not None and out[1] is None
    assert isinstance(out.errors[1], pixfeed.ImageTooLargeError)


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"on_error": "ignore"}, "on_error"),
        ({"on_error": None}, "on_error"),
        ({"threads": 0}, "threads"),
        ({"threads": -2}, "threads"),
        ({"threads": "2"}, "threads"),
        ({"threads": 1.5}, "threads"),
        ({"mode": "CMYK"}, "mode"),
        ({"reduce_to": (0, 1)}, "reduce_to"),
        ({"rois": [(0, 0, 0, 1)]}, "roi"),
    ],
)
def test_bad_batch_arguments(fx: FixtureSet, kwargs: dict, arg: str) -> None:
    with pytest.raises((ValueError, TypeError)) as ei:
        pixfeed.decode_batch([fx.path("png_1x1.png")], **kwargs)
    assert arg in str(ei.value)


@pytest.mark.parametrize(
    "sources",
    [
        "a.jpg",
        b"\xff\xd8\xff",
        42,
        [42],
    ],
)
def test_bad_sources_argument(sources: object) -> None:
    with pytest.raises(TypeError, match="source"):
        pixfeed.decode_batch(sources)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Thread count settings
# ------------------------------------------------------------------------------------------


def test_set_get_num_threads(restore_threads) -> None:  # type: ignore[no-untyped-def]
    for n in (1, 3, 2):
        pixfeed.set_num_threads(n)
        assert pixfeed.get_num_threads() == n


@pytest.mark.parametrize("bad", [0, -1, -(2**70), 2.0, "4", None, True])
def test_set_num_threads_rejects(restore_threads, bad: object) -> None:  # type: ignore[no-untyped-def]
    before = pixfeed.get_num_threads()
    with pytest.raises((ValueError, TypeError)) as ei:
        pixfeed.set_num_threads(bad)  # type: ignore[arg-type]
    assert not isinstance(ei.value, OverflowError)
    assert "n" in str(ei.value) or "thread" in str(ei.value).lower()
    assert pixfeed.get_num_threads() == before


def run_python(
    code: str, env_extra: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PIXFEED_NUM_THREADS", *drop)}
    env.update(env_extra or {})
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def test_default_threads_is_all_cores() -> None:
    out = run_python(
        "import os, pixfeed; "
        "print(pixfeed.get_num_threads(), os.cpu_count(), len(os.sched_getaffinity(0)))"
    )
    n, cpus, aff = (int(v) for v in out.split())
    assert n in (cpus, aff), out


def test_env_num_threads() -> None:
    code = (
        "import pixfeed; print(pixfeed.get_num_threads()); pixfeed.set_num_threads(2); "
        "print(pixfeed.get_num_threads())"
    )
    assert run_python(code, {"PIXFEED_NUM_THREADS": "3"}).split() == ["3", "2"]
    assert run_python(code, {"PIXFEED_NUM_THREADS": "1"}).split() == ["1", "2"]


def test_env_num_threads_garbage_does_not_crash() -> None:
    """An unusable PIXFEED_NUM_THREADS must not break importing or decoding (it may warn,
    raise a clear error on use, or fall back to all cores)."""
    code = (
        "import pixfeed\n"
        "try:\n    n = pixfeed.get_num_threads()\nexcept (ValueError, RuntimeError) as e:\n"
        "    print('error', 'PIXFEED_NUM_THREADS' in str(e))\nelse:\n    print('ok', n >= 1)\n"
    )
    for bad in ("abc", "0", "-3", ""):
        out = run_python(code, {"PIXFEED_NUM_THREADS": bad})
        assert out in ("ok True", "error True"), (bad, out)


# ------------------------------------------------------------------------------------------
# GIL release
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_png() -> bytes:
    import skimage.data

    tile = skimage.data.astronaut()
    img = np.tile(tile, (5, 5, 1))  # 2560 x 2560
    b = io.BytesIO()
    Image.fromarray(img).save(b, "PNG", compress_level=6)
    return b.getvalue()


def max_main_thread_gap(work) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Run ``work`` in a thread; return (its duration, the longest stall of this thread)."""
    done = threading.Event()
    t0 = [0.0, 0.0]
    failure: list[BaseException] = []

    def target() -> None:
        try:
            t0[0] = time.perf_counter()
            work()
            t0[1] = time.perf_counter()
        except BaseException as e:
            failure.append(e)
        finally:
            done.set()

    th = threading.Thread(target=target)
    th.start()
    last = time.perf_counter()
    gap = 0.0
    while not done.is_set():
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
    th.join()
    if failure:
        raise failure[0]
    return t0[1] - t0[0], gap


def test_decode_releases_the_gil(big_png: bytes) -> None:
    pixfeed.decode(big_png)  # warm up
    dur, gap = max_main_thread_gap(lambda: [pixfeed.decode(big_png) for _ in range(2)])
    assert dur > 0.05, "the test image decodes too fast to measure"
    assert gap < max(0.5 * dur, 0.03), (
        f"main thread stalled {gap * 1e3:.0f} ms of {dur * 1e3:.0f} ms"
    )


def test_decode_batch_releases_the_gil(big_png: bytes) -> None:
    dur, gap = max_main_thread_gap(lambda: pixfeed.decode_batch([big_png] * 3, threads=1))
    assert gap < max(0.5 * dur, 0.03), (
        f"main thread stalled {gap * 1e3:.0f} ms of {dur * 1e3:.0f} ms"
    )
