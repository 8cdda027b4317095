"""File helpers shared by the commands that write images."""

from __future__ import annotations

from pathlib import Path

FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".bmp": "bmp", ".webp": "webp"}


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
