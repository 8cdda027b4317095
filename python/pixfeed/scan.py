"""`scan`: list the image files under a folder, sorted (docs/toolkit.md).

The walk is native (Rust): sibling folders are read in parallel on the library's thread
pool with the GIL released, entries are classified from the directory listing itself (no
``stat`` per file), and the sorted list of paths is built natively.

Behaviour (the same as filtering ``os.walk(root)``'s file names, then sorting):

- paths are ``os.path.join(folder, name)`` with ``root`` kept as given (relative stays
  relative), sorted as Python sorts strings;
- a file's extension is what ``os.path.splitext`` gives (``.jpg`` or ``.bashrc`` have none;
  ``a.tar.gz`` has ``.gz``), matched case-insensitively; ``"jpg"``, ``".jpg"`` and ``".JPG"``
  name the same extension;
- hidden files and folders are included;
- a symlink to a file is listed like a file, and so is a broken symlink (``os.walk`` lists
  both among a folder's files); a symlink to a folder is never listed, and is descended only
  with ``follow_symlinks=True``; then a folder that is already an ancestor of the current path
  (same device and inode) is not entered again, so symlink cycles end, while a folder reached
  through two different links is listed under both paths (as ``find -L``);
- errors: ``root`` missing is a ``FileNotFoundError``, a file a ``NotADirectoryError``,
  unreadable a ``PermissionError``, each naming it, whatever ``on_error`` says. A folder
  *below* the root that cannot be read (permission denied, removed during the walk) raises
  its ``OSError`` (e.g. ``PermissionError`` naming that folder) with ``on_error="raise"``; with
  ``on_error="skip"`` the walk goes on without it and the result's ``errors`` maps each
  skipped folder to its exception. Either way the whole tree is walked first, so the folder
  reported is always the first failing one in sorted order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pixfeed import _args, _core

__all__ = ["IMAGES", "ScanResult", "scan", "verify"]

#: The extensions of the formats pixfeed decodes (JPEG, PNG, BMP, WebP).
IMAGES: tuple[str, ...] = (".bmp", ".dib", ".jfif", ".jpe", ".jpeg", ".jpg", ".png", ".webp")


class ScanResult(list[str]):
    """The sorted paths `scan` found, plus ``errors``: each folder that could not be read
    (skipped with ``on_error="skip"``) mapped to its ``OSError``."""

    errors: dict[str, OSError]

    def __init__(self, paths: Iterable[str], errors: dict[str, OSError]) -> None:
        super().__init__(paths)
        self.errors = errors

    @property
    def skipped_folders(self) -> list[str]:
        """The folders left out because they could not be read, sorted."""
        return sorted(self.errors)


def _root(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, os.PathLike)):
        return os.fsdecode(value)
    raise TypeError(f"root: expected str or os.PathLike, got {type(value).__name__}")


def _extensions(value: Any) -> list[str] | None:
    """Lowercase extensions without the dot; None means every file."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, (bytes, bytearray)):
        raise TypeError(
            f"extensions: expected a str, an iterable of str or None, got {type(value).__name__}"
        )
    out = []
    for i, ext in enumerate(items):
        if not isinstance(ext, str):
            raise TypeError(f"extensions[{i}]: expected str, got {type(ext).__name__}")
        bare = ext[1:] if ext.startswith(".") else ext
        if not bare or "." in bare or "/" in bare or "\0" in bare or os.sep in bare:
            raise ValueError(
                f"extensions[{i}]: {ext!r} is not a file extension (like 'jpg' or '.jpg'; "
                "only a name's last suffix is matched)"
            )
        out.append(bare.lower())
    return sorted(set(out))


def scan(
    root: str | os.PathLike[str],
    *,
    extensions: str | Iterable[str] | None = IMAGES,
    recursive: bool = True,
    follow_symlinks: bool = False,
    on_error: Literal["raise", "skip"] = "raise",
    threads: int | None = None,
) -> ScanResult:
    """The files under ``root`` whose extension is in ``extensions``, sorted.

    ``extensions``: one or several, with or without the dot, any case (``None``: every
    file). ``recursive=False`` lists ``root`` itself only. ``follow_symlinks=True`` descends
    into symlinked folders (cycles are cut). ``on_error``: ``"raise"`` (default) or
    ``"skip"`` for folders below ``root`` that cannot be read; see the module docs for the
    exact rules (symlinks, hidden files, errors). ``threads=None``: the library default.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error: expected 'raise' or 'skip', got {on_error!r}")
    paths, failed, in_str_order = _core.scan(
        _root(root),
        _extensions(extensions),
        bool(recursive),
        bool(follow_symlinks),
        _args.threads(threads),
    )
    if not in_str_order:
        # A name that is not UTF-8 decodes to surrogates; their order differs from bytes'.
        paths.sort()
    errors = {folder: exc for folder, exc in failed}
    if errors and on_error == "raise":
        raise failed[0][1]
    return ScanResult(paths, errors)


def verify(
    paths: Sequence[str],
    *,
    threads: int | None = None,
    progress: bool | None = False,
    chunk: int = 256,
) -> list[tuple[str, str, str]]:
    """Decode every file (in parallel, a chunk at a time so memory stays bounded) and return
    the broken ones as ``(path, format, reason)``, in input order. ``format`` is what the
    header says (``"unknown"`` when even the header cannot be read); ``reason`` is the
    error's type and message. ``progress``: a progress line on stderr (None: when it is a
    terminal)."""
    from pixfeed._progress import Progress
    from pixfeed.decode import decode_batch

    chunk = _args.positive_int(chunk, "chunk")
    bar = Progress(len(paths), "files", enabled=progress)
    broken: list[tuple[str, str, str]] = []
    try:
        for start in range(0, len(paths), chunk):
            part = list(paths[start : start + chunk])
            got = decode_batch(part, threads=threads, on_error="none")
            for i, exc in sorted(got.errors.items()):
                try:
                    fmt = str(_core.probe(part[i])[0])
                except Exception:
                    fmt = "unknown"
                broken.append((part[i], fmt, f"{type(exc).__name__}: {exc}"))
            del got
            bar.update(len(part))
    finally:
        bar.close()
    return broken
