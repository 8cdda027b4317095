"""`pixfeed scan`: list the image files under a folder, sorted (one per line, or JSON)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pixfeed.cli._output import print_json, thread_count


def add_parser(sub: Any) -> None:
    from pixfeed.scan import IMAGES

    p = sub.add_parser(
        "scan",
        help="list the image files under a folder, sorted",
        description=(
            "Print the files under ROOT whose extension matches (case-insensitive), sorted, "
            "one per line. Symlinks to files are listed; symlinked folders are entered only "
            "with --follow-symlinks (cycles are cut). A folder below ROOT that cannot be "
            "read is an error unless --on-error skip (then it is reported on stderr)."
        ),
    )
    p.add_argument("root", help="the folder to scan")
    p.add_argument(
        "--ext",
        default=",".join(e.lstrip(".") for e in IMAGES),
        help="comma-separated extensions, with or without the dot (default: %(default)s)",
    )
    p.add_argument("--all", action="store_true", help="list every file, whatever its extension")
    p.add_argument("--no-recursive", action="store_true", help="ROOT itself only")
    p.add_argument("--follow-symlinks", action="store_true", help="enter symlinked folders")
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"])
    p.add_argument("--threads", type=thread_count, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pixfeed

    extensions = None if args.all else [e.strip() for e in args.ext.split(",") if e.strip()]
    try:
        found = pixfeed.scan(
            args.root,
            extensions=extensions,
            recursive=not args.no_recursive,
            follow_symlinks=args.follow_symlinks,
            on_error=args.on_error,
            threads=args.threads,
        )
    except (OSError, ValueError, TypeError) as e:
        print(f"pixfeed scan: {e}", file=sys.stderr)
        return 1
    skipped = {folder: str(exc) for folder, exc in found.errors.items()}
    if args.json:
        print_json(
            {
                "root": args.root,
                "extensions": extensions,
                "recursive": not args.no_recursive,
                "follow_symlinks": args.follow_symlinks,
                "count": len(found),
                "paths": list(found),
                "skipped_folders": skipped,
            }
        )
        return 0
    # Bytes, so that names that are not UTF-8 come out as they are on disk.
    out = sys.stdout.buffer
    out.write(b"".join(os.fsencode(p) + b"\n" for p in found))
    out.flush()
    for folder, why in skipped.items():
        print(f"pixfeed scan: skipped {folder}: {why}", file=sys.stderr)
    return 0
