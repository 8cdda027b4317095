"""Every native call goes through one entry helper (crates/pixfeed-py/src/entry.rs): a panic
in the core comes back as pixfeed's RuntimeError ("please report"), never pyo3's
PanicException (a BaseException that `except Exception` would not catch)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pixfeed import _core

BINDINGS = Path(__file__).resolve().parents[2] / "crates" / "pixfeed-py" / "src"


@pytest.mark.parametrize("release_gil", [True, False])
def test_a_panic_is_a_runtime_error(release_gil: bool) -> None:
    with pytest.raises(RuntimeError, match=r"please report.*deliberate test panic") as info:
        _core._panic_for_test(release_gil)
    assert type(info.value) is RuntimeError
    assert str(info.value).startswith("_panic_for_test: internal error in pixfeed")


def test_the_interpreter_survives_many_panics() -> None:
    for _ in range(20):
        with pytest.raises(RuntimeError):
            _core._panic_for_test()
    assert _core.get_num_threads() >= 1


@pytest.mark.skipif(not BINDINGS.is_dir(), reason="needs the source tree")
def test_no_binding_bypasses_the_helper() -> None:
    # Releasing the GIL or catching panics anywhere but in entry.rs is a call site that
    # skips the helper.
    offenders = []
    for path in sorted(BINDINGS.glob("*.rs")):
        if path.name == "entry.rs":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.detach\(|allow_threads|catch_panic|catch_unwind", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
