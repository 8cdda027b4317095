"""The command line: `pixfeed info` and `pixfeed demo` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pixfeed", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


def test_info_json_lists_codecs_and_threads() -> None:
    r = run_cli("info", "--json", env_extra={"PIXFEED_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert set(facts["codecs"]) == {"jpeg", "png", "bmp", "webp"}
    assert facts["codecs"]["jpeg"].startswith("libjpeg-turbo 3.")
    assert facts["threads"] == 1
    assert facts["simd"]


def test_info_text() -> None:
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    assert "pixfeed" in r.stdout and "codecs" in r.stdout


def test_no_command_prints_help() -> None:
    r = run_cli()
    assert r.returncode == 2
    assert "info" in r.stdout


def test_demo_json_runs_on_a_small_sample(tmp_path: Path) -> None:
    args = ("--count", "24", "--batch-size", "8", "--epochs", "1", "--dir", str(tmp_path))
    r = run_cli("demo", "--json", *args)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    rates = report["images_per_second"]
    assert "pixfeed Loader" in rates and len(rates) == 2
    assert all(v > 0 for v in rates.values())
    assert report["loader_stats"]["images"] == 24 * 2  # warm-up epoch + one timed epoch
    assert report["loader_stats_epochs"] == 2
    stats = report["loader_stats"]
    assert stats["images_per_second"] == stats["images"] / stats["iterating_seconds"]
    assert len(list(tmp_path.glob("*.jpg"))) == 24
    # No progress bar on a non-TTY.
    assert "\r" not in r.stderr


def test_import_does_not_pull_torch_or_ray() -> None:
    code = "import sys, pixfeed; print('torch' in sys.modules, 'ray' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["False", "False"]


def test_bench_points_to_the_checkout_and_imports_no_benchmarks(tmp_path: Path) -> None:
    # Run outside the checkout: nothing may find (or import) its benchmarks/ directory.
    code = (
        "import sys\n"
        "from pixfeed.cli import main\n"
        "code = main(['bench', '--suite', 'ops', '--quick'])\n"
        "print(code, 'benchmarks' in sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert r.stdout.split() == ["2", "False"]
    assert "python -m benchmarks" in r.stderr
