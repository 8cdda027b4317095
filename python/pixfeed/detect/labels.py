"""Pre-annotation exports of a :class:`~pixfeed.FilterResult`: LabelMe JSON and YOLO txt
label files, one per matched image, that annotation tools (LabelMe, AnyLabeling, X-AnyLabeling,
labelImg, CVAT's YOLO import) open as a starting point.

Which images and boxes: the matched images only (the count rule), and in them the detections
of the selected classes (``classes``; all when none were given). An image that matched with
no selected detection (``exactly:0``, ``at_most:N``) gets an empty label file: a reviewed
negative.

Where: an image's label file sits at its path relative to ``root`` (the folder filtered)
under the output folder, with the suffix replaced (``.json`` / ``.txt``); an image outside
``root`` (a list of paths) is named by its file name, ``-1``, ``-2``... added when two share
one. Paths inside the files are relative to the label file's folder, as LabelMe resolves
them.

Formats:

- LabelMe (5.x): ``{"version", "flags": {}, "shapes": [{"label", "points": [[x1, y1], [x2,
  y2]], "group_id": null, "description", "shape_type": "rectangle", "flags": {}, "mask":
  null, "score"}], "imagePath", "imageData", "imageHeight", "imageWidth"}``. The confidence
  is the shape's ``score`` (the key AnyLabeling reads; LabelMe keeps keys it does not know)
  and its ``description`` (``"score=0.91234"``, shown by LabelMe). ``imageData`` is null
  unless ``embed``: then the file's bytes in base64.
- YOLO: one ``class cx cy w h`` line per box, normalized to the image size (6 decimals), and
  ``classes.txt``, the class names, one per line in id order. Without a class selection the
  ids are the model's; with one they are renumbered 0, 1, ... in the order of the model's ids
  and ``classes.txt`` lists the selected classes only.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixfeed._files import conflicts, describe, write_bytes

if TYPE_CHECKING:  # annotations only: pixfeed.detect.types imports this module
    from pixfeed.detect.types import FilterResult, ImageResult

#: The LabelMe file format version written.
LABELME_VERSION = "5.5.0"


def _rel_paths(images: list[ImageResult], root: str | None) -> list[str]:
    """Each image's path relative to ``root`` (or a unique file name when outside it)."""
    taken: set[str] = set()
    out: list[str] = []
    base = os.path.abspath(root) if root is not None else None
    for r in images:
        rel = None
        if base is not None:
            rel = os.path.relpath(os.path.abspath(r.path), base)
            if rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
                rel = None
        if rel is None:
            name = os.path.basename(r.path)
            stem, suffix = os.path.splitext(name)
            k = 1
            while name in taken:
                name = f"{stem}-{k}{suffix}"
                k += 1
            taken.add(name)
            rel = name
        out.append(rel)
    return out


def _root(result: FilterResult, root: str | os.PathLike[str] | None) -> str | None:
    if root is not None:
        return os.fspath(root)
    src = result.settings.get("source")
    return src if isinstance(src, str) and os.path.isdir(src) else None


def _matched(result: FilterResult) -> list[ImageResult]:
    return [r for r in result.images if r.matched and r.error is None and r.width]


def labelme_files(
    result: FilterResult,
    out_dir: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    embed: bool = False,
) -> list[tuple[Path, bytes, str]]:
    """``(label file, its bytes, image path)`` for every matched image (nothing written)."""
    images = _matched(result)
    out = Path(out_dir)
    files = []
    for r, rel in zip(images, _rel_paths(images, _root(result, root)), strict=True):
        dst = out / (os.path.splitext(rel)[0] + ".json")
        image_path = os.path.relpath(os.path.abspath(r.path), os.path.abspath(dst.parent))
        data = None
        if embed:
            with open(r.path, "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
        shapes: list[dict[str, Any]] = [
            {
                "label": d.class_name,
                "points": [
                    [round(d.box[0], 2), round(d.box[1], 2)],
                    [round(d.box[2], 2), round(d.box[3], 2)],
                ],
                "group_id": None,
                "description": f"score={d.confidence:.5f}",
                "shape_type": "rectangle",
                "flags": {},
                "mask": None,
                "score": round(d.confidence, 5),
            }
            for d in r.detections
            if d.selected
        ]
        doc: dict[str, Any] = {
            "version": LABELME_VERSION,
            "flags": {},
            "shapes": shapes,
            "imagePath": image_path.replace(os.sep, "/"),
            "imageData": data,
            "imageHeight": r.height,
            "imageWidth": r.width,
        }
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        files.append((dst, text.encode("utf-8", "surrogateescape"), r.path))
    return files


def yolo_classes(result: FilterResult) -> tuple[list[str], dict[int, int]]:
    """The names ``classes.txt`` lists and the model id -> label id map."""
    names = result.model.get("names") or {}
    selected = result.settings.get("classes")
    ids = list(selected) if selected is not None else list(range(result.model["num_classes"]))
    return [names.get(str(c), str(c)) for c in ids], {c: i for i, c in enumerate(ids)}


def yolo_files(
    result: FilterResult,
    out_dir: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
) -> list[tuple[Path, bytes, str | None]]:
    """``(label file, its bytes, image path)`` for every matched image, then
    ``classes.txt`` (image path None); nothing written."""
    images = _matched(result)
    out = Path(out_dir)
    names, remap = yolo_classes(result)
    files: list[tuple[Path, bytes, str | None]] = []
    for r, rel in zip(images, _rel_paths(images, _root(result, root)), strict=True):
        assert r.width is not None and r.height is not None
        w, h = float(r.width), float(r.height)
        lines = []
        for d in r.detections:
            if not d.selected:
                continue
            x1, y1, x2, y2 = d.box
            cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
            bw, bh = (x2 - x1) / w, (y2 - y1) / h
            lines.append(f"{remap[d.class_id]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}\n")
        dst = out / (os.path.splitext(rel)[0] + ".txt")
        files.append((dst, "".join(lines).encode("ascii"), r.path))
    classes = "".join(n.replace("\n", " ") + "\n" for n in names)
    files.append((out / "classes.txt", classes.encode("utf-8", "surrogateescape"), None))
    return files


def unchanged(dst: Path, data: bytes) -> bool:
    """The file already holds exactly ``data`` (a re-run): nothing to write or refuse."""
    try:
        return dst.is_file() and dst.stat().st_size == len(data) and dst.read_bytes() == data
    except OSError:
        return False


def write_files(files: list[tuple[Path, bytes]], *, overwrite: bool) -> int:
    """Write each file (folders made as needed); one already holding its bytes is left as it
    is. Another existing file is replaced only with ``overwrite`` (atomically), else
    ``FileExistsError``. Returns the number written."""
    n = 0
    for dst, data in files:
        if unchanged(dst, data):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(dst, data, overwrite=overwrite)
        n += 1
    return n


def check_inputs(files: list[tuple[Path, bytes]], inputs: list[str], *, overwrite: bool) -> None:
    """Refuse (``FileExistsError``, nothing written) a label file that would replace an input
    of the run, or, without ``overwrite``, any other existing file with other content."""
    pending = [(None, dst) for dst, data in files if not unchanged(dst, data)]
    problems = conflicts(pending, [Path(p) for p in inputs], overwrite=overwrite)
    if problems:
        raise FileExistsError(describe(problems))


def pending(files: Sequence[tuple[Path, bytes, Any]]) -> list[tuple[Path, bytes]]:
    """The ``(label file, bytes)`` of ``files`` whose content differs from what is on disk
    (a re-run writes nothing new)."""
    return [(d, b) for d, b, _ in files if not unchanged(d, b)]


def write_new(
    files: Sequence[tuple[Path, bytes, Any]], images: Sequence[ImageResult], *, overwrite: bool
) -> int:
    """Write the label files ``files`` (as made by `labelme_files` or `yolo_files`) after
    `check_inputs` against the run's ``images``; returns the number written."""
    pairs = [(d, b) for d, b, _ in files]
    check_inputs(pairs, [r.path for r in images], overwrite=overwrite)
    return write_files(pairs, overwrite=overwrite)
