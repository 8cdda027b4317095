"""`pixfeed resize SRC... --size WxH --out DIR`: decode, resize, encode back in the same
format, in parallel native batches, with progress."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed.cli._files import format_of, unique_name
from pixfeed.cli._output import Progress, print_json, thread_count


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
    p = sub.add_parser("resize", help="resize image files into a folder (same formats)")
    p.add_argument("src", nargs="+", type=Path, help="image files")
    p.add_argument("--size", type=_size, required=True, help="WxH, or N for the shorter side")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--interpolation", default="bilinear")
    p.add_argument("--no-antialias", action="store_true", help="OpenCV-style (cv2.resize)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality")
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"])
    p.add_argument("--batch", type=int, default=64, help="files per native call")
    p.add_argument("--threads", type=thread_count, default=None)
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import pixfeed

    args.out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(args.src), "resize")
    taken: set[str] = set()
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
        ok = [(s, img) for s, img in zip(chunk, decoded, strict=True) if img is not None]
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
            for (src, _), img in zip(ok, resized, strict=True):
                dst = unique_name(args.out, src, taken)
                data = pixfeed.encode(np.asarray(img), format_of(dst), quality=args.quality)  # type: ignore[arg-type]
                dst.write_bytes(data)
                written += 1
        progress.update(len(chunk))
    progress.close()
    summary = {"written": written, "skipped": len(failed), "failed": failed, "out": str(args.out)}
    if args.json:
        print_json(summary)
    else:
        print(f"{written} images -> {args.out}")
        for src, why in failed.items():
            print(f"  skipped {src}: {why}", file=sys.stderr)
    return 0
