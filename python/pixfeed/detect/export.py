"""Exports of a :class:`~pixfeed.FilterResult`: JSON, TXT, CSV and a self-contained HTML
report. Numbers are rounded the same way everywhere (box corners to 0.01 px, confidences
to 1e-5), so the exports of one run agree with each other exactly."""

from __future__ import annotations

import base64
import csv
import html
import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pixfeed.decode import decode_batch, encode
from pixfeed.resize import resize

if TYPE_CHECKING:  # annotations only: pixfeed.detect.types imports this module
    from pixfeed.detect.types import Detection, FilterResult, ImageResult

CSV_COLUMNS = (
    "path",
    "matched",
    "count",
    "width",
    "height",
    "class_id",
    "class",
    "confidence",
    "x1",
    "y1",
    "x2",
    "y2",
    "selected",
    "error",
)

#: Detections listed under a thumbnail in the HTML report (all are drawn).
MAX_LISTED = 20

# Distinct box colours (RGB), by class id.
_PALETTE = (
    (255, 56, 56),
    (72, 249, 10),
    (0, 148, 255),
    (255, 178, 29),
    (207, 210, 49),
    (146, 204, 23),
    (61, 219, 134),
    (26, 147, 52),
    (0, 212, 187),
    (44, 153, 168),
    (132, 56, 255),
    (255, 55, 199),
)


def _box(d: Detection) -> list[float]:
    return [round(v, 2) for v in d.box]


def _conf(d: Detection) -> float:
    return round(d.confidence, 5)


def _image_dict(r: ImageResult) -> dict[str, Any]:
    return {
        "path": r.path,
        "width": r.width,
        "height": r.height,
        "matched": r.matched,
        "count": r.count,
        "cached": r.cached,
        "error": r.error,
        "detections": [
            {
                "class_id": d.class_id,
                "class": d.class_name,
                "confidence": _conf(d),
                "box": _box(d),
                "selected": d.selected,
            }
            for d in r.detections
        ],
    }


def to_dict(result: FilterResult) -> dict[str, Any]:
    return {
        "counts": result.counts,
        "settings": dict(result.settings),
        "model": dict(result.model),
        "matched": result.matched_paths,
        "errors": [{"path": r.path, "reason": r.error} for r in result.errors],
        "images": [_image_dict(r) for r in result.images],
    }


def _open_for_writing(
    path: str | os.PathLike[str], newline: str | None = None, errors: str = "surrogateescape"
) -> Any:
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    return open(path, "w", encoding="utf-8", newline=newline, errors=errors)


def write_json(result: FilterResult, path: str | os.PathLike[str]) -> None:
    with _open_for_writing(path) as f:
        json.dump(to_dict(result), f, indent=1)
        f.write("\n")


def write_txt(result: FilterResult, path: str | os.PathLike[str], *, null: bool = False) -> None:
    end = "\0" if null else "\n"
    # newline="": a path is written as it is (no "\r\n" translation on any platform); a
    # name that is not valid UTF-8 keeps its bytes.
    with _open_for_writing(path, newline="", errors="surrogateescape") as f:
        f.writelines(p + end for p in result.matched_paths)


#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A text cell as spreadsheets show it: a leading ``'`` when it would start a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_csv(result: FilterResult, path: str | os.PathLike[str]) -> None:
    with _open_for_writing(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in result.images:
            head = [text_cell(r.path), int(r.matched), r.count, r.width or "", r.height or ""]
            if not r.detections:
                w.writerow([*head, "", "", "", "", "", "", "", "", text_cell(r.error or "")])
            for d in r.detections:
                w.writerow(
                    [
                        *head,
                        d.class_id,
                        text_cell(d.class_name),
                        _conf(d),
                        *_box(d),
                        int(d.selected),
                        "",
                    ]
                )


# HTML report ------------------------------------------------------------------------------


def _draw_box(
    img: npt.NDArray[np.uint8], box: list[float], color: tuple[int, int, int], t: int
) -> None:
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in box)
    x1, x2 = max(0, min(x1, w - 1)), max(0, min(x2, w - 1))
    y1, y2 = max(0, min(y1, h - 1)), max(0, min(y2, h - 1))
    img[y1 : min(y1 + t, y2 + 1), x1 : x2 + 1] = color
    img[max(y2 - t + 1, y1) : y2 + 1, x1 : x2 + 1] = color
    img[y1 : y2 + 1, x1 : min(x1 + t, x2 + 1)] = color
    img[y1 : y2 + 1, max(x2 - t + 1, x1) : x2 + 1] = color


def _thumb_size(w: int, h: int, side: int) -> tuple[int, int]:
    s = min(1.0, side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def _thumbnails(matches: list[ImageResult], side: int) -> dict[str, str | None]:
    """path -> base64 JPEG with the detections drawn (None when the file no longer decodes)."""
    out: dict[str, str | None] = {}
    chunk = 32
    for start in range(0, len(matches), chunk):
        part = matches[start : start + chunk]
        sizes = [_thumb_size(r.width or 1, r.height or 1, side) for r in part]
        # One reduce_to per image: decode_batch accepts that (its annotation says one pair).
        decoded = decode_batch(
            [r.path for r in part],
            mode="RGB",
            reduce_to=sizes,  # type: ignore[arg-type]
            on_error="none",
        )
        for r, size, img in zip(part, sizes, decoded, strict=True):
            if img is None:
                out[r.path] = None
                continue
            thumb = np.array(resize(img, size), np.uint8)
            sx, sy = size[0] / (r.width or 1), size[1] / (r.height or 1)
            for d in r.detections:
                if d.selected:
                    x1, y1, x2, y2 = d.box
                    color = _PALETTE[d.class_id % len(_PALETTE)]
                    _draw_box(thumb, [x1 * sx, y1 * sy, x2 * sx, y2 * sy], color, 2)
            out[r.path] = base64.b64encode(encode(thumb, "jpeg", quality=85)).decode("ascii")
    return out


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
.matches { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; padding: .5em; border: 1px solid #ccc; border-radius: 4px; width: %dpx; }
figure img { display: block; max-width: 100%%; }
figcaption { font-size: 12px; word-break: break-all; }
figcaption ul { margin: .3em 0 0 1.2em; padding: 0; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
"""


def report_html(result: FilterResult, *, thumbnail: int = 256) -> str:
    esc = html.escape
    matches = result.matched
    thumbs = _thumbnails(matches, thumbnail)
    c = result.counts
    s = result.settings
    classes = ", ".join(s.get("class_names") or []) or "all"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>pixfeed filter: {c['matched']} of {c['total']} images</title>",
        f"<style>{_CSS % (thumbnail + 16)}</style></head><body>",
        "<h1>pixfeed filter</h1>",
        '<p class="summary">'
        f"{c['matched']} of {c['total']} images matched; "
        f"{c['errors']} error{'' if c['errors'] == 1 else 's'}; "
        f"{c['inferred']} inferred, {c['cached']} from the cache.<br>"
        f"model <code>{esc(str(result.model.get('path')))}</code>; classes {esc(classes)}; "
        f"count {esc(str(s.get('count')))}; conf {esc(str(s.get('conf')))}; "
        f"iou {esc(str(s.get('iou')))}</p>",
        '<section class="matches">',
    ]
    for r in matches:
        chosen = [d for d in r.detections if d.selected]
        items = "".join(
            f"<li>{esc(d.class_name)} {_conf(d):.3f} "
            f"[{', '.join(f'{v:.1f}' for v in _box(d))}]</li>"
            for d in chosen[:MAX_LISTED]
        )
        if len(chosen) > MAX_LISTED:
            items += f"<li>and {len(chosen) - MAX_LISTED} more (all are in the JSON/CSV)</li>"
        b64 = thumbs.get(r.path)
        img = (
            f'<img src="data:image/jpeg;base64,{b64}" alt="{esc(r.path)}">'
            if b64 is not None
            else '<p class="missing">(the file no longer decodes)</p>'
        )
        parts.append(
            f'<figure class="match" data-path="{esc(r.path)}">{img}'
            f'<figcaption><span class="path">{esc(r.path)}</span> '
            f"({r.width}x{r.height}, {r.count} selected)<ul>{items}</ul></figcaption></figure>"
        )
    parts.append("</section>")
    if result.errors:
        parts.append('<h2>Errors</h2><table class="errors"><tr><th>path</th><th>reason</th></tr>')
        for r in result.errors:
            parts.append(f"<tr><td>{esc(r.path)}</td><td>{esc(r.error or '')}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    result: FilterResult, path: str | os.PathLike[str], *, thumbnail: int = 256
) -> None:
    if isinstance(thumbnail, bool) or not isinstance(thumbnail, int) or thumbnail < 16:
        raise ValueError(f"thumbnail: expected an int >= 16, got {thumbnail!r}")
    text = report_html(result, thumbnail=thumbnail)
    with _open_for_writing(path) as f:
        f.write(text)
