"""`pixfeed filter DIR --model M.onnx`: batched YOLO detection over a folder, keeping the
images whose detections satisfy a rule; exports JSON, TXT, CSV and an HTML report; a
persistent result cache makes re-runs infer only new or changed images.

Output: without --json to stdout, the matched paths are printed one per line (like
``grep -l``; with ``-0`` each ends in a NUL byte instead, like ``find -print0``) and a summary
goes to stderr. Exit status: 0 on success (bad images are reported, not fatal), 2 for usage
errors (an unusable --cache, outputs that would replace files included), 1 when the model (or
onnxruntime) is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pixfeed import _files
from pixfeed.cli._output import Progress, print_json, thread_count
from pixfeed.config import BACKENDS

T = TypeVar("T", int, float)

EPILOG = """\
examples:
  pixfeed filter photos/ --model yolo11n.onnx --classes person --count at_least:2 --txt people.txt
  pixfeed filter photos/ --model yolo11n.onnx --classes car,truck --report cars.html --json out.json
  pixfeed filter photos/ --model yolo11n.onnx --json            # JSON on stdout

results are cached (default: ~/.cache/pixfeed/filter.sqlite; see --cache) by file path, size,
mtime, ctime, inode, model hash, imgsz, conf, iou and max-det: a re-run infers only new or
changed images, and changing --classes or --count never re-infers. A damaged cache file is
moved aside (<name>.corrupt-<time>) with a warning and a fresh one started. A --cache that is a
folder or cannot be written is an error (exit 2); an unusable default cache only warns.

file names: a path may contain a newline; use -0 so that stdout and --txt end each path with a
NUL byte (xargs -0, sort -z). In the CSV, a text cell starting with = + - @ (a formula to a
spreadsheet) gets a leading '.

--labelme OUT / --yolo OUT write one label file per matched image (boxes of --classes within
--conf..--conf-max) under OUT, at the image's path relative to DIR (OUT may be DIR itself:
x.json beside x.jpg), under the same rules as --copy-to.

cache control: --cache-max-entries N (config cache_max_entries) prunes the least recently used
rows; --clear-cache empties the cache first; cache = false in the config turns it off;
`pixfeed cache info` / `pixfeed cache clear [--model M]` inspect and empty it.

--copy-to never replaces an existing file unless --overwrite is given (a refused copy writes
nothing, exit 2; an identical copy already there is left as it is), and a --copy-to folder
inside DIR is left out of the scan. The exports (--txt, --csv, --json, --report) replace the
file they name, but never an image of the run.
"""


def _bounded(convert: Callable[[str], T], low: T, high: T | None, what: str) -> Callable[[str], T]:
    """An argparse type: ``convert(text)`` in ``[low, high]`` (no top when None), else a
    usage error saying ``expected {what}``."""

    def parse(text: str) -> T:
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (low <= v and (high is None or v <= high)):  # NaN fails too
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


_unit = _bounded(float, 0.0, 1.0, "a number in [0, 1]")
_positive = _bounded(int, 1, None, "a positive integer")
_nonnegative = _bounded(int, 0, None, "an integer >= 0")


def _count(text: str) -> Any:
    from pixfeed.detect.types import CountRule

    try:
        return CountRule.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("count: ")) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "filter",
        help="keep the images in which a YOLO ONNX model detects given classes",
        description=(
            "Run a YOLOv5/YOLOv8/YOLO11 ONNX detector over the images of DIR (sorted; "
            "jpg, jpeg, png, bmp, webp, ...) and keep those whose detections of --classes satisfy "
            "--count. Matched paths go to stdout, one per line, unless --json prints JSON there."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="folder of images")
    p.add_argument("--model", type=Path, required=True, help="YOLO detector (.onnx)")
    p.add_argument(
        "--names", type=Path, help="class names file, one per line (default: the model's metadata)"
    )
    sel = p.add_argument_group("selection")
    sel.add_argument("--classes", help="comma-separated class names or ids (default: all)")
    sel.add_argument(
        "--count",
        type=_count,
        default="any",
        metavar="RULE",
        help="any | at_least:N | exactly:N | at_most:N (default: any)",
    )
    sel.add_argument("--conf", type=_unit, default=0.25, help="confidence threshold (0.25)")
    sel.add_argument(
        "--conf-max",
        type=_unit,
        default=None,
        help="count only detections scoring at most this (a confidence range with --conf); "
        "applied after the cache",
    )
    sel.add_argument("--iou", type=_unit, default=0.45, help="NMS IoU threshold (0.45)")
    sel.add_argument("--max-det", type=_positive, default=300, help="detections per image (300)")
    run_g = p.add_argument_group("running")
    run_g.add_argument("--recursive", "-r", action="store_true", help="include subfolders")
    run_g.add_argument(
        "--imgsz",
        type=_positive,
        default=None,
        help="input size for models with a dynamic input (default: metadata, else 640)",
    )
    run_g.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="images per inference batch (config batch_size, 8)",
    )
    run_g.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        help="thread budget: on the CPU, N streams each decode and infer their own batches "
        "(config threads; all cores)",
    )
    run_g.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default=None,
        help="ONNX Runtime execution provider (config backend; auto: CUDA, DirectML, "
        "OpenVINO, else CPU, the first installed; `pixfeed info` lists them)",
    )
    run_g.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="PATH",
        help="result cache file (default ~/.cache/pixfeed/filter.sqlite)",
    )
    run_g.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")
    run_g.add_argument(
        "--lenient",
        action="store_true",
        help="filter what the decoder recovers from corrupt images (default: they are errors)",
    )
    run_g.add_argument(
        "--cache-max-entries",
        type=_nonnegative,
        default=None,
        metavar="N",
        help="keep at most N cache rows, least recently used pruned (config "
        "cache_max_entries; 0: no limit)",
    )
    run_g.add_argument(
        "--clear-cache",
        action="store_true",
        help="empty the result cache file before the run (every model's rows)",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="JSON export (counts, settings, detections); no PATH or '-': stdout",
    )
    out.add_argument("--txt", type=Path, help="matched paths, one per line")
    out.add_argument("--csv", type=Path, help="one row per detection (and per image without)")
    out.add_argument("--report", type=Path, help="HTML report with thumbnails of the matches")
    out.add_argument(
        "--labelme",
        type=Path,
        metavar="DIR",
        help="one LabelMe JSON per matched image (rectangles of --classes, with scores)",
    )
    out.add_argument(
        "--labelme-embed",
        action="store_true",
        help="put the image's bytes (base64) in each LabelMe file's imageData",
    )
    out.add_argument(
        "--yolo",
        type=Path,
        metavar="DIR",
        help="YOLO txt labels per matched image (class cx cy w h, normalized) and classes.txt",
    )
    out.add_argument(
        "--copy-to",
        type=Path,
        metavar="DIR",
        help="copy the matched files there (subfolders kept; the folder is never scanned)",
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="--copy-to may replace existing files (atomically); never the sources",
    )
    out.add_argument(
        "--null",
        "-0",
        action="store_true",
        help="end each path on stdout and in --txt with a NUL byte instead of a newline",
    )
    p.set_defaults(run=run)


def _fail(code: int, message: str) -> int:
    print(f"pixfeed filter: {message}", file=sys.stderr)
    return code


def _label_files(result: Any, args: argparse.Namespace) -> list[tuple[Path, bytes]]:
    """The --labelme / --yolo files that differ from what is on disk (a re-run writes
    nothing new)."""
    from pixfeed.detect import labels as fl

    files: list[tuple[Path, bytes, str | None]] = []
    if args.labelme is not None:
        made = fl.labelme_files(result, args.labelme, root=args.dir, embed=args.labelme_embed)
        files += made
    if args.yolo is not None:
        files += fl.yolo_files(result, args.yolo, root=args.dir)
    return fl.pending(files)


def run(args: argparse.Namespace) -> int:
    from pixfeed.config import load_config
    from pixfeed.detect.cache import CacheError
    from pixfeed.detect.filter import filter_images
    from pixfeed.errors import ModelError

    if args.no_cache and args.cache is not None:
        return _fail(2, "--cache and --no-cache exclude each other")
    if not args.dir.is_dir():
        return _fail(2, f"not a directory: {args.dir}")
    if args.names is not None and not args.names.is_file():
        return _fail(2, f"--names: no such file: {args.names}")
    if not args.model.is_file():
        return _fail(1, f"model not found: {args.model}")
    if args.copy_to is not None and os.path.realpath(args.copy_to) == os.path.realpath(args.dir):
        return _fail(2, f"--copy-to {args.copy_to}: the copies would land on DIR's own files")
    try:
        config = load_config(
            {
                "threads": args.threads,
                "batch_size": args.batch_size,
                "backend": args.backend,
                "cache_max_entries": args.cache_max_entries,
            }
        )
    except ValueError as e:
        return _fail(2, f"configuration: {e}")
    if args.clear_cache and not args.no_cache:
        from pixfeed.detect.cache import clear_cache

        try:
            clear_cache(args.cache)
        except (OSError, ValueError) as e:
            return _fail(2, f"--clear-cache: {e}")

    json_stdout = args.json == "-"
    progress = Progress(0, "filter")

    def on_progress(done: int, total: int) -> None:
        progress.total = total
        progress.update(done - progress.done)

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = filter_images(
                args.dir,
                args.model,
                classes=args.classes,
                count=args.count,
                conf=args.conf,
                conf_max=args.conf_max,
                iou=args.iou,
                max_det=args.max_det,
                imgsz=args.imgsz,
                names=args.names,
                recursive=args.recursive,
                exclude=[args.copy_to] if args.copy_to is not None else [],
                cache=False if args.no_cache else (args.cache if args.cache is not None else True),
                on_progress=on_progress,
                config=config,
                strict=not args.lenient,
            )
    except CacheError as e:  # a folder, an unwritable file
        return _fail(2, f"--cache: {e} (give another file, or --no-cache)")
    except ModelError as e:
        return _fail(1, f"invalid model: {e}")
    except ImportError as e:
        return _fail(1, str(e))
    except (ValueError, TypeError) as e:  # --classes naming an unknown class, a bad names file
        return _fail(2, str(e))
    except OSError as e:  # an unreadable folder or an unusable --cache file
        return _fail(1, str(e))
    finally:
        progress.close()
        for w in caught:
            text = str(w.message).removeprefix("pixfeed filter: ")
            print(f"pixfeed filter: warning: {text}", file=sys.stderr)

    # No output may replace an image of the run; --copy-to replaces nothing unless asked.
    inputs = [Path(r.path) for r in result.images]
    exports = [p for p in (args.txt, args.csv, args.report) if p is not None]
    if args.json not in (None, "-"):
        exports.append(Path(args.json))
    problems = _files.conflicts([(None, p) for p in exports], inputs, overwrite=True)
    matched = result.matched_paths
    to_copy: list[tuple[str, Path]] = []
    if args.copy_to is not None:
        targets = _files.mirror_targets(matched, args.dir, args.copy_to)
        to_copy = [
            (s, d) for s, d in zip(matched, targets, strict=True) if not _files.same_content(s, d)
        ]
    problems += _files.conflicts(
        [(Path(s), d) for s, d in to_copy], inputs, overwrite=args.overwrite
    )
    try:
        labels = _label_files(result, args)
    except OSError as e:  # --labelme-embed: an image gone since the run
        return _fail(1, f"cannot read an image for --labelme-embed: {e}")
    problems += _files.conflicts([(None, d) for d, _ in labels], inputs, overwrite=args.overwrite)
    if problems:
        return _fail(2, _files.describe(problems))

    try:
        if args.json not in (None, "-"):
            result.write_json(args.json)
        if args.txt:
            result.write_txt(args.txt, null=args.null)
        if args.csv:
            result.write_csv(args.csv)
        if args.report:
            result.write_report(args.report)
        copied = _files.copy_files(to_copy, overwrite=args.overwrite)
        from pixfeed.detect.labels import write_files

        write_files(labels, overwrite=args.overwrite)
    except FileExistsError as e:
        return _fail(1, f"{e.filename} appeared during the run; not replaced")
    except OSError as e:
        return _fail(1, f"cannot write the output: {e}")

    c = result.counts
    if json_stdout:
        print_json(result.to_dict())
    else:
        # As bytes: a name that is not valid UTF-8 is printed as it is on disk.
        end = b"\0" if args.null else b"\n"
        sys.stdout.flush()
        for path in matched:
            sys.stdout.buffer.write(os.fsencode(path) + end)
        sys.stdout.buffer.flush()
        if not args.null and any("\n" in p or "\r" in p for p in matched):
            print(
                "pixfeed filter: warning: some matched paths contain a line break; "
                "use -0 for NUL-separated output",
                file=sys.stderr,
            )
    errors = f"{c['errors']} error" + ("" if c["errors"] == 1 else "s")
    summary = (
        f"{c['matched']} of {c['total']} images matched ({errors}; "
        f"{c['inferred']} inferred, {c['cached']} from the cache)"
    )
    if copied:
        summary += f"; {copied} copied to {args.copy_to}"
    print(summary, file=sys.stderr)
    for r in result.errors:
        print(f"  error: {r.path}: {r.error}", file=sys.stderr)
    return 0
