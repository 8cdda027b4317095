"""`pixfeed scan`: list the image files under a folder, sorted (one per line, or JSON);
with ``--verify``, decode them all and report the broken ones (text, JSON or CSV)."""

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
            "read is an error unless --on-error skip (then it is reported on stderr). "
            "--verify decodes every file in parallel (with a progress line on a terminal) "
            "and prints the broken ones instead (path, format, reason); the exit status is "
            "then 1 when any file is broken."
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
    p.add_argument(
        "--verify", action="store_true", help="decode every file; report the broken ones"
    )
    p.add_argument("--csv", action="store_true", help="with --verify: the broken files as CSV")
    p.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="with --verify: a progress line on stderr (auto: when it is a terminal)",
    )
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
    if args.verify:
        return _verify(args, list(found), skipped)
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


def _verify(args: argparse.Namespace, paths: list[str], skipped: dict[str, str]) -> int:
    import csv

    from pixfeed.scan import verify

    progress = {"auto": None, "on": True, "off": False}[args.progress]
    broken = verify(paths, threads=args.threads, progress=progress)
    if args.json:
        print_json(
            {
                "root": args.root,
                "checked": len(paths),
                "broken_count": len(broken),
                "broken": [{"path": p, "format": f, "reason": r} for p, f, r in broken],
                "skipped_folders": skipped,
            }
        )
    elif args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["path", "format", "reason"])
        w.writerows(broken)
    else:
        # Bytes, so that names that are not UTF-8 come out as they are on disk.
        out = sys.stdout.buffer
        out.write(
            b"".join(
                b"\t".join([os.fsencode(p), f.encode(), r.encode("utf-8", "surrogateescape")])
                + b"\n"
                for p, f, r in broken
            )
        )
        out.flush()
        print(f"pixfeed scan: {len(broken)} of {len(paths)} files broken", file=sys.stderr)
    for folder, why in skipped.items():
        print(f"pixfeed scan: skipped {folder}: {why}", file=sys.stderr)
    return 1 if broken else 0
