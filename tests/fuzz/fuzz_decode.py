"""atheris harness for pixfeed.decode / pixfeed.probe (run by tests/fuzz/test_fuzz.py, or by hand:
``python tests/fuzz/fuzz_decode.py CORPUS_DIR -runs=100000``).

Every input is decoded in a mode chosen from its length, sometimes with reduce_to or a ROI,
and probed. Only `pixfeed.DecodeError` (and subclasses) may escape, plus a ValueError naming
``roi`` when the fuzzed image is smaller than the ROI; anything else -- another exception, a
crash, a hang (-timeout) -- is a finding.

The Rust/C decoders are not coverage-instrumented, so libFuzzer would see every input take
the same (Python) path and shrink the seed corpus to a few bytes. To give it a signal, each
outcome is mapped to an instrumented branch: (format, error reason with numbers stripped) or
(format, result geometry class). New error reasons roughly mean new decoder paths.
"""

from __future__ import annotations

import re
import sys
import zlib

import atheris
import numpy as np

with atheris.instrument_imports(include=["pixfeed"]):
    import pixfeed

MODES = ("RGB", "BGR", "RGBA", "L", "unchanged")
MAX_PIXELS = 1 << 22  # keep each iteration small: huge headers must be refused, not decoded
N_BUCKETS = 512


def _make_bucket():  # type: ignore[no-untyped-def]
    lines = ["def bucket(k):"]
    for i in range(N_BUCKETS):
        lines.append(f"    {'if' if i == 0 else 'elif'} k == {i}:\n        return {i}")
    lines.append("    return -1")
    ns: dict[str, object] = {}
    exec("\n".join(lines), ns)
    return atheris.instrument_func(ns["bucket"])


bucket = _make_bucket()


def fmt_index(data: bytes) -> int:
    if data[:3] == b"\xff\xd8\xff":
        return 0
    if data[:4] == b"\x89PNG":
        return 1
    if data[:2] == b"BM":
        return 2
    if data[:4] == b"RIFF":
        return 3
    return 4


def outcome(data: bytes, what: str) -> None:
    f = fmt_index(data)
    h = zlib.crc32(re.sub(rb"[0-9]+", b"#", what.encode())) % 96
    bucket(f * 100 + h)


def check_array(a: object, mode: str) -> None:
    assert isinstance(a, np.ndarray), type(a)
    assert a.flags.c_contiguous
    assert a.ndim in (2, 3) and a.size > 0, a.shape
    if mode == "unchanged":
        assert a.dtype in (np.uint8, np.uint16), a.dtype
    else:
        assert a.dtype == np.uint8, a.dtype
        want = {"RGB": 3, "BGR": 3, "RGBA": 4}.get(mode)
        assert (a.ndim == 2) if want is None else (a.shape[2] == want), (mode, a.shape)


def test_one_input(data: bytes) -> None:
    n = len(data)
    mode = MODES[n % len(MODES)]
    kwargs: dict[str, object] = {"mode": mode, "max_pixels": MAX_PIXELS}
    if n % 6 == 1:
        kwargs["reduce_to"] = (1 + n % 7, 1 + n % 5)
    roi = (n % 3, n % 2, 1 + n % 4, 1 + n % 3) if n % 6 == 4 else None
    if roi is not None:
        kwargs["roi"] = roi
    try:
        a = pixfeed.decode(data, **kwargs)
    except pixfeed.DecodeError as e:
        outcome(data, f"{type(e).__name__}:{e.reason}")
    except ValueError as e:
        if roi is None or "roi" not in str(e):
            raise
        outcome(data, "roi")
    else:
        check_array(a, mode)
        if roi is not None:
            assert a.shape[:2] == (roi[3], roi[2]), (a.shape, roi)
        outcome(data, f"ok:{a.ndim}:{a.shape[-1]}:{a.dtype}:{a.shape[0] > 16}:{a.shape[1] > 16}")
    try:
        info = pixfeed.probe(data)
    except pixfeed.DecodeError:
        pass
    else:
        assert info.width > 0 and info.height > 0 and 1 <= info.orientation <= 8


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
