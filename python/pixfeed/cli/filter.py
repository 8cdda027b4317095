"""`pixfeed filter DIR --model M.onnx`: batched YOLO detection over a folder, keeping the
images whose detections satisfy a rule (SPEC section 6); exports JSON, TXT, CSV and an HTML
report; a persistent result cache makes re-runs infer only new or changed images.

Output: without --json to stdout, the matched paths are printed one per line (like
``grep -l``) and a summary goes to stderr. Exit status: 0 on success (bad images are
reported, not fatal), 2 for usage errors, 1 when the model (or onnxruntime) is unusable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from pixfeed.cli._files import unique_name
from pixfeed.cli._output import Progress, print_json

EPILOG = """\
examples:
  pixfeed filter photos/ --model yolo11n.onnx --classes person --count at_least:2 --txt people.txt
  pixfeed filter photos/ --model yolo11n.onnx --classes car,truck --report cars.html --json out.json
  pixfeed filter photos/ --model yolo11n.onnx --json            # JSON on stdout

results are cached (default: ~/.cache/pixfeed/filter.sqlite; see --cache) by file path, size,
mtime, model hash, imgsz, conf, iou and max-det: a re-run infers only new or changed images, and
changing --classes or --count never re-infers.
"""


def _unit(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _count(text: str) -> Any:
    from pixfeed.filter import CountRule

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
        type=_positive,
        default=None,
        help="thread budget: on the CPU, N streams each decode and infer their own batches "
        "(config threads; all cores)",
    )
    run_g.add_argument(
        "--backend",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="execution provider (config backend, auto: CUDA when present)",
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
        "--copy-to", type=Path, metavar="DIR", help="copy the matched files there (subfolders kept)"
    )
    p.set_defaults(run=run)


def _fail(code: int, message: str) -> int:
    print(f"pixfeed filter: {message}", file=sys.stderr)
    return code


def _copy_matches(paths: list[str], root: Path, dest: Path) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for p in paths:
        rel = os.path.relpath(p, root)
        if rel.startswith(".."):
            target = unique_name(dest, Path(p), taken)
        else:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    return len(paths)


def run(args: argparse.Namespace) -> int:
    from pixfeed.config import load_config
    from pixfeed.errors import ModelError
    from pixfeed.filter import filter_images

    if args.no_cache and args.cache is not None:
        return _fail(2, "--cache and --no-cache exclude each other")
    if not args.dir.is_dir():
        return _fail(2, f"not a directory: {args.dir}")
    if args.names is not None and not args.names.is_file():
        return _fail(2, f"--names: no such file: {args.names}")
    if not args.model.is_file():
        return _fail(1, f"model not found: {args.model}")
    try:
        config = load_config(
            {"threads": args.threads, "batch_size": args.batch_size, "backend": args.backend}
        )
    except ValueError as e:
        return _fail(2, f"configuration: {e}")

    json_stdout = args.json == "-"
    progress = Progress(0, "filter")

    def on_progress(done: int, total: int) -> None:
        progress.total = total
        progress.update(done - progress.done)

    try:
        result = filter_images(
            args.dir,
            args.model,
            classes=args.classes,
            count=args.count,
            conf=args.conf,
            iou=args.iou,
            max_det=args.max_det,
            imgsz=args.imgsz,
            names=args.names,
            recursive=args.recursive,
            cache=False if args.no_cache else (args.cache if args.cache is not None else True),
            on_progress=on_progress,
            config=config,
            strict=not args.lenient,
        )
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

    try:
        if args.json not in (None, "-"):
            result.write_json(args.json)
        if args.txt:
            result.write_txt(args.txt)
        if args.csv:
            result.write_csv(args.csv)
        if args.report:
            result.write_report(args.report)
        copied = _copy_matches(result.matched_paths, args.dir, args.copy_to) if args.copy_to else 0
    except OSError as e:
        return _fail(1, f"cannot write the output: {e}")

    c = result.counts
    if json_stdout:
        print_json(result.to_dict())
    else:
        for path in result.matched_paths:
            print(path)
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
