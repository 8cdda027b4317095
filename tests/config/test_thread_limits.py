"""Thread counts have a ceiling (`pixfeed.MAX_THREADS`) wherever they come from (an
argument, ``set_num_threads``, ``PIXFEED_NUM_THREADS``, a config file, ``--threads``); a
larger one is refused naming its source (never an OverflowError traceback), and no call
starts more threads than it has work."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
from pixfeed.config import ENV_VARS, load_config

HUGE = (pixfeed.MAX_THREADS + 1, 5000, 10**6, 2**64, 2**70)
LINUX = sys.platform.startswith("linux")


@pytest.fixture()
def files(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.png"
        p.write_bytes(pixfeed.encode(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), "png"))
        paths.append(str(p))
    return paths


def test_the_ceiling() -> None:
    assert pixfeed.MAX_THREADS == pixfeed.threads.MAX_THREADS == 1024
    for n in (0, *HUGE):
        with pytest.raises(ValueError, match=r"^n: "):
            pixfeed.set_num_threads(n)
    with pytest.raises(TypeError):
        pixfeed.set_num_threads(2.0)  # type: ignore[arg-type]


@pytest.mark.skipif(not LINUX, reason="counts threads through /proc")
def test_setting_and_reading_the_count_start_no_thread(tmp_path: Path) -> None:
    # In a fresh interpreter: other tests' background threads would make the count move.
    code = (
        "import os, pixfeed\n"
        "n = lambda: len(os.listdir('/proc/self/task'))\n"
        "before = n()\n"
        "pixfeed.set_num_threads(pixfeed.MAX_THREADS)\n"
        "assert pixfeed.get_num_threads() == pixfeed.MAX_THREADS\n"
        "print(n() - before)\n"
    )
    r = run_py(code, {}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"  # the pool is built on first use only


CALLS: dict[str, Callable[[list[str], Any], object]] = {
    "decode_batch": lambda f, t: pixfeed.decode_batch(f, threads=t),
    "load_images": lambda f, t: pixfeed.load_images(f, threads=t),
    "load_images(progress)": lambda f, t: pixfeed.load_images(f, threads=t, progress=True),
    "crop_paths": lambda f, t: pixfeed.crop_paths(f, 0, 0, 1.0, 8, threads=t),
    "Pipeline": lambda f, t: pixfeed.Pipeline(8)(f, seed=0, threads=t),
    "Loader": lambda f, t: pixfeed.Loader(f, threads=t),
    "ImageCache.preload": lambda f, t: pixfeed.ImageCache().preload(f, threads=t),
    "map_parallel": lambda f, t: pixfeed.map_parallel(len, f, threads=t),
    "scan": lambda f, t: pixfeed.scan(os.path.dirname(f[0]), threads=t),
    "resize": lambda f, t: pixfeed.resize(np.zeros((8, 8, 3), np.uint8), 4, threads=t),
    "resize(list)": lambda f, t: pixfeed.resize([np.zeros((8, 8), np.uint8)] * 2, 4, threads=t),
    "flip": lambda f, t: pixfeed.flip([np.zeros((8, 8), np.uint8)], threads=t),
    "box_iou": lambda f, t: pixfeed.box_iou(np.zeros((2, 4)), np.zeros((2, 4)), threads=t),
    "filter_images": lambda f, t: pixfeed.filter_images(f, "no-model.onnx", threads=t),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("threads", HUGE)
def test_every_threads_argument_has_the_ceiling(files: list[str], name: str, threads: int) -> None:
    with pytest.raises(ValueError, match=r"threads: at most 1024 threads, got \d+"):
        CALLS[name](files, threads)


@pytest.mark.skipif(not LINUX, reason="counts threads through /proc")
def test_a_batch_never_starts_more_threads_than_items(files: list[str], tmp_path: Path) -> None:
    code = (
        "import os, sys, pixfeed\n"
        "files = sys.argv[1:]\n"
        "n = lambda: len(os.listdir('/proc/self/task'))\n"
        "asked = min(pixfeed.get_num_threads() + 40, pixfeed.MAX_THREADS)\n"
        "before = n()\n"
        "assert len(pixfeed.decode_batch(files, threads=asked)) == len(files)\n"
        "a = n() - before\n"
        "before = n()\n"
        "pixfeed.crop_paths(files, 0, 0, 1.0, 64, threads=asked)\n"
        "print(a, n() - before)\n"
    )
    full = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    r = subprocess.run(
        [sys.executable, "-c", code, *files],
        capture_output=True,
        text=True,
        env=full,
        cwd=str(tmp_path),
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    started_decode, started_crop = map(int, r.stdout.split())
    assert started_decode <= len(files)
    assert started_crop <= len(files)


def run_py(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full,
        cwd=str(cwd),
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("value", ["100000", "99999999999999999999999", "0", "lots"])
def test_env_value_out_of_range_is_ignored_with_a_warning(tmp_path: Path, value: str) -> None:
    code = (
        "import os, pixfeed; pixfeed.decode_batch([pixfeed.encode(__import__('numpy').zeros("
        "(8, 8), 'uint8'))] * 8, threads=None); print(pixfeed.get_num_threads(), "
        "len(os.listdir('/proc/self/task')) if os.path.isdir('/proc/self/task') else 0)"
    )
    r = run_py(code, {"PIXFEED_NUM_THREADS": value, "XDG_CONFIG_HOME": str(tmp_path)}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "PIXFEED_NUM_THREADS" in r.stderr and "RuntimeWarning" in r.stderr
    n, threads = map(int, r.stdout.split())
    assert 1 <= n <= min(os.cpu_count() or 1, pixfeed.MAX_THREADS)
    assert threads <= n + 16  # the pool and the interpreter's own, not thousands


def test_env_and_config_file_values_are_errors_naming_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIXFEED_NUM_THREADS", "100000")
    with pytest.raises(ValueError, match=r"PIXFEED_NUM_THREADS.*threads: must be <= 1024"):
        load_config(cwd=tmp_path)
    monkeypatch.delenv("PIXFEED_NUM_THREADS")
    toml = tmp_path / "pixfeed.toml"
    for value in ("100000", str(2**70)):
        toml.write_text(f"threads = {value}\n")
        with pytest.raises(ValueError) as info:
            load_config(cwd=tmp_path)
        assert str(toml) in str(info.value) and "threads" in str(info.value)
    toml.unlink()
    with pytest.raises(ValueError, match="overrides: threads"):
        load_config({"threads": 5000}, cwd=tmp_path)


def cli(tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import os, sys\nfrom pixfeed.cli import main\ncode = main(sys.argv[1:])\n"
        "print('threads-started', len(os.listdir('/proc/self/task')) "
        "if os.path.isdir('/proc/self/task') else 0, file=sys.stderr)\nsys.exit(code)\n"
    )
    full = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    full.update(env, XDG_CONFIG_HOME=str(tmp / "xdg"))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=str(tmp),
        timeout=120,
        check=False,
    )


def started(r: subprocess.CompletedProcess[str]) -> int:
    return int(r.stderr.rsplit("threads-started", 1)[1].split()[0])


def test_cli_sources(tmp_path: Path, files: list[str]) -> None:
    # A config file asking for too many: every command exits 2 naming the file and key,
    # `info` included (after reporting it), and none starts more than a few threads.
    (tmp_path / "pixfeed.toml").write_text("threads = 100000\n")
    for args in (("info",), ("info", "--json"), ("scan", str(tmp_path))):
        r = cli(tmp_path, {}, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "threads" in r.stdout + r.stderr and "pixfeed.toml" in r.stdout + r.stderr
        assert "Traceback" not in r.stderr and started(r) < 32
    # The largest count allowed: still no thread is started by `info`.
    (tmp_path / "pixfeed.toml").write_text("threads = 1024\n")
    r = cli(tmp_path, {}, "info", "--json")
    assert r.returncode == 0, r.stderr
    assert '"threads": 1024' in r.stdout and started(r) < 32
    (tmp_path / "pixfeed.toml").unlink()
    # The environment, past 64 bits: exit 2, no OverflowError.
    r = cli(tmp_path, {"PIXFEED_NUM_THREADS": str(2**70)}, "scan", str(tmp_path))
    assert r.returncode == 2 and "PIXFEED_NUM_THREADS" in r.stderr
    assert "Traceback" not in r.stderr
    # --threads: a usage error (exit 2) naming the option.
    for command in (
        ("scan", str(tmp_path)),
        ("resize", files[0], "--size", "8", "--out", "o"),
        ("crop", files[0], "--csv", "x.csv", "--window", "8", "--out", "o.npy"),
        ("filter", str(tmp_path), "--model", "m.onnx"),
    ):
        for value in ("5000", str(2**70), "0"):
            r = cli(tmp_path, {}, *command, "--threads", value)
            assert r.returncode == 2, (command, value, r.stderr)
            assert "--threads" in r.stderr and "Traceback" not in r.stderr
