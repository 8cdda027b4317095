"""`pixfeed bench`: points to the benchmark suites, which are not part of the installed
package. They live in ``benchmarks/`` of a source checkout and run as ``python -m
benchmarks`` from its root; the installed package never imports them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["MESSAGE", "add_parser", "run"]

MESSAGE = (
    "pixfeed bench: the benchmark suites are not part of the installed package; run "
    "`python -m benchmarks --suite SUITE` from the root of a pixfeed source checkout "
    "(see benchmarks/README.md there)"
)


def add_parser(sub: Any) -> None:
    """Register ``bench`` on the ``add_subparsers()`` object ``sub``; dispatch via ``args.run``."""
    p = sub.add_parser(
        "bench",
        help="how to run the benchmark suites (python -m benchmarks, in a source checkout)",
        description=MESSAGE,
        # Whatever follows (the suites' options included) is taken, not parsed: run() only
        # points to the suites.
        prefix_chars="\0",
        add_help=False,
    )
    p.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(MESSAGE, file=sys.stderr)
    return 2
