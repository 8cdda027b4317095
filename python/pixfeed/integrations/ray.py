"""Ray Data integration: the same pixels on a cluster as from a local `Loader`.

Imported only when used (``import pixfeed`` never imports ray; this module imports it on first
call). `Decode` is a ``map_batches`` function that runs pixfeed's fused pipeline on a batch of
paths (or encoded bytes); `read_images` builds a dataset of decoded images from a list of
paths in one call; `collate` normalizes uint8 batches after they reach the trainer.

Randomness is keyed by the sample, not by where it lands: sample ``key`` gets the crop and
flip of (seed, epoch, key), exactly as sample ``key`` of ``Loader(shuffle=False, seed=seed)``
does, so the output never depends on block boundaries, batch size, concurrency or pool size.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from pixfeed import _args, _core
from pixfeed.errors import DecodeError, _shown
from pixfeed.loader import _labels
from pixfeed.pipeline import Pipeline
from pixfeed.shards import Shards

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

__all__ = ["Decode", "assigned_cpus", "collate", "path_key", "read_images"]

OnError = Literal["raise", "skip", "report"]
#: The columns of ``source="member"``: a tar shard member (`pixfeed.Shards` samples).
MEMBER_COLUMNS = ("shard", "member", "offset", "size")
_STRING_COLUMNS = ("path", "shard", "member")
_KEY_MAX = 2**64 - 1


def _ray() -> Any:
    """The ray module, or ImportError saying how to get it."""
    try:
        import ray
    except ImportError as e:  # pragma: no cover - exercised in a child without ray
        raise ImportError(
            "pixfeed.ray needs Ray Data: pip install 'pixfeed[ray]' (or 'ray[data]')"
        ) from e
    return ray


def path_key(source: str | bytes | bytearray) -> int:
    """The key of a sample without an integer key column: the first 8 bytes of the BLAKE2b
    digest (digest_size=8) of the path's UTF-8 bytes (surrogate escapes kept as the file
    name's own bytes), or of the encoded bytes themselves, read as a little-endian integer
    and cut to 63 bits. The same in every process and on every machine (unlike ``hash()``)."""
    if isinstance(source, str):
        data = source.encode("utf-8", "surrogateescape")
    else:
        data = bytes(source)
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def assigned_cpus() -> int | None:
    """Inside a Ray task or actor: the CPUs Ray assigned to it (fractions round down, at
    least 1; an actor that holds no CPU gets 1). Outside Ray (or on the driver): None."""
    ray = sys.modules.get("ray")
    if ray is None:
        return None
    try:
        if not ray.is_initialized():
            return None
        ctx = ray.get_runtime_context()
        if ctx.worker.mode != ray._private.worker.WORKER_MODE:
            return None
        cpus = float(ctx.get_assigned_resources().get("CPU", 0.0))
    except Exception:  # a Ray without these internals: behave as outside Ray
        return None
    return max(1, min(_args.MAX_THREADS, math.floor(cpus)))


def _columns(batch: Any) -> dict[str, Any]:
    """A batch as {column: array}: numpy dicts, pyarrow tables and pandas frames."""
    if isinstance(batch, Mapping):
        return dict(batch)
    to_pydict = getattr(batch, "to_pydict", None)  # pyarrow.Table
    if callable(to_pydict) and hasattr(batch, "schema"):
        return {k: np.asarray(v, dtype=object) for k, v in to_pydict().items()}
    if hasattr(batch, "columns") and hasattr(batch, "to_numpy"):  # pandas.DataFrame
        return {str(c): batch[c].to_numpy() for c in batch.columns}
    raise TypeError(
        f"Decode: expected a batch of columns (dict, pyarrow.Table or pandas.DataFrame), "
        f"got {type(batch).__name__}"
    )


def _source_name(src: _args.Native) -> str:
    """How pixfeed's errors name a source: the path, ``<shard>:<member> @ offset <n>`` for a
    shard member, ``<bytes>`` for encoded bytes."""
    if isinstance(src, str):
        return src
    if isinstance(src, _core.Member):
        return f"{src.path}:{src.name} @ offset {src.offset}"
    return "<bytes>"


def _error_text(name: str, exc: BaseException) -> str:
    """A failed row's ``error`` text: the error, led by the source's ``name`` unless it
    names it already."""
    if isinstance(exc, DecodeError) and exc.source == name:
        return str(exc)
    text = str(exc)
    return text if name in text else f"{name}: {text}"


def _renamed(exc: DecodeError, name: str) -> DecodeError:
    """``exc`` (about ``<bytes>``) naming ``name`` instead: the row's path or key."""
    new = copy.copy(exc)  # the same class and fields (a ShardError keeps its offset)
    new.source = name
    new.args = (f"{_shown(name)}: {exc.reason}",)
    return new


def _plain(value: Any) -> str:
    """A key or path value as an error shows it: numpy scalars as plain Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


class Decode:
    """Run ``pipeline`` on each row of a Ray Data batch; use it as a ``map_batches`` function.

    As tasks: ``ds.map_batches(Decode(pipeline, ...), batch_size=64)``. As an actor pool:
    ``ds.map_batches(Decode, fn_constructor_args=(pipeline,), fn_constructor_kwargs={...},
    concurrency=4)``. Both give the same rows.

    ``source``: the input column, ``"path"`` (file paths; pixfeed opens the file and reads
    only what the crop needs) or ``"bytes"`` (encoded images, as ``read_binary_files``
    gives; any other type is a TypeError naming the row). Another column name is accepted
    and may hold either (``ray.data.read_webdataset(urls, decoder=None)`` gives a bytes
    column per extension: ``source="jpg"``). ``source="member"``: a tar shard member given
    by the columns ``shard`` (its path), ``member`` (its name), ``offset`` and ``size`` (of
    its data, in bytes), as `read_images` makes them for a `pixfeed.Shards`.

    ``key``: the column of non-negative integer sample keys (what `read_images` assigns: the
    index into its list) or of sample names (strings, e.g. webdataset's ``"__key__"``: each
    keyed by `path_key` of the name), or None to key each row by `path_key` of its path
    (``source="bytes"``: of its ``"path"`` column when there is one, else of the bytes;
    ``source="member"``: of ``"<shard>:<member>"``). Row with key k gets the crop and flip
    of (seed, epoch, k), the same as sample k of ``Loader(paths, shuffle=False, seed=seed)``
    in epoch ``epoch``.

    ``output="uint8"`` (default): the image column ``"image"`` holds uint8 NHWC arrays
    whatever the pipeline's dtype (a quarter of float32's bytes in the object store;
    normalize after transfer with `collate`); ``output="pipeline"``: the pipeline's own dtype
    and layout (bfloat16 as its uint16 bits; a channels-last pipeline's images as contiguous
    NCHW, since an Arrow tensor column keeps no memory format). Every other input column
    passes through except a bytes source column; ``label`` names a column that must be present.

    ``threads``: native threads per batch; None: the CPUs Ray assigned to the task or actor
    (`assigned_cpus`), never all cores of the node. ``on_error``: ``"raise"`` raises the
    row's error (`DecodeError` or OSError naming the file); ``"skip"`` drops failed rows
    and counts them (``self.skipped`` in an actor; a RuntimeWarning per batch names them);
    ``"report"`` keeps every row and adds an ``"error"`` column, None for good rows and
    ``"<path>: <reason>"`` for failed ones, whose images are zeros.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        source: str = "path",
        key: str | None = "key",
        label: str | None = None,
        seed: int = 0,
        epoch: int = 0,
        threads: int | None = None,
        on_error: OnError = "raise",
        output: Literal["uint8", "pipeline"] = "uint8",
        image_column: str = "image",
    ) -> None:
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"pipeline: expected a pixfeed.Pipeline, got {type(pipeline).__name__}")
        for name, value in (("source", source), ("image_column", image_column)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name}: expected a column name, got {value!r}")
        if key is not None and (not isinstance(key, str) or not key):
            raise TypeError(f"key: expected a column name or None, got {key!r}")
        if label is not None and (not isinstance(label, str) or not label):
            raise TypeError(f"label: expected a column name or None, got {label!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        if on_error not in ("raise", "skip", "report"):
            raise ValueError(f"on_error: expected 'raise', 'skip' or 'report', got {on_error!r}")
        if output not in ("uint8", "pipeline"):
            raise ValueError(f"output: expected 'uint8' or 'pipeline', got {output!r}")
        if output == "uint8":
            pipeline = copy.copy(pipeline)
            pipeline.dtype = "uint8"
            pipeline.layout = "NHWC"
            pipeline.memory_format = "contiguous"
        self.pipeline = pipeline
        self.source = source
        self.key = key
        self.label = label
        self.seed = int(seed)
        self.epoch = _args.epoch(epoch)
        self.threads = _args.threads(threads)
        self.on_error: OnError = on_error
        self.output = output
        self.image_column = image_column
        #: Rows dropped by ``on_error="skip"`` in this process.
        self.skipped = 0

    def resolved_threads(self) -> int | None:
        """The native thread count a call uses here: ``threads``, else the CPUs Ray
        assigned to this task or actor, else (outside Ray) pixfeed's default."""
        return self.threads if self.threads is not None else assigned_cpus()

    def _sources(
        self, cols: dict[str, Any]
    ) -> tuple[list[_args.Native], dict[int, TypeError | ValueError]]:
        """Each row's source, and the rows whose source column holds no usable value (a
        missing member, a wrong type) with their errors: raised at once under
        ``on_error="raise"``, else error rows (their source an empty placeholder)."""
        if self.source == "member":
            lacking = [c for c in MEMBER_COLUMNS if c not in cols]
            if lacking:
                raise KeyError(
                    f"source: 'member' reads the columns {list(MEMBER_COLUMNS)}; the batch has "
                    f"no {lacking} (columns: {sorted(cols)})"
                )
            rows: Any = zip(*(cols[c] for c in MEMBER_COLUMNS), strict=True)
            convert: Callable[[dict[str, Any], int, Any], _args.Native] = self._member
        elif self.source not in cols:
            raise KeyError(
                f"source: the batch has no column {self.source!r} (columns: {sorted(cols)})"
            )
        else:
            rows, convert = cols[self.source], self._column_source
        out: list[_args.Native] = []
        bad: dict[int, TypeError | ValueError] = {}
        for i, v in enumerate(rows):
            try:
                out.append(convert(cols, i, v))
            except (TypeError, ValueError) as e:
                if self.on_error == "raise":
                    raise
                bad[i] = e
                out.append(b"")
        return out, bad

    def _column_source(self, cols: dict[str, Any], i: int, v: Any) -> _args.Native:
        if isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 1:
            v = v.tobytes()
        elif isinstance(v, np.bytes_):
            v = bytes(v)
        elif isinstance(v, np.str_):
            v = str(v)
        if isinstance(v, (bytes, bytearray)) or (isinstance(v, str) and self.source != "bytes"):
            return v  # the common case, before any error text is built
        where = f"source: {self._row(cols, self.source, i)}"
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise ValueError(f"{where}: no value (a sample without this member?)")
        if self.source == "bytes" and not isinstance(v, (bytes, bytearray, memoryview)):
            raise TypeError(f"{where}: expected encoded image bytes, got {type(v).__name__}")
        src = _args.source(v, where)
        if isinstance(src, _core.Member):
            raise TypeError(f"{where}: a shard member")
        return src

    def _member(self, cols: dict[str, Any], i: int, row: tuple[Any, Any, Any, Any]) -> _args.Native:
        shard, name, offset, size = row
        try:
            for col, v in (("shard", shard), ("member", name)):
                if not isinstance(v, str):
                    raise TypeError(f"{col}: expected a str, got {type(v).__name__}")
            offset, size = _args.integer(offset, "offset", 0), _args.integer(size, "size", 0)
        except (TypeError, ValueError) as e:  # "<column>: <reason>", named with its row here
            col, _, reason = str(e).partition(": ")
            raise type(e)(f"source: {self._row(cols, col, i)}: {reason}") from None
        return _core.Member(str(shard), str(name), offset, size)

    def _keys(self, cols: dict[str, Any], srcs: list[_args.Native]) -> list[int]:
        if self.key is None:
            names = cols.get("path") if self.source == "bytes" else None
            if names is not None:
                return [path_key(str(p)) for p in names]
            return [
                path_key(f"{s.path}:{s.name}") if isinstance(s, _core.Member) else path_key(s)
                for s in srcs
            ]
        if self.key not in cols:
            raise KeyError(
                f"key: the batch has no column {self.key!r} (columns: {sorted(cols)}); "
                "pass key=None to key rows by a hash of their path"
            )
        keys = []
        for i, k in enumerate(cols[self.key]):
            if isinstance(k, str):  # np.str_ included: a sample name (webdataset's __key__)
                keys.append(path_key(str(k)))
                continue
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
                raise TypeError(
                    f"key: {self._row(cols, self.key, i)}: expected an int or a str, "
                    f"got {type(k).__name__}"
                )
            if not 0 <= int(k) <= _KEY_MAX:
                raise ValueError(
                    f"key: {self._row(cols, self.key, i)}: expected 0 <= key < 2**64, got {k}"
                )
            keys.append(int(k))
        return keys

    def __call__(self, batch: Any) -> dict[str, Any]:
        cols = _columns(batch)
        if self.label is not None and self.label not in cols:
            raise KeyError(
                f"label: the batch has no column {self.label!r} (columns: {sorted(cols)})"
            )
        srcs, bad = self._sources(cols)
        keys = self._keys(cols, srcs)
        n = len(srcs)
        # The memory the native pass writes: NHWC for a channels-last pipeline, handed out
        # below as contiguous NCHW (an Arrow tensor column keeps no memory format).
        out = np.empty(self.pipeline._buffer_shape(n), dtype=self.pipeline.numpy_dtype)
        errors: dict[int, BaseException] = dict(
            self.pipeline._run(srcs, keys, self.seed, self.epoch, out, self.resolved_threads())
        )
        names = {
            k: self._bytes_name(cols, k)
            if _source_name(srcs[k]) == "<bytes>"
            else _source_name(srcs[k])
            for k in errors
        }
        for k, e in errors.items():
            if isinstance(e, DecodeError) and e.source == "<bytes>":
                errors[k] = _renamed(e, names[k])
        errors.update(bad)  # not the placeholder's decode error
        if errors and self.on_error == "raise":
            raise errors[min(errors)]

        def text(k: int) -> str:  # a bad source's error names its column and row already
            return str(errors[k]) if k in bad else _error_text(names[k], errors[k])

        encoded = any(isinstance(s, (bytes, bytearray)) for i, s in enumerate(srcs) if i not in bad)
        result: dict[str, Any] = {}
        for name, values in cols.items():
            if name == self.source and encoded:
                continue  # encoded bytes stay out of the object store's output
            if name in (self.image_column, "error"):
                continue
            result[name] = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if self.key is None:
            result["key"] = np.asarray(keys, dtype=np.uint64)
        if errors and self.on_error == "skip":
            keep = np.ones(n, dtype=bool)
            keep[list(errors)] = False
            self.skipped += len(errors)
            # Printable anywhere: a worker's stderr takes no lone surrogates (a file name's
            # bytes that are not UTF-8 show as \xNN, as in pixfeed's errors).
            skipped = _shown(", ".join(text(k) for k in sorted(errors)))
            warnings.warn(
                f"pixfeed.ray.Decode: skipped {len(errors)} row(s): {skipped}",
                RuntimeWarning,
                stacklevel=2,
            )
            result = {k: v[keep] for k, v in result.items()}
            out = out[keep]
        elif self.on_error == "report":
            err = np.full(n, None, dtype=object)
            for k in errors:
                out[k] = 0
                err[k] = text(k)
            result["error"] = err
        if self.pipeline.memory_format == "channels_last":
            out = np.ascontiguousarray(self.pipeline._present(out))
        result[self.image_column] = out
        return result

    def _bytes_name(self, cols: dict[str, Any], k: int) -> str:
        """How an error names row ``k``'s encoded bytes: its ``"path"`` column (as
        ``read_binary_files(include_paths=True)`` gives), else ``<bytes of key K>``."""
        if self.source != "path" and "path" in cols and isinstance(cols["path"][k], str):
            return str(cols["path"][k])
        if self.key is not None and self.key in cols:
            return f"<bytes of key {_plain(cols[self.key][k])}>"
        return "<bytes>"

    def _row(self, cols: dict[str, Any], column: str, i: int) -> str:
        """``column 'c' row i`` of a batch, with what names the row outside its batch (its
        key, else its path or shard member), for the errors of source and key values."""
        where = f"column {column!r} row {i}"
        for other in (self.key, "path", "member"):
            if other is not None and other != column and other in cols:
                return f"{where} ({other} {_plain(cols[other][i])})"
        return where


#: Batches per map task by default: a Ray task costs tens of milliseconds of CPU (driver,
#: raylet and worker) whatever it does, against about a millisecond per image decoded, so
#: one task per batch of 64 spent a large share of the CPU on Ray itself.
BATCHES_PER_TASK = 8


def _cluster_cpus(ray_mod: Any) -> int:
    """The CPUs of the Ray cluster (starting a local Ray as Ray Data would when none runs)."""
    try:
        if not ray_mod.is_initialized():
            ray_mod.init()
        return max(1, int(ray_mod.cluster_resources().get("CPU", 1)))
    except Exception:  # a Ray without these calls: size tasks by BATCHES_PER_TASK alone
        return 1


def _default_num_blocks(n: int, batch_size: int, ray_mod: Any) -> int:
    """About BATCHES_PER_TASK batches per block (one map task per block), the block count
    rounded up to a multiple of the cluster's CPUs so that every CPU gets as many tasks as
    the others (a count one past a multiple leaves one task running alone at the end), and
    never more blocks than batches."""
    batches = max(1, math.ceil(n / batch_size))
    cpus = _cluster_cpus(ray_mod)
    tasks = math.ceil(batches / BATCHES_PER_TASK)
    return min(batches, cpus * math.ceil(tasks / cpus))


#: Output batches per block of `read_images` (see the comment there).
OUTPUT_BATCHES_PER_BLOCK = 2


def _block_bounds(n: int, batch_size: int, blocks: int) -> list[int]:
    """Row offsets that split ``n`` rows into ``blocks`` input blocks (one map task each) of
    whole batches, as even as batches allow, the last block taking the remainder, so that
    every output batch of a task is a batch of the consumer too; with more blocks than
    batches, rows as even as possible."""
    batches = math.ceil(n / batch_size)
    unit, units = (batch_size, batches) if blocks <= batches else (1, n)
    per, extra = divmod(units, blocks)
    bounds = [0]
    for i in range(blocks):
        bounds.append(min(n, bounds[-1] + (per + (i < extra)) * unit))
    return bounds


def _call_batches(bounds: list[int], batch_size: int) -> int:
    """Batches per ``map_batches`` call: `OUTPUT_BATCHES_PER_BLOCK`, fewer where an input
    block other than the last holds fewer batches. Ray gathers input blocks into one task
    until they hold a call's rows, so a call larger than a block would merge tasks."""
    rows = [b - a for a, b in itertools.pairwise(bounds)][:-1]
    least = min(rows, default=OUTPUT_BATCHES_PER_BLOCK * batch_size) // batch_size
    return max(1, min(OUTPUT_BATCHES_PER_BLOCK, least))


def _input_dataset(
    ray_mod: Any,
    columns: dict[str, Any],
    labels: np.ndarray[Any, Any] | None,
    bounds: list[int],
) -> ray.data.Dataset:
    """The input dataset of `read_images`: ``columns`` (``path``, or the `MEMBER_COLUMNS` of
    shard members), key (the row index) and label, one block per pair of ``bounds``. Built
    as Arrow tables; rows Arrow cannot hold (a path that is not valid UTF-8, labels of
    Python objects) go through ``from_items``, which can, with its own even split."""
    import pyarrow as pa  # type: ignore[import-untyped]

    n = bounds[-1]
    try:
        cols = {
            name: pa.array(values, type=pa.string() if name in _STRING_COLUMNS else None)
            for name, values in columns.items()
        }
        cols["key"] = pa.array(np.arange(n, dtype=np.int64))
        if labels is not None:
            cols["label"] = pa.array(labels)
        table = pa.table(cols)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        rows: list[dict[str, Any]] = [
            {**{name: values[i] for name, values in columns.items()}, "key": i} for i in range(n)
        ]
        if labels is not None:
            for row, value in zip(rows, labels, strict=True):
                row["label"] = value
        items: ray.data.Dataset = ray_mod.data.from_items(rows, override_num_blocks=len(bounds) - 1)
        return items
    parts = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    # from_blocks keeps the blocks as given and computes their metadata here; from_arrow
    # runs a Ray task per table for it (a round trip to a worker on every epoch's dataset).
    from_blocks = getattr(ray_mod.data, "from_blocks", None)
    ds: ray.data.Dataset = (from_blocks or ray_mod.data.from_arrow)(parts)
    return ds


def _input_columns(
    paths: Sequence[str | os.PathLike[str]] | Shards,
) -> tuple[dict[str, Any], str]:
    """The input columns of `read_images` and `Decode`'s source for them: ``path`` for a
    list of paths, the `MEMBER_COLUMNS` for a `pixfeed.Shards`."""
    if isinstance(paths, Shards):
        members = paths.sources
        return {
            "shard": [m.path for m in members],
            "member": [m.name for m in members],
            "offset": np.array([m.offset for m in members], dtype=np.int64),
            "size": np.array([m.size for m in members], dtype=np.int64),
        }, "member"
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError("paths: expected a sequence of paths, got a single path")
    names = []
    for i, p in enumerate(paths):
        src = _args.source(p, f"paths[{i}]")
        if not isinstance(src, str):
            raise TypeError(f"paths[{i}]: expected a path, got {type(p).__name__}")
        names.append(src)
    return {"path": names}, "path"


def read_images(
    paths: Sequence[str | os.PathLike[str]] | Shards,
    labels: Sequence[Any] | npt.ArrayLike | None = None,
    *,
    pipeline: Pipeline,
    seed: int = 0,
    epoch: int = 0,
    batch_size: int = 64,
    on_error: OnError = "raise",
    output: Literal["uint8", "pipeline"] = "uint8",
    threads: int | None = None,
    num_blocks: int | None = None,
    **map_batches_kwargs: Any,
) -> ray.data.Dataset:
    """A Ray dataset of decoded images: rows ``{"path", "key", ["label"], "image"}`` (plus
    ``"error"`` under ``on_error="report"``), row i holding sample i of
    ``Loader(paths, labels, pipeline=pipeline, shuffle=False, seed=seed)`` in epoch
    ``epoch`` (uint8 NHWC with the default ``output``; see `Decode`). ``paths`` may be a
    `pixfeed.Shards`: rows then hold ``{"shard", "member", "offset", "size", "key",
    ["label"], "image"}`` (the shards' labels unless ``labels`` is given), each task reading
    only its members' bytes, and row i equals sample i of ``Loader(shards, ...,
    shuffle=False)``. ``labels``: one number (or equal-length array of numbers) per path,
    as the `Loader` takes them. Nothing runs until the dataset is consumed. ``num_blocks``
    sets how many blocks the input is split into (at most one per row),
    one map task per block, each a whole number of batches (default: `BATCHES_PER_TASK`
    batches of ``batch_size`` rows per task, the task count rounded up to a multiple of the
    cluster's CPUs); a task decodes `OUTPUT_BATCHES_PER_BLOCK` batches per ``map_batches``
    call (one where a block holds a single batch), each call's output one block. Other
    keyword arguments go to ``map_batches`` (``num_cpus``, ``concurrency``, ...). The
    dataset's own DataContext has
    ``op_resource_reservation_enabled=False`` and a ``target_max_block_size`` one row short
    of a call's images (see the code comments; set them back on ``ds.context`` to restore
    Ray Data's defaults)."""
    ray_mod = _ray()
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"pipeline: expected a pixfeed.Pipeline, got {type(pipeline).__name__}")
    columns, source = _input_columns(paths)
    n = len(next(iter(columns.values())))
    if labels is None and isinstance(paths, Shards):
        labels = paths.labels
    # The Loader's label rule: numbers (or equal-length arrays of them), one per path.
    lab = None if labels is None else _labels(labels, n, "numpy")
    batch_size = _args.positive_int(batch_size, "batch_size")
    fn = Decode(
        pipeline,
        source=source,
        key="key",
        label=None if lab is None else "label",
        seed=seed,
        epoch=epoch,
        threads=threads,
        on_error=on_error,
        output=output,
    )
    if num_blocks is None:
        num_blocks = _default_num_blocks(n, batch_size, ray_mod)
    # At most one block per row: every block past that would be an empty map task.
    blocks = min(_args.positive_int(num_blocks, "num_blocks"), max(1, n))
    bounds = _block_bounds(n, batch_size, blocks)
    ds = _input_dataset(ray_mod, columns, lab, bounds)
    # On the dataset's own copy of the DataContext (every dataset copies the current one):
    # Ray Data's per-operator resource reservation takes its limits from the cluster
    # autoscaling coordinator, which answers only about a second into each execution (until
    # then one task runs at a time, whatever the CPUs), and its object-store budget for a lone
    # map operator's outputs then stalls decoding behind a slow consumer. Without it the
    # object store stays bounded by Ray Data's global limit (half the store).
    ds.context.op_resource_reservation_enabled = False
    # A map task's output leaves in blocks of OUTPUT_BATCHES_PER_BLOCK batches, not one block
    # per task (Ray Data's default target of 128 MiB holds a whole task's output): the
    # consumer gets images while the task still decodes. Each map call decodes one whole block
    # (its output is one Arrow chunk), and the target lies one row below a full call's images,
    # so every full call leaves at once as its own block: a block the output buffer built from
    # two calls would hold two chunks, and the consumer's batcher copies a block of several
    # chunks whole before it cuts a batch from it. Each consumer batch is then a zero-copy
    # slice. A shorter call (a task's last) leaves when its task ends.
    call_rows = _call_batches(bounds, batch_size) * batch_size
    out_shape = fn.pipeline.batch_shape(1)
    row_bytes = math.prod(out_shape) * np.dtype(fn.pipeline.numpy_dtype).itemsize
    ds.context.target_max_block_size = max(1, (call_rows - 1) * row_bytes)
    map_batches_kwargs.setdefault("batch_format", "numpy")
    out: ray.data.Dataset = ds.map_batches(fn, batch_size=call_rows, **map_batches_kwargs)
    return out


def collate(
    pipeline: Pipeline, device: Any = None, *, image_column: str = "image"
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A ``collate_fn`` for ``Dataset.iter_torch_batches``: the uint8 NHWC image column
    becomes ``pipeline``'s output (its dtype, layout, mean and std; ``(v / 255 - mean) /
    std`` computed in float32 on ``device``), the other numeric columns become tensors on
    ``device``; string columns stay numpy arrays."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"pipeline: expected a pixfeed.Pipeline, got {type(pipeline).__name__}")
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    out_dtype = {
        "float32": torch.float32,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "uint8": torch.uint8,
    }[pipeline.dtype]
    scale = torch.tensor(
        [1.0 / (255.0 * s) for s in pipeline.std], dtype=torch.float64, device=dev
    ).to(torch.float32)
    shift = torch.tensor(
        [m / s for m, s in zip(pipeline.mean, pipeline.std, strict=True)],
        dtype=torch.float64,
        device=dev,
    ).to(torch.float32)
    nchw = pipeline.layout == "NCHW"
    channels_last = pipeline.memory_format == "channels_last"

    def fn(batch: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, value in batch.items():
            if name == image_column:
                continue
            arr = value
            if isinstance(arr, np.ndarray) and arr.dtype.kind in "biuf":
                # Ray hands out read-only views of the object store; these columns are small,
                # so a copy keeps torch from warning about (and writing into) them.
                result[name] = torch.from_numpy(arr if arr.flags.writeable else arr.copy()).to(dev)
            else:
                result[name] = arr
        if image_column not in batch:
            raise KeyError(f"collate: the batch has no column {image_column!r}")
        img = batch[image_column]
        t = torch.from_numpy(np.ascontiguousarray(img)) if isinstance(img, np.ndarray) else img
        if t.dtype != torch.uint8 or t.ndim != 4 or t.shape[-1] != pipeline.channels:
            raise TypeError(
                f"collate: expected uint8 NHWC images with {pipeline.channels} channels, "
                f"got {t.dtype} {tuple(t.shape)}"
            )
        t = t.to(dev, non_blocking=True)
        if out_dtype != torch.uint8:
            t = t.to(torch.float32) * scale - shift
            t = t.to(out_dtype)
        if nchw:  # NHWC memory viewed as NCHW is channels-last already
            t = t.permute(0, 3, 1, 2)
            if not channels_last:
                t = t.contiguous()
        result[image_column] = t
        return result

    return fn
