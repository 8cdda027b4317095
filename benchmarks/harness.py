"""A small side-by-side benchmark framework.

A :class:`Workload` is one job (e.g. "decode 256 JPEGs on one thread") with the same inputs for
every system; a :class:`Case` is one system's way of doing it. :func:`run_workload` runs all
cases of a workload in one process:

1. warm-up: every case runs once; the outputs' shapes and dtypes are compared across systems
   (equal work) and pixel values against a reference case (max abs difference);
2. calibration: the number of calls per repetition is chosen so that a repetition lasts at
   least ``min_rep_seconds`` (timer resolution and per-call noise stay small);
3. interleaved rounds: in each repetition every case runs once, in an order rotated by one per
   round, so slow drifts of the machine (other processes, thermal, page cache) hit all systems
   alike;
4. median and spread (interquartile range, min and max) of the per-call time, throughput in
   images/s and input megapixels/s, ratios of pixfeed to each peer and to the best peer, and a
   PASS/FAIL against the workload's floor.

Systems that cannot be imported are reported as missing with their import error; cases that
fail on the inputs are reported as failed with the exception. Nothing is ever substituted.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import gc
import html
import io
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PIXFEED = "pixfeed"


# --------------------------------------------------------------------------------------------
# Description of the work


@dataclass
class Case:
    """One system doing one workload.

    ``fn`` performs one complete call of the workload (e.g. decodes all its images) and returns
    the outputs (an array or a list of arrays); ``prepare`` runs before every timed repetition,
    outside the timing (e.g. to set a library's thread count, which is global state).
    """

    system: str  # e.g. "pixfeed", "simplejpeg"; keys library versions and plot colours
    fn: Callable[[], Any]
    label: str = ""  # shown in tables; defaults to system
    prepare: Callable[[], None] | None = None
    note: str = ""
    bgr: bool = False  # output channels are BGR (compared with RGB after reversing)
    primary: bool = True  # pixfeed's case used for ratios (one per workload)
    peer: bool = True  # counts as a peer for "best peer" (False for variants of pixfeed)
    # Turns the warm-up output into array(s) for the equal-work check when it is not arrays
    # (e.g. a list of paths -> a digest); applied outside the timing.
    summarize: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.system


@dataclass
class Floor:
    """The target: pixfeed's throughput >= ``ratio`` x the best of ``against``.

    With ``max_seconds_per_image`` the target is absolute instead: pixfeed's median time per
    image (per item) at most that; the reported ratio is then budget / measured (>= 1 passes)
    and ``against`` is ignored."""

    ratio: float
    against: Sequence[str]  # case labels
    text: str
    max_seconds_per_image: float | None = None


@dataclass
class Workload:
    name: str
    title: str
    description: str
    n_images: int  # images per call
    input_megapixels: float  # input megapixels per call
    cases: list[Case] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # label -> reason
    floor: Floor | None = None
    notes: list[str] = field(default_factory=list)
    reference: str | None = None  # label of the case whose pixels others are compared with
    closers: list[Callable[[], None]] = field(default_factory=list)  # run after the workload

    def add(self, case: Case) -> None:
        self.cases.append(case)


# --------------------------------------------------------------------------------------------
# Workloads as data: a suite lists each workload's cases in a table of `Group`s (one per
# system) of `Row`s; `add_cases` turns the table into `Case`s, looking each peer up once.

#: A label or note: text, or made from the peer's module (e.g. to name its thread count).
Text = str | Callable[[Any], str]


@dataclass(frozen=True)
class Row:
    """One case of a table: ``call(module)`` returns the timed function, made from the
    group's peer module (None for a group without a peer); ``prepare(module)`` returns the
    case's ``prepare``; ``bgr`` may depend on the module too. Other fields as `Case`."""

    call: Callable[[Any], Callable[[], Any]]
    label: Text = ""
    note: Text = ""
    prepare: Callable[[Any], Callable[[], None] | None] | None = None
    bgr: bool | Callable[[Any], bool] = False
    primary: bool = True
    peer: bool = True
    summarize: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Group:
    """The rows of one system. ``peer``: the name looked up in `peers` (None: always there,
    e.g. numpy); a missing peer is reported under ``missing`` (default: the system).
    ``check(module)`` may return why these inputs cannot run (reported as missing too)."""

    system: str
    rows: tuple[Row, ...]
    peer: str | None = None
    missing: str = ""
    check: Callable[[Any], str | None] | None = None


def _text(value: Any, module: Any) -> Any:
    return value(module) if callable(value) else value


def add_cases(wl: Workload, groups: Sequence[Group]) -> dict[str, list[str]]:
    """Add the cases of ``groups`` to ``wl`` in order; returns, per system, the labels it
    added (or the one it was reported missing under), for floors."""
    from . import peers

    labels: dict[str, list[str]] = {}
    for g in groups:
        module: Any = None
        missing = g.missing or g.system
        if g.peer is not None:
            p = peers.get(g.peer)
            if not p.ok:
                wl.missing[missing] = p.error or "not installed"
                labels.setdefault(g.system, []).append(missing)
                continue
            module = p.module
        reason = g.check(module) if g.check is not None else None
        if reason is not None:
            wl.missing[missing] = reason
            labels.setdefault(g.system, []).append(missing)
            continue
        for r in g.rows:
            case = Case(
                g.system,
                r.call(module),
                label=_text(r.label, module),
                prepare=None if r.prepare is None else r.prepare(module),
                note=_text(r.note, module),
                bgr=_text(r.bgr, module),
                primary=r.primary,
                peer=r.peer,
                summarize=r.summarize,
            )
            wl.add(case)
            labels.setdefault(g.system, []).append(case.label)
    return labels


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class CaseResult:
    label: str
    system: str
    note: str
    loops: int  # calls per repetition
    samples_s: list[float]  # seconds per call, one per repetition
    output: str
    max_abs_diff: int | None = None  # vs the reference case's output (None: not compared)
    median_s: float = 0.0
    q1_s: float = 0.0
    q3_s: float = 0.0
    min_s: float = 0.0
    max_s: float = 0.0
    images_per_s: float = 0.0
    mp_per_s: float = 0.0
    iqr_pct: float = 0.0
    is_pixfeed: bool = False
    is_primary: bool = False
    is_peer: bool = True


@dataclass
class FloorResult:
    text: str
    target: float
    against: list[str]
    best_of: str | None
    ratio: float | None
    status: str  # PASS, FAIL, N/A
    reason: str = ""
    # |ratio / target - 1| is below the two systems' mean relative IQR: the verdict could flip
    # between runs.
    within_noise: bool = False


@dataclass
class WorkloadResult:
    name: str
    title: str
    description: str
    n_images: int
    input_megapixels: float
    notes: list[str]
    results: list[CaseResult]
    missing: dict[str, str]
    failed: dict[str, str]
    equal_work: bool
    equal_work_notes: list[str]
    reference: str | None
    ratios: dict[str, float]  # pixfeed / other throughput, by case label
    best_peer: str | None
    ratio_vs_best_peer: float | None
    floor: FloorResult | None
    wall_s: float


# --------------------------------------------------------------------------------------------
# Running


def _arrays(out: Any) -> list[np.ndarray]:
    if isinstance(out, np.ndarray):
        return [out]
    if isinstance(out, (list, tuple)):
        arrs = []
        for o in out:
            arrs.extend(_arrays(o))
        return arrs
    raise TypeError(f"benchmark case returned {type(out).__name__}, expected array(s)")


def _signature(arrs: list[np.ndarray]) -> list[tuple[tuple[int, ...], str]]:
    return [(tuple(a.shape), str(a.dtype)) for a in arrs]


def _describe(sig: list[tuple[tuple[int, ...], str]]) -> str:
    if not sig:
        return "nothing"
    shapes = {s for s, _ in sig}
    dtypes = {d for _, d in sig}
    dt = ",".join(sorted(dtypes))
    if len(shapes) == 1:
        shape = "x".join(map(str, next(iter(shapes))))
        return f"{len(sig)} x {shape} {dt}" if len(sig) > 1 else f"{shape} {dt}"
    return f"{len(sig)} arrays, {len(shapes)} shapes, {dt}"


def _max_abs_diff(a: list[np.ndarray], b: list[np.ndarray], a_bgr: bool, b_bgr: bool) -> int:
    worst = 0
    for x, y in zip(a, b, strict=True):
        if a_bgr and x.ndim == 3:
            x = x[..., ::-1]
        if b_bgr and y.ndim == 3:
            y = y[..., ::-1]
        d = int(np.max(np.abs(x.astype(np.int32) - y.astype(np.int32)))) if x.size else 0
        worst = max(worst, d)
    return worst


def _timed(case: Case, loops: int) -> float:
    if case.prepare is not None:
        case.prepare()
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            case.fn()
        t1 = time.perf_counter()
    finally:
        gc.enable()
    return (t1 - t0) / loops


def run_workload(
    wl: Workload,
    *,
    repeat: int = 7,
    min_rep_seconds: float = 0.2,
    log: Callable[[str], None] = print,
) -> WorkloadResult:
    try:
        return _run_workload(wl, repeat=repeat, min_rep_seconds=min_rep_seconds, log=log)
    finally:
        for close in wl.closers:
            close()


def _run_workload(
    wl: Workload, *, repeat: int, min_rep_seconds: float, log: Callable[[str], None]
) -> WorkloadResult:
    t_start = time.perf_counter()
    failed: dict[str, str] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    live: list[Case] = []
    loops: dict[str, int] = {}

    # Warm-up (also the equal-work check) and calibration.
    for case in wl.cases:
        try:
            if case.prepare is not None:
                case.prepare()
            out = case.fn()
            outputs[case.label] = _arrays(case.summarize(out) if case.summarize else out)
            t = _timed(case, 1)
        except Exception as e:  # a peer that fails on these inputs is reported, not hidden
            failed[case.label] = f"{type(e).__name__}: {e}".strip()
            log(f"  {case.label}: FAILED {failed[case.label]}")
            if os.environ.get("PIXFEED_BENCH_DEBUG"):
                traceback.print_exc()
            continue
        live.append(case)
        loops[case.label] = max(1, math.ceil(min_rep_seconds / max(t, 1e-9)))

    equal_notes: list[str] = []
    sigs = {c.label: _signature(outputs[c.label]) for c in live}
    distinct = {json.dumps(s) for s in sigs.values()}
    equal = len(distinct) <= 1
    if not equal:
        by_desc: dict[str, list[str]] = {}
        for c in live:
            by_desc.setdefault(_describe(sigs[c.label]), []).append(c.label)
        equal_notes.append(
            "outputs differ in shape/dtype: "
            + "; ".join(f"{d}: {', '.join(ls)}" for d, ls in by_desc.items())
        )

    # Reference for pixel comparison: pixfeed's primary case if present, else wl.reference,
    # else the first live case.
    ref: Case | None = None
    for c in live:
        if c.system == PIXFEED and c.primary:
            ref = c
            break
    if ref is None:
        for c in live:
            if c.label == wl.reference:
                ref = c
                break
    if ref is None and live:
        ref = live[0]
    diffs: dict[str, int | None] = {}
    for c in live:
        if ref is None or sigs[c.label] != sigs[ref.label]:
            diffs[c.label] = None
        else:
            diffs[c.label] = _max_abs_diff(outputs[c.label], outputs[ref.label], c.bgr, ref.bgr)
    outputs.clear()

    # Interleaved timed rounds.
    samples: dict[str, list[float]] = {c.label: [] for c in live}
    for r in range(repeat):
        k = r % max(1, len(live))
        order = live[k:] + live[:k]
        for case in order:
            samples[case.label].append(_timed(case, loops[case.label]))

    results = []
    for c in live:
        s = np.array(samples[c.label])
        med = float(np.median(s))
        q1, q3 = (float(v) for v in np.percentile(s, [25, 75]))
        res = CaseResult(
            label=c.label,
            system=c.system,
            note=c.note,
            loops=loops[c.label],
            samples_s=[float(v) for v in s],
            output=_describe(sigs[c.label]),
            max_abs_diff=diffs[c.label],
            median_s=med,
            q1_s=q1,
            q3_s=q3,
            min_s=float(s.min()),
            max_s=float(s.max()),
            images_per_s=wl.n_images / med,
            mp_per_s=wl.input_megapixels / med,
            iqr_pct=100.0 * (q3 - q1) / med,
            is_pixfeed=c.system == PIXFEED,
            is_primary=c.system == PIXFEED and c.primary,
            is_peer=c.peer and c.system != PIXFEED,
        )
        results.append(res)

    # Ratios (throughput ratio = peer time / pixfeed time).
    pf = next((r for r in results if r.is_primary), None)
    peers = [r for r in results if r.is_peer]
    ratios: dict[str, float] = {}
    best_peer: str | None = None
    ratio_best: float | None = None
    if peers:
        best_peer = min(peers, key=lambda r: r.median_s).label
    if pf is not None:
        for r in results:
            if not r.is_primary:
                ratios[r.label] = r.median_s / pf.median_s
        if best_peer is not None:
            ratio_best = ratios[best_peer]

    floor_res: FloorResult | None = None
    if wl.floor is not None:
        fl = wl.floor
        cands = [r for r in results if r.label in fl.against]
        if pf is None:
            label = next((c.label for c in wl.cases if c.system == PIXFEED and c.primary), "")
            reason = (
                failed.get(label)
                or wl.missing.get(label)
                or wl.missing.get(PIXFEED)
                or "pixfeed not measured"
            )
            reason = f"pixfeed {'failed' if label in failed else 'missing'}: {reason}"
            floor_res = FloorResult(fl.text, fl.ratio, list(fl.against), None, None, "N/A", reason)
        elif fl.max_seconds_per_image is not None:
            per_item = pf.median_s / wl.n_images
            ratio = fl.max_seconds_per_image / per_item
            floor_res = FloorResult(
                fl.text,
                1.0,
                [],
                f"{fl.max_seconds_per_image * 1e6:g} µs budget",
                ratio,
                "PASS" if ratio >= 1.0 else "FAIL",
                reason=f"measured {per_item * 1e6:.2f} µs per item (median)",
                within_noise=abs(ratio - 1.0) < pf.iqr_pct / 100.0,
            )
        elif not cands:
            floor_res = FloorResult(
                fl.text, fl.ratio, list(fl.against), None, None, "N/A", "no reference peer ran"
            )
        else:
            best = min(cands, key=lambda r: r.median_s)
            ratio = best.median_s / pf.median_s
            status = "PASS" if ratio >= fl.ratio else "FAIL"
            noise = (best.iqr_pct + pf.iqr_pct) / 200.0
            floor_res = FloorResult(
                fl.text,
                fl.ratio,
                list(fl.against),
                best.label,
                ratio,
                status,
                within_noise=abs(ratio / fl.ratio - 1.0) < noise,
            )

    return WorkloadResult(
        name=wl.name,
        title=wl.title,
        description=wl.description,
        n_images=wl.n_images,
        input_megapixels=wl.input_megapixels,
        notes=list(wl.notes),
        results=results,
        missing=dict(wl.missing),
        failed=failed,
        equal_work=equal,
        equal_work_notes=equal_notes,
        reference=ref.label if ref is not None else None,
        ratios=ratios,
        best_peer=best_peer,
        ratio_vs_best_peer=ratio_best,
        floor=floor_res,
        wall_s=time.perf_counter() - t_start,
    )


# --------------------------------------------------------------------------------------------
# Machine description


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    want = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"]
                    return [w for w in want if w in have]
    except OSError:
        pass
    return []


def _mem_total_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_description(
    versions: dict[str, str | None], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count() or 1
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    d: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": affinity,
        "memory_gb": _mem_total_gb(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "versions": versions,
        "loadavg_start": load,
        "timer": "time.perf_counter, GC disabled while timing",
    }
    if extra:
        d.update(extra)
    return d


# --------------------------------------------------------------------------------------------
# Reports


def report_dict(
    results: list[WorkloadResult], machine: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    try:
        machine = dict(machine, loadavg_end=list(os.getloadavg()))
    except OSError:
        pass
    return {
        "schema": "pixfeed-bench/1",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **meta,
        "machine": machine,
        "floors": [
            {"workload": r.name, **dataclasses.asdict(r.floor)}
            for r in results
            if r.floor is not None
        ],
        "workloads": [dataclasses.asdict(r) for r in results],
    }


def _fmt_rate(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    if s >= 1e-5:
        return f"{s * 1e6:.0f} µs"
    return f"{s * 1e6:.2f} µs"


def _fmt_ratio(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}x"


def _floor_line(f: dict[str, Any], markdown: bool) -> str:
    """A workload's floor verdict, for the Markdown report or (``markdown=False``) the
    terminal: the floor, its status, the ratio against the best of its peers, the reason."""
    if markdown:
        line = f"Floor: {f['text']} → **{f['status']}**"
    else:
        line = f"  floor {f['text']}: {f['status']}"
    if f.get("within_noise"):
        line += " (within noise)"
    if f["ratio"] is not None:
        ratio = f"{_fmt_ratio(f['ratio'], 3)} vs {f['best_of']}"
        line += f" ({ratio})" if markdown else f" {ratio}"
    if f["reason"]:
        line += f" — {f['reason']}" if markdown else f" ({f['reason'][:80]})"
    return line


def floors_markdown(report: dict[str, Any]) -> str:
    lines = [
        "| workload | floor | best of | pixfeed / best-of | target | status |",
        "|---|---|---|---:|---:|---|",
    ]
    for f in report["floors"]:
        status = f["status"] + (f" ({f['reason']})" if f.get("reason") else "")
        if f.get("within_noise"):
            status += " (within noise)"
        lines.append(
            f"| {f['workload']} | {f['text']} | {f['best_of'] or '—'} | "
            f"{_fmt_ratio(f['ratio'], 3)} | {f['target']:.2f}x | {status} |"
        )
    return "\n".join(lines)


def machine_markdown(m: dict[str, Any]) -> str:
    rows = [
        ("CPU", f"{m['cpu']} ({', '.join(m['cpu_flags']) or 'no SIMD flags read'})"),
        ("cores", f"{m['logical_cpus']} logical, {m['usable_cpus']} usable"),
        ("memory", f"{m['memory_gb']} GB"),
        ("OS", m["os"]),
        ("Python", f"{m['python']}, numpy {m['numpy']}"),
        ("load average", f"start {m.get('loadavg_start')}, end {m.get('loadavg_end')}"),
    ]
    for k in ("inputs", "data", "pixfeed_path", "pixfeed_build"):
        if k in m:
            rows.append((k, str(m[k])))
    vers = ", ".join(f"{k} {v if v else '(missing)'}" for k, v in m["versions"].items())
    rows.append(("libraries", vers))
    if "DEBUG" in str(m.get("pixfeed_build", "")):
        rows.append(("warning", "pixfeed is a debug build: its numbers are meaningless"))
    load = m.get("loadavg_start") or [0.0]
    if load[0] > 0.5:
        rows.append(
            (
                "warning",
                f"the machine was busy when the run started (1-minute load {load[0]:.2f} on "
                f"{m['usable_cpus']} CPUs): other processes share the cores, numbers are noisier",
            )
        )
    return "\n".join(f"- **{k}**: {v}" for k, v in rows)


def workload_markdown(w: dict[str, Any]) -> str:
    out = [f"### {w['name']}: {w['title']}", "", w["description"], ""]
    out.append(
        f"{w['n_images']} image(s), {w['input_megapixels']:.2f} input MP per call. "
        f"Pixel reference: {w['reference'] or '—'}."
    )
    out.append("")
    out += [
        "| system | images/s | MP/s | time/call (median) | IQR | min–max | pixfeed ÷ this "
        "| output | max abs diff | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in sorted(w["results"], key=lambda r: r["median_s"]):
        ratio = w["ratios"].get(r["label"])
        name = f"**{r['label']}**" if r["is_pixfeed"] else r["label"]
        diff = "—" if r["max_abs_diff"] is None else str(r["max_abs_diff"])
        out.append(
            f"| {name} | {_fmt_rate(r['images_per_s'])} | {_fmt_rate(r['mp_per_s'])} | "
            f"{_fmt_time(r['median_s'])} | {r['iqr_pct']:.1f}% | "
            f"{_fmt_time(r['min_s'])}–{_fmt_time(r['max_s'])} | {_fmt_ratio(ratio)} | "
            f"{r['output']} | {diff} | {r['note']} |"
        )
    for label, why in w["missing"].items():
        out.append(f"| {label} | missing | | | | | | | | {why} |")
    for label, why in w["failed"].items():
        out.append(f"| {label} | failed | | | | | | | | {why} |")
    out.append("")
    if w["ratio_vs_best_peer"] is not None:
        out.append(f"pixfeed vs best peer ({w['best_peer']}): **{w['ratio_vs_best_peer']:.2f}x**.")
    if w["floor"] is not None:
        out.append(_floor_line(w["floor"], markdown=True))
    if not w["equal_work"]:
        out.append("")
        out.append("**Unequal work:** " + " ".join(w["equal_work_notes"]))
    if w["notes"]:
        out.append("")
        out += [f"- {n}" for n in w["notes"]]
    out.append("")
    return "\n".join(out)


def to_markdown(report: dict[str, Any]) -> str:
    head = [
        f"# pixfeed bench: {report.get('suite', '')} suite",
        "",
        f"Run {report['created']}; {report.get('repeat')} interleaved repetitions per system"
        + (" (quick mode)" if report.get("quick") else "")
        + "; medians, throughput counted on input pixels; "
        "ratios are throughput ratios (pixfeed ÷ peer, > 1 means pixfeed is faster).",
        "",
        "## Machine",
        "",
        machine_markdown(report["machine"]),
        "",
        "## Floors",
        "",
        floors_markdown(report),
        "",
        "## Workloads",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(workload_markdown(w) for w in report["workloads"])


_COLORS = {
    "pixfeed": "#d62728",
    "simplejpeg": "#1f77b4",
    "cv2": "#2ca02c",
    "pyturbojpeg": "#9467bd",
    "Pillow": "#ff7f0e",
    "pyvips": "#8c564b",
}


def _plots(report: dict[str, Any]) -> dict[str, str] | str:
    """Base64 PNGs keyed by workload name (and "_floors"), or the reason there are none."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        return f"matplotlib unavailable ({type(e).__name__}: {e})"

    def png(fig: Any) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    out: dict[str, str] = {}
    floors = [f for f in report["floors"] if f["ratio"] is not None]
    if floors:
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(floors)))
        names = [f["workload"] for f in floors]
        vals = [f["ratio"] for f in floors]
        cols = ["#2ca02c" if f["status"] == "PASS" else "#d62728" for f in floors]
        y = np.arange(len(floors))
        ax.barh(y, vals, color=cols)
        for i, f in enumerate(floors):
            ax.plot([f["target"]] * 2, [i - 0.45, i + 0.45], color="k", lw=2)
            ax.text(vals[i], i, f" {vals[i]:.2f}x", va="center", fontsize=8)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.axvline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("pixfeed throughput ÷ best reference peer (black tick: floor)")
        out["_floors"] = png(fig)

    for w in report["workloads"]:
        rs = sorted(w["results"], key=lambda r: r["median_s"])
        if not rs:
            continue
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.38 * len(rs)))
        n = w["n_images"]
        vals = [n / r["median_s"] for r in rs]
        lo = [n / r["median_s"] - n / r["q3_s"] for r in rs]
        hi = [n / r["q1_s"] - n / r["median_s"] for r in rs]
        cols = [_COLORS.get(r["system"], "#7f7f7f") for r in rs]
        y = np.arange(len(rs))
        ax.barh(y, vals, xerr=[lo, hi], color=cols, capsize=3)
        for i, v in enumerate(vals):
            ax.text(v, i, f"  {_fmt_rate(v)}", va="center", fontsize=8)
        ax.set_yticks(y, [r["label"] for r in rs])
        ax.invert_yaxis()
        f = w["floor"]
        ref = [r for r in rs if f is not None and r["label"] == f["best_of"]]
        if ref:
            target = f["target"] * n / ref[0]["median_s"]
            ax.axvline(
                target, color="k", ls="--", lw=1, label=f"floor: {f['target']:g}x {ref[0]['label']}"
            )
            ax.legend(fontsize=7, loc="lower right")
        ax.set_xlabel("images/s (median, bars: interquartile range)")
        ax.set_title(f"{w['name']}: {w['title']}", fontsize=10)
        ax.margins(x=0.18)
        out[w["name"]] = png(fig)
    return out


def _md_table_to_html(md: str) -> str:
    """Render the simple pipe tables and paragraphs produced by to_markdown."""
    import re

    def inline(t: str) -> str:
        t = html.escape(t)
        t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", t)

    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{inline(c)}</th>" for c in rows[0]) + "</tr>")
            for r in rows[2:]:
                out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>")
            out.append("</table>")
            continue
        if line.startswith("- "):
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                out.append(f"<li>{inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
        i += 1
    return "\n".join(out)


def to_html(report: dict[str, Any]) -> str:
    plots = _plots(report)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>pixfeed bench: {html.escape(str(report.get('suite', '')))}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.6em 0;"
        "font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
        "code{background:#f3f3f3}</style></head><body>",
    ]
    md = to_markdown(report)
    head = md.partition("## Workloads")[0]
    parts.append(_md_table_to_html(head))
    if isinstance(plots, dict) and "_floors" in plots:
        parts.append(f"<img alt='floors' src='data:image/png;base64,{plots['_floors']}'>")
    elif isinstance(plots, str):
        parts.append(f"<p><i>No plots: {html.escape(plots)}; tables only.</i></p>")
    parts.append("<h2>Workloads</h2>")
    for w in report["workloads"]:
        parts.append(_md_table_to_html(workload_markdown(w)))
        if isinstance(plots, dict) and w["name"] in plots:
            parts.append(
                f"<img alt='{html.escape(w['name'])}' "
                f"src='data:image/png;base64,{plots[w['name']]}'>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def summary_text(report: dict[str, Any]) -> str:
    """A compact plain-text summary for the terminal."""
    lines = []
    for w in report["workloads"]:
        lines.append(f"{w['name']}: {w['title']}")
        for r in sorted(w["results"], key=lambda r: r["median_s"]):
            ratio = w["ratios"].get(r["label"])
            lines.append(
                f"  {r['label']:<34} {_fmt_rate(r['images_per_s']):>9} img/s "
                f"{_fmt_rate(r['mp_per_s']):>8} MP/s  ±{r['iqr_pct']:4.1f}%"
                + (f"  pixfeed {ratio:.2f}x" if ratio is not None else "")
            )
        for label, why in {**w["missing"], **w["failed"]}.items():
            lines.append(f"  {label:<34} missing/failed: {why[:90]}")
        if w["floor"] is not None:
            lines.append(_floor_line(w["floor"], markdown=False))
    return "\n".join(lines)


def write_reports(
    report: dict[str, Any],
    *,
    json_path: str | None,
    markdown_path: str | None,
    html_path: str | None,
) -> list[str]:
    written = []
    for path, render in (
        (json_path, lambda: json.dumps(report, indent=1)),
        (markdown_path, lambda: to_markdown(report)),
        (html_path, lambda: to_html(report)),
    ):
        if not path:
            continue
        text = render()
        if path == "-":
            sys.stdout.write(text + "\n")
            continue
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        written.append(path)
    return written
