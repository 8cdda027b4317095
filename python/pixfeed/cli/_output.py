"""Shared output helpers: JSON printing, the library's progress counter (shown only when
stderr is a terminal unless asked), and the ``--threads`` argument type."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pixfeed._args import MAX_THREADS
from pixfeed._progress import Progress

__all__ = ["Progress", "print_json", "thread_count"]


def thread_count(text: str) -> int:
    """``--threads N``: an integer from 1 to `MAX_THREADS` (else a usage error, exit 2)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_THREADS}, got {text}")
    return n


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
