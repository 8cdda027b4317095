"""File helpers shared by everything that writes files (the CLI commands, the label
exports): output names, the overwrite rules and writes that never clobber a file by
accident.

The rules (the same in `resize`, `crop` and `filter --copy-to`):

- an output that would replace a *different* input of the run is always refused;
- an output that would replace its own source, or any other existing file, is refused unless
  ``--overwrite`` is given; then it is replaced atomically (written to a temporary file in the
  same folder, then renamed over it), so an interrupted run never leaves half a file;
- two sources with the same file name get distinct outputs (``x.jpg``, ``x-1.jpg``, ...), and
  the command says so.

Every output is checked before anything is written: a refused run writes nothing.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".webp": "webp"}

#: Conflicts listed in one error message (the rest are counted).
MAX_LISTED = 5


def format_of(path: Path) -> str:
    """The encoder format for a file name (by extension; unknown -> png)."""
    return FORMATS.get(path.suffix.lower(), "png")


def unique_name(out_dir: Path, src: Path, taken: set[str]) -> Path:
    """`out_dir/src.name`, made unique when two sources share a name."""
    name = src.name
    stem, suffix = src.stem, src.suffix
    k = 1
    while name in taken:
        name = f"{stem}-{k}{suffix}"
        k += 1
    taken.add(name)
    return out_dir / name


def plan_names(sources: Sequence[Path], out_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """One output path per source in ``out_dir`` (same file name, suffixed ``-1``, ``-2``...
    when an earlier source already took it), and ``{source: output}`` for those suffixed."""
    taken: set[str] = set()
    outs = [unique_name(out_dir, s, taken) for s in sources]
    renamed = {str(s): str(d) for s, d in zip(sources, outs, strict=True) if d.name != s.name}
    return outs, renamed


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def conflicts(
    pairs: Iterable[tuple[Path | None, Path]], inputs: Iterable[Path], *, overwrite: bool
) -> list[str]:
    """Why each ``(source, output)`` pair may not be written (empty: all may).

    ``inputs`` are every file the run reads (its sources, a CSV...); files are compared by
    identity (device and inode), so another name or a hard link of an input counts as it."""
    ids: dict[tuple[int, int], Path] = {}
    for p in inputs:
        ident = _identity(p)
        if ident is not None:
            ids.setdefault(ident, p)
    problems = []
    for src, dst in pairs:
        if dst.is_dir():
            problems.append(f"{dst} is a folder")
            continue
        ident = _identity(dst)
        if ident is None:
            continue
        own = src is not None and _identity(src) == ident
        other = ids.get(ident)
        if other is not None and not own:
            made = f" (the output of {src})" if src is not None else ""
            problems.append(f"{dst}{made} would replace the input {other} (never allowed)")
        elif own and not overwrite:
            problems.append(f"{dst} would replace its source {src} (--overwrite allows that)")
        elif not overwrite:
            problems.append(f"{dst} exists (--overwrite replaces it)")
    return problems


def describe(problems: Sequence[str]) -> str:
    """One message for :func:`conflicts`' list: the first few, then a count."""
    text = "; ".join(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        text += f"; and {len(problems) - MAX_LISTED} more"
    return f"refusing to write (nothing was written): {text}"


def _replace_with(dst: Path, fill: Callable[[BinaryIO], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes(dst: Path, data: bytes, *, overwrite: bool) -> None:
    """Write a new file; with ``overwrite``, replace an existing one atomically. Without it,
    a file that appeared since the check is never replaced (FileExistsError)."""
    if overwrite:
        _replace_with(dst, lambda f: f.write(data))
        return
    with open(dst, "xb") as f:
        f.write(data)


def copy_file(src: str | Path, dst: Path, *, overwrite: bool) -> None:
    """``shutil.copy2`` under the rules of :func:`write_bytes`."""

    def fill(f: BinaryIO) -> None:
        with open(src, "rb") as s:
            shutil.copyfileobj(s, f)

    if overwrite:
        _replace_with(dst, fill)
    else:
        with open(dst, "xb") as f:
            fill(f)
    shutil.copystat(src, dst)


def mirror_targets(paths: Sequence[str], root: Path, dest: Path) -> list[Path]:
    """Where each file goes when copied under ``dest``: its path relative to ``root``, or,
    for a file outside ``root``, a unique name (:func:`unique_name`)."""
    taken: set[str] = set()
    targets = []
    for p in paths:
        rel = os.path.relpath(p, root)
        if rel.startswith(".."):
            targets.append(unique_name(dest, Path(p), taken))
        else:
            targets.append(dest / rel)
    return targets


def same_content(src: str, dst: Path) -> bool:
    """An identical copy is already there (a re-run): nothing to copy or to refuse."""
    try:
        return dst.is_file() and filecmp.cmp(src, dst, shallow=False)
    except OSError:
        return False


def copy_files(pairs: Iterable[tuple[str, Path]], *, overwrite: bool) -> int:
    """Copy each ``(source, target)`` (folders made as needed) under the rules of
    :func:`copy_file`; returns the number copied."""
    n = 0
    for src, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file(src, target, overwrite=overwrite)
        n += 1
    return n
