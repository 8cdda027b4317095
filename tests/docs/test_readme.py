"""The README's "Array ops" code block runs as written (in a scratch folder), and does what
its comments say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def section_code(heading: str) -> str:
    """The first ```python block after ``heading``."""
    text = README.read_text(encoding="utf-8")
    _, found, rest = text.partition(f"\n## {heading}")
    assert found, f"README has no section {heading!r}"
    block = re.search(r"```python\n(.*?)```", rest, re.S)
    assert block is not None, f"no python block in {heading!r}"
    return block.group(1)


def test_array_ops_block_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {}
    exec(compile(section_code("Array ops"), "README.md (Array ops)", "exec"), ns)
    images = ns["images"]
    assert [a.shape for a in ns["small"]] == [(224, 224, 3)] * 2
    assert ns["clips"][0].shape == (8, 224, 224, 3)
    # crop: pixels, (x, y, w, h).
    assert np.array_equal(ns["boxes"][0], images[0][20:120, 10:210])
    assert ns["batch"].shape == (2, 3, 224, 224) and ns["batch"].dtype == np.float16
    # crop_paths: x, y fractions of the size; scale 0.25 of a 640x480 PNG (lossless) is the
    # 160x120 box at (64, 96), resized to the window like any crop.
    import pixfeed

    windows = ns["windows"]
    assert windows.shape == (2, 224, 224, 3) and not windows.errors
    box = pixfeed.crop(images[0], (64, 96, 160, 120))
    want = pixfeed.resize(box, (224, 224))
    assert np.abs(windows[0].astype(int) - want.astype(int)).max() <= 1
