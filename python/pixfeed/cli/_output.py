"""Shared output helpers: JSON printing, the library's progress counter (shown only when
stderr is a terminal unless asked), the ``--threads`` argument type, and the file writes and
summaries of the commands that write images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pixfeed import _files
from pixfeed._args import MAX_THREADS
from pixfeed._progress import Progress

__all__ = [
    "Progress",
    "add_write_arguments",
    "print_json",
    "print_summary",
    "thread_count",
    "write_output",
]


def thread_count(text: str) -> int:
    """``--threads N``: an integer from 1 to `MAX_THREADS` (else a usage error, exit 2)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_THREADS}, got {text}")
    return n


def add_write_arguments(p: argparse.ArgumentParser, *, batch: int, overwrite: str) -> None:
    """The options of a command that writes images: ``--on-error``, ``--batch`` (files per
    native call, default ``batch``), ``--threads``, ``--json`` and ``--overwrite`` (which
    replaces ``overwrite``, the sources included)."""
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"])
    p.add_argument("--batch", type=int, default=batch, help="files per native call")
    p.add_argument("--threads", type=thread_count, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {overwrite}, the sources included (atomically)",
    )


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def write_output(
    command: str, dst: Path, data: bytes, *, overwrite: bool, progress: Progress | None = None
) -> bool:
    """Write one output file (`pixfeed._files.write_bytes`); False, after closing
    ``progress`` and saying so, when a file appeared there during the run."""
    try:
        _files.write_bytes(dst, data, overwrite=overwrite)
        return True
    except FileExistsError:
        if progress is not None:
            progress.close()
        print(f"pixfeed {command}: {dst} appeared during the run; not replaced", file=sys.stderr)
        return False


def print_summary(
    args: argparse.Namespace,
    headline: str,
    written: int,
    failed: dict[str, str],
    renamed: dict[str, str],
    earlier: str,
) -> None:
    """The summary of a command that wrote images to ``args.out``: JSON with ``--json``,
    else ``headline`` on stdout and the skipped and renamed sources on stderr (a renamed
    name "was taken by an earlier ``earlier``")."""
    renamed = {s: d for s, d in renamed.items() if s not in failed}
    summary = {
        "written": written,
        "skipped": len(failed),
        "failed": failed,
        "renamed": renamed,
        "out": str(args.out),
    }
    if args.json:
        print_json(summary)
        return
    print(headline)
    for name, why in failed.items():
        print(f"  skipped {name}: {why}", file=sys.stderr)
    for name, new in renamed.items():
        print(f"  {name} -> {new} (its name was taken by an earlier {earlier})", file=sys.stderr)
