"""`pixfeed crop`: one window per file at (x, y, scale) from a CSV, into an .npy batch or a
folder of images.

Existing files are never replaced unless ``--overwrite`` is given (the rules of
:mod:`pixfeed._files`); a refused run writes nothing and exits 2."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pixfeed import _files
from pixfeed._files import format_of
from pixfeed.cli._output import Progress, add_write_arguments, print_summary, write_output


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "crop",
        help="crop-and-resize windows from image files (x, y, scale from a CSV)",
        description=(
            "CSV columns: x, y, scale (header row required), plus an optional 'path' column; "
            "without it, row i belongs to the i-th SRC. A folder --out gets one image per "
            "file under its name (a name taken by an earlier file gets -1, -2, ... and is "
            "reported). An existing file, or an input, is never replaced unless --overwrite is "
            "given; a refused run writes nothing (exit 2)."
        ),
    )
    p.add_argument("src", nargs="*", type=Path, help="image files (unless the CSV has 'path')")
    p.add_argument("--csv", type=Path, required=True, help="CSV with x, y, scale[, path]")
    p.add_argument("--window", type=int, required=True, help="output window size (pixels)")
    p.add_argument("--out", type=Path, required=True, help="an .npy file, or a directory")
    p.add_argument("--mode", default="RGB", choices=["RGB", "BGR", "RGBA", "L"])
    p.add_argument("--anchor", default="corner", choices=["corner", "center"])
    p.add_argument("--max-img-percent", type=float, default=1.0)
    p.add_argument("--interpolation", default="bilinear")
    add_write_arguments(p, batch=256, overwrite="existing output files")
    p.set_defaults(run=run)


def _read_csv(path: Path) -> tuple[list[float], list[float], list[float], list[str] | None]:
    # A path that is not UTF-8 comes back as its bytes on disk (surrogate escapes).
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"pixfeed crop: {path}: no rows")
    missing = {"x", "y", "scale"} - set(rows[0])
    if missing:
        raise SystemExit(f"pixfeed crop: {path}: missing column(s) {sorted(missing)}")
    try:
        xs = [float(r["x"]) for r in rows]
        ys = [float(r["y"]) for r in rows]
        ss = [float(r["scale"]) for r in rows]
    except ValueError as e:
        raise SystemExit(f"pixfeed crop: {path}: {e}") from None
    paths = [r["path"] for r in rows] if "path" in rows[0] else None
    return xs, ys, ss, paths


def run(args: argparse.Namespace) -> int:
    import pixfeed

    xs, ys, ss, csv_paths = _read_csv(args.csv)
    if csv_paths is not None:
        base = args.csv.parent
        sources = [Path(p) if Path(p).is_absolute() else base / p for p in csv_paths]
    else:
        sources = list(args.src)
    if len(sources) != len(xs):
        print(
            f"pixfeed crop: {len(sources)} files but {len(xs)} CSV rows; they must match",
            file=sys.stderr,
        )
        return 2
    to_npy = args.out.suffix.lower() == ".npy"
    if not to_npy and args.out.exists() and not args.out.is_dir():
        print(f"pixfeed crop: --out {args.out} is not a folder (nor an .npy file)", file=sys.stderr)
        return 2
    if to_npy:
        targets: list[Path] = []
        renamed: dict[str, str] = {}
        pairs: list[tuple[Path | None, Path]] = [(None, args.out)]
    else:
        targets, renamed = _files.plan_names(sources, args.out)
        pairs = list(zip(sources, targets, strict=True))
    problems = _files.conflicts(pairs, [*sources, args.csv], overwrite=args.overwrite)
    if problems:
        print(f"pixfeed crop: {_files.describe(problems)}", file=sys.stderr)
        return 2
    parts: list[np.ndarray] = []
    failed: dict[str, str] = {}
    progress = Progress(len(sources), "crop")
    if not to_npy:
        args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for b in range(0, len(sources), args.batch):
        chunk = sources[b : b + args.batch]
        try:
            res = pixfeed.crop_paths(
                [str(s) for s in chunk],
                xs[b : b + args.batch],
                ys[b : b + args.batch],
                ss[b : b + args.batch],
                args.window,
                max_img_percent=args.max_img_percent,
                anchor=args.anchor,
                interpolation=args.interpolation,
                mode=args.mode,
                threads=args.threads,
                on_error=args.on_error,
            )
        except (OSError, ValueError) as e:
            progress.close()
            print(f"pixfeed crop: {e}", file=sys.stderr)
            return 1
        for i, exc in res.errors.items():
            failed[str(chunk[i])] = str(exc)
        ok = [b + i for i in range(len(chunk)) if i not in res.errors]
        if to_npy:
            parts.append(np.asarray(res))
        else:
            for k, img in zip(ok, res, strict=True):
                dst = targets[k]
                data = pixfeed.encode(np.asarray(img), format_of(dst))  # type: ignore[arg-type]
                if not write_output("crop", dst, data, overwrite=args.overwrite, progress=progress):
                    return 1
        written += len(ok)
        progress.update(len(chunk))
    progress.close()
    if to_npy:
        batch = np.concatenate(parts) if parts else np.empty((0,), np.uint8)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.save(buf, batch)
        if not write_output("crop", args.out, buf.getvalue(), overwrite=args.overwrite):
            return 1
    headline = f"{written} windows of {args.window}x{args.window} -> {args.out}"
    print_summary(args, headline, written, failed, renamed, "file")
    return 0
