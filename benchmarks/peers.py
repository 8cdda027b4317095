"""Import pixfeed and the peer libraries once, recording versions and import errors.

A peer that cannot be imported (or whose native library cannot be loaded) is ``None`` here and
its error message is reported in place of its numbers.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Peer:
    name: str
    module: Any = None
    version: str | None = None
    error: str | None = None
    instance: Any = None  # e.g. the TurboJPEG() handle
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.module is not None


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".strip().splitlines()[0][:300]


def _dist_version(*names: str) -> str | None:
    for n in names:
        try:
            return md.version(n)
        except md.PackageNotFoundError:
            continue
    return None


# A peer's loader sets its module, version and details, raising when it cannot: `_load`
# records the exception as the reason the peer is missing.


def _pixfeed(p: Peer) -> None:
    try:
        mod = importlib.import_module("pixfeed")
    except ModuleNotFoundError as e:
        if e.name != "pixfeed":
            raise
        # Not installed: measure the in-tree package (maturin develop builds _core there).
        sys.path.insert(0, str(REPO / "python"))
        mod = importlib.import_module("pixfeed")
    for attr in ("decode", "decode_batch", "set_num_threads"):
        if not hasattr(mod, attr):
            raise ImportError(f"pixfeed ({mod.__file__}) has no {attr}(): not built yet?")
    p.module = mod
    p.version = str(getattr(mod, "__version__", None) or _dist_version("pixfeed"))
    p.extra["path"] = str(Path(mod.__file__ or "").parent)
    try:
        info = importlib.import_module("pixfeed._core").build_info()
        codecs = ", ".join(f"{k}: {v}" for k, v in dict(info.get("codecs", {})).items())
        p.extra["build"] = (
            f"{'DEBUG build' if info.get('debug_build') else 'release build'}, "
            f"SIMD {info.get('simd')}, codecs {codecs}"
        )
        p.extra["debug_build"] = str(bool(info.get("debug_build")))
    except Exception as e:  # build_info is informative only
        p.extra["build"] = f"unknown ({_err(e)})"


def _cv2(p: Peer) -> None:
    import cv2

    p.module = cv2
    p.version = cv2.__version__


def _plain(p: Peer) -> None:
    """A peer that is just its module (version from ``__version__`` or the distribution)."""
    module = importlib.import_module(p.name)
    p.module = module
    p.version = getattr(module, "__version__", None) or _dist_version(p.name)


def _turbojpeg(p: Peer) -> None:
    import turbojpeg

    tj = turbojpeg.TurboJPEG()  # loads the system libturbojpeg
    p.module = turbojpeg
    p.version = _dist_version("PyTurboJPEG", "pyturbojpeg") or getattr(
        turbojpeg, "__version__", None
    )
    p.instance = tj


def _pillow(p: Peer) -> None:
    import PIL
    from PIL import Image, features

    p.module = Image
    p.version = PIL.__version__
    try:
        p.extra["libjpeg"] = str(features.version("jpg"))
        p.extra["zlib"] = str(features.version("zlib"))
        p.extra["libjpeg_turbo"] = str(features.check_feature("libjpeg_turbo"))
    except Exception:
        pass


def _pyvips(p: Peer) -> None:
    import pyvips

    p.module = pyvips
    p.version = f"{pyvips.__version__} (libvips {pyvips.version(0)}.{pyvips.version(1)}."
    p.version += f"{pyvips.version(2)})"
    pyvips.cache_set_max(0)  # no operation cache: every call really decodes


def _onnxruntime(p: Peer) -> None:
    import onnxruntime

    p.module = onnxruntime
    p.version = onnxruntime.__version__
    p.extra["providers"] = ", ".join(onnxruntime.get_available_providers())


#: The common peers (any other module loads as `_plain`).
_LOADERS: dict[str, Callable[[Peer], None]] = {
    "pixfeed": _pixfeed,
    "simplejpeg": _plain,
    "cv2": _cv2,
    "pyturbojpeg": _turbojpeg,
    "Pillow": _pillow,
    "pyvips": _pyvips,
    "onnxruntime": _onnxruntime,
    "trainingsample": _plain,
}
#: What the reason a peer is missing adds.
_HINTS = {"pyturbojpeg": " (needs the system libturbojpeg, e.g. apt-get install libturbojpeg0)"}


def _load(name: str) -> Peer:
    p = Peer(name)
    try:
        _LOADERS.get(name, _plain)(p)
    except Exception as e:
        p.error = _err(e) + _HINTS.get(name, "")
    return p


_cache: dict[str, Peer] = {}


def get(name: str) -> Peer:
    """The peer ``name``: one of the common peers, or any other importable module (a suite's
    own peers, named in its ``PEERS``)."""
    if name not in _cache:
        _cache[name] = _load(name)
    return _cache[name]


def all_peers() -> dict[str, Peer]:
    return {n: get(n) for n in _LOADERS}


def versions() -> dict[str, str | None]:
    return {n: p.version for n, p in all_peers().items()}
