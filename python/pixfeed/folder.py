"""`image_folder`: a class-per-folder data set as (paths, labels, classes), with the rules of
torchvision's ``ImageFolder``, so a model trained on either sees the same labels.

The rules: the classes are the sub-folders of ``root`` (symlinks to folders included),
sorted as Python sorts strings, class ``i`` being the i-th; each class folder is walked
recursively (symlinked folders followed), folders in sorted path order and the files of
each folder sorted by name; a file is kept when its name ends with one of ``extensions``,
compared case-insensitively. Hidden files and folders are not skipped (``root/.cache/`` is
a class, as in torchvision). A class with no file is an error unless ``allow_empty``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["IMG_EXTENSIONS", "image_folder"]

#: The extensions torchvision's ImageFolder accepts (compared case-insensitively).
IMG_EXTENSIONS: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".bmp",
    ".pgm",
    ".tif",
    ".tiff",
    ".webp",
)


def image_folder(
    root: str | os.PathLike[str],
    *,
    extensions: Iterable[str] = IMG_EXTENSIONS,
    allow_empty: bool = False,
) -> tuple[list[str], list[int], list[str]]:
    """``(paths, labels, classes)`` of the class-per-folder tree under ``root``.

    ``labels[k]`` is the index in ``classes`` of ``paths[k]``'s class folder. Raises
    ``FileNotFoundError`` naming ``root`` when it has no class folder, or naming the classes
    that have no image (unless ``allow_empty=True``)."""
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root: expected str or os.PathLike, got {type(root).__name__}")
    root = os.path.expanduser(os.fspath(root))
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple(e.lower() for e in extensions)
    if not exts or not all(isinstance(e, str) and e for e in exts):
        raise ValueError(f"extensions: expected non-empty strings, got {extensions!r}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"root: {root!r} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"root: found no class folder in {root!r}")
    paths: list[str] = []
    labels: list[int] = []
    empty: list[str] = []
    for index, name in enumerate(classes):
        before = len(paths)
        for folder, _, names in sorted(os.walk(os.path.join(root, name), followlinks=True)):
            for fname in sorted(names):
                if fname.lower().endswith(exts):
                    paths.append(os.path.join(folder, fname))
                    labels.append(index)
        if len(paths) == before:
            empty.append(name)
    if empty and not allow_empty:
        raise FileNotFoundError(
            f"root: no image in the class folders {', '.join(empty)} of {root!r} "
            f"(extensions: {', '.join(exts)}); pass allow_empty=True to keep them"
        )
    return paths, labels, classes
