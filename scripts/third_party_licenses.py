#!/usr/bin/env python3
"""Write THIRD_PARTY_LICENSES: the licenses of everything a pixfeed wheel bundles.

    python scripts/third_party_licenses.py OUT [--target TRIPLE]

The wheel's _core library statically links the Rust crates that pixfeed-py depends on at run
time (normal dependencies; build scripts, proc-macros and dev-dependencies are not shipped)
and the C libraries some of them vendor: libjpeg-turbo (turbojpeg-sys) and mimalloc
(libmimalloc-sys). For each, this copies the license files from the crate's source as cargo
downloaded it (`cargo metadata`, then LICENSE*/COPYING*/NOTICE* next to its Cargo.toml), so
the list follows Cargo.lock by construction. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOT_CRATE = "pixfeed-py"
LICENSE_PREFIXES = ("license", "licence", "copying", "notice", "unlicense")
# C libraries vendored inside a crate's package: crate -> (name, directories in the package
# to try in order, license files). libmimalloc-sys 0.1.49 vendors mimalloc v2 (the default)
# and v3 (its `v3` feature, not enabled here) side by side.
VENDORED_C = {
    "turbojpeg-sys": ("libjpeg-turbo", ["libjpeg-turbo"], ["LICENSE.md", "README.ijg"]),
    "libmimalloc-sys": ("mimalloc", ["c_src/mimalloc/v2", "c_src/mimalloc"], ["LICENSE"]),
}


def license_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.name.lower().startswith(LICENSE_PREFIXES)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--target", default="x86_64-unknown-linux-gnu")
    args = ap.parse_args()

    meta = json.loads(
        subprocess.run(
            [
                "cargo",
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--filter-platform",
                args.target,
                "--manifest-path",
                str(ROOT / "Cargo.toml"),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    workspace = set(meta["workspace_members"])
    root = next(i for i in workspace if packages[i]["name"] == ROOT_CRATE)

    def is_proc_macro(pkg: dict) -> bool:  # type: ignore[type-arg]
        return any("proc-macro" in t["kind"] for t in pkg["targets"])

    # Walk normal (run-time) dependency edges from the extension crate.
    seen: set[str] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if None in kinds and not is_proc_macro(packages[dep["pkg"]]):
                todo.append(dep["pkg"])
    bundled = sorted(
        (packages[i] for i in seen - workspace), key=lambda p: (p["name"], p["version"])
    )

    parts = [
        "Third-party software bundled in pixfeed's compiled extension (pixfeed._core)\n"
        "===========================================================================\n\n"
        "pixfeed itself is licensed under MIT OR Apache-2.0. Its binary links the following\n"
        "C libraries and Rust crates statically; their licenses follow, as shipped by each.\n"
        "It also links the Rust standard library (MIT OR Apache-2.0, The Rust Project\n"
        "Developers).\n"
    ]
    missing = []
    index = []
    sections = []
    for pkg in bundled:
        crate_dir = Path(pkg["manifest_path"]).parent
        if pkg["name"] in VENDORED_C:
            title, subs, names = VENDORED_C[pkg["name"]]
            sub = next((d for d in subs if (crate_dir / d).is_dir()), subs[0])
            files = [crate_dir / sub / n for n in names]
            absent = [str(f) for f in files if not f.is_file()]
            if absent:
                print(f"third_party_licenses: missing {absent}", file=sys.stderr)
                return 1
            index.append(
                f"  {title} (C, vendored by the Rust crate {pkg['name']} {pkg['version']})"
            )
            sections.append((f"{title} (C library, via {pkg['name']} {pkg['version']})", files))
        files = license_files(crate_dir)
        lic = pkg.get("license") or "(no license field)"
        index.append(f"  {pkg['name']} {pkg['version']}: {lic}")
        if not files:
            missing.append(pkg["name"])
        sections.append((f"{pkg['name']} {pkg['version']} (Rust crate), license: {lic}", files))

    parts.append("\nContents:\n" + "\n".join(index) + "\n")
    first_seen: dict[str, str] = {}  # license text -> the section that printed it
    for title, files in sections:
        parts.append("\n" + "=" * 79 + f"\n{title}\n" + "=" * 79 + "\n")
        if not files:
            parts.append(
                "(The crate's package ships no license file; its Cargo.toml declares the\n"
                "license named above, whose standard text applies.)\n"
            )
        for f in files:
            text = f.read_text(encoding="utf-8", errors="replace").rstrip() + "\n"
            if text in first_seen:
                # Identical texts (the Apache-2.0 text above all) are printed once.
                parts.append(f"\n--- {f.name}: the same text as under {first_seen[text]} ---\n")
                continue
            first_seen[text] = f"{title.split(' (')[0]} ({f.name})"
            parts.append(f"\n--- {f.name} ---\n\n{text}")
    args.out.write_text("".join(parts), encoding="utf-8")
    print(
        f"third_party_licenses: {len(bundled)} crates -> {args.out}"
        + (f" (no license file shipped by: {', '.join(missing)})" if missing else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
