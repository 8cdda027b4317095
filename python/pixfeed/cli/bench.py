"""`pixfeed bench`: the side-by-side benchmark suites against the installed peers.

The suites live in the ``benchmarks/`` directory of a source checkout (they are not part of
the installed package): this command finds that directory next to the package (in-tree
``maturin develop`` builds), in ``PIXFEED_BENCH_ROOT``, or in the current directory.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "find_benchmarks_root", "run"]

SUITES = ("decode", "loader", "crop", "io", "filter", "ops", "ray", "shards")


def add_parser(sub: Any) -> None:
    """Register ``bench`` on the ``add_subparsers()`` object ``sub``; dispatch via ``args.run``."""
    p = sub.add_parser(
        "bench",
        help="side-by-side benchmarks against the installed peers (JSON, Markdown, HTML)",
        description="Run a side-by-side benchmark suite (pixfeed vs Pillow, OpenCV, "
        "simplejpeg, PyTurboJPEG, pyvips, ... as installed) and write JSON, Markdown and an "
        "HTML report with plots. Without --json/--markdown/--html the reports go to "
        "benchmarks/out/bench-SUITE[-quick].{json,md,html}.",
    )
    p.add_argument("--suite", default="decode", choices=SUITES, help="suite to run")
    p.add_argument("--quick", action="store_true", help="fewer images and repetitions")
    p.add_argument("--repeat", type=int, default=None, metavar="N", help="timed repetitions")
    p.add_argument("--only", default=None, metavar="NAMES", help="comma-separated workloads")
    p.add_argument("--json", default=None, metavar="PATH", help="JSON results ('-': stdout)")
    p.add_argument("--markdown", default=None, metavar="PATH", help="Markdown report")
    p.add_argument("--html", default=None, metavar="PATH", help="HTML report with plots")
    p.add_argument("--list", action="store_true", help="list workloads and peers, then exit")
    p.set_defaults(run=run)


def _is_root(path: Path) -> bool:
    return (path / "benchmarks" / "run.py").is_file() and (
        path / "benchmarks" / "harness.py"
    ).is_file()


def find_benchmarks_root() -> Path | None:
    """The source checkout holding ``benchmarks/``, or None."""
    candidates: list[Path] = []
    env = os.environ.get("PIXFEED_BENCH_ROOT")
    if env:
        candidates.append(Path(env))
    # python/pixfeed/cli/bench.py -> the checkout root three levels above the package.
    candidates.append(Path(__file__).resolve().parents[3])
    candidates.append(Path.cwd())
    for c in candidates:
        if _is_root(c):
            return c.resolve()
    return None


def run(args: argparse.Namespace) -> int:
    root = find_benchmarks_root()
    if root is None:
        print(
            "pixfeed bench: the benchmarks/ directory was not found. The suites are part of "
            "pixfeed's source checkout, not of the installed package: run `python -m pixfeed "
            "bench` inside a checkout (after `make build`), or point PIXFEED_BENCH_ROOT at one.",
            file=sys.stderr,
        )
        return 2
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("benchmarks.run")
    except ImportError as e:
        print(f"pixfeed bench: cannot import benchmarks from {root}: {e}", file=sys.stderr)
        return 2
    loaded = Path(getattr(module, "__file__", "") or "").resolve()
    if root not in loaded.parents:
        print(
            f"pixfeed bench: 'benchmarks' resolved to {loaded}, not to {root}/benchmarks "
            "(another package of that name shadows it)",
            file=sys.stderr,
        )
        return 2
    runner: Callable[[argparse.Namespace], int] = module.run
    return runner(args)
