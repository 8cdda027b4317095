"""Decode a pickled list of cases in a child process, one JSON line per case.

Used by tests that feed pixfeed corrupt data: a crash (SIGSEGV, abort, a Rust panic that
kills the process) or a hang then fails the test that caused it, naming the case, instead
of killing the whole pytest session. Not a test module.

Case: {"id": str, "data": bytes, "op": "decode" | "probe", "kwargs": dict}
Output: {"start": id} before each case, then {"id", "ok", ...} after it.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import pickle
import sys
import time

faulthandler.enable()

import pixfeed  # noqa: E402


def main(path: str) -> None:
    with open(path, "rb") as f:
        cases = pickle.load(f)
    for case in cases:
        print(json.dumps({"start": case["id"]}), flush=True)
        t = time.perf_counter()
        rec: dict[str, object] = {"id": case["id"]}
        try:
            if case.get("op", "decode") == "probe":
                info = pixfeed.probe(case["data"])
                rec.update(ok=True, info=[info.width, info.height, info.channels])
            else:
                a = pixfeed.decode(case["data"], **case.get("kwargs", {}))
                rec.update(
                    ok=True,
                    shape=list(a.shape),
                    dtype=str(a.dtype),
                    sha=hashlib.sha256(a.tobytes()).hexdigest(),
                    contiguous=bool(a.flags.c_contiguous),
                )
        except BaseException as e:
            rec.update(
                ok=False,
                type=type(e).__name__,
                mro=[c.__name__ for c in type(e).__mro__],
                msg=str(e)[:500],
                source=getattr(e, "source", None),
                reason=getattr(e, "reason", None),
            )
        rec["seconds"] = time.perf_counter() - t
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
