"""The JPEG MCU decoder is compiled twice on x86-64 (baseline and x86-64-v3) and picked at run
time from the CPU's features: the pick follows the CPU, `pixfeed info` reports it, and both
builds give the same pixels (`PIXFEED_JPEG_HUFF=baseline` forces the baseline build)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import pixfeed
from conftest import FixtureSet, names
from pixfeed import _core

# Huffman-coded single-scan JPEGs: the ones the MCU decoder handles.
JPEGS = names(fmt="jpeg", no_tags=["progressive"])
# Every feature -march=x86-64-v3 may use, as /proc/cpuinfo names them (lzcnt is "abm").
V3_FLAGS = {"avx", "avx2", "bmi1", "bmi2", "fma", "f16c", "movbe", "abm", "xsave"}


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_choice_follows_the_cpu() -> None:
    build = _core.build_info()["jpeg_decoder"]
    if platform.machine() != "x86_64":
        assert build == "baseline"
    elif os.environ.get("PIXFEED_JPEG_HUFF") == "baseline":
        assert build == "baseline"
    else:
        flags = cpu_flags()
        if not flags:
            pytest.skip("no /proc/cpuinfo flags to compare with")
        assert build == ("x86-64-v3" if V3_FLAGS <= flags else "baseline"), sorted(V3_FLAGS - flags)


def digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(pixfeed.decode(p).tobytes()).hexdigest() for p in paths}


def test_both_builds_give_the_same_pixels(fx: FixtureSet) -> None:
    paths = [fx.path(n) for n in JPEGS]
    assert len(paths) >= 20
    here = digests(paths)
    code = (
        "import hashlib, json, sys, pixfeed\n"
        "from pixfeed import _core\n"
        "paths = sys.argv[1:]\n"
        "print(json.dumps({'build': _core.build_info()['jpeg_decoder'], 'digests': {\n"
        "    p.rsplit('/', 1)[-1]: hashlib.sha256(pixfeed.decode(p).tobytes()).hexdigest()\n"
        "    for p in paths}}))\n"
    )
    env = {**os.environ, "PIXFEED_JPEG_HUFF": "baseline"}
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    forced = json.loads(out.stdout)
    assert forced["build"] == "baseline"
    differ = sorted(n for n in here if here[n] != forced["digests"][n])
    assert not differ, f"baseline and {_core.build_info()['jpeg_decoder']} builds differ: {differ}"
