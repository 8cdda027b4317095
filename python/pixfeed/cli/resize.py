"""`pixfeed resize SRC... --size WxH --out DIR`: decode, resize, encode back in the same
format, in parallel native batches, with progress.

Existing files are never replaced unless ``--overwrite`` is given (see
:mod:`pixfeed._files` for the rules); a refused run writes nothing and exits 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed import _files
from pixfeed._files import format_of
from pixfeed.cli._output import Progress, add_write_arguments, print_summary, write_output


def _size(text: str) -> int | tuple[int, int]:
    """'WxH' or a single number (the shorter side, as torchvision's Resize(int))."""
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x", 1)
            return int(w), int(h)
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH or an int, got {text!r}") from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "resize",
        help="resize image files into a folder (same formats)",
        description=(
            "Each SRC is written to --out under its own file name (a name taken by an earlier "
            "SRC gets -1, -2, ... and is reported). An existing file there, or a SRC itself, is "
            "never replaced unless --overwrite is given; a refused run writes nothing (exit 2)."
        ),
    )
    p.add_argument("src", nargs="+", type=Path, help="image files")
    p.add_argument("--size", type=_size, required=True, help="WxH, or N for the shorter side")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--interpolation", default="bilinear")
    p.add_argument("--no-antialias", action="store_true", help="OpenCV-style (cv2.resize)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality")
    add_write_arguments(p, batch=64, overwrite="existing files in --out")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pixfeed

    if args.out.exists() and not args.out.is_dir():
        print(f"pixfeed resize: --out {args.out} is not a folder", file=sys.stderr)
        return 2
    targets, renamed = _files.plan_names(args.src, args.out)
    problems = _files.conflicts(
        zip(args.src, targets, strict=True), args.src, overwrite=args.overwrite
    )
    if problems:
        print(f"pixfeed resize: {_files.describe(problems)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(args.src), "resize")
    failed: dict[str, str] = {}
    written = 0
    for b in range(0, len(args.src), args.batch):
        chunk = args.src[b : b + args.batch]
        decoded = pixfeed.decode_batch(
            [str(s) for s in chunk], mode="unchanged", threads=args.threads, on_error="none"
        )
        for i, exc in decoded.errors.items():
            if args.on_error == "raise":
                progress.close()
                print(f"pixfeed resize: {exc}", file=sys.stderr)
                return 1
            failed[str(chunk[i])] = str(exc)
        ok = [(b + i, img) for i, img in enumerate(decoded) if img is not None]
        # 16-bit images are written as 8-bit (v >> 8), like every 8-bit mode of decode.
        arrays = [img if img.dtype == np.uint8 else (img >> 8).astype(np.uint8) for _, img in ok]
        if arrays:
            resized = pixfeed.resize(
                arrays,
                args.size,
                interpolation=args.interpolation,
                antialias=not args.no_antialias,
                threads=args.threads,
            )
            for (k, _), img in zip(ok, resized, strict=True):
                dst = targets[k]
                data = pixfeed.encode(np.asarray(img), format_of(dst), quality=args.quality)  # type: ignore[arg-type]
                if not write_output(
                    "resize", dst, data, overwrite=args.overwrite, progress=progress
                ):
                    return 1
                written += 1
        progress.update(len(chunk))
    progress.close()
    print_summary(args, f"{written} images -> {args.out}", written, failed, renamed, "source")
    return 0
