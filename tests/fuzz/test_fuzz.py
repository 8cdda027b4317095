"""A bounded atheris run over pixfeed.decode/probe on all formats (tests/fuzz/fuzz_decode.py).

Seeded with the small fixtures of every format, run in a child process with a time bound of
~20 s (or 200,000 inputs); the test fails if the child finds an untyped exception, a crash
or a hang, and quotes the crash report. Skipped (with the reason) when atheris cannot be imported.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SPECS, FixtureSet

FUZZ_SECONDS = 20
MAX_RUNS = 200_000


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_fuzz_decode(fx: FixtureSet, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    fmts = set()
    for name, spec in SPECS.items():
        data = fx.data(name)
        if spec.kind in ("image", "bomb") and len(data) <= 24_000:
            (corpus / name).write_bytes(data)
            fmts.add(spec.fmt)
    assert fmts >= {"jpeg", "png", "bmp", "webp"}
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("fuzz_decode.py")),
        str(corpus),
        f"-runs={MAX_RUNS}",
        f"-max_total_time={FUZZ_SECONDS}",
        "-max_len=32768",
        "-timeout=10",
        "-rss_limit_mb=3072",
        "-seed=7",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=FUZZ_SECONDS + 60, cwd=str(ROOT)
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fuzzer did not stop in time:\n{(e.stderr or '')[-3000:]}")
    log = r.stdout + r.stderr
    if r.returncode != 0:
        found = sorted(p.name for p in artifacts.iterdir())
        pytest.fail(
            f"fuzzing found a problem (exit {r.returncode}); reproducers in {artifacts}: {found}\n"
            + log[-4000:]
        )
    m = re.search(r"stat::number_of_executed_units: (\d+)", log)
    assert m, log[-2000:]
    executed = int(m.group(1))
    print(f"atheris: {executed} inputs in <= {FUZZ_SECONDS} s")
    assert executed >= 1000, f"the fuzzer barely ran ({executed} inputs):\n{log[-2000:]}"
