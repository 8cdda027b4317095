"""`pixfeed info`: version, codecs and their libraries, SIMD level, threads, and the
effective configuration with where each value came from."""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

from pixfeed.cli._output import print_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="version, codecs, SIMD level, threads and configuration")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def config_facts() -> dict[str, Any]:
    """The effective configuration: per key its value and source, the config files that
    apply, or the error that makes the configuration unusable."""
    from pixfeed import config

    project = None
    facts: dict[str, Any] = {"user_file": str(config.user_config_path())}
    try:
        project = config.project_config_path()
        cfg = config.load_config()
    except ValueError as e:
        facts.update(project_file=None if project is None else str(project), error=str(e))
        return facts
    facts["project_file"] = None if project is None else str(project)
    facts["values"] = {
        key: {"value": value, "source": cfg.sources[key]} for key, value in cfg.as_dict().items()
    }
    return facts


def onnxruntime_facts() -> dict[str, Any]:
    """The installed onnxruntime: version, execution providers and the ``backend`` values
    they serve (what ``auto`` picks first); None values when it is not installed."""
    from pixfeed.detect.detector import AUTO_ORDER, available_backends

    try:
        import onnxruntime as ort
    except ImportError:
        return {"version": None, "providers": [], "backends": [], "auto": None}
    backends = available_backends(ort)
    auto = next((b for b in AUTO_ORDER if b in backends), "cpu")
    return {
        "version": ort.__version__,
        "providers": list(ort.get_available_providers()),
        "backends": backends,
        "auto": auto,
    }


def collect() -> dict[str, Any]:
    import pixfeed
    from pixfeed import _core

    build = _core.build_info()
    return {
        "version": pixfeed.__version__,
        "codecs": build["codecs"],
        "simd": build["simd"],
        "jpeg_decoder": build["jpeg_decoder"],
        "threads": pixfeed.get_num_threads(),
        "max_pixels": build["max_pixels"],
        "debug_build": build["debug_build"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "config": config_facts(),
        "onnxruntime": onnxruntime_facts(),
    }


def run(args: argparse.Namespace) -> int:
    facts = collect()
    # A configuration error is reported (below) and ends in status 2, as in every command.
    status = 2 if "error" in facts["config"] else 0
    if args.json:
        print_json(facts)
        return status
    print(f"pixfeed {facts['version']}{' (debug build)' if facts['debug_build'] else ''}")
    print(f"  python    {facts['python']} on {facts['platform']}")
    print(f"  simd      {facts['simd']}")
    print(f"  jpeg      MCU decoder built for {facts['jpeg_decoder']}")
    print(f"  threads   {facts['threads']}")
    print(f"  max_pixels {facts['max_pixels']:,}")
    print("  codecs")
    for name, lib in facts["codecs"].items():
        print(f"    {name:<5} {lib}")
    ort = facts["onnxruntime"]
    if ort["version"] is None:
        print("  onnxruntime not installed (pixfeed filter needs it: pip install onnxruntime)")
    else:
        print(f"  onnxruntime {ort['version']}")
        print(f"    providers {', '.join(ort['providers'])}")
        print(f"    backends  {', '.join(ort['backends'])} (auto: {ort['auto']})")
    cfg = facts["config"]
    user = cfg["user_file"]
    print("  config")
    print(f"    user file    {user}{'' if os.path.isfile(user) else ' (none)'}")
    print(f"    project file {cfg['project_file'] or '(none)'}")
    if "error" in cfg:
        print(f"    ERROR: {cfg['error']}")
    else:
        for key, entry in cfg["values"].items():
            value = entry["value"]
            shown = (
                "auto"
                if value is None
                else str(value).lower()
                if value is True or value is False
                else value
            )
            print(f"    {key:<17} {shown!s:<8} ({entry['source']})")
    return status
