"""PyTorch integration: zero-copy tensors, ImageDataset under DataLoader workers, a real
two-process gloo DDP run, and the Vantix-compatible loader."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pixfeed  # noqa: E402
from pixfeed._sample import make_sample_set  # noqa: E402


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [str(p) for p in make_sample_set(tmp_path_factory.mktemp("torch_jpegs"), 30)]


def test_output_torch_matches_numpy_output(jpegs: list[str]) -> None:
    ld = pixfeed.Loader(jpegs, list(range(30)), batch_size=8, output="torch")
    x, y = next(iter(ld))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert tuple(x.shape) == (8, 3, 224, 224)
    assert y.dtype == torch.int64
    # Same numbers as the numpy output.
    ln = pixfeed.Loader(jpegs, list(range(30)), batch_size=8)
    xn, _ = next(iter(ln))
    assert np.array_equal(x.numpy(), xn)


def test_pin_memory_without_cuda_warns_and_works(jpegs: list[str]) -> None:
    if torch.cuda.is_available():
        ld = pixfeed.Loader(jpegs, batch_size=8, output="torch", pin_memory=True)
        assert next(iter(ld)).is_pinned()
        return
    ld = pixfeed.Loader(jpegs, batch_size=8, output="torch", pin_memory=True)
    with pytest.warns(RuntimeWarning, match="pin_memory"):
        batch = next(iter(ld))
    assert tuple(batch.shape) == (8, 3, 224, 224)


def test_dataloader_workers_see_every_sample_once(jpegs: list[str]) -> None:
    from torch.utils.data import DataLoader

    from pixfeed.torch import ImageDataset

    ds = ImageDataset(jpegs, list(range(30)), batch_size=4, seed=1)
    assert len(ds) == 8
    dl = DataLoader(ds, batch_size=None, num_workers=2)
    for epoch in range(2):
        ds.set_epoch(epoch)
        labels = torch.cat([y for _, y in dl]).tolist()
        assert sorted(labels) == list(range(30)), "each sample exactly once per epoch"
    # The same order as one in-process loader (workers deal batches round robin).
    ds.set_epoch(1)
    ld = pixfeed.Loader(jpegs, list(range(30)), batch_size=4, seed=1)
    ld.set_epoch(1)
    assert torch.cat([y for _, y in dl]).tolist() == np.concatenate([y for _, y in ld]).tolist()


def test_two_process_gloo_ddp(jpegs: list[str], tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, sys
            import torch, torch.distributed as dist
            import pixfeed
            dist.init_process_group("gloo")
            paths = json.loads(os.environ["PIXFEED_TEST_PATHS"])
            ld = pixfeed.Loader(paths, list(range(len(paths))), batch_size=4, seed=3,
                                output="torch", pipeline=pixfeed.Pipeline(32))
            labels = torch.cat([y for _, y in ld])
            n = torch.tensor([len(ld)])
            gathered = [torch.zeros_like(labels) for _ in range(dist.get_world_size())]
            dist.all_gather(gathered, labels)
            counts = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
            dist.all_gather(counts, n)
            if dist.get_rank() == 0:
                print(json.dumps({"labels": [g.tolist() for g in gathered],
                                  "batches": [int(c) for c in counts],
                                  "rank_world": [ld.rank, ld.world_size]}))
            dist.destroy_process_group()
            """
        )
    )
    import json

    env = dict(os.environ)
    env["PIXFEED_TEST_PATHS"] = json.dumps(jpegs[:29])
    env["PIXFEED_NUM_THREADS"] = "1"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29531",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads([line for line in r.stdout.splitlines() if line.startswith("{")][-1])
    assert out["batches"][0] == out["batches"][1] == 4  # ceil(29 / 2) = 15 -> 4 batches
    a, b = out["labels"]
    assert len(a) == len(b) == 15
    assert set(a) | set(b) == set(range(29))
    assert len(set(a) & set(b)) <= 1  # only the one wrap-padding sample repeats


def test_vantix_compat(jpegs: list[str]) -> None:
    from pixfeed.compat.vantix import VantixLoader

    vl = VantixLoader(jpegs, width=64, height=48, batch_size=8, augment=False, shuffle=False)
    assert len(vl) == 4
    batches = list(vl)
    assert [tuple(b.shape) for b in batches] == [(8, 3, 48, 64)] * 3 + [(6, 3, 48, 64)]
    b0 = batches[0].numpy()
    assert b0.dtype == np.float32 and 0.0 <= b0.min() and b0.max() <= 1.0
    # Whole image decoded at full size, squashed to 64x48 with antialiased bilinear, scaled
    # to [0, 1] (as Vantix): Pillow's bytes exactly, v / 255 as float32.
    for k in range(8):
        ref = _vantix_reference(jpegs[k], 64, 48)
        assert np.array_equal(b0[k].transpose(1, 2, 0), ref), k
    doubled = VantixLoader(jpegs, width=16, height=16, batch_size=8, transform=lambda t: t * 2)
    assert float(next(iter(doubled)).max()) <= 2.0


def _vantix_reference(path: str, width: int, height: int) -> np.ndarray:
    """What Vantix computes for one unflipped file: no EXIF orientation, full-size decode,
    the whole image resized with antialiased bilinear, v / 255 in float32."""
    from PIL import Image

    a = np.asarray(
        Image.open(path).convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    )
    return a.astype(np.float32) / np.float32(255)


def test_vantix_ignores_exif_orientation_and_flips_exactly(tmp_path: Path) -> None:
    from PIL import Image

    from pixfeed.compat.vantix import VantixLoader

    rng = np.random.default_rng(0)
    base = (rng.integers(0, 256, (60, 90, 3)) // 8 * 8).astype(np.uint8)
    paths = []
    for o in (1, 6, 3, 8):
        exif = Image.Exif()
        exif[0x0112] = o
        p = tmp_path / f"o{o}.jpg"
        Image.fromarray(base).save(p, quality=90, exif=exif)
        paths.append(str(p))
    assert pixfeed.probe(paths[1]).width == 60  # pixfeed elsewhere applies the orientation
    plain = next(iter(VantixLoader(paths, width=40, height=30, batch_size=4, shuffle=False)))
    for k, p in enumerate(paths):
        ref = _vantix_reference(p, 40, 30)
        assert np.array_equal(plain[k].numpy().transpose(1, 2, 0), ref), p
    # augment: each sample is either the reference or its mirror image.
    aug = VantixLoader(paths * 4, width=40, height=30, batch_size=16, augment=True, shuffle=False)
    out = next(iter(aug)).numpy().transpose(0, 2, 3, 1)
    flipped = 0
    for k, p in enumerate(paths * 4):
        ref = _vantix_reference(p, 40, 30)
        if np.array_equal(out[k], ref[:, ::-1]) and not np.array_equal(out[k], ref):
            flipped += 1
        else:
            assert np.array_equal(out[k], ref), k
    assert 0 < flipped < 16


@pytest.mark.parametrize("persistent", [True, False])
def test_dataloader_epochs_reshuffle_without_set_epoch(jpegs: list[str], persistent: bool) -> None:
    """Each pass over the DataLoader is the next epoch, long-lived workers included; the
    orders are those of an in-process loader's epochs 0, 1, 2."""
    from torch.utils.data import DataLoader

    from pixfeed.torch import ImageDataset

    pipe = pixfeed.Pipeline(32)
    ds = ImageDataset(jpegs, list(range(30)), batch_size=4, seed=1, pipeline=pipe)
    dl = DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=persistent)
    orders = [torch.cat([y for _, y in dl]).tolist() for _ in range(3)]
    assert all(sorted(o) == list(range(30)) for o in orders)
    assert orders[0] != orders[1] != orders[2]
    ld = pixfeed.Loader(jpegs, list(range(30)), batch_size=4, seed=1, pipeline=pipe)
    assert orders == [np.concatenate([y for _, y in ld]).tolist() for _ in range(3)]


def test_set_epoch_reaches_persistent_workers(jpegs: list[str]) -> None:
    from torch.utils.data import DataLoader

    from pixfeed.torch import ImageDataset

    pipe = pixfeed.Pipeline(32)
    ds = ImageDataset(jpegs, list(range(30)), batch_size=4, seed=1, pipeline=pipe)
    dl = DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=True)
    got = {}
    for epoch in (3, 5, 3):
        ds.set_epoch(epoch)
        got.setdefault(epoch, []).append(torch.cat([y for _, y in dl]).tolist())
    assert got[3][0] == got[3][1] != got[5][0]
    ld = pixfeed.Loader(jpegs, list(range(30)), batch_size=4, seed=1, pipeline=pipe)
    ld.set_epoch(5)
    assert got[5][0] == np.concatenate([y for _, y in ld]).tolist()


def test_image_dataset_takes_the_loaders_keyword_arguments(jpegs: list[str]) -> None:
    from pixfeed.torch import ImageDataset

    ds = ImageDataset(jpegs[:4], list(range(4)), batch_size=2, shuffle=False, strict=False)
    x, y = next(iter(ds))
    assert isinstance(x, torch.Tensor) and tuple(x.shape) == (2, 3, 224, 224)
    assert y.tolist() == [0, 1]
    with pytest.raises(TypeError, match="output"):
        ImageDataset(jpegs, output="numpy")
    with pytest.raises(TypeError, match="bogus"):
        ImageDataset(jpegs, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="on_error"):
        ImageDataset(jpegs, on_error="ignore")  # type: ignore[arg-type]
