"""The README's table from AnyLabeling's performance settings to pixfeed keys: every key it
names loads from a config file, and the loading keys reach what they drive."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixfeed
from pixfeed import cache as cache_module
from pixfeed.config import ENV_VARS, Config, load_config

README = Path(__file__).resolve().parents[2] / "README.md"
SETTINGS = (
    "batch_size",
    "max_batch_size",
    "num_worker_threads",
    "io_threads",
    "image_cache_size_mb",
    "enable_result_caching",
    "preload_count",
    "preferred_backend",
)
# A value other than the default for each pixfeed key.
SAMPLE = {
    "batch_size": ("16", 16),
    "threads": ("3", 3),
    "io_threads": ("2", 2),
    "cache_mb": ("64", 64),
    "cache": ("false", False),
    "preload_count": ("5", 5),
    "backend": ('"cpu"', "cpu"),
    "cache_max_entries": ("1000", 1000),
}


def table() -> dict[str, str]:
    text = README.read_text()
    section = text[text.index("### From AnyLabeling's performance settings") :]
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, re.M)
    return dict(rows)


def test_table_covers_every_setting() -> None:
    assert set(table()) == set(SETTINGS)


def test_every_key_loads_from_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    keys = set(table().values())
    assert keys <= set(ENV_VARS)  # each is a configuration key
    lines = [f"{k} = {SAMPLE[k][0]}" for k in sorted(keys)]
    (tmp_path / "pixfeed.toml").write_text("\n".join(lines) + "\n")
    cfg = load_config(cwd=tmp_path)
    for k in keys:
        assert getattr(cfg, k) == SAMPLE[k][1], k
        assert cfg.sources[k].startswith("project config")


def test_preload_count_and_io_threads_reach_the_image_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pixfeed.ImageCache(config=Config(preload=True, preload_count=3)).read_ahead == 3
    assert pixfeed.ImageCache(config=Config(preload=False, preload_count=3)).read_ahead == 0
    seen: list[object] = []
    real = cache_module.decode_batch

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(kw.get("threads"))
        return real(*args, **kw)

    monkeypatch.setattr(cache_module, "decode_batch", spy)
    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.png"
        p.write_bytes(pixfeed.encode(np.zeros((4, 4, 3), np.uint8), "png"))
        paths.append(p)
    job = pixfeed.ImageCache(config=Config(io_threads=1)).preload(paths)
    assert job.wait(30) and job.loaded == 4
    job = pixfeed.ImageCache(config=Config(io_threads=1)).preload(paths, threads=2)
    assert job.wait(30)
    assert seen == [1, 2]  # the key, unless the call says otherwise
    with pytest.raises(ValueError, match="io_threads"):
        Config(io_threads=0)
