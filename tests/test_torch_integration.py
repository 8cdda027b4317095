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
    # Whole image squashed to 64x48, antialiased bilinear, scaled to [0, 1] (as Vantix).
    from PIL import Image

    ref = np.asarray(
        Image.open(jpegs[0]).convert("RGB").resize((64, 48), Image.Resampling.BILINEAR)
    )
    ours = np.rint(b0[0].transpose(1, 2, 0) * 255).astype(int)
    assert np.abs(ours - ref).mean() < 1.5  # DCT-scaled decode before the resize
    doubled = VantixLoader(jpegs, width=16, height=16, batch_size=8, transform=lambda t: t * 2)
    assert float(next(iter(doubled)).max()) <= 2.0
