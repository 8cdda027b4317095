"""The `pixfeed` command (also `python -m pixfeed`): one module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    from pixfeed.cli import bench, cache, crop, demo, filter, info, resize, scan, shards

    parser = argparse.ArgumentParser(
        prog="pixfeed", description="Feed images to ML models as fast as the hardware allows."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info.add_parser(sub)
    demo.add_parser(sub)
    crop.add_parser(sub)
    resize.add_parser(sub)
    scan.add_parser(sub)
    filter.add_parser(sub)
    cache.add_parser(sub)
    shards.add_parser(sub)
    bench.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    # The configuration (files and PIXFEED_* env) sets the default thread count of every
    # command; `info` reports a broken configuration in full, then exits 2 too.
    from pixfeed.config import load_config

    try:
        load_config().apply()
    except ValueError as e:
        if args.command != "info":
            print(f"pixfeed: configuration: {e}", file=sys.stderr)
            return 2
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
