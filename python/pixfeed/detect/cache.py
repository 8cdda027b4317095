"""The persistent per-image result cache of `pixfeed filter`: raw detections (before any
class or count selection) in an SQLite file.

A row is keyed by (absolute path, model sha256, settings) and stores the file's size,
mtime_ns, ctime_ns and inode when it was inferred: a lookup hits only when all four still
match, so an in-place edit, a touch, a replaced file, or new content given the old size and
mtime back (``touch -r``, ``cp -p``, ``rsync -t``: the ctime still moves) is inferred again; the
new result overwrites the old row (the file never holds two results for one path, model and
settings). Failed images are not cached: they are cheap to try again and may have been fixed.

Size: with ``max_entries`` (the ``cache_max_entries`` key; 0 or None: no limit), every
write prunes the least recently used rows (of any model) until at most that many are left.
A row is "used" when written and when a lookup hits it (hits are recorded in the next write,
one transaction, never a write per hit). `cache_info` and `clear_cache` serve
``pixfeed cache info`` / ``pixfeed cache clear``.

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

__all__ = [
    "CacheError",
    "CachedResult",
    "FileKey",
    "ResultCache",
    "cache_info",
    "clear_cache",
    "default_cache_path",
]

# Bump when the stored meaning changes (columns, box convention): old rows are dropped
# (version 2 files gain the ``used`` column in place, their rows kept).
SCHEMA_VERSION = 3

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
    "used",
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

    def __init__(
        self,
        path: str | os.PathLike[str],
        model_sha256: str,
        settings: str,
        *,
        max_entries: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._model = model_sha256
        self._settings = settings
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0
        ):
            raise ValueError(f"cache_max_entries: expected an int >= 0, got {max_entries!r}")
        self.max_entries = max_entries or None
        self._hits: list[str | bytes] = []
        self._last_used = 0
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
            if version == 2 and _has_table(db):
                if _columns(db) != _COLUMNS[:-1]:
                    raise _Damaged(f"unexpected columns {list(_columns(db))}")
                with db:  # the rows stay; all count as used long ago
                    db.execute("ALTER TABLE detections ADD COLUMN used INTEGER NOT NULL DEFAULT 0")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
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
                    " used INTEGER NOT NULL DEFAULT 0,"
                    " PRIMARY KEY (path, model, settings))"
                )
                db.execute("CREATE INDEX IF NOT EXISTS detections_used ON detections (used)")
            columns = _columns(db)
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
        result = None if row is None else _row_result(row, key)
        if result is not None:
            self._hits.append(_db_path(key.path))
        return result

    def _now(self) -> int:
        """A strictly increasing use stamp (ns since the epoch)."""
        self._last_used = max(time.time_ns(), self._last_used + 1)
        return self._last_used

    def _touch_and_prune(self, db: sqlite3.Connection) -> None:
        """Inside a write transaction: mark the hits since the last write as used, then
        drop the least recently used rows beyond ``max_entries``."""
        if self._hits:
            db.executemany(
                "UPDATE detections SET used = ? WHERE path = ? AND model = ? AND settings = ?",
                [(self._now(), p, self._model, self._settings) for p in self._hits],
            )
            self._hits.clear()
        if self.max_entries is None:
            return
        (n,) = db.execute("SELECT count(*) FROM detections").fetchone()
        if n > self.max_entries:
            db.execute(
                "DELETE FROM detections WHERE rowid IN (SELECT rowid FROM detections"
                " ORDER BY used ASC LIMIT ?)",
                (n - self.max_entries,),
            )

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
                self._now(),
            )
            for k, r in items
        ]
        for _ in range(2):  # once more into a fresh cache when the file proved damaged
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO detections VALUES"
                        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    self._touch_and_prune(self._db)
                return
            except sqlite3.DatabaseError as e:
                self._failed(e)

    def close(self) -> None:
        if self._db is not None:
            if self._hits:  # a run of hits only: record them (and prune) once
                try:
                    with self._db:
                        self._touch_and_prune(self._db)
                except sqlite3.DatabaseError as e:
                    self._failed(e)
            if self._db is not None:
                self._db.close()
            self._db = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _columns(db: sqlite3.Connection) -> tuple[str, ...]:
    return tuple(r[1] for r in db.execute("PRAGMA table_info(detections)"))


def _has_table(db: sqlite3.Connection) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'detections'"
    ).fetchone()
    return row is not None


def _open_existing(path: Path) -> sqlite3.Connection | None:
    """The cache file opened for maintenance, or None when there is none (or no table)."""
    if path.is_dir():
        raise CacheError(f"{path} is a folder, not a cache file")
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30.0)
        if not _has_table(db):
            db.close()
            return None
    except sqlite3.DatabaseError as e:
        raise CacheError(f"{path}: not a usable result cache: {e}") from None
    return db


def cache_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What the cache file holds: ``file``, ``exists``, ``bytes`` (the file's size),
    ``rows``, and ``models``: per model sha256 its ``rows`` and ``settings`` (distinct
    imgsz/conf/iou/max_det combinations), most rows first. ``CacheError`` when the file is
    not a usable cache."""
    p = Path(path) if path is not None else default_cache_path()
    info: dict[str, Any] = {"file": str(p), "exists": p.is_file(), "bytes": 0, "rows": 0}
    info["models"] = []
    db = _open_existing(p)
    if p.is_file():
        info["bytes"] = p.stat().st_size
    if db is None:
        return info
    try:
        info["rows"] = db.execute("SELECT count(*) FROM detections").fetchone()[0]
        info["models"] = [
            {"sha256": m, "rows": n, "settings": k}
            for m, n, k in db.execute(
                "SELECT model, count(*), count(DISTINCT settings) FROM detections"
                " GROUP BY model ORDER BY count(*) DESC, model"
            )
        ]
    except sqlite3.DatabaseError as e:
        raise CacheError(f"{p}: not a usable result cache: {e}") from None
    finally:
        db.close()
    return info


def clear_cache(path: str | os.PathLike[str] | None = None, *, model: str | None = None) -> int:
    """Delete the cache's rows (only those of the model with this sha256, or sha256 prefix
    of at least 8 hex digits, when ``model`` is given); returns the number deleted. The file
    stays (emptied and compacted). ``CacheError`` when the file is not a usable cache."""
    p = Path(path) if path is not None else default_cache_path()
    if model is not None:
        m = model.strip().lower()
        if len(m) < 8 or any(c not in "0123456789abcdef" for c in m):
            raise ValueError(f"model: expected a sha256 (or 8+ hex digit prefix), got {model!r}")
    db = _open_existing(p)
    if db is None:
        return 0
    try:
        with db:
            if model is None:
                n = db.execute("DELETE FROM detections").rowcount
            else:
                n = db.execute(
                    "DELETE FROM detections WHERE substr(model, 1, ?) = ?", (len(m), m)
                ).rowcount
        db.execute("VACUUM")
    except sqlite3.DatabaseError as e:
        raise CacheError(f"{p}: cannot clear: {e}") from None
    finally:
        db.close()
    return int(n)
