"""`pixfeed info`: version, codecs and their libraries, SIMD level, threads."""

from __future__ import annotations

import argparse
import platform
from typing import Any

from pixfeed.cli._output import print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="version, codecs, SIMD level and threads")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def collect() -> dict[str, Any]:
    import pixfeed
    from pixfeed import _core

    build = _core.build_info()
    return {
        "version": pixfeed.__version__,
        "codecs": build["codecs"],
        "simd": build["simd"],
        "threads": pixfeed.get_num_threads(),
        "max_pixels": build["max_pixels"],
        "debug_build": build["debug_build"],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(args: argparse.Namespace) -> int:
    facts = collect()
    if args.json:
        print_json(facts)
        return 0
    print(f"pixfeed {facts['version']}{' (debug build)' if facts['debug_build'] else ''}")
    print(f"  python    {facts['python']} on {facts['platform']}")
    print(f"  simd      {facts['simd']}")
    print(f"  threads   {facts['threads']}")
    print(f"  max_pixels {facts['max_pixels']:,}")
    print("  codecs")
    for name, lib in facts["codecs"].items():
        print(f"    {name:<5} {lib}")
    return 0
