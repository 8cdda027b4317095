"""The persistent per-image result cache of `pixfeed filter`: raw detections (before any
class or count selection) in an SQLite file.

A row is keyed by (absolute path, model sha256, settings) and stores the file's size and
mtime_ns when it was inferred: a lookup hits only when both still match, so an in-place
edit, a touch or a replaced file is inferred again; the new result overwrites the old row (the
file never holds two results for one path, model and settings). Failed images are not cached:
they are cheap to try again and may have been fixed.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["CachedResult", "FileKey", "ResultCache", "default_cache_path"]

# Bump when the stored meaning changes (columns, box convention): old rows are dropped.
SCHEMA_VERSION = 1


def default_cache_path() -> Path:
    """``$PIXFEED_CACHE_DIR/filter.sqlite``, else ``$XDG_CACHE_HOME/pixfeed/filter.sqlite``,
    else ``~/.cache/pixfeed/filter.sqlite`` (the demo's sample set lives there too)."""
    base = os.environ.get("PIXFEED_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pixfeed"
    )
    return Path(base) / "filter.sqlite"


class FileKey(NamedTuple):
    path: str  # absolute
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> FileKey:
        """The key of a file as it is now (OSError when it cannot be stat'ed)."""
        st = os.stat(path)
        return cls(os.path.abspath(path), st.st_size, st.st_mtime_ns)


def _db_path(path: str) -> str | bytes:
    """The path as stored: text, or for a name that is not UTF-8 its bytes (a BLOB, which
    never equals a TEXT value, so the two kinds cannot collide)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


class CachedResult(NamedTuple):
    width: int
    height: int
    detections: npt.NDArray[np.float32]  # (n, 6)


class ResultCache:
    """Raw detections of one (model, settings) pair, in the SQLite file ``path``."""

    def __init__(self, path: str | os.PathLike[str], model_sha256: str, settings: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Several runs may share the file: wait for a writer rather than fail.
        self._db = sqlite3.connect(str(self.path), timeout=30.0)
        self._model = model_sha256
        self._settings = settings
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                with self._db:
                    self._db.execute("DROP TABLE IF EXISTS detections")
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            with self._db:
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS detections ("
                    " path TEXT NOT NULL, model TEXT NOT NULL, settings TEXT NOT NULL,"
                    " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                    " width INTEGER NOT NULL, height INTEGER NOT NULL, boxes BLOB NOT NULL,"
                    " PRIMARY KEY (path, model, settings))"
                )
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise OSError(f"cache: {self.path} is not a usable SQLite file: {e}") from None

    def get(self, key: FileKey) -> CachedResult | None:
        row = self._db.execute(
            "SELECT size, mtime_ns, width, height, boxes FROM detections"
            " WHERE path = ? AND model = ? AND settings = ?",
            (_db_path(key.path), self._model, self._settings),
        ).fetchone()
        if row is None or row[0] != key.size or row[1] != key.mtime_ns:
            return None
        boxes = np.frombuffer(row[4], np.float32).reshape(-1, 6).copy()
        return CachedResult(int(row[2]), int(row[3]), boxes)

    def put_many(self, items: list[tuple[FileKey, CachedResult]]) -> None:
        """Store results (one transaction, so an interrupted run keeps whole batches)."""
        rows = [
            (
                _db_path(k.path),
                self._model,
                self._settings,
                k.size,
                k.mtime_ns,
                r.width,
                r.height,
                np.ascontiguousarray(r.detections, np.float32).tobytes(),
            )
            for k, r in items
        ]
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO detections VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
