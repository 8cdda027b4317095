"""The ``io_threads`` configuration key (``PIXFEED_IO_THREADS``): parsed and capped as
``threads`` is, a bad value is an error naming its source and the key, and the count reaches
the native decoder of `ImageCache` preloads and read-ahead with the images unchanged.

The native call is watched through a spy that records the thread count and then runs it:
the count a native pool runs with leaves no other trace a test can read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
from pixfeed import _core
from pixfeed.config import ENV_VARS, Config, load_config

PAST_NS = 1_600_000_000 * 10**9  # far from the racy window of "now": kept at once


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PIXFEED_* settings and no user or project config file: returns a project dir."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def native_threads(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The thread count of every native ``decode_batch`` call from now on."""
    seen: list[int | None] = []
    real = _core.decode_batch

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(args[5])  # (sources, mode, apply_exif, reduce_to, rois, threads, ...)
        return real(*args, **kw)

    monkeypatch.setattr(_core, "decode_batch", spy)
    return seen


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(6):
        p = tmp_path / "pics" / f"{i}.png"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(pixfeed.encode(rng.integers(0, 256, (40 + i, 30, 3), dtype=np.uint8)))
        os.utime(p, ns=(PAST_NS + i, PAST_NS + i))
        out.append(p)
    return out


GOOD = ["1", " 2 ", "1024", "auto", "AUTO"]
BAD = ["x", "0", "-1", "1025", str(2**70), "1.5", "true"]


@pytest.mark.parametrize("text", GOOD + BAD)
def test_env_is_parsed_and_capped_as_threads_is(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    def outcome(key: str) -> tuple[str, object]:
        var = ENV_VARS[key]
        monkeypatch.setenv(var, text)
        try:
            cfg = load_config(cwd=clean_env)
        except ValueError as e:
            return "error", str(e).replace(var, "VAR").replace(key, "KEY")
        finally:
            monkeypatch.delenv(var)
        assert cfg.sources[key] == f"env {var}"
        return "value", getattr(cfg, key)

    got = outcome("io_threads")
    assert got == outcome("threads")
    if text in BAD:
        assert got[0] == "error"
        assert str(got[1]).startswith("environment variable VAR: KEY:"), got
    else:
        assert got == ("value", None if text.strip().lower() == "auto" else int(text))


@pytest.mark.parametrize("value", ["0", "-1", "100000", str(2**70), '"x"', "true", "1.5"])
def test_bad_file_and_override_values_name_the_key(clean_env: Path, value: str) -> None:
    toml = clean_env / "pixfeed.toml"
    toml.write_text(f"io_threads = {value}\n")
    with pytest.raises(ValueError, match=r"io_threads") as info:
        load_config(cwd=clean_env)
    assert str(info.value).startswith(f"{toml}: io_threads:")
    toml.unlink()
    with pytest.raises(ValueError, match=r"^overrides: io_threads: must be <= 1024, got 5000$"):
        load_config({"io_threads": 5000}, cwd=clean_env)
    with pytest.raises(ValueError, match=r"^io_threads: must be >= 1, got 0$"):
        Config(io_threads=0)


def test_env_value_reaches_the_native_decoder_with_the_same_images(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    native_threads: list[int | None],
    pictures: list[Path],
) -> None:
    reference = [pixfeed.decode(p) for p in pictures]
    native_threads.clear()
    for text, expected in (("1", 1), ("2", 2), ("", None)):  # "": unset, the library default
        monkeypatch.setenv("PIXFEED_IO_THREADS", text)
        cache = pixfeed.ImageCache(config=load_config(cwd=clean_env))
        job = cache.preload(pictures, chunk_size=4)
        assert job.wait(60) and job.loaded == len(pictures) and not job.errors
        assert native_threads == [expected, expected]  # two chunks
        native_threads.clear()
        for p, ref in zip(pictures, reference, strict=True):
            np.testing.assert_array_equal(cache.get(p), ref)
        assert cache.stats()["hits"] == len(pictures)
        assert native_threads == []  # every get served from memory
    # An explicit threads= wins over the key.
    monkeypatch.setenv("PIXFEED_IO_THREADS", "2")
    cache = pixfeed.ImageCache(config=load_config(cwd=clean_env))
    assert cache.preload(pictures, threads=1).wait(60)
    assert native_threads == [1]


def test_read_ahead_decodes_on_io_threads(
    native_threads: list[int | None], pictures: list[Path]
) -> None:
    cache = pixfeed.ImageCache(config=Config(preload=True, preload_count=3, io_threads=2))
    np.testing.assert_array_equal(cache.get(pictures[0]), pixfeed.decode(pictures[0]))
    job = cache.read_ahead_job
    assert job is not None and job.wait(60) and job.loaded == 3
    assert native_threads == [2, 2, 2]  # the read-ahead decodes one file per chunk
