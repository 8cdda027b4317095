"""The detector application's types: the count rule, detections and the results of a run
(`filter_images`), with the result's exports (:mod:`pixfeed.detect.export`,
:mod:`pixfeed.detect.labels`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pixfeed.detect import export, labels

__all__ = ["CountRule", "Detection", "FilterResult", "ImageResult", "PathLike"]

PathLike = str | os.PathLike[str]
CountOp = Literal["any", "at_least", "exactly", "at_most"]


@dataclass(frozen=True)
class CountRule:
    """Which images match, by the number ``n`` of detections of the selected classes:
    ``any`` (n >= 1), ``at_least:N``, ``exactly:N``, ``at_most:N``."""

    op: CountOp = "any"
    value: int = 1

    @classmethod
    def parse(cls, text: str | CountRule) -> CountRule:
        """``"any"``, ``"at_least:N"``, ``"exactly:N"`` or ``"at_most:N"``."""
        if isinstance(text, CountRule):
            return text
        if not isinstance(text, str):
            raise TypeError(f"count: expected a str like 'at_least:2', got {type(text).__name__}")
        spec = text.strip().lower()
        if spec == "any":
            return cls("any", 1)
        op, sep, num = spec.partition(":")
        if op in ("at_least", "exactly", "at_most") and sep:
            try:
                n = int(num)
            except ValueError:
                n = -1
            if n >= 0:
                return cls(op, n)  # type: ignore[arg-type]
        raise ValueError(
            f"count: expected 'any', 'at_least:N', 'exactly:N' or 'at_most:N' (N >= 0), "
            f"got {text!r}"
        )

    def matches(self, n: int) -> bool:
        if self.op == "any":
            return n >= 1
        if self.op == "at_least":
            return n >= self.value
        if self.op == "exactly":
            return n == self.value
        return n <= self.value

    def __str__(self) -> str:
        return "any" if self.op == "any" else f"{self.op}:{self.value}"


class Detection(NamedTuple):
    """One detection, in the original image's pixels (a NamedTuple: runs make many)."""

    #: (x1, y1, x2, y2) corners.
    box: tuple[float, float, float, float]
    confidence: float
    class_id: int
    class_name: str
    #: Of a selected class (counts towards the rule).
    selected: bool


@dataclass(frozen=True)
class ImageResult:
    """One image's outcome. ``count`` is the number of detections of the selected classes."""

    path: str
    width: int | None = None
    height: int | None = None
    detections: tuple[Detection, ...] = ()
    count: int = 0
    matched: bool = False
    #: The detections came from the result cache (no inference this run).
    cached: bool = False
    #: Why the image could not be processed (None: it was).
    error: str | None = None


@dataclass(frozen=True)
class FilterResult:
    """Every image of a run, in path order, with the run's model and settings."""

    images: tuple[ImageResult, ...]
    #: Settings of the run (imgsz, conf, iou, max_det, batch_size, classes, count, cache, ...).
    settings: Mapping[str, Any]
    #: The model: path, sha256, input size, layout, class names, execution providers.
    model: Mapping[str, Any]
    #: Images run through the network in this run.
    inferred: int = 0
    #: Images whose detections came from the cache.
    cached: int = 0

    @property
    def matched(self) -> list[ImageResult]:
        return [r for r in self.images if r.matched]

    @property
    def matched_paths(self) -> list[str]:
        return [r.path for r in self.images if r.matched]

    @property
    def errors(self) -> list[ImageResult]:
        return [r for r in self.images if r.error is not None]

    @property
    def counts(self) -> dict[str, int]:
        """total, matched, errors, inferred, cached."""
        return {
            "total": len(self.images),
            "matched": sum(r.matched for r in self.images),
            "errors": sum(r.error is not None for r in self.images),
            "inferred": self.inferred,
            "cached": self.cached,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON export's content (see :meth:`write_json`)."""
        return export.to_dict(self)

    def write_json(self, path: PathLike) -> None:
        """counts, settings, model, matched paths, errors and every image's detections."""
        export.write_json(self, path)

    def write_txt(self, path: PathLike, *, null: bool = False) -> None:
        """The matched paths, one per line; ``null=True``: each ended by a NUL byte instead
        (as ``find -print0``), the only unambiguous form when a name may hold a newline."""
        export.write_txt(self, path, null=null)

    def write_csv(self, path: PathLike) -> None:
        """One row per detection (all classes; ``selected`` says which count), and one row
        with empty detection columns for an image without detections or with an error. A text
        cell (path, class, error) starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
        return gets a leading ``'`` so that spreadsheets show it as text, never run it as a
        formula."""
        export.write_csv(self, path)

    def write_report(self, path: PathLike, *, thumbnail: int = 256) -> None:
        """A self-contained HTML page: a thumbnail of every match (boxes drawn, the long side
        ``thumbnail`` pixels, JPEG in the page), its detections, the errors."""
        export.write_report(self, path, thumbnail=thumbnail)

    def write_labelme(
        self,
        folder: PathLike,
        *,
        root: PathLike | None = None,
        embed: bool = False,
        overwrite: bool = False,
    ) -> int:
        """One LabelMe JSON per matched image under ``folder`` (at the image's path relative
        to ``root``, default the folder filtered): a rectangle per selected detection with
        its label and score; ``imageData`` only with ``embed``. A file already holding the
        same content is left; another existing file is replaced only with ``overwrite`` and
        an image of the run never (``FileExistsError``, nothing written). Returns the number
        of files written. See :mod:`pixfeed.detect.labels` for the format."""
        files = labels.labelme_files(self, folder, root=root, embed=embed)
        return labels.write_new(files, self.images, overwrite=overwrite)

    def write_yolo(
        self, folder: PathLike, *, root: PathLike | None = None, overwrite: bool = False
    ) -> int:
        """YOLO labels: one txt per matched image under ``folder`` (``class cx cy w h``,
        normalized, per selected detection) and ``classes.txt``; paths and overwrite rules
        as :meth:`write_labelme`. With a class selection the ids are renumbered 0, 1, ... in
        model id order and ``classes.txt`` lists the selected classes."""
        files = labels.yolo_files(self, folder, root=root)
        return labels.write_new(files, self.images, overwrite=overwrite)
