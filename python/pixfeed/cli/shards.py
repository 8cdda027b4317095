"""`pixfeed shards`: write an ImageFolder tree (one folder per class) as tar shards in the
WebDataset layout, classes as ``.cls`` members (docs/shards.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pixfeed.cli._output import print_json
from pixfeed.cli.filter import _positive


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "shards",
        help="write a class-per-folder tree as tar shards (WebDataset layout)",
        description=(
            "Write the images under SRC_DIR (one sub-folder per class, as torchvision's "
            "ImageFolder reads it: classes sorted, class i labelled i) into tar shards "
            "named by OUT_PATTERN (e.g. out/train-%%06d.tar or out/train-{:06d}.tar): "
            "<key>.<ext> with <key>.cls per sample, keys being the sample's position. "
            "Each shard gets a sidecar index <shard>.pfidx. Existing shards are an error "
            "unless --overwrite. A progress line on stderr when it is a terminal. Prints "
            "the shards written and the classes as JSON."
        ),
    )
    p.add_argument("src_dir", help="the class-per-folder tree")
    p.add_argument("out_pattern", help="shard names, with %%06d or {:06d} for the number")
    p.add_argument("--max-count", type=_positive, default=10_000, help="samples per shard")
    p.add_argument("--max-bytes", type=_positive, default=1 << 30, help="bytes per shard")
    p.add_argument("--overwrite", action="store_true", help="replace existing shards")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pixfeed.folder import image_folder
    from pixfeed.shards import write_shards

    try:
        paths, labels, classes = image_folder(args.src_dir)
        written = write_shards(
            paths,
            labels,
            args.out_pattern,
            max_count=args.max_count,
            max_bytes=args.max_bytes,
            overwrite=args.overwrite,
            progress=None,
        )
    except (OSError, ValueError, TypeError) as e:
        print(f"pixfeed shards: {e}", file=sys.stderr)
        return 1
    print_json({"shards": written, "samples": len(paths), "classes": classes})
    return 0
