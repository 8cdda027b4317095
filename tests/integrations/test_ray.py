"""pixfeed.ray on a real local Ray (2 CPUs, a small object store; no mocks).

The data set: 300 JPEG/PNG files cut from scikit-image's photos at varied sizes, plus a
truncated JPEG, a file of garbage and a path that does not exist. The reference for every
row is the local `Loader(shuffle=False, seed=...)` / `Pipeline` on the same files.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data
from PIL import Image

from pixfeed import DecodeError, Loader, Pipeline

ray = pytest.importorskip("ray")
pxray = pytest.importorskip("pixfeed.ray")
# The implementation module (the public pixfeed.ray re-exports it): patched and probed here.
impl = pytest.importorskip("pixfeed.integrations.ray")

N_GOOD = 300
SIZE = 32
SEED = 1234

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")


@pytest.fixture(scope="session")
def ray_session() -> Any:
    ray.init(
        num_cpus=2,
        object_store_memory=128 * 1024 * 1024,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def photo_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """N_GOOD real-photo crops: JPEGs (quality 70-95, 4:2:0 and 4:4:4) and every 10th a PNG."""
    d = tmp_path_factory.mktemp("ray-photos")
    rng = np.random.default_rng(7)
    photos = [np.asarray(getattr(skimage.data, name)()) for name in PHOTOS]
    paths = []
    for i in range(N_GOOD):
        src = photos[i % len(photos)]
        h, w = src.shape[:2]
        ch, cw = int(rng.integers(48, min(h, 220))), int(rng.integers(48, min(w, 220)))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        im = Image.fromarray(src[y : y + ch, x : x + cw]).convert("RGB")
        if i % 10 == 9:
            p = d / f"img{i:03d}.png"
            im.save(p)
        else:
            p = d / f"img{i:03d}.jpg"
            im.save(p, quality=int(rng.integers(70, 96)), subsampling=0 if i % 3 else 2)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="session")
def bad_files(photo_files: list[str]) -> dict[str, str]:
    d = Path(photo_files[0]).parent
    data = Path(photo_files[0]).read_bytes()
    truncated = d / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 3])
    garbage = d / "garbage.jpg"
    garbage.write_bytes(b"this is not an image" * 10)
    return {
        "truncated": str(truncated),
        "garbage": str(garbage),
        "missing": str(d / "does-not-exist.jpg"),
    }


RRC = Pipeline(size=SIZE, crop="random_resized", flip=0.5, dtype="uint8", layout="NHWC")


def loader_reference(
    paths: list[str], pipeline: Pipeline, *, seed: int = SEED, epoch: int = 0
) -> np.ndarray:
    loader = Loader(paths, pipeline=pipeline, shuffle=False, seed=seed, batch_size=37, prefetch=0)
    loader.set_epoch(epoch)
    return np.concatenate(list(loader))


def collect(ds: Any) -> dict[str, np.ndarray]:
    """All rows of `ds`, ordered by key."""
    rows = ds.take_all()
    rows.sort(key=lambda r: int(r["key"]))
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]} if rows else {}


@pytest.fixture(scope="session")
def rrc_reference(photo_files: list[str]) -> np.ndarray:
    return loader_reference(photo_files, RRC)


# -- no ray needed ---------------------------------------------------------------------------


def test_import_pixfeed_does_not_import_ray() -> None:
    code = "import sys, pixfeed, pixfeed.pipeline; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ray_missing_is_a_clear_import_error(photo_files: list[str]) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "import pixfeed, pixfeed.ray\n"
        "try:\n"
        f"    pixfeed.ray.read_images([{photo_files[0]!r}], pipeline=pixfeed.Pipeline())\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ImportError:" in out.stdout and "pixfeed[ray]" in out.stdout


def test_decode_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"pipeline: expected a pixfeed\.Pipeline, got dict"):
        pxray.Decode({"size": 224})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_error"):
        pxray.Decode(RRC, on_error="substitute")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epoch"):
        pxray.Decode(RRC, epoch=-1)
    with pytest.raises(ValueError, match=r"epoch: expected an int >= 0 and < 2\*\*64"):
        pxray.Decode(RRC, epoch=2**64)  # named here, not an OverflowError in a worker
    with pytest.raises(TypeError, match="epoch: expected an int"):
        pxray.Decode(RRC, epoch=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pipeline"):
        pxray.read_images(["a.jpg"], pipeline="rrc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels: expected one per source"):
        pxray.read_images(["a.jpg", "b.jpg"], [1], pipeline=RRC)
    # The Loader's label rule: numbers, not strings turned into one another by numpy.
    with pytest.raises(TypeError, match="labels: expected ints"):
        pxray.read_images(["a.jpg", "b.jpg"], [1, "a"], pipeline=RRC)
    with pytest.raises(TypeError, match="labels: expected ints"):
        pxray.read_images(["a.jpg"], [2**70], pipeline=RRC)


def test_channels_last_pipeline_output_equals_loader(photo_files: list[str]) -> None:
    """output="pipeline" with a channels-last pipeline: NCHW values equal to the Loader's
    (the native pass writes NHWC memory for it), and collate hands channels-last back."""
    torch = pytest.importorskip("torch")
    p = Pipeline(
        size=SIZE,
        crop="random_resized",
        dtype="float32",
        layout="NCHW",
        memory_format="channels_last",
    )
    want = loader_reference(photo_files[:9], p, seed=3, epoch=1)
    batch = {"path": np.array(photo_files[:9], dtype=object), "key": np.arange(9)}
    got = pxray.Decode(p, output="pipeline", seed=3, epoch=1)(batch)["image"]
    assert got.shape == (9, 3, SIZE, SIZE) and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    u8 = pxray.Decode(p, seed=3, epoch=1)(batch)
    t = pxray.collate(p)(u8)["image"]
    assert t.shape == (9, 3, SIZE, SIZE)
    assert t.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(t.numpy(), want, atol=1e-5)


def test_errors_name_the_row_outside_its_batch(photo_files: list[str]) -> None:
    """Encoded bytes are named by the row's path column (else its key); bad source and key
    values name the row's key (or path), not only its index in the batch."""
    garbage = b"not an image at all"
    with pytest.raises(DecodeError) as ei:
        pxray.Decode(RRC, source="bytes", key=None)(
            {"bytes": np.array([garbage], dtype=object), "path": np.array(["/data/x.jpg"])}
        )
    assert ei.value.source == "/data/x.jpg"
    with pytest.raises(DecodeError) as ei:
        pxray.Decode(RRC, source="bytes")({"bytes": np.array([garbage], dtype=object), "key": [7]})
    assert ei.value.source == "<bytes of key 7>"
    out = pxray.Decode(RRC, source="bytes", on_error="report")(
        {"bytes": np.array([garbage], dtype=object), "key": np.array([7])}
    )
    assert out["error"][0].startswith("<bytes of key 7>: unsupported format")
    with pytest.raises(ValueError, match=r"source: column 'bytes' row 1 \(key 12\): no value"):
        pxray.Decode(RRC, source="bytes")(
            {"bytes": np.array([garbage, None], dtype=object), "key": np.array([11, 12])}
        )
    with pytest.raises(ValueError, match=r"key: column 'key' row 1 \(path '.*img001.jpg'\)"):
        pxray.Decode(RRC)({"path": np.array(photo_files[:2], dtype=object), "key": [0, -1]})


def test_skip_warning_is_printable_with_non_utf8_names(tmp_path: Path) -> None:
    """A worker's stderr takes no lone surrogates: the skip warning escapes them (it failed
    the whole Ray task with a UnicodeEncodeError)."""
    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/missing\xff.jpg")
    with pytest.warns(RuntimeWarning, match="skipped 1 row") as rec:
        out = pxray.Decode(RRC, on_error="skip")(
            {"path": np.array([bad], dtype=object), "key": [0]}
        )
    assert len(out["image"]) == 0
    text = str(rec[0].message)
    text.encode("utf-8")  # no surrogates left
    assert "missing\\xff.jpg" in text


def test_decode_outside_ray_matches_loader(
    photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    """The callable itself, on plain numpy batches (as map_batches hands it), in odd splits."""
    fn = pxray.Decode(RRC, seed=SEED)
    assert fn.resolved_threads() is None  # outside Ray: pixfeed's default
    got = []
    for lo, hi in ((0, 5), (5, 6), (6, 150), (150, N_GOOD)):
        batch = {"path": np.array(photo_files[lo:hi], dtype=object), "key": np.arange(lo, hi)}
        got.append(fn(batch)["image"])
    np.testing.assert_array_equal(np.concatenate(got), rrc_reference)


def test_decode_passes_the_assigned_cpus_to_the_native_pool(
    photo_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Decode hands the native call: ``threads`` if given, else assigned_cpus() (the
    Ray-side value of assigned_cpus is checked in real tasks below)."""
    seen: list[int | None] = []

    class Recording(Pipeline):
        def _run(self, *args: Any) -> dict[int, BaseException]:
            seen.append(args[-1])
            return super()._run(*args)

    p = Recording(size=SIZE, dtype="uint8", layout="NHWC")
    batch = {"path": np.array(photo_files[:3], dtype=object), "key": np.arange(3)}
    monkeypatch.setattr(impl, "assigned_cpus", lambda: 1)
    pxray.Decode(p, output="pipeline")(batch)
    pxray.Decode(p, output="pipeline", threads=2)(batch)
    assert seen == [1, 2]


def test_wrong_key_and_source_columns(photo_files: list[str]) -> None:
    fn = pxray.Decode(RRC)
    with pytest.raises(KeyError, match=r"no column 'key'.*key=None"):
        fn({"path": np.array(photo_files[:2], dtype=object)})
    with pytest.raises(
        TypeError, match=r"row 1 \(path '.*img001.jpg'\): expected an int or a str, got float"
    ):
        fn({"path": np.array(photo_files[:2], dtype=object), "key": np.array([0, 1.5], object)})
    with pytest.raises(TypeError, match="column 'bytes' row 0: expected encoded image bytes"):
        pxray.Decode(RRC, source="bytes", key=None)({"bytes": np.array([3.5, 1.0])})


def test_string_keys_are_hashed_names(photo_files: list[str]) -> None:
    # A column of sample names (webdataset's __key__) keys each row by path_key(name).
    files = photo_files[:6]
    names = [f"shard-0/{i:06d}" for i in range(len(files))]
    fn = pxray.Decode(RRC, key="__key__", seed=SEED)
    out = fn({"path": np.array(files, dtype=object), "__key__": np.array(names)})
    want = RRC(files, seed=SEED, indices=[pxray.path_key(n) for n in names])
    np.testing.assert_array_equal(out["image"], want)
    assert out["__key__"].tolist() == names


def test_path_key_is_stable() -> None:
    # Fixed expected values: the documented hash, not Python's hash().
    import hashlib

    want = int.from_bytes(hashlib.blake2b(b"/data/a.jpg", digest_size=8).digest(), "little")
    assert pxray.path_key("/data/a.jpg") == want & (2**63 - 1)
    assert pxray.path_key("/data/a.jpg") != pxray.path_key("/data/b.jpg")
    code = "import pixfeed.ray as r; print(r.path_key('/data/a.jpg'))"
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert int(out.stdout) == pxray.path_key("/data/a.jpg")


def test_rank_from_ray_train_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without torch.distributed, the Loader takes rank and world size from Ray Train's
    context when one is active (a stand-in context object: the real one is covered by the
    TorchTrainer test below)."""
    import types

    from pixfeed import _env

    class Ctx:
        def get_world_rank(self) -> int:
            return 1

        def get_world_size(self) -> int:
            return 3

    fake = types.ModuleType("ray.train")
    fake.get_context = Ctx  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray.train", fake)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert _env.distributed(None, None) == (1, 3)
    assert _env.distributed(0, 1) == (0, 1)


# -- on Ray ------------------------------------------------------------------------------------


def test_center_rows_equal_local_pipeline(ray_session: Any, photo_files: list[str]) -> None:
    centre = Pipeline(size=SIZE, crop="center", resize_shorter=40)
    ds = pxray.read_images(photo_files, pipeline=centre, output="pipeline", batch_size=64)
    got = collect(ds)
    np.testing.assert_array_equal(got["image"], centre(photo_files, seed=0))
    assert got["image"].dtype == np.float32 and got["image"].shape[1:] == (3, SIZE, SIZE)
    assert list(got["path"]) == photo_files


def test_rows_equal_loader_across_blocks_and_batch_sizes(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    labels = np.arange(N_GOOD) * 3
    for blocks, batch in ((1, 64), (7, 16)):
        ds = pxray.read_images(
            photo_files, labels, pipeline=RRC, seed=SEED, batch_size=batch, num_blocks=blocks
        )
        got = collect(ds)
        np.testing.assert_array_equal(got["image"], rrc_reference, err_msg=f"{blocks} blocks")
        np.testing.assert_array_equal(got["label"], labels)
        np.testing.assert_array_equal(got["key"], np.arange(N_GOOD))


def test_default_task_sizing_and_context(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    # Default blocks: about BATCHES_PER_TASK batches per map task, the count rounded up to a
    # multiple of the cluster's CPUs (2 here), never more blocks than batches.
    assert impl._default_num_blocks(300, 16, ray) == 4  # 19 batches: 3 tasks, rounded to 4
    assert impl._default_num_blocks(300, 64, ray) == 2  # 5 batches: 1 task, rounded to 2
    assert impl._default_num_blocks(1000, 64, ray) == 2  # 16 batches: one task per CPU
    assert impl._default_num_blocks(64, 64, ray) == 1  # 1 batch: 1 task
    assert impl._default_num_blocks(64 * 8 * 10, 64, ray) == 10
    assert impl._default_num_blocks(64 * 8 * 10 + 1, 64, ray) == 12
    ds = pxray.read_images(photo_files, pipeline=RRC, seed=SEED, batch_size=16)
    # The reservation is switched off on this dataset's own context, never on the global one.
    assert ds.context.op_resource_reservation_enabled is False
    assert ray.data.DataContext.get_current().op_resource_reservation_enabled is True
    np.testing.assert_array_equal(collect(ds)["image"], rrc_reference)
    assert "MapBatches(Decode): 4 tasks executed" in ds.stats()


def test_block_bounds_hold_whole_batches() -> None:
    # Blocks of whole batches, as even as batches allow, the last taking the remainder.
    assert impl._block_bounds(1000, 64, 2) == [0, 512, 1000]
    assert impl._block_bounds(300, 16, 4) == [0, 80, 160, 240, 300]
    assert impl._block_bounds(300, 16, 7) == [0, 48, 96, 144, 192, 240, 272, 300]
    assert impl._block_bounds(64, 64, 1) == [0, 64]
    # More blocks than batches: rows as even as possible (every block non-empty).
    assert impl._block_bounds(10, 64, 3) == [0, 4, 7, 10]
    assert impl._block_bounds(0, 64, 1) == [0, 0]
    for n, batch, blocks in ((1000, 64, 2), (300, 16, 7), (301, 16, 19), (17, 4, 5)):
        b = impl._block_bounds(n, batch, blocks)
        assert b[0] == 0 and b[-1] == n and len(b) == blocks + 1
        assert all(lo <= hi for lo, hi in itertools.pairwise(b))
        if blocks <= -(-n // batch):
            assert all(x % batch == 0 for x in b[:-1]), (n, batch, blocks, b)


@pytest.mark.parametrize("builder", ["from_blocks", "from_arrow"])
def test_input_dataset_keeps_the_block_bounds(
    ray_session: Any, monkeypatch: pytest.MonkeyPatch, builder: str
) -> None:
    # from_blocks where Ray has it (metadata computed locally), else from_arrow: either way
    # one input block per pair of bounds, rows in order.
    if builder == "from_arrow":
        monkeypatch.delattr(ray.data, "from_blocks", raising=False)
    names = [f"/data/img_{i}.jpg" for i in range(100)]
    bounds = [0, 48, 96, 100]
    ds = impl._input_dataset(ray, {"path": names}, np.arange(100) % 7, bounds)
    sizes, rows = [], []
    for bundle in ds.iter_internal_ref_bundles():
        for ref in bundle.block_refs:
            block = ray.get(ref)
            sizes.append(block.num_rows)
            rows.extend(block.to_pylist())
    assert sizes == [48, 48, 4]
    assert rows == [{"path": p, "key": i, "label": i % 7} for i, p in enumerate(names)]


def test_num_blocks_is_at_most_one_per_row(
    ray_session: Any,
    monkeypatch: pytest.MonkeyPatch,
    photo_files: list[str],
    rrc_reference: np.ndarray,
) -> None:
    # num_blocks past the row count made empty map tasks (10**5 of them hung the job, and
    # the bounds of 10**9 would not fit the driver's memory): clamped to one per row.
    seen: list[int] = []
    build = impl._input_dataset

    def recording(ray_mod: Any, columns: Any, labels: Any, bounds: list[int]) -> Any:
        seen.append(len(bounds) - 1)
        assert len(bounds) <= 6, "num_blocks was not clamped"
        return build(ray_mod, columns, labels, bounds)

    monkeypatch.setattr(impl, "_input_dataset", recording)
    ds = pxray.read_images(photo_files[:5], pipeline=RRC, seed=SEED, batch_size=2, num_blocks=10**9)
    assert seen == [5]
    np.testing.assert_array_equal(collect(ds)["image"], rrc_reference[:5])


def test_output_blocks_are_whole_consumer_batches(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    # Each task's output leaves in blocks of OUTPUT_BATCHES_PER_BLOCK batches (a block per
    # batch of iter_batches(batch_size=None)), not one block per task, each block one map
    # call's output: one Arrow chunk, so the consumer's batches are zero-copy slices.
    ds = pxray.read_images(photo_files, pipeline=RRC, seed=SEED, batch_size=16, num_blocks=3)
    per_block = impl.OUTPUT_BATCHES_PER_BLOCK * 16
    target = (per_block - 1) * SIZE * SIZE * 3
    assert ds.context.target_max_block_size == target
    assert ray.data.DataContext.get_current().target_max_block_size != target
    for bundle in ds.iter_internal_ref_bundles():
        for ref in bundle.block_refs:
            block = ray.get(ref)
            assert all(col.num_chunks == 1 for col in block.columns), block.schema
    sizes, keys = [], []
    for block in ds.iter_batches(batch_size=None, batch_format="numpy"):
        sizes.append(len(block["key"]))
        keys.extend(block["key"].tolist())
    assert sorted(keys) == list(range(N_GOOD))
    # 300 rows, 19 batches over 3 tasks (7, 6 and 6 batches): every block holds whole
    # batches, at most per_block rows; only the block with the last row is shorter.
    assert len(sizes) > 3 and max(sizes) <= per_block
    assert sum(s % 16 != 0 for s in sizes) == 1
    assert np.array_equal(collect(ds)["image"], rrc_reference)


@pytest.mark.parametrize(("n", "blocks"), [(64, 4), (90, 5), (96, 3)])
def test_one_map_task_per_input_block(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray, n: int, blocks: int
) -> None:
    # num_blocks tasks even where blocks hold a single batch of 16 (64 rows in 4 blocks;
    # 90 rows in blocks of 32, 16, 16, 16, 10): Ray bundles input blocks smaller than
    # map_batches' batch_size into one task, so a map call must not span more than a block.
    ds = pxray.read_images(
        photo_files[:n], pipeline=RRC, seed=SEED, batch_size=16, num_blocks=blocks
    ).materialize()
    tasks = re.findall(r"MapBatches\(Decode\): (\d+) tasks executed", ds.stats())
    assert tasks == [str(blocks)], ds.stats()
    got = collect(ds)
    np.testing.assert_array_equal(got["image"], rrc_reference[:n])


def test_rows_arrow_cannot_hold_go_through_from_items(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    # Multi-hot labels (a 2-D array) are no Arrow column: the rows go through from_items,
    # with the same images, keys and labels.
    labels = np.eye(5, dtype=np.uint8)[np.arange(N_GOOD) % 5]
    got = collect(pxray.read_images(photo_files, labels, pipeline=RRC, seed=SEED, batch_size=32))
    np.testing.assert_array_equal(got["image"], rrc_reference)
    np.testing.assert_array_equal(np.stack(list(got["label"])), labels)
    np.testing.assert_array_equal(got["key"], np.arange(N_GOOD))


def test_float_output_equals_loader(ray_session: Any, photo_files: list[str]) -> None:
    p = Pipeline(size=SIZE, dtype="float16", exact=True)
    want = loader_reference(photo_files[:64], p, seed=5, epoch=2)
    got = collect(
        pxray.read_images(photo_files[:64], pipeline=p, output="pipeline", seed=5, epoch=2)
    )
    assert got["image"].dtype == np.float16
    np.testing.assert_array_equal(got["image"], want)


def test_actor_pool_sizes_agree(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    items = [{"path": p, "key": i} for i, p in enumerate(photo_files)]
    for pool in (1, 2):
        ds = ray.data.from_items(items, override_num_blocks=5).map_batches(
            pxray.Decode,
            fn_constructor_args=(RRC,),
            fn_constructor_kwargs={"seed": SEED},
            batch_size=32,
            concurrency=pool,
            num_cpus=1,
        )
        np.testing.assert_array_equal(collect(ds)["image"], rrc_reference, err_msg=f"pool {pool}")


def test_different_epoch_gives_different_crops(
    ray_session: Any, photo_files: list[str], rrc_reference: np.ndarray
) -> None:
    got = collect(pxray.read_images(photo_files, pipeline=RRC, seed=SEED, epoch=1))["image"]
    np.testing.assert_array_equal(got, loader_reference(photo_files, RRC, epoch=1))
    differ = [not np.array_equal(a, b) for a, b in zip(got, rrc_reference, strict=True)]
    assert sum(differ) > 0.9 * N_GOOD


def test_bytes_source_keyed_by_path_hash(ray_session: Any, photo_files: list[str]) -> None:
    files = photo_files[:40]
    ds = ray.data.read_binary_files(files, include_paths=True).map_batches(
        pxray.Decode(RRC, source="bytes", key=None, seed=SEED), batch_size=8
    )
    rows = {str(r["path"]): r for r in ds.take_all()}
    assert "bytes" not in next(iter(rows.values()))
    keys = [pxray.path_key(p) for p in files]
    want = RRC(files, seed=SEED, indices=keys)
    for i, p in enumerate(files):
        # read_binary_files may spell the path without a leading slash: match on the name.
        (row,) = [r for q, r in rows.items() if q.endswith(p.lstrip("/"))]
        assert int(row["key"]) == pxray.path_key(str(row["path"]))
        if str(row["path"]) == p:
            np.testing.assert_array_equal(row["image"], want[i])


def test_webdataset_shards_through_decode(
    ray_session: Any, photo_files: list[str], tmp_path: Path
) -> None:
    # pixfeed's shards read by Ray's own webdataset reader (raw bytes, decoder=None): rows
    # keyed by their sample name, the encoded bytes kept out of the output; a sample with
    # no .jpg member (a .png one) is an error row under "report".
    from pixfeed import write_shards

    files = photo_files[:40]
    shards = write_shards(files, list(range(len(files))), str(tmp_path / "s-%06d.tar"), max_count=9)
    ds = ray.data.read_webdataset(shards, decoder=None).map_batches(
        pxray.Decode(RRC, source="jpg", key="__key__", seed=SEED, on_error="report"), batch_size=8
    )
    rows = {str(r["__key__"]): r for r in ds.take_all()}
    names = sorted(rows)  # write_shards' keys: the zero-padded positions
    assert len(names) == len(files)
    jpeg = [i for i, f in enumerate(files) if f.endswith(".jpg")]
    assert 0 < len(jpeg) < len(files)
    want = RRC(
        [Path(files[i]).read_bytes() for i in jpeg],
        seed=SEED,
        indices=[pxray.path_key(names[i]) for i in jpeg],
    )
    for i, name in enumerate(names):
        assert "jpg" not in rows[name]
        assert int(bytes(rows[name]["cls"])) == i
        if i in jpeg:
            assert rows[name]["error"] is None
            np.testing.assert_array_equal(rows[name]["image"], want[jpeg.index(i)])
        else:
            assert "source: column 'jpg' row" in rows[name]["error"]
            assert "no value" in rows[name]["error"]
            assert not rows[name]["image"].any()


def test_missing_or_wrong_source_values_follow_on_error(photo_files: list[str]) -> None:
    data = Path(photo_files[0]).read_bytes()
    cols = {"__key__": np.array(["a", "b", "c", "d"]), "jpg": np.array([data, None, np.nan, 7])}
    with pytest.raises(ValueError, match=r"column 'jpg' row 1 \(__key__ 'b'\): no value"):
        pxray.Decode(RRC, source="jpg", key="__key__")(cols)
    out = pxray.Decode(RRC, source="jpg", key="__key__", on_error="report")(cols)
    assert out["error"][0] is None
    assert [e.split(":")[0] for e in out["error"][1:]] == ["source"] * 3
    assert "row 3 (__key__ 'd'): expected str" in out["error"][3]
    assert "jpg" not in out
    with pytest.warns(RuntimeWarning, match="skipped 3 row"):
        skip = pxray.Decode(RRC, source="jpg", key="__key__", on_error="skip")
        kept = skip(cols)
    assert kept["__key__"].tolist() == ["a"] and skip.skipped == 3
    np.testing.assert_array_equal(kept["image"], out["image"][:1])
    # A path column with a missing row keeps its paths in the output.
    paths = np.array([photo_files[0], None], dtype=object)
    got = pxray.Decode(RRC, key=None, on_error="report")({"path": paths})
    assert got["path"].tolist() == [photo_files[0], None] and got["error"][0] is None


def test_read_images_of_shards_equals_the_shards_loader(
    ray_session: Any, photo_files: list[str], tmp_path: Path
) -> None:
    # A pixfeed.Shards in, rows out: each sample's member read from its shard (JPEG and PNG),
    # row i bit-equal to sample i of Loader(shards, shuffle=False), labels from the shards.
    from pixfeed import Shards, write_shards

    files = photo_files[:45]
    urls = write_shards(
        files, [i % 5 for i in range(len(files))], str(tmp_path / "t-%03d.tar"), max_count=10
    )
    shards = Shards(urls, label="cls")
    got = collect(pxray.read_images(shards, pipeline=RRC, seed=SEED, batch_size=8))
    loader = Loader(shards, pipeline=RRC, shuffle=False, seed=SEED, batch_size=16, prefetch=0)
    images, labels = zip(*loader, strict=True)
    np.testing.assert_array_equal(got["image"], np.concatenate(images))
    np.testing.assert_array_equal(got["label"], np.concatenate(labels))
    assert got["key"].tolist() == list(range(len(files)))
    assert [str(s) for s in got["shard"]] == [m.path for m in shards.sources]
    assert [str(m) for m in got["member"]] == [m.name for m in shards.sources]
    assert got["offset"].tolist() == [m.offset for m in shards.sources]


def test_member_source_columns_are_checked(photo_files: list[str], tmp_path: Path) -> None:
    from pixfeed import Shards, write_shards

    (url,) = write_shards(photo_files[:3], None, str(tmp_path / "m-%03d.tar"))
    m = Shards([url]).sources
    fn = pxray.Decode(RRC, source="member", key=None, seed=SEED)
    cols = {
        "shard": np.array([x.path for x in m], dtype=object),
        "member": np.array([x.name for x in m], dtype=object),
        "offset": np.array([x.offset for x in m]),
        "size": np.array([x.size for x in m]),
    }
    out = fn(cols)
    keys = [pxray.path_key(f"{x.path}:{x.name}") for x in m]
    np.testing.assert_array_equal(out["image"], RRC(list(m), seed=SEED, indices=keys))
    assert out["key"].tolist() == keys and out["member"].tolist() == [x.name for x in m]
    with pytest.raises(KeyError, match=r"columns \['shard', 'member', 'offset', 'size'\].*'size'"):
        fn({k: v for k, v in cols.items() if k != "size"})
    with pytest.raises(
        ValueError, match=r"column 'offset' row 1 \(member '000000001\.jpg'\): must be >= 0"
    ):
        fn({**cols, "offset": np.array([m[0].offset, -1, m[2].offset])})
    with pytest.raises(
        TypeError,
        match=r"column 'shard' row 0 \(member '000000000\.jpg'\): expected a str, got int",
    ):
        fn({**cols, "shard": np.array([1, 2, 3], dtype=object)})


def test_truncated_shard_is_reported_by_row(
    ray_session: Any, photo_files: list[str], tmp_path: Path
) -> None:
    # The last shard cut short after indexing: its rows become error rows naming the shard.
    from pixfeed import Shards, write_shards

    urls = write_shards(photo_files[:20], None, str(tmp_path / "c-%03d.tar"), max_count=10)
    shards = Shards(urls)
    cut = urls[-1]
    os.truncate(cut, os.path.getsize(cut) // 3)
    got = collect(pxray.read_images(shards, pipeline=RRC, seed=SEED, on_error="report"))
    bad = [i for i, e in enumerate(got["error"]) if e is not None]
    assert bad and all(shards.sources[i].path == cut for i in bad)
    for i in bad:
        m = shards.sources[i]
        assert got["error"][i].startswith(f"{m.path}:{m.name} @ offset {m.offset}: ")
        assert got["error"][i].count(cut) == 1
    assert all(not got["image"][i].any() for i in bad)
    with pytest.raises(Exception, match=re.escape(cut)):
        pxray.read_images(shards, pipeline=RRC, seed=SEED).materialize()


def test_report_skip_raise(
    ray_session: Any, photo_files: list[str], bad_files: dict[str, str], rrc_reference: np.ndarray
) -> None:
    good = photo_files[:50]
    paths = [*good[:10], bad_files["truncated"], *good[10:30], bad_files["garbage"]]
    paths += [*good[30:], bad_files["missing"]]
    bad_at = {paths.index(p): p for p in bad_files.values()}

    got = collect(
        pxray.read_images(paths, pipeline=RRC, seed=SEED, on_error="report", batch_size=16)
    )
    assert len(got["image"]) == len(paths)
    for i, p in enumerate(paths):
        if i in bad_at:
            assert got["error"][i] is not None and p in got["error"][i]
            assert not got["image"][i].any()
        else:
            assert got["error"][i] is None
    assert sum(e is not None for e in got["error"]) == 3
    keep = [i for i in range(len(paths)) if i not in bad_at]
    want = RRC([paths[i] for i in keep], seed=SEED, indices=keep)
    np.testing.assert_array_equal(got["image"][keep], want)

    got = collect(pxray.read_images(paths, pipeline=RRC, seed=SEED, on_error="skip", batch_size=16))
    assert sorted(int(k) for k in got["key"]) == keep
    assert "error" not in got

    # In the task, Decode raises pixfeed's DecodeError naming the file; Ray Data hands the
    # driver its own UserCodeException, whose message carries the error's type and text.
    with pytest.raises(DecodeError, match=r"truncated\.jpg"):
        pxray.Decode(RRC)({"path": np.array(paths[9:12], dtype=object), "key": np.arange(3)})
    with pytest.raises(Exception, match=r"DecodeError: \S*truncated\.jpg"):
        pxray.read_images(paths[:20], pipeline=RRC, batch_size=16).materialize()
    with pytest.raises(Exception, match=r"does-not-exist\.jpg"):
        pxray.read_images([bad_files["missing"]], pipeline=RRC).materialize()


def test_threads_default_to_assigned_cpus(ray_session: Any, photo_files: list[str]) -> None:
    def probe(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        fn = pxray.Decode(RRC)
        n = len(batch["key"])
        return {"threads": np.full(n, fn.resolved_threads() or -1), "key": batch["key"]}

    items = [{"path": p, "key": i} for i, p in enumerate(photo_files[:8])]
    for cpus in (1, 2):
        rows = ray.data.from_items(items).map_batches(probe, num_cpus=cpus).take_all()
        assert {int(r["threads"]) for r in rows} == {cpus}
    rows = ray.data.from_items(items).map_batches(probe, num_cpus=0.5, batch_size=4).take_all()
    assert {int(r["threads"]) for r in rows} == {1}
    assert pxray.Decode(RRC, threads=3).resolved_threads() == 3


def test_collate_normalizes_like_the_pipeline(ray_session: Any, photo_files: list[str]) -> None:
    import torch

    p = Pipeline(size=SIZE)
    files = photo_files[:48]
    ds = pxray.read_images(files, pipeline=p, seed=SEED)
    batches = list(ds.iter_torch_batches(batch_size=16, collate_fn=pxray.collate(p)))
    images = torch.cat([b["image"] for b in batches])
    keys = torch.cat([b["key"] for b in batches])
    assert images.dtype == torch.float32 and images.shape[1:] == (3, SIZE, SIZE)
    want = loader_reference(files, p)
    np.testing.assert_allclose(images.numpy(), want[keys.numpy()], atol=2e-6, rtol=0)


def test_streaming_split_shards_are_disjoint_and_cover(
    ray_session: Any, photo_files: list[str]
) -> None:
    import threading

    ds = pxray.read_images(photo_files[:100], pipeline=RRC, batch_size=8)
    its = ds.streaming_split(2, equal=False)
    seen: list[list[int]] = [[], []]

    def consume(k: int) -> None:
        for b in its[k].iter_batches(batch_size=8):
            seen[k].extend(int(x) for x in b["key"])

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == list(range(100))


# -- Ray Train ---------------------------------------------------------------------------------


def test_torch_trainer_covers_epoch_and_resumes(
    ray_session: Any, photo_files: list[str], tmp_path: Path
) -> None:
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    # Defined here so that Ray pickles it by value (workers cannot import this module).
    def _train_loop(config: dict[str, Any]) -> None:
        """Each worker: epoch 0 in full, then epoch 1's first 2 batches, a checkpoint, a crash
        on the first attempt; the restarted worker resumes epoch 1 from the checkpoint."""
        import ray.train

        import pixfeed as pf

        out = Path(config["out"])
        ctx = ray.train.get_context()
        rank = ctx.get_world_rank()
        loader = pf.Loader(
            config["paths"],
            list(range(len(config["paths"]))),
            pipeline=pf.Pipeline(size=16, dtype="uint8"),
            batch_size=4,
            seed=9,
            threads=1,
        )
        ckpt = ray.train.get_checkpoint()
        if ckpt is None:
            seen = [int(x) for _, labels in loader for x in labels]
            (out / f"epoch0-rank{rank}.json").write_text(
                json.dumps([loader.rank, loader.world_size, seen])
            )
            loader.set_epoch(1)
            it = iter(loader)
            first = [[int(x) for x in next(it)[1]] for _ in range(2)]
            (out / f"epoch1-head-rank{rank}.json").write_text(json.dumps(first))
            with tempfile.TemporaryDirectory() as d:
                Path(d, f"loader-rank{rank}.json").write_text(json.dumps(loader.state_dict()))
                ray.train.report({"step": 1}, checkpoint=ray.train.Checkpoint.from_directory(d))
            raise RuntimeError("simulated preemption")
        with ckpt.as_directory() as d:
            loader.load_state_dict(json.loads(Path(d, f"loader-rank{rank}.json").read_text()))
        rest = [int(x) for _, labels in loader for x in labels]
        (out / f"epoch1-tail-rank{rank}.json").write_text(json.dumps([loader.epoch, rest]))

    paths = photo_files[:40]
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={"paths": paths, "out": str(tmp_path)},
        scaling_config=ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(
            storage_path=str(tmp_path / "runs"), failure_config=FailureConfig(max_failures=1)
        ),
    )
    trainer.fit()
    epoch0 = [json.loads((tmp_path / f"epoch0-rank{r}.json").read_text()) for r in range(2)]
    assert [e[:2] for e in epoch0] == [[0, 2], [1, 2]]
    assert not set(epoch0[0][2]) & set(epoch0[1][2])
    assert sorted(epoch0[0][2] + epoch0[1][2]) == list(range(len(paths)))
    for r in range(2):
        head = json.loads((tmp_path / f"epoch1-head-rank{r}.json").read_text())
        epoch, tail = json.loads((tmp_path / f"epoch1-tail-rank{r}.json").read_text())
        assert epoch == 1
        want = Loader(
            paths,
            list(range(len(paths))),
            pipeline=Pipeline(size=16, dtype="uint8"),
            batch_size=4,
            seed=9,
            rank=r,
            world_size=2,
        )
        want.set_epoch(1)
        want_labels = [int(x) for _, labels in want for x in labels]
        assert [x for h in head for x in h] + tail == want_labels
        assert len(tail) == len(want_labels) - 8


def test_public_module_reexports_the_integration() -> None:
    """pixfeed.ray is the public name of pixfeed.integrations.ray: the same objects."""
    for name in pxray.__all__:
        assert getattr(pxray, name) is getattr(impl, name)
    assert sorted(pxray.__all__) == sorted(impl.__all__)
