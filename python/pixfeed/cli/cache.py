"""`pixfeed cache info|clear`: inspect and empty `pixfeed filter`'s result cache.

``info`` prints the file, its size, its rows and per model (sha256) the rows and settings
combinations; ``clear`` deletes every row, or with ``--model M`` only those of one model
(M: an .onnx file, hashed, or its sha256 / a prefix of 8+ hex digits). Exit status 2 for a
cache file that cannot be used or a bad --model.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pixfeed.cli._output import print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "cache",
        help="inspect or clear pixfeed filter's result cache",
        description="Inspect or clear the result cache of `pixfeed filter` (default file: "
        "$PIXFEED_CACHE_DIR, $XDG_CACHE_HOME/pixfeed or ~/.cache/pixfeed, filter.sqlite).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="file, size, rows and models")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    clear = actions.add_parser("clear", help="delete every row, or one model's rows")
    clear.add_argument(
        "--model", metavar="M", help="only this model's rows: an .onnx file or its sha256"
    )
    for a in (info, clear):
        a.add_argument("--cache", type=Path, metavar="PATH", help="the cache file")
    p.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"pixfeed cache: {message}", file=sys.stderr)
    return 2


def _model_sha(text: str) -> str:
    if os.path.isfile(text):
        import hashlib

        h = hashlib.sha256()
        with open(text, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    return text


def run(args: argparse.Namespace) -> int:
    from pixfeed.detect.cache import cache_info, clear_cache

    try:
        if args.action == "info":
            info = cache_info(args.cache)
            if args.json:
                print_json(info)
                return 0
            state = "" if info["exists"] else " (none yet)"
            print(f"file   {info['file']}{state}")
            print(f"size   {info['bytes']:,} bytes")
            print(f"rows   {info['rows']:,}")
            print(f"models {len(info['models'])}")
            for m in info["models"]:
                print(f"  {m['sha256']}  {m['rows']:,} rows, {m['settings']} settings")
            return 0
        model = _model_sha(args.model) if args.model is not None else None
        n = clear_cache(args.cache, model=model)
        which = "" if model is None else f" of model {model[:16]}"
        print(f"deleted {n:,} rows{which}", file=sys.stderr)
        return 0
    except (OSError, ValueError) as e:
        return _fail(str(e))
