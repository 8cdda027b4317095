"""GNU sparse members (``tar --sparse``) in shards: never skipped silently. Python's
``tarfile`` (and so webdataset) yields them expanded; pixfeed refuses the sample, naming the
shard, the member and its offset, or skips it under ``missing="skip"`` and lists it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pixfeed
from pixfeed import shards as shards_mod

# tar formats and the sparse layouts GNU tar writes for them.
FORMATS = {
    "gnu": ["--format=gnu"],  # old GNU type 'S' (with extension headers past 4 regions)
    "pax-0.0": ["--format=posix", "--sparse-version=0.0"],
    "pax-0.1": ["--format=posix", "--sparse-version=0.1"],
    "pax-1.0": ["--format=posix", "--sparse-version=1.0"],
}


def _gnu_tar() -> str | None:
    tar = shutil.which("tar")
    if tar is None:
        return None
    out = subprocess.run([tar, "--version"], capture_output=True, text=True, check=False)
    return tar if "GNU tar" in out.stdout else None


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _holey(path: Path, head: bytes, regions: int) -> None:
    """``head``, then ``regions`` small data blocks each after a 64 KiB hole."""
    with open(path, "wb") as f:
        f.write(head)
        for r in range(regions):
            f.seek(64 << 10, os.SEEK_CUR)
            f.write(bytes([r + 1]) * 600)


@pytest.fixture(scope="module", params=sorted(FORMATS))
def sparse_shard(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tar = _gnu_tar()
    if tar is None:
        pytest.skip("GNU tar is not installed")
    d = tmp_path_factory.mktemp("sparse")
    src = d / "src"
    src.mkdir()
    names = []
    for key, label in (("a", 1), ("b", 2), ("c", 3)):
        (src / f"{key}.cls").write_text(str(label))
        if key == "b":
            _holey(src / "b.jpg", _jpeg(2), regions=9)
        else:
            (src / f"{key}.jpg").write_bytes(_jpeg(ord(key)))
        names += [f"{key}.jpg", f"{key}.cls"]
    shard = d / f"{request.param}.tar"
    subprocess.run(
        [tar, "--sparse", *FORMATS[request.param], "-cf", str(shard), "-C", str(src), *names],
        check=True,
    )
    with tarfile.open(shard) as t:
        member = t.getmember("b.jpg")
        if not member.issparse():
            pytest.skip("this filesystem keeps no holes: GNU tar wrote no sparse member")
        expanded = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
        data_at = member.offset_data
    assert expanded["b.jpg"] == (src / "b.jpg").read_bytes()  # tarfile expands it
    return {"url": str(shard), "expanded": expanded, "data_at": data_at, "fmt": request.param}


def test_sparse_member_is_an_error_naming_shard_member_and_offset(sparse_shard: Any) -> None:
    url = sparse_shard["url"]
    with pytest.raises(pixfeed.ShardError) as info:
        pixfeed.Shards(url, label="cls")
    e = info.value
    assert e.kind == "unsupported"
    assert url in str(e) and "'b.jpg'" in str(e)
    assert "sparse member: repack without --sparse" in str(e)
    assert f"offset {e.offset}" in str(e)
    # The member's data (format 1.0 stores its sparse map first, which tarfile reads past).
    if sparse_shard["fmt"] == "pax-1.0":
        assert e.offset < sparse_shard["data_at"] <= e.offset + 4096
    else:
        assert e.offset == sparse_shard["data_at"]


def test_sparse_sample_skipped_and_listed_others_exact(sparse_shard: Any) -> None:
    url = sparse_shard["url"]
    got = pixfeed.Shards(url, label="cls", missing="skip")
    assert got.keys == ["a", "c"]
    assert got.labels is not None and got.labels.tolist() == [1, 3]
    [(shard, key, why)] = got.skipped
    assert (shard, key) == (url, "b") and "sparse" in why
    # The members around the sparse one are where tarfile finds them.
    for i, key in enumerate(got.keys):
        assert got.read(i) == sparse_shard["expanded"][f"{key}.jpg"]
        cls = shards_mod.member_bytes(got[i].members["cls"])
        assert cls == sparse_shard["expanded"][f"{key}.cls"]


def test_sparse_flag_survives_the_sidecar_index(
    sparse_shard: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "shard.tar")
    shutil.copy2(sparse_shard["url"], url)
    shards_mod.write_sidecar(url)
    doc = json.loads(Path(url + shards_mod.SIDECAR_SUFFIX).read_text())
    entry = doc["shards"][0]
    assert [entry["names"][p] for p in entry["sparse"]] == ["b.jpg"]

    def no_build(urls: list[str], threads: int | None) -> Any:
        assert not urls, "the fresh sidecar should have been used"
        return []

    monkeypatch.setattr(shards_mod, "_build", no_build)
    with pytest.raises(pixfeed.ShardError, match="sparse member"):
        pixfeed.Shards(url)
    assert pixfeed.Shards(url, missing="skip").keys == ["a", "c"]
