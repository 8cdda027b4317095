"""`ImageCache`: decoded images kept in memory, least recently used out first
(docs/toolkit.md).

Rules, in the order a `get` meets them:

- **Validity.** Every `get` stats the file. An entry is used only while the file's size,
  mtime (ns), ctime (ns), inode and device are what they were when it was decoded: an
  in-place edit that keeps the size, a ``touch``, an edit that restores the old mtime
  (ctime still moves) and a file replaced by rename all miss. The file is also stat'ed
  after decoding; if it changed meanwhile the fresh array is returned but not kept.
- **Just-written files.** File times advance in ticks (a few ms on Linux, whole seconds on
  some filesystems), so two writes within one tick can leave size, mtime and ctime alike.
  A file whose mtime is within a tick of the clock (20 ms; 2 s when its mtime has whole
  seconds) is "racy", as git calls such index entries: the cache reads its bytes itself,
  decodes those and keeps a hash of them (BLAKE2b) with the entry. A hit on a racy entry
  reads the file again and compares the hash (reading is far cheaper than decoding): an
  edit within the same tick is a miss, never stale pixels. Once the file's mtime is a tick
  in the past, a matching hash clears the mark and later hits need the ``stat`` only.
- **Read-only results.** Every array `get` returns (hit or miss) has ``writeable=False``
  and is shared by all callers: nobody can change what another caller, or the cache, sees.
  Copy it (``a.copy()``) to modify it.
- **Size.** ``max_mb`` caps the pixel bytes held (``ndarray.nbytes``; 1 MB = 2**20 bytes).
  Inserting evicts least recently used entries until the total is within the cap. An image
  larger than the whole cap is returned but never cached (and evicts nothing).
- **Keys.** ``(path, mode)``: the path as given (``os.fspath``); two spellings of one file are
  two entries (each still validated against the file).
- **Threads.** One lock guards the entries and counters; decoding and ``stat`` run outside
  it, so hits are never blocked by a decode. Two threads missing the same file at once both
  decode it (the last store wins); `preload` runs in the background and never blocks `get`.
- **Read-ahead.** With ``read_ahead=N`` (or a configuration with ``preload = true``: N =
  ``preload_count``, by default ``READ_AHEAD``), a miss also preloads, in the background,
  the N image files that follow the missed one in its folder (sorted by name, the
  extensions `scan` lists): what a viewer or labeling tool stepping through a folder opens
  next. A newer miss cancels the previous
  read-ahead (after the file it is decoding). Folder listings are kept while the folder's
  mtime stays the same.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.config import Config
from pixfeed.decode import Mode, decode, decode_batch
from pixfeed.errors import DecodeError, _shown

__all__ = ["READ_AHEAD", "ImageCache", "Preload"]

#: Files preloaded after a miss when the configuration says ``preload = true``.
READ_AHEAD = 8

_MODES = _core.NAMES["mode"]
_MB = 1 << 20
# A file time within this of "now" may be shared by a write still to come (see above).
_RACY_NS = 20_000_000
_RACY_WHOLE_SECONDS_NS = 2_000_000_000

Array = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
#: (size, mtime_ns, ctime_ns, inode, device)
Signature = tuple[int, int, int, int, int]


_stat = os.stat  # (tests stand in for a filesystem whose times cannot tell two writes apart)


def _signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _racy(st: os.stat_result) -> bool:
    mtime = st.st_mtime_ns
    window = _RACY_WHOLE_SECONDS_NS if mtime % 1_000_000_000 == 0 else _RACY_NS
    return abs(time.time_ns() - mtime) < window


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _renamed(e: BaseException, path: str) -> BaseException:
    """A decode error about bytes the cache read from ``path``, naming ``path``."""
    if isinstance(e, DecodeError) and e.source == "<bytes>":
        e.source = path
        e.args = (f"{_shown(path)}: {e.reason}",)
    return e


def _path(value: Any) -> str:
    """A path as str: bytes and ``os.PathLike`` are decoded as ``os.fsdecode`` does (a name
    that is not UTF-8 keeps its bytes as surrogate escapes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, os.PathLike)):
        return os.fsdecode(value)
    raise TypeError(f"path: expected str, bytes or os.PathLike, got {type(value).__name__}")


def _mode(value: Any) -> Mode:
    if value not in _MODES:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, _MODES))}, got {value!r}")
    m: Mode = value
    return m


def _max_bytes(max_mb: Any) -> int:
    if isinstance(max_mb, bool) or not isinstance(max_mb, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_mb: expected a number, got {type(max_mb).__name__}")
    mb = float(max_mb)
    if not math.isfinite(mb) or mb < 0:
        raise ValueError(f"max_mb: expected a finite number >= 0, got {max_mb!r}")
    return int(mb * _MB)


@dataclass
class _Entry:
    image: Array
    signature: Signature
    nbytes: int
    #: Hash of the bytes decoded, while the entry is racy (see the module docs); else None.
    digest: bytes | None = None


class ImageCache:
    """An in-memory LRU cache of decoded images, bounded by bytes (see the module docs)::

    cache = ImageCache(max_mb=512)
    img = cache.get("photo.jpg")      # decoded on the first call, then from memory
    job = cache.preload(paths)        # background; job.wait() to block until done
    cache.stats()["hit_rate"]
    """

    def __init__(
        self,
        max_mb: float | None = None,
        *,
        read_ahead: int | None = None,
        config: Config | None = None,
    ) -> None:
        """``max_mb``: the budget (default: ``config.cache_mb``, else 512). ``read_ahead``:
        files to preload after a miss (default: ``config.preload_count`` (`READ_AHEAD`, 8)
        when ``config.preload``, else 0); preloads decode on ``config.io_threads`` threads
        unless told otherwise. ``config``: a :class:`~pixfeed.Config` to take those
        defaults from; nothing is read from files unless asked:
        ``ImageCache(config=pixfeed.load_config())``."""
        if max_mb is None:
            max_mb = config.cache_mb if config is not None else 512
        if read_ahead is None:
            read_ahead = config.preload_count if config is not None and config.preload else 0
        if isinstance(read_ahead, bool) or not isinstance(read_ahead, int) or read_ahead < 0:
            raise ValueError(f"read_ahead: expected an int >= 0, got {read_ahead!r}")
        self._max_bytes = _max_bytes(max_mb)
        self._read_ahead = read_ahead
        self._io_threads = config.io_threads if config is not None else None
        self._ahead_lock = threading.Lock()
        self._ahead_job: Preload | None = None
        self._listings: dict[str, tuple[int, list[str]]] = {}
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._invalidations = 0
        self._preloaded = 0
        self._rehashes = 0

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def read_ahead(self) -> int:
        """Files preloaded after a miss (0: none)."""
        return self._read_ahead

    @property
    def read_ahead_job(self) -> Preload | None:
        """The latest read-ahead (a `Preload`: ``wait()`` on it), None before the first."""
        return self._ahead_job

    # -- lookups ---------------------------------------------------------------------------
    def get(self, path: str | bytes | os.PathLike[str], *, mode: Mode = "RGB") -> Array:
        """The decoded image at ``path`` (str, bytes or ``os.PathLike``): from memory when
        the file is unchanged, else decoded (and kept, size permitting). Read-only. Raises
        what `decode` raises (``FileNotFoundError`` naming the path, ``DecodeError``...)."""
        key_path = path if type(path) is str else _path(path)
        if mode not in _MODES:
            _mode(mode)
        st = _stat(key_path)
        sig = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        key = (key_path, mode)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.signature == sig and entry.digest is None:
                self._entries.move_to_end(key)
                self._hits += 1
                return entry.image
        data = None
        if entry is not None and entry.signature == sig:  # a racy entry: its hash decides
            same, data = self._check_racy(key, entry, st)
            if same:
                with self._lock:
                    if self._entries.get(key) is entry:
                        self._entries.move_to_end(key)
                    self._hits += 1
                return entry.image
        with self._lock:
            if entry is not None and self._entries.get(key) is entry:
                self._remove(key, entry)
                self._invalidations += 1
            self._misses += 1
        if self._read_ahead:
            self._start_read_ahead(key_path, mode)
        return self._load(key, st, data)

    def _check_racy(
        self, key: tuple[str, str], entry: _Entry, st: os.stat_result
    ) -> tuple[bool, bytes | None]:
        """Whether the file (whose stat ``st`` matches the racy ``entry``) still holds the
        bytes the entry was decoded from, and the bytes read (None if unreadable). A match
        once the mtime is a tick in the past clears the mark: any later write moves it."""
        settled = not _racy(st)  # judged before the read
        try:
            data = _read(key[0])
        except OSError:
            return False, None
        same = _digest(data) == entry.digest
        with self._lock:
            self._rehashes += 1
            if same and settled and self._entries.get(key) is entry:
                entry.digest = None
        return same, data

    def _load(self, key: tuple[str, str], st: os.stat_result, data: bytes | None) -> Array:
        """Decode a miss (``data``: the file's bytes when already read) and keep it when the
        file did not change meanwhile. A racy file is decoded from bytes read here, whose
        hash the entry keeps."""
        path, mode = key[0], cast(Mode, key[1])
        if data is None and not _racy(st):
            image = decode(path, mode=mode)
            image.flags.writeable = False
            self._store(key, image, st)
            return image
        if data is None:
            data = _read(path)
        try:
            image = decode(data, mode=mode)
        except DecodeError as e:
            raise _renamed(e, path) from None
        image.flags.writeable = False
        self._store(key, image, st, _digest(data))
        return image

    def __contains__(self, path: object) -> bool:
        """Whether a valid (file unchanged) entry exists for ``path``, in any mode."""
        key_path = _path(path)
        try:
            st = _stat(key_path)
        except OSError:
            return False
        sig = _signature(st)
        with self._lock:
            found = [(m, self._entries.get((key_path, m))) for m in _MODES]
        for m, entry in found:
            if entry is not None and entry.signature == sig:
                if entry.digest is None or self._check_racy((key_path, m), entry, st)[0]:
                    return True
        return False

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # -- changes ---------------------------------------------------------------------------
    def put(self, path: str | bytes | os.PathLike[str], image: Any, *, mode: Mode = "RGB") -> None:
        """Keep ``image`` as the decoded ``path`` (a read-only copy is stored), valid while
        the file stays as it is now (a just-written file's bytes are read and hashed, as in
        `get`). An image larger than the cap is not kept."""
        key_path = _path(path)
        _mode(mode)
        if not isinstance(image, np.ndarray):
            raise TypeError(f"image: expected a numpy array, got {type(image).__name__}")
        if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3):
            raise TypeError(
                f"image: expected a uint8/uint16 (H, W[, C]) array, got {image.dtype} {image.shape}"
            )
        st = _stat(key_path)
        digest = _digest(_read(key_path)) if _racy(st) else None
        # A copy over an immutable bytes buffer: unlike an owned copy merely flagged
        # read-only, numpy refuses to make it writeable again.
        frozen = np.ascontiguousarray(image).tobytes()
        stored = cast(Array, np.frombuffer(frozen, dtype=image.dtype).reshape(image.shape))
        self._insert((key_path, mode), stored, _signature(st), digest)

    def clear(self) -> None:
        """Drop every entry (the counters of `stats` are kept)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _remove(self, key: tuple[str, str], entry: _Entry) -> None:
        del self._entries[key]
        self._bytes -= entry.nbytes

    def _store(
        self,
        key: tuple[str, str],
        image: Array,
        before: os.stat_result,
        digest: bytes | None = None,
    ) -> bool:
        """Keep a freshly decoded image if the file did not change while it was read (a
        racy file only with ``digest``, the hash of the bytes decoded). Returns whether it
        was kept."""
        try:
            after = _stat(key[0])
        except OSError:
            return False
        sig = _signature(after)
        if sig != _signature(before) or (digest is None and _racy(after)):
            return False
        return self._insert(key, image, sig, digest)

    def _insert(
        self, key: tuple[str, str], image: Array, sig: Signature, digest: bytes | None = None
    ) -> bool:
        nbytes = int(image.nbytes)
        if nbytes > self._max_bytes:
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = _Entry(image, sig, nbytes, digest)
            self._bytes += nbytes
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
                self._evictions += 1
        return True

    # -- background loading ----------------------------------------------------------------
    def _folder_names(self, folder: str) -> list[str]:
        """Sorted image file names of ``folder`` (kept while its mtime stays the same)."""
        from pixfeed.scan import scan

        mtime = _stat(folder).st_mtime_ns
        with self._ahead_lock:
            known = self._listings.get(folder)
        if known is not None and known[0] == mtime:
            return known[1]
        names = [os.path.basename(p) for p in scan(folder, recursive=False)]
        with self._ahead_lock:
            self._listings[folder] = (mtime, names)
        return names

    def _start_read_ahead(self, path: str, mode: Mode) -> None:
        """Preload the files after ``path`` in its folder (see the module docs)."""
        import bisect

        folder, name = os.path.split(path)
        try:
            names = self._folder_names(folder or ".")
        except (OSError, ValueError):  # an unreadable folder: no read-ahead, the get goes on
            return
        at = bisect.bisect_right(names, name)
        todo = [os.path.join(folder, n) for n in names[at : at + self._read_ahead]]
        with self._ahead_lock:
            if self._ahead_job is not None:
                self._ahead_job.cancel(wait=False)
            # One file per chunk: a newer miss cancels this job after at most one decode.
            self._ahead_job = self.preload(todo, mode=mode, chunk_size=1) if todo else None

    def preload(
        self,
        paths: Iterable[str | bytes | os.PathLike[str]],
        *,
        mode: Mode = "RGB",
        threads: int | None = None,
        chunk_size: int = 64,
        on_loaded: Callable[[str, Any], object] | None = None,
    ) -> Preload:
        """Decode ``paths`` into the cache in a background thread; returns at once.

        Files already cached (and unchanged) are skipped. Decoding happens ``chunk_size``
        files at a time with `decode_batch` (native threads, GIL released); `get` is never
        blocked meanwhile. Failures do not stop the preload: they are collected in the
        returned `Preload`'s ``errors``.

        ``on_loaded(path, array_or_error)`` is called once per path as its chunk finishes,
        on the preload's thread (never the caller's): with the read-only array (the cached
        one for a path already cached; a fresh one also when it was too large to keep) or
        the exception. An exception it raises stops the preload; ``wait()`` re-raises it.
        After `Preload.cancel` returns, it is not called again."""
        mode = _mode(mode)
        if on_loaded is not None and not callable(on_loaded):
            got = type(on_loaded).__name__
            raise TypeError(f"on_loaded: expected a callable or None, got {got}")
        todo = [_path(p) for p in paths]
        job = Preload(
            self,
            todo,
            mode,
            _args.threads(threads) if threads is not None else self._io_threads,
            _args.positive_int(chunk_size, "chunk_size"),
            on_loaded,
        )
        job._thread.start()
        return job

    def _preload_chunk(
        self, paths: list[str], mode: Mode, threads: int | None, job: Preload
    ) -> None:
        todo: list[tuple[str, os.stat_result, bytes | None]] = []
        for p in paths:
            try:
                st = _stat(p)
            except OSError as e:
                job._report(p, e)
                continue
            with self._lock:
                entry = self._entries.get((p, mode))
            fresh = entry is not None and entry.signature == _signature(st)
            data = None
            if fresh and entry is not None and entry.digest is not None:
                fresh, data = self._check_racy((p, mode), entry, st)
            if fresh and entry is not None:
                job.already_cached += 1
                job._report(p, entry.image)
                continue
            if data is None and _racy(st):  # decoded from the bytes it is hashed by
                try:
                    data = _read(p)
                except OSError as e:
                    job._report(p, e)
                    continue
            todo.append((p, st, data))
        if not todo or job._cancel.is_set():
            return
        sources = [p if data is None else data for p, _, data in todo]
        batch = decode_batch(sources, mode=mode, threads=threads, on_error="none")
        for i, ((p, st, data), image) in enumerate(zip(todo, batch, strict=True)):
            if image is None:
                job._report(p, _renamed(batch.errors[i], p))
                continue
            image.flags.writeable = False
            if self._store((p, mode), image, st, None if data is None else _digest(data)):
                job.loaded += 1
                with self._lock:
                    self._preloaded += 1
            else:
                job.not_kept += 1
            job._report(p, image)

    # -- numbers ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters since the cache was made: ``hits``, ``misses`` (gets not served from
        memory, whether or not their decode succeeded),
        ``hit_rate`` (hits / gets, 0.0 before any), ``bytes`` and ``entries`` held now,
        ``max_bytes``, ``evictions`` (entries dropped for room), ``invalidations`` (entries
        dropped because their file changed), ``preloaded`` (images `preload` kept) and
        ``rehashes`` (racy entries whose file was read and hashed again to validate them)."""
        with self._lock:
            gets = self._hits + self._misses
            return {
                "hits": self._hits,
                "misses": self._misses,
                "hit_rate": self._hits / gets if gets else 0.0,
                "bytes": self._bytes,
                "entries": len(self._entries),
                "max_bytes": self._max_bytes,
                "evictions": self._evictions,
                "invalidations": self._invalidations,
                "preloaded": self._preloaded,
                "rehashes": self._rehashes,
            }

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"ImageCache({s['entries']} entries, {s['bytes'] / _MB:.1f} of "
            f"{s['max_bytes'] / _MB:.1f} MB, hit rate {s['hit_rate']:.1%})"
        )


class Preload:
    """A background `ImageCache.preload`. ``loaded``: images decoded and kept;
    ``already_cached``: skipped as already cached; ``not_kept``: decoded but not kept (too
    large, or changed while decoding); ``errors``: path -> exception."""

    def __init__(
        self,
        cache: ImageCache,
        paths: list[str],
        mode: Mode,
        threads: int | None,
        chunk_size: int,
        on_loaded: Callable[[str, Any], object] | None = None,
    ) -> None:
        self.total = len(paths)
        self._on_loaded = on_loaded
        self.loaded = 0
        self.already_cached = 0
        self.not_kept = 0
        self.errors: dict[str, BaseException] = {}
        self._cancel = threading.Event()
        self._failure: BaseException | None = None
        self._done = threading.Event()

        def run() -> None:
            try:
                for start in range(0, len(paths), chunk_size):
                    if self._cancel.is_set():
                        break
                    cache._preload_chunk(paths[start : start + chunk_size], mode, threads, self)
            except BaseException as e:  # reported by wait(), never lost in a thread
                self._failure = e
            finally:
                self._done.set()

        self._thread = threading.Thread(target=run, name="pixfeed-preload", daemon=True)

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the preload finished (True) or ``timeout`` seconds passed (False).
        Re-raises an unexpected failure of the background thread (not per-file errors)."""
        finished = self._done.wait(timeout)
        if finished and self._failure is not None:
            raise self._failure
        return finished

    def _report(self, path: str, result: Any) -> None:
        """One path's outcome: an exception goes to ``errors``; ``on_loaded`` is told
        unless the preload was cancelled."""
        if isinstance(result, BaseException):
            self.errors[path] = result
        if self._on_loaded is not None and not self._cancel.is_set():
            self._on_loaded(path, result)

    def cancel(self, wait: bool = True) -> None:
        """Stop after the chunk being decoded (what is decoded so far stays cached). With
        ``wait`` (the default) it returns once the preload's thread has ended: no
        ``on_loaded`` call follows (called from ``on_loaded`` itself, it does not wait)."""
        self._cancel.set()
        if wait and self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return (
            f"Preload({state}: {self.loaded} loaded, {self.already_cached} already cached, "
            f"{len(self.errors)} errors of {self.total})"
        )
