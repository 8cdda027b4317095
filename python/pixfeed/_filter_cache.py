"""The persistent per-image result cache of `pixfeed filter`: raw detections (before any
class or count selection) in an SQLite file.

A row is keyed by (absolute path, model sha256, settings) and stores the file's size,
mtime_ns, ctime_ns and inode when it was inferred: a lookup hits only when all four still
match, so an in-place edit, a touch, a replaced file, or new content given the old size and
mtime back (``touch -r``, ``cp -p``, ``rsync -t``: the ctime still moves) is inferred again; the
new result overwrites the old row (the file never holds two results for one path, model and
settings). Failed images are not cached: they are cheap to try again and may have been fixed.

The cache never ends a run in a traceback:

- a damaged file (not SQLite, a malformed database, a foreign table) is renamed
  ``<name>.corrupt-<YYYYmmddTHHMMSS>`` with a warning and a fresh cache is started, also when
  the damage only shows during the run;
- a malformed row is a miss (the fresh result replaces it);
- a path that is a folder, or that cannot be written, raises :class:`CacheError` when the
  cache is opened; a write that fails later (disk full, made read-only meanwhile) warns and
  the run goes on without the cache.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["CacheError", "CachedResult", "FileKey", "ResultCache", "default_cache_path"]

# Bump when the stored meaning changes (columns, box convention): old rows are dropped.
SCHEMA_VERSION = 2

_COLUMNS = (
    "path",
    "model",
    "settings",
    "size",
    "mtime_ns",
    "ctime_ns",
    "inode",
    "width",
    "height",
    "boxes",
)

#: Ceiling on one stored image's detections (rows of 6 float32): larger blobs are malformed.
MAX_STORED_DETECTIONS = 1 << 20


class CacheError(OSError):
    """The result cache file given cannot be used: a folder, or not writable."""


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
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileKey:
        """The key of a file as it is now (OSError when it cannot be stat'ed)."""
        st = os.stat(path)
        return cls(os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


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


class _Damaged(Exception):
    """The file is not a usable cache of this schema."""


def _corrupt(e: sqlite3.DatabaseError) -> bool:
    """Damage (not SQLite, malformed) rather than a condition (locked, read-only, I/O)."""
    return not isinstance(e, sqlite3.OperationalError)


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    k = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{k}")
        k += 1
    return target


def _row_result(row: Any, key: FileKey) -> CachedResult | None:
    """The stored result when the row is well formed and matches ``key``; else None."""
    size, mtime, ctime, inode, width, height, blob = row
    if (size, mtime, ctime, inode) != (key.size, key.mtime_ns, key.ctime_ns, key.inode):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        return None
    if not (0 < width and 0 < height) or not isinstance(blob, bytes):
        return None
    if len(blob) % 24 or len(blob) // 24 > MAX_STORED_DETECTIONS:
        return None
    boxes = np.frombuffer(blob, np.float32).reshape(-1, 6).copy()
    if not np.isfinite(boxes).all():
        return None
    return CachedResult(width, height, boxes)


class ResultCache:
    """Raw detections of one (model, settings) pair, in the SQLite file ``path``."""

    def __init__(self, path: str | os.PathLike[str], model_sha256: str, settings: str) -> None:
        self.path = Path(path)
        self._model = model_sha256
        self._settings = settings
        self._db: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise CacheError(f"{self.path} is a folder, not a cache file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CacheError(f"cannot create the folder of {self.path}: {e}") from None
        writable = os.access(self.path.parent, os.W_OK) and (
            not self.path.exists() or os.access(self.path, os.W_OK)
        )
        if not writable:
            raise CacheError(f"{self.path} is not writable")
        try:
            self._db = self._open()
        except _Damaged as e:
            self._set_aside(str(e))
            try:
                self._db = self._open()
            except (_Damaged, sqlite3.DatabaseError) as e2:
                raise CacheError(f"{self.path}: cannot start a fresh cache: {e2}") from None
        except sqlite3.DatabaseError as e:
            raise CacheError(f"{self.path}: {e}") from None

    def _open(self) -> sqlite3.Connection:
        # Several runs may share the file: wait for a writer rather than fail.
        db = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                with db:
                    db.execute("DROP TABLE IF EXISTS detections")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            with db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS detections ("
                    " path TEXT NOT NULL, model TEXT NOT NULL, settings TEXT NOT NULL,"
                    " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                    " ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,"
                    " width INTEGER NOT NULL, height INTEGER NOT NULL, boxes BLOB NOT NULL,"
                    " PRIMARY KEY (path, model, settings))"
                )
            columns = tuple(r[1] for r in db.execute("PRAGMA table_info(detections)"))
            if columns != _COLUMNS:
                raise _Damaged(f"unexpected columns {list(columns)}")
        except sqlite3.DatabaseError as e:
            db.close()
            if _corrupt(e):
                raise _Damaged(str(e)) from None
            raise
        except _Damaged:
            db.close()
            raise
        return db

    def _set_aside(self, why: str) -> None:
        """Rename the damaged file (and its journal) out of the way, with a warning."""
        if self._db is not None:
            self._db.close()
            self._db = None
        target = _aside_name(self.path)
        try:
            os.replace(self.path, target)
            for suffix in ("-journal", "-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        except OSError as e:
            raise CacheError(f"{self.path} is damaged ({why}) and cannot be moved: {e}") from None
        warnings.warn(
            f"pixfeed filter: the result cache {self.path} is damaged ({why}); it was moved "
            f"to {target} and a fresh cache started",
            stacklevel=4,
        )

    def _failed(self, e: sqlite3.DatabaseError) -> None:
        """A query failed during the run: recover from damage, else go on without."""
        if _corrupt(e):
            try:
                self._set_aside(str(e))
                self._db = self._open()
                return
            except (CacheError, _Damaged, sqlite3.DatabaseError) as e2:
                e = e2  # type: ignore[assignment]
        if self._db is not None:
            self._db.close()
            self._db = None
        warnings.warn(
            f"pixfeed filter: result cache {self.path} disabled for this run: {e}", stacklevel=4
        )

    def get(self, key: FileKey) -> CachedResult | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT size, mtime_ns, ctime_ns, inode, width, height, boxes FROM detections"
                " WHERE path = ? AND model = ? AND settings = ?",
                (_db_path(key.path), self._model, self._settings),
            ).fetchone()
        except sqlite3.DatabaseError as e:
            self._failed(e)
            return None
        return None if row is None else _row_result(row, key)

    def put_many(self, items: list[tuple[FileKey, CachedResult]]) -> None:
        """Store results (one transaction, so an interrupted run keeps whole batches)."""
        rows = [
            (
                _db_path(k.path),
                self._model,
                self._settings,
                k.size,
                k.mtime_ns,
                k.ctime_ns,
                k.inode,
                r.width,
                r.height,
                np.ascontiguousarray(r.detections, np.float32).tobytes(),
            )
            for k, r in items
        ]
        for _ in range(2):  # once more into a fresh cache when the file proved damaged
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO detections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                return
            except sqlite3.DatabaseError as e:
                self._failed(e)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
