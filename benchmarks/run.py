"""Entry point of the side-by-side suites: ``python -m benchmarks`` (from the checkout's root)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import data, harness, peers

OUT_DIR = Path(__file__).resolve().parent / "out"

# name -> module path; a suite module has TITLE, WORKLOADS [(name, title)] and
# build(sets, *, quick, only) -> list[harness.Workload]; optionally ensure_data(log) -> sets
# (its own image sets instead of data.ensure's), data_info() -> manifest facts and PEERS (the
# names of peers of its own, beside the common ones).
SUITES = {
    "decode": "benchmarks.decode_bench",
    "loader": "benchmarks.loader_bench",
    "crop": "benchmarks.crop_bench",
    "io": "benchmarks.io_bench",
    "filter": "benchmarks.filter_bench",
    "ops": "benchmarks.ops_bench",
    "ray": "benchmarks.ray_bench",
    "detect": "benchmarks.detect_bench",
    "shards": "benchmarks.shards_bench",
}

QUICK_REPEAT = 3
FULL_REPEAT = 9


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command-line options."""
    p.add_argument("--suite", default="decode", choices=sorted(SUITES))
    p.add_argument("--quick", action="store_true", help="fewer images and repetitions")
    p.add_argument("--repeat", type=int, default=None, help="timed repetitions per system")
    p.add_argument("--only", default=None, help="comma-separated workload names to run")
    p.add_argument("--json", default=None, metavar="PATH", help="JSON results ('-': stdout)")
    p.add_argument("--markdown", default=None, metavar="PATH", help="Markdown report")
    p.add_argument("--html", default=None, metavar="PATH", help="HTML report with plots")
    p.add_argument("--list", action="store_true", help="list workloads and peers, then exit")


def _suite(name: str) -> Any:
    import importlib

    return importlib.import_module(SUITES[name])


def _list(suite: Any) -> int:
    print(f"suite {suite.TITLE}:")
    for name, title in suite.WORKLOADS:
        print(f"  {name:<22} {title}")
    print("systems:")
    own = {n: peers.get(n) for n in getattr(suite, "PEERS", ())}
    for name, p in {**peers.all_peers(), **own}.items():
        state = p.version if p.ok else f"MISSING: {p.error}"
        print(f"  {name:<14} {state}")
    return 0


def run(args: argparse.Namespace) -> int:
    suite = _suite(args.suite)
    if args.list:
        return _list(suite)
    quick = bool(args.quick)
    repeat = args.repeat if args.repeat is not None else (QUICK_REPEAT if quick else FULL_REPEAT)
    if repeat < 1:
        print("bench: --repeat must be >= 1", file=sys.stderr)
        return 2
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    known = {n for n, _ in suite.WORKLOADS}
    if only and not set(only) <= known:
        print(f"bench: unknown workload(s) {sorted(set(only) - known)}", file=sys.stderr)
        return 2

    # With --json - the JSON owns stdout; progress and the summary go to stderr.
    out = sys.stderr if args.json == "-" else sys.stdout

    def log(msg: str) -> None:
        print(msg, file=out, flush=True)

    t0 = time.perf_counter()
    try:
        load_start: list[float] | None = list(os.getloadavg())
    except OSError:
        load_start = None
    ensure_data = getattr(suite, "ensure_data", None)
    sets = ensure_data(log) if ensure_data is not None else data.ensure(log=log)
    all_peers = peers.all_peers()
    all_peers.update({n: peers.get(n) for n in getattr(suite, "PEERS", ())})
    for name, p in all_peers.items():
        if not p.ok:
            log(f"bench: {name} missing: {p.error}")
    workloads = suite.build(sets, quick=quick, only=only)
    min_rep = 0.1 if quick else 0.3
    results = []
    for wl in workloads:
        log(f"bench: {wl.name}: {wl.title}")
        res = harness.run_workload(wl, repeat=repeat, min_rep_seconds=min_rep, log=log)
        results.append(res)
        log(f"  ... {res.wall_s:.1f} s")

    pf = all_peers["pixfeed"]
    versions = {n: p.version for n, p in all_peers.items()}
    extra: dict[str, Any] = {
        "inputs": getattr(suite, "INPUTS", ""),
        "data": (suite.data_info() if hasattr(suite, "data_info") else data.manifest_info()),
    }
    if load_start is not None:
        extra["loadavg_start"] = load_start
    if pf.ok:
        extra["pixfeed_path"] = pf.extra.get("path")
        extra["pixfeed_build"] = pf.extra.get("build")
    lib_details = {n: p.extra for n, p in all_peers.items() if p.extra and n != "pixfeed"}
    if lib_details:
        extra["library_details"] = lib_details
    machine = harness.machine_description(versions, extra)
    meta = {
        "suite": args.suite,
        "quick": quick,
        "repeat": repeat,
        "min_rep_seconds": min_rep,
        "missing_systems": {n: p.error for n, p in all_peers.items() if not p.ok},
        "command": " ".join(sys.argv),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    report = harness.report_dict(results, machine, meta)

    paths = {"json": args.json, "markdown": args.markdown, "html": args.html}
    if not any(paths.values()):
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        stem = OUT_DIR / f"bench-{args.suite}{'-quick' if quick else ''}"
        paths = {k: f"{stem}.{ext}" for k, ext in (("json", "json"), ("markdown", "md"))}
        paths["html"] = f"{stem}.html"
    written = harness.write_reports(
        report,
        json_path=paths["json"],
        markdown_path=paths["markdown"],
        html_path=paths["html"],
    )
    log("")
    log(harness.summary_text(report))
    log("")
    for w in written:
        log(f"bench: wrote {w}")
    log(f"bench: total {report['wall_s']:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    add_arguments(p)
    return run(p.parse_args(argv))
