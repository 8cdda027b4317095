"""Shared fixtures for the decoding tests.

The edge-case image files are generated once per session by ``scripts/make_fixtures.py``
into a temporary directory (no binary fixture is committed). Test modules parametrize over
fixture *names* (known at collection time from ``fixture_specs()``) and get paths from the
session fixture ``fx``.

Pillow is the reference: ``pil_reference(path, mode)`` is what pixfeed must return, i.e.
``ImageOps.exif_transpose(Image.open(path)).convert(mode)`` with two documented exceptions:
``"BGR"`` is the RGB array reversed, and 16-bit grayscale (Pillow's ``I;16``, whose
``convert("L")`` clips to 255) is reduced as ``v >> 8``, the rule pixfeed uses for every
16-bit source outside ``mode="unchanged"`` (Pillow itself keeps the high byte of 16-bit RGB,
RGBA and gray+alpha PNGs, so the rule agrees with Pillow wherever Pillow does not clip).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
MODES = ("RGB", "BGR", "RGBA", "L")

# Hypothesis: modest and deterministic by default (CI must not flake on a lucky draw);
# HYPOTHESIS_PROFILE=explore for a longer randomized run.
settings.register_profile(
    "pixfeed",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "explore",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "pixfeed"))


def _load_generator():  # type: ignore[no-untyped-def]
    name = "make_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


make_fixtures = _load_generator()
SPECS = {s.name: s for s in make_fixtures.fixture_specs()}


def names(
    *,
    fmt: str | Iterable[str] | None = None,
    kind: str = "image",
    any_tags: Iterable[str] = (),
    all_tags: Iterable[str] = (),
    no_tags: Iterable[str] = (),
    where=None,  # type: ignore[no-untyped-def]
) -> list[str]:
    """Fixture names selected by format / kind / tags (for ``parametrize``)."""
    fmts = {fmt} if isinstance(fmt, str) else (set(fmt) if fmt is not None else None)
    anyt, allt, not_ = set(any_tags), set(all_tags), set(no_tags)
    out = []
    for n, s in SPECS.items():
        if s.kind != kind or (fmts is not None and s.fmt not in fmts):
            continue
        if anyt and not (anyt & s.tags):
            continue
        if allt - s.tags or (not_ & s.tags):
            continue
        if where is not None and not where(s):
            continue
        out.append(n)
    return sorted(out)


class FixtureSet:
    """Paths, bytes and ground truth of the generated fixtures."""

    def __init__(self, root: Path, manifest: dict[str, dict[str, object]]) -> None:
        self.root = root
        self.manifest = manifest

    def path(self, name: str) -> Path:
        return self.root / name

    def spec(self, name: str):  # type: ignore[no-untyped-def]
        return SPECS[name]

    @functools.cache  # noqa: B019 - one instance per session
    def data(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def truth(self, name: str) -> np.ndarray | None:
        """The stored samples of hand-written PNGs (before orientation), else None."""
        t = self.manifest[name].get("truth")
        return None if t is None else np.load(self.root / str(t))


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pixfeed-fixtures")
    make_fixtures.generate(d)
    return d


@pytest.fixture(scope="session")
def fx(fixtures_dir: Path) -> FixtureSet:
    manifest = json.loads((fixtures_dir / "manifest.json").read_text())
    return FixtureSet(fixtures_dir, manifest)


# ------------------------------------------------------------------------------------------
# Pillow reference
# ------------------------------------------------------------------------------------------


def pil_open(source: Path | bytes, *, apply_exif: bool = True) -> Image.Image:
    im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    im.load()
    return ImageOps.exif_transpose(im) if apply_exif else im


def pil_convert(im: Image.Image, mode: str) -> np.ndarray:
    """``im`` as pixfeed's ``mode`` would return it (see the module docstring)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit gray: pixfeed reduces with v >> 8 (Pillow's convert("L") would clip).
        v = np.asarray(im).astype(np.uint32)
        assert v.max() <= 0xFFFF
        g = (v >> 8).astype(np.uint8)
        if mode == "L":
            return g
        rgb = np.dstack([g, g, g])
        if mode == "RGB":
            return rgb
        if mode == "BGR":
            return np.ascontiguousarray(rgb[..., ::-1])
        return np.dstack([rgb, np.full_like(g, 255)])
    with warnings.catch_warnings():
        # "Palette images with Transparency expressed in bytes should be converted to RGBA"
        warnings.simplefilter("ignore", UserWarning)
        if mode == "BGR":
            return np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])
        return np.asarray(im.convert(mode))


@functools.lru_cache(maxsize=512)
def _pil_reference_cached(path: str, mode: str, apply_exif: bool) -> np.ndarray:
    a = pil_convert(pil_open(Path(path), apply_exif=apply_exif), mode)
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def pil_reference(path: Path, mode: str, *, apply_exif: bool = True) -> np.ndarray:
    return _pil_reference_cached(str(path), mode, apply_exif)


def pil_orientation(path: Path) -> int:
    """The orientation Pillow's exif_transpose applies (1 when absent or not 1..8)."""
    im = Image.open(path)
    im.load()
    o = im.getexif().get(0x0112, 1)
    return o if o in range(1, 9) else 1


# ------------------------------------------------------------------------------------------
# numpy geometry helpers (checked against Pillow in test_helpers_self_check)
# ------------------------------------------------------------------------------------------


def orient(a: np.ndarray, o: int) -> np.ndarray:
    """Apply EXIF orientation ``o`` to an HW[C] array exactly as exif_transpose does."""
    t = (1, 0, *range(2, a.ndim))
    if o == 1:
        r = a
    elif o == 2:
        r = a[:, ::-1]
    elif o == 3:
        r = a[::-1, ::-1]
    elif o == 4:
        r = a[::-1]
    elif o == 5:
        r = a.transpose(t)
    elif o == 6:
        r = a.transpose(t)[:, ::-1]
    elif o == 7:
        r = a.transpose(t)[::-1, ::-1]
    elif o == 8:
        r = a.transpose(t)[::-1]
    else:
        raise ValueError(o)
    return np.ascontiguousarray(r)


def stored_rect(
    rect: tuple[int, int, int, int], o: int, sw: int, sh: int
) -> tuple[int, int, int, int]:
    """The stored-image rectangle that becomes oriented ``rect`` (x, y, w, h) after
    orientation ``o`` of a stored ``sw x sh`` image."""
    x, y, w, h = rect
    ys, xs = np.mgrid[0:sh, 0:sw]
    coords = orient(np.dstack([ys, xs]), o)[y : y + h, x : x + w]
    y0, x0 = coords[..., 0].min(), coords[..., 1].min()
    y1, x1 = coords[..., 0].max(), coords[..., 1].max()
    return int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)


def diff_report(got: np.ndarray, want: np.ndarray) -> str:
    """A short description of how two arrays differ (for assertion messages)."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"shape/dtype {got.shape} {got.dtype} != {want.shape} {want.dtype}"
    d = np.abs(got.astype(np.int64) - want.astype(np.int64))
    bad = np.argwhere(d > 0)
    first = tuple(int(v) for v in bad[0]) if len(bad) else None
    return (
        f"{len(bad)} of {d.size} samples differ, max {int(d.max())}, mean {float(d.mean()):.4f}"
        f", first at {first}: got {got[first] if first else None} want "
        f"{want[first] if first else None}"
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def channels_of(a: np.ndarray) -> int:
    return 1 if a.ndim == 2 else int(a.shape[2])


def assert_output_array(a: object, *, dtype: type = np.uint8) -> None:
    """docs/conventions.md: outputs are owned, writeable, C-contiguous numpy arrays."""
    assert isinstance(a, np.ndarray), type(a)
    assert a.dtype == dtype, a.dtype
    assert a.flags.c_contiguous, "output is not C-contiguous"
    assert a.flags.writeable, "output is not writeable"


# ------------------------------------------------------------------------------------------
# Running risky inputs in a child process
# ------------------------------------------------------------------------------------------


def run_in_child(
    cases: list[dict[str, object]], workdir: Path, *, timeout: float = 120.0
) -> dict[str, dict]:
    """Decode ``cases`` in a child process (tests/_decode_worker.py); returns id -> outcome.

    Fails the calling test, naming the case, when the child dies (crash, abort) or hangs.
    """
    import pickle
    import subprocess

    workdir.mkdir(parents=True, exist_ok=True)
    case_file = workdir / f"cases-{os.getpid()}-{id(cases)}.pkl"
    case_file.write_bytes(pickle.dumps(cases))
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_decode_worker.py")), str(case_file)],
            capture_output=True,
            timeout=timeout,
            env=env,
            cwd=str(ROOT),
        )
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or b"", e.stderr or b"", None
    results: dict[str, dict] = {}
    last_started = None
    for line in out.decode(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "start" in rec:
            last_started = rec["start"]
        else:
            results[rec["id"]] = rec
    if rc != 0 or len(results) != len(cases):
        how = "hung (timeout)" if rc is None else f"exited with {rc}"
        pytest.fail(
            f"decoder child process {how} on case {last_started!r} "
            f"({len(results)}/{len(cases)} cases done)\nstderr tail:\n"
            + err.decode(errors="replace")[-3000:]
        )
    return results


def sha_of(a: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
