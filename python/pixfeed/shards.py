"""`Shards`: tar shards in the WebDataset layout as a source of samples (docs/shards.md).

A shard is a tar file whose members are grouped into samples by name, with webdataset's own
rule: a member's key is its directory plus its base name up to the first dot, the rest of
the name (lower-cased) its extension; consecutive members with the same key form one
sample. The members' offsets come from the tar headers alone (the native reader, in
parallel across shards), or from an index file (a sidecar ``<shard>.pfidx`` next to each
shard, or one file given as ``index=``). Each sample's image is a `pixfeed._core.Member`,
accepted wherever a path is (`decode`, `probe`, `Pipeline`, `Loader`).
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.errors import ShardError

__all__ = ["SIDECAR_SUFFIX", "Member", "Sample", "Shards", "expand_urls", "write_shards"]

Member = _core.Member

#: The sidecar index of ``shard.tar`` is ``shard.tar.pfidx``.
SIDECAR_SUFFIX = ".pfidx"
_FORMAT = "pixfeed-tar-index"
_VERSION = 2
_HEAD = '{"format": "' + _FORMAT + '"'
#: The most shards a pattern may expand to, and the largest index file read.
MAX_SHARDS = 1_000_000
MAX_INDEX_BYTES = 4 << 30
#: The largest label member (``.cls``, ``.json``) read.
MAX_LABEL_BYTES = 1 << 20

# webdataset's key rule (`webdataset.tariterators.base_plus_ext`) and the members it skips
# (names like ``__meta__`` and anything under a ``__x__/`` folder).
_KEY_RE = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")
_SKIP_RE = re.compile(r"__[^/]*__($|/)")


class Sample(NamedTuple):
    """One sample: its key, its image member (a source), its label (or None), and all of its
    members by extension."""

    key: str
    image: _core.Member
    label: Any
    members: dict[str, _core.Member]


def split_key(name: str) -> tuple[str, str] | None:
    """``(key, extension)`` of a member name by webdataset's rule, or None when the member
    is not part of any sample (no dot in its base name, or a ``__...__`` metadata name)."""
    if ("/" not in name and name.startswith("__") and name.endswith("__")) or _SKIP_RE.match(name):
        return None
    m = _KEY_RE.match(name)
    if m is None:
        return None
    return m.group(1), m.group(2).lower()


def _expand_one(pattern: str, out: list[str]) -> None:
    m = re.search(r"\{([^{}]*)\}", pattern)
    if m is None:
        out.append(pattern)
        return
    head, tail, body = pattern[: m.start()], pattern[m.end() :], m.group(1)
    r = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if r is not None:
        a, b = r.group(1), r.group(2)
        lo, hi = int(a), int(b)
        if hi - lo + 1 > MAX_SHARDS:
            raise ValueError(f"urls: {pattern!r} names more than {MAX_SHARDS} shards")
        padded = (len(a) > 1 and a[0] == "0") or (len(b) > 1 and b[0] == "0")
        width = max(len(a), len(b)) if padded else 0
        step = 1 if hi >= lo else -1
        parts = [str(i).zfill(width) for i in range(lo, hi + step, step)]
    else:
        parts = body.split(",")
    for p in parts:
        _expand_one(head + p + tail, out)
        if len(out) > MAX_SHARDS:
            raise ValueError(f"urls: {pattern!r} names more than {MAX_SHARDS} shards")


def expand_urls(urls: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """Shard paths from a brace pattern (``train-{000000..000146}.tar``, ``{a,b}``, several
    braces) or a list of paths (each also expanded)."""
    items: Sequence[Any] = [urls] if isinstance(urls, (str, os.PathLike)) else urls
    if not isinstance(items, Sequence):
        raise TypeError(f"urls: expected a path, a pattern or a list, got {type(urls).__name__}")
    out: list[str] = []
    for i, u in enumerate(items):
        if not isinstance(u, (str, os.PathLike)):
            raise TypeError(f"urls[{i}]: expected str or os.PathLike, got {type(u).__name__}")
        text = os.fsdecode(os.fspath(u))
        if "://" in text and not text.startswith("file://"):
            raise ValueError(f"urls[{i}]: only local paths are read, got {text!r}")
        _expand_one(text.removeprefix("file://"), out)
    if not out:
        raise ValueError("urls: no shard given")
    return out


# ---------------------------------------------------------------------------------------
# The index: per shard, the members' names, data offsets and sizes, which members are GNU
# sparse files, and the shard's size and mtime when indexed (an index whose shard no longer
# has them is stale and rebuilt).


@dataclass
class _ShardIndex:
    names: list[str]
    offsets: npt.NDArray[np.uint64]
    sizes: npt.NDArray[np.uint64]
    file_size: int
    mtime_ns: int
    #: Per member: a GNU sparse file (its stored bytes are not its content).
    sparse: npt.NDArray[np.bool_]

    def to_json(self, path: str) -> dict[str, Any]:
        return {
            "path": path,
            "size": self.file_size,
            "mtime_ns": self.mtime_ns,
            "names": self.names,
            "offsets": self.offsets.tolist(),
            "sizes": self.sizes.tolist(),
            "sparse": np.flatnonzero(self.sparse).tolist(),
        }


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _from_json(entry: Any, stamp: tuple[int, int]) -> _ShardIndex | None:
    """The entry when it is well formed, fresh (the shard's size and mtime) and its ranges
    are possible in the shard (inside it, block-aligned, ascending, disjoint); else None."""
    try:
        names, offsets, sizes = entry["names"], entry["offsets"], entry["sizes"]
        sparse_at = entry["sparse"]
        if (entry["size"], entry["mtime_ns"]) != stamp:
            return None
        if not (len(names) == len(offsets) == len(sizes)):
            return None
        if not all(isinstance(n, str) for n in names):
            return None
        if not all(type(v) is int for v in (*offsets, *sizes, *sparse_at)):
            return None
        if not all(0 <= v < len(names) for v in sparse_at):
            return None
        off = np.asarray(offsets, dtype=np.int64).reshape(-1)
        siz = np.asarray(sizes, dtype=np.int64).reshape(-1)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    ends = off + siz
    if len(off) and (
        (off < 512).any()
        or (off % 512).any()
        or (siz < 0).any()
        or ends.max() > stamp[0]
        or (off[1:] < ends[:-1] + 512).any()
    ):
        return None
    sparse = np.zeros(len(names), dtype=np.bool_)
    sparse[np.asarray(sparse_at, dtype=np.int64)] = True
    return _ShardIndex(
        list(names), off.astype(np.uint64), siz.astype(np.uint64), stamp[0], stamp[1], sparse
    )


def _is_ours(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(len(_HEAD)) == _HEAD.encode()


def _read_index(path: str) -> dict[str, Any] | None:
    """An index file's content, or None when it is ours but unreadable (to be rebuilt).
    Raises ValueError when the file is not a pixfeed index (never overwritten)."""
    if not _is_ours(path):
        raise ValueError(f"index: {path!r} is not a pixfeed tar index; it is left as it is")
    if os.path.getsize(path) > MAX_INDEX_BYTES:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        return None
    shards = doc.get("shards")
    if not isinstance(shards, list) or not all(isinstance(s, dict) for s in shards):
        return None
    return {s.get("path"): s for s in shards if isinstance(s.get("path"), str)}


def _write_index(path: str, entries: list[dict[str, Any]]) -> None:
    """Write an index file through a temporary name (a reader never sees half of one);
    never over a file that is not a pixfeed index."""
    if os.path.lexists(path) and not _is_ours(path):
        raise FileExistsError(
            f"index: {path!r} exists and is not a pixfeed tar index; it is left as it is"
        )
    doc = {"format": _FORMAT, "version": _VERSION, "shards": entries}
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(", ", ": "))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_sidecar(shard: str) -> None:
    """Index ``shard`` from its headers and write ``shard + SIDECAR_SUFFIX``."""
    (got,) = _core.tar_index([shard])
    if isinstance(got, BaseException):
        raise got
    idx = _native(got)
    _write_index(shard + SIDECAR_SUFFIX, [idx.to_json(os.path.basename(shard))])


def _native(got: Any) -> _ShardIndex:
    names, offsets, sizes, file_size, mtime_ns, sparse = got
    return _ShardIndex(
        [n.decode("utf-8", "surrogateescape") for n in names],
        offsets,
        sizes,
        int(file_size),
        int(mtime_ns),
        sparse,
    )


def _build(urls: list[str], threads: int | None) -> list[_ShardIndex | BaseException]:
    if not urls:
        return []
    return [
        g if isinstance(g, BaseException) else _native(g) for g in _core.tar_index(urls, threads)
    ]


def _load_indexes(
    urls: list[str], index: str | os.PathLike[str], threads: int | None
) -> list[_ShardIndex | BaseException]:
    """Per shard, its index or the exception (a missing shard, a corrupt one)."""
    out: list[_ShardIndex | BaseException | None] = [None] * len(urls)
    stamps: list[tuple[int, int] | None] = []
    for i, url in enumerate(urls):
        try:
            stamps.append(_stamp(url))
        except OSError as e:
            out[i] = e
            stamps.append(None)
    single = None if index == "auto" else os.fspath(index)
    known: dict[str, Any] | None = None
    if single is not None and os.path.exists(single):
        known = _read_index(single)
    for i, url in enumerate(urls):
        stamp = stamps[i]
        if stamp is None:
            continue
        entry: Any = None
        if single is None:
            side = url + SIDECAR_SUFFIX
            if os.path.isfile(side) and _is_ours(side):
                doc = _read_index(side)
                entry = None if doc is None else doc.get(os.path.basename(url))
        elif known is not None:
            entry = known.get(os.path.abspath(url))
        if entry is not None:
            out[i] = _from_json(entry, stamp)
    todo = [i for i, o in enumerate(out) if o is None]
    for i, built in zip(todo, _build([urls[i] for i in todo], threads), strict=True):
        out[i] = built
    if single is not None and (todo or known is None):
        # The shards indexed now, and the file's other (still fresh or not) entries kept.
        mine = {
            os.path.abspath(u): o.to_json(os.path.abspath(u))
            for u, o in zip(urls, out, strict=True)
            if isinstance(o, _ShardIndex)
        }
        others = [e for p, e in (known or {}).items() if p not in mine]
        _write_index(single, others + list(mine.values()))
    return [o for o in out if o is not None]


# ---------------------------------------------------------------------------------------


def _image_exts(image: str | Sequence[str]) -> list[str]:
    exts = image.split(";") if isinstance(image, str) else list(image)
    exts = [e.strip().lower().lstrip(".") for e in exts]
    if not exts or not all(exts):
        raise ValueError(f"image: expected extensions like 'jpg;png', got {image!r}")
    return exts


def _label_rule(label: str | None) -> tuple[str, str] | None:
    if label is None:
        return None
    if label == "cls":
        return "cls", ""
    if isinstance(label, str) and label.startswith("json:") and len(label) > 5:
        return "json", label[5:]
    raise ValueError(f"label: expected None, 'cls' or 'json:<field>', got {label!r}")


class Shards:
    """Samples of tar shards in the WebDataset layout (see the module docstring).

    ``urls``: a brace pattern (``data/train-{000000..000146}.tar``) or a list of paths.
    ``image``: the image extensions in order of preference (``"jpg;jpeg;png;webp;bmp"``).
    ``label``: None, ``"cls"`` (the ``.cls`` member's text as an int) or ``"json:<field>"``
    (that field of the ``.json`` member). ``index``: ``"auto"`` (a fresh sidecar
    ``<shard>.pfidx`` is loaded, other shards are indexed from their headers) or the path
    of one index file for all shards (loaded where fresh, rebuilt and saved otherwise; a
    file that is not a pixfeed index is never overwritten). ``missing``: ``"error"`` (a
    missing shard, a sample without an image or label, or one with a GNU sparse member
    (``tar --sparse``; its stored bytes lack the holes) is an error) or ``"skip"`` (they
    are skipped and listed in ``skipped``). ``threads``: for indexing the shards (default:
    pixfeed's pool).

    Samples are stored shard by shard, in member order within a shard: ``sources[i]`` is
    sample i's image (a `pixfeed._core.Member`), ``keys[i]`` its key, ``labels[i]`` its
    label, ``shard_of[i]`` its shard's position in ``urls``; ``shard_sizes[s]`` counts
    shard s's samples. A corrupt shard (bad header checksum, cut short) is always an error
    (`pixfeed.ShardError` naming the shard and the byte offset).
    """

    def __init__(
        self,
        urls: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        image: str | Sequence[str] = "jpg;jpeg;png;webp;bmp",
        label: str | None = None,
        index: str | os.PathLike[str] = "auto",
        missing: Literal["error", "skip"] = "error",
        threads: int | None = None,
    ) -> None:
        self.urls = expand_urls(urls)
        self._image_exts = _image_exts(image)
        self._label = _label_rule(label)
        if missing not in ("error", "skip"):
            raise ValueError(f"missing: expected 'error' or 'skip', got {missing!r}")
        if not isinstance(index, (str, os.PathLike)):
            raise TypeError(f"index: expected 'auto' or a path, got {type(index).__name__}")
        self.missing = missing
        #: What ``missing="skip"`` skipped: ``(shard, key or None for a whole shard, why)``.
        self.skipped: list[tuple[str, str | None, str]] = []
        self.keys: list[str] = []
        self.sources: list[_core.Member] = []
        labels: list[Any] = []
        shard_of: list[int] = []
        # Per sample: (shard, first member, end member) into self._index[shard].
        self._span: list[tuple[int, int, int]] = []
        self._index: list[_ShardIndex | None] = []
        indexes = _load_indexes(self.urls, index, _args.threads(threads))
        for s, (url, idx) in enumerate(zip(self.urls, indexes, strict=True)):
            if isinstance(idx, FileNotFoundError) and missing == "skip":
                self.skipped.append((url, None, str(idx)))
                self._index.append(None)
                continue
            if isinstance(idx, BaseException):
                raise idx
            self._index.append(idx)
            for sample in self._group(url, idx):
                key, first, end, image_at, label = sample
                self.keys.append(key)
                self.sources.append(
                    _core.Member(url, idx.names[image_at], *self._range(idx, image_at))
                )
                labels.append(label)
                shard_of.append(s)
                self._span.append((s, first, end))
        self.shard_of: npt.NDArray[np.int64] = np.asarray(shard_of, dtype=np.int64)
        self.shard_sizes: npt.NDArray[np.int64] = np.bincount(
            self.shard_of, minlength=len(self.urls)
        ).astype(np.int64)
        self.labels: np.ndarray | None = None if self._label is None else np.asarray(labels)

    @staticmethod
    def _range(idx: _ShardIndex, k: int) -> tuple[int, int]:
        return int(idx.offsets[k]), int(idx.sizes[k])

    def _group(self, url: str, idx: _ShardIndex) -> Iterator[tuple[str, int, int, int, Any]]:
        """``(key, first member, end member, image member, label)`` per kept sample."""
        current: tuple[str, int, dict[str, int]] | None = None
        for k, name in enumerate(idx.names):
            parts = split_key(name)
            if parts is None:
                continue
            key, ext = parts
            if current is None or key != current[0]:
                if current is not None:
                    yield from self._sample(url, idx, current, k)
                current = (key, k, {})
            if ext in current[2]:
                raise ShardError(
                    url,
                    f"sample {key!r}: a second {ext!r} member at offset {idx.offsets[k]}",
                    "corrupt",
                    int(idx.offsets[k]),
                )
            current[2][ext] = k
        if current is not None:
            yield from self._sample(url, idx, current, len(idx.names))

    def _sample(
        self, url: str, idx: _ShardIndex, cur: tuple[str, int, dict[str, int]], end: int
    ) -> Iterator[tuple[str, int, int, int, Any]]:
        key, first, members = cur
        offset = int(idx.offsets[first])
        image_at = next((members[e] for e in self._image_exts if e in members), None)
        why = None
        # A sparse member's stored bytes lack its holes: never read as if they were the file.
        sparse_at = next((k for k in members.values() if idx.sparse[k]), None)
        if sparse_at is not None:
            offset = int(idx.offsets[sparse_at])
            why = (
                f"sample {key!r}: member {idx.names[sparse_at]!r} at offset {offset} is a GNU "
                "sparse file (sparse member: repack without --sparse)"
            )
        elif image_at is None:
            exts = ", ".join(self._image_exts)
            why = f"sample {key!r} at offset {offset} has no image member ({exts})"
        label = None
        if why is None and self._label is not None:
            label, why = self._read_label(url, idx, key, members)
        if why is not None:
            if self.missing == "skip":
                self.skipped.append((url, key, why))
                return
            raise ShardError(url, why, "corrupt" if sparse_at is None else "unsupported", offset)
        assert image_at is not None
        yield key, first, end, image_at, label

    def _read_label(
        self, url: str, idx: _ShardIndex, key: str, members: dict[str, int]
    ) -> tuple[Any, str | None]:
        assert self._label is not None
        rule, field = self._label
        ext = "cls" if rule == "cls" else "json"
        at = members.get(ext)
        if at is None:
            return None, f"sample {key!r} has no {ext!r} member for label={self._describe()}"
        offset, size = self._range(idx, at)
        if size > MAX_LABEL_BYTES:
            return None, f"sample {key!r}: the {ext!r} member at offset {offset} is {size} bytes"
        data = _pread(url, offset, size)
        try:
            if rule == "cls":
                return int(data.decode("utf-8").strip()), None
            value = json.loads(data)
            return value[field], None
        except (ValueError, UnicodeDecodeError):
            return None, f"sample {key!r}: the {ext!r} member at offset {offset} is not valid"
        except (KeyError, TypeError, IndexError):
            return None, f"sample {key!r}: the json member at offset {offset} has no {field!r}"

    def _describe(self) -> str:
        assert self._label is not None
        return "'cls'" if self._label[0] == "cls" else f"'json:{self._label[1]}'"

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> Sample:
        n = len(self.sources)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"sample index {i} out of range for {n} samples")
        i %= n
        s, first, end = self._span[i]
        idx = self._index[s]
        assert idx is not None
        members = {}
        for k in range(first, end):
            parts = split_key(idx.names[k])
            if parts is not None:
                members[parts[1]] = _core.Member(self.urls[s], idx.names[k], *self._range(idx, k))
        label = None if self.labels is None else self.labels[i].item()
        return Sample(self.keys[i], self.sources[i], label, members)

    def read(self, i: int) -> bytes:
        """Sample i's image bytes as stored in the shard."""
        return member_bytes(self.sources[i])

    def __repr__(self) -> str:
        return f"Shards({len(self.urls)} shards, {len(self)} samples)"


def member_bytes(member: _core.Member) -> bytes:
    """A member's bytes as stored in its shard."""
    return _pread(member.path, member.offset, member.size)


def _pread(path: str, offset: int, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, size, offset)
    finally:
        os.close(fd)
    if len(data) != size:
        raise ShardError(
            path,
            f"the member at offset {offset} runs past the end of the file",
            "truncated",
            offset,
        )
    return data


# ---------------------------------------------------------------------------------------
# Writing


def _shard_name(pattern: str, i: int) -> str:
    if "{" in pattern:
        return pattern.format(i)
    return pattern % i


def _check_key(key: str, where: str) -> None:
    if not isinstance(key, str) or split_key(key + ".jpg") != (key, "jpg"):
        raise ValueError(
            f"{where}: {key!r} cannot be a webdataset key (no dot in its last part, no "
            "'__name__' folder, not empty)"
        )


def write_shards(
    paths: Sequence[str | os.PathLike[str]],
    labels: Sequence[int] | npt.ArrayLike | None,
    pattern: str,
    *,
    max_count: int = 10_000,
    max_bytes: int = 1 << 30,
    keys: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool | None = False,
) -> list[str]:
    """Write the image files ``paths`` (and their int ``labels`` as ``.cls`` members) into
    tar shards in the WebDataset layout; returns the shards' paths.

    ``pattern`` names shard i: ``"out/train-%06d.tar"`` or ``"out/train-{:06d}.tar"``. A
    shard holds at most ``max_count`` samples and ``max_bytes`` bytes (a larger sample gets
    a shard of its own). Sample k's key is ``keys[k]`` (default: its position, 9 digits);
    its image member is ``<key>.<extension of the file, lower-cased>``. Each shard is
    written to a temporary name and renamed when complete, with its sidecar index
    ``<shard>.pfidx``. Existing shards are an error (`FileExistsError`, before anything is
    written) unless ``overwrite=True``; a file where a sidecar goes that is not a pixfeed
    index is never overwritten. The output is read by `webdataset` and `Shards` alike.
    """
    if isinstance(paths, (str, bytes)) or not isinstance(paths, Sequence):
        raise TypeError("paths: expected a sequence of image paths")
    files = [os.fsdecode(os.fspath(p)) for p in paths]
    n = len(files)
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != (n,) or lab.dtype.kind not in "iu":
            raise ValueError(f"labels: expected {n} ints, got {lab.dtype} of shape {lab.shape}")
    max_count = _args.positive_int(max_count, "max_count")
    max_bytes = _args.positive_int(max_bytes, "max_bytes")
    if not isinstance(pattern, str):
        raise TypeError(f"pattern: expected str, got {type(pattern).__name__}")
    try:
        names = {_shard_name(pattern, 0), _shard_name(pattern, 1)}
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise ValueError(f"pattern: expected '%06d' or '{{:06d}}' in {pattern!r}: {e}") from None
    if len(names) != 2:
        raise ValueError(f"pattern: {pattern!r} gives every shard the same name")
    key_list = [f"{k:09d}" for k in range(n)] if keys is None else [str(k) for k in keys]
    if len(key_list) != n:
        raise ValueError(f"keys: expected {n} keys, got {len(key_list)}")
    for k, key in enumerate(key_list):
        _check_key(key, f"keys[{k}]")
    exts = []
    for k, f in enumerate(files):
        ext = os.path.splitext(f)[1].lower().lstrip(".")
        if not ext:
            raise ValueError(f"paths[{k}]: {f!r} has no extension to name its member by")
        exts.append(ext)
    sizes = [os.path.getsize(f) for f in files]
    # The plan: consecutive samples per shard (bytes as the tar stores them).
    plan: list[list[int]] = []
    used = 0
    for k in range(n):
        cost = 1024 + (sizes[k] + 511) // 512 * 512 + (1024 if labels is not None else 0)
        if not plan or len(plan[-1]) >= max_count or (plan[-1] and used + cost > max_bytes):
            plan.append([])
            used = 0
        plan[-1].append(k)
        used += cost
    out = [_shard_name(pattern, i) for i in range(len(plan))]
    if len(set(out)) != len(out):
        raise ValueError(f"pattern: {pattern!r} gives two shards the same name")
    for path in out:
        if os.path.lexists(path) and not overwrite:
            raise FileExistsError(f"{path!r} exists; pass overwrite=True to replace it")
        side = path + SIDECAR_SUFFIX
        if os.path.lexists(side) and not _is_ours(side):
            raise FileExistsError(f"{side!r} exists and is not a pixfeed tar index")
    from pixfeed._progress import Progress

    bar = Progress(n, "write_shards", progress)
    try:
        for path, members in zip(out, plan, strict=True):
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            tmp = f"{path}.tmp-{os.getpid()}"
            try:
                with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
                    for k in members:
                        _add_member(tar, f"{key_list[k]}.{exts[k]}", files[k])
                        if labels is not None:
                            data = str(int(lab[k])).encode()
                            info = tarfile.TarInfo(f"{key_list[k]}.cls")
                            info.size = len(data)
                            tar.addfile(info, io.BytesIO(data))
                        bar.update()
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            write_sidecar(path)
    finally:
        bar.close()
    return out


def _add_member(tar: tarfile.TarFile, name: str, path: str) -> None:
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        info = tarfile.TarInfo(name)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        tar.addfile(info, f)
