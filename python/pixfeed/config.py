"""Configuration (docs/cli.md): defaults < user config file < project config file <
``PIXFEED_*`` environment variables < explicit overrides (command-line flags, arguments).

Files
-----
- User: ``$XDG_CONFIG_HOME/pixfeed/config.toml``, else ``~/.config/pixfeed/config.toml``.
- Project: the first directory, from ``cwd`` up to the filesystem root, that holds a
  ``pixfeed.toml`` (top-level keys) or a ``pyproject.toml`` with a ``[tool.pixfeed]`` table;
  in one directory ``pixfeed.toml`` wins. A ``pyproject.toml`` without that table is not a
  pixfeed config and the search goes on upwards. Only one project file is read.

Both file kinds hold the same keys::

    threads = 4          # native threads (decoders, ONNX Runtime), 1..1024; "auto": all cores
    cache_mb = 512       # ImageCache(config=...) budget in MiB (0: no caching)
    batch_size = 8       # images per inference batch (pixfeed filter)
    preload = false      # ImageCache(config=...) read-ahead of the next files of a folder
    backend = "auto"     # ONNX execution provider: "auto", "cpu", "cuda", "tensorrt",
                         # "openvino", "directml" (see pixfeed.detect.detector.BACKEND_PROVIDERS)
    io_threads = "auto"  # decode threads of the background loaders, apart from inference
    preload_count = 8    # files a cache miss reads ahead when preload = true
    cache = true         # pixfeed filter's result cache (false: neither read nor written)
    cache_max_entries = 0  # result cache rows kept, least recently used pruned (0: no limit)

Environment: ``PIXFEED_NUM_THREADS`` (the name the native thread pool has always read),
``PIXFEED_CACHE_MB``, ``PIXFEED_BATCH_SIZE``, ``PIXFEED_PRELOAD`` (1/0, true/false, yes/no,
on/off), ``PIXFEED_BACKEND``, ``PIXFEED_IO_THREADS``, ``PIXFEED_PRELOAD_COUNT``,
``PIXFEED_CACHE`` (as ``PIXFEED_PRELOAD``), ``PIXFEED_CACHE_MAX_ENTRIES``. An empty variable
counts as unset.

An unknown key or a bad value is a ``ValueError`` naming the file (or variable) and the key.
Reading files needs ``tomllib`` (Python 3.11+) or the ``tomli`` package on 3.10; without
either, only an existing config file is an error.

The library reads files only when asked (:func:`load_config`); the ``pixfeed`` command loads
the configuration at start and applies ``threads`` with :meth:`Config.apply`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pixfeed._args import MAX_THREADS

__all__ = [
    "BACKENDS",
    "ENV_VARS",
    "Config",
    "load_config",
    "project_config_path",
    "user_config_path",
]

BACKENDS = ("auto", "cpu", "cuda", "tensorrt", "openvino", "directml")

#: The environment variable of each key.
ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        "threads": "PIXFEED_NUM_THREADS",
        "cache_mb": "PIXFEED_CACHE_MB",
        "batch_size": "PIXFEED_BATCH_SIZE",
        "preload": "PIXFEED_PRELOAD",
        "backend": "PIXFEED_BACKEND",
        "io_threads": "PIXFEED_IO_THREADS",
        "preload_count": "PIXFEED_PRELOAD_COUNT",
        "cache": "PIXFEED_CACHE",
        "cache_max_entries": "PIXFEED_CACHE_MAX_ENTRIES",
    }
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _int_value(value: object, key: str, minimum: int) -> int:
    # bool is an int in Python and 1.0 is a float in TOML: neither is accepted as a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{key}: must be >= {minimum}, got {value}")
    return value


def _check(key: str, value: object) -> object:
    """The validated value of ``key`` (ValueError naming the key otherwise)."""
    if key in ("threads", "io_threads"):
        if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
            return None
        count = _int_value(value, key, 1)
        if count > MAX_THREADS:
            raise ValueError(f"{key}: must be <= {MAX_THREADS}, got {count}")
        return count
    if key == "cache_mb":
        return _int_value(value, key, 0)
    if key == "batch_size":
        return _int_value(value, key, 1)
    if key in ("preload_count", "cache_max_entries"):
        return _int_value(value, key, 0)
    if key in ("preload", "cache"):
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value
    if key == "backend":
        if not isinstance(value, str) or value.strip().lower() not in BACKENDS:
            raise ValueError(f"{key}: expected one of {', '.join(BACKENDS)}, got {value!r}")
        return value.strip().lower()
    raise ValueError(f"unknown key {key!r} (known: {', '.join(ENV_VARS)})")


@dataclass(frozen=True)
class Config:
    """The effective settings. ``sources`` says where each value came from: ``"default"``,
    ``"user config <path>"``, ``"project config <path>"``, ``"env <VAR>"`` or
    ``"override"``."""

    #: Native threads (decoders; the filter's streams); None: the library default.
    threads: int | None = None
    #: ImageCache(config=...) budget in MiB.
    cache_mb: int = 512
    #: Images per inference batch.
    batch_size: int = 8
    #: ImageCache(config=...) reads ahead: a miss preloads the next files of its folder.
    preload: bool = False
    #: ONNX Runtime execution provider: one of `BACKENDS`.
    backend: str = "auto"
    #: Decode threads of the background loaders (ImageCache preloads, the filter's prefetch
    #: decoder), apart from inference; None: the library default.
    io_threads: int | None = None
    #: Files a cache miss reads ahead (ImageCache(config=...) with ``preload``).
    preload_count: int = 8
    #: The filter's result cache is used.
    cache: bool = True
    #: Result cache rows kept (least recently used pruned on write); 0: no limit.
    cache_max_entries: int = 0
    sources: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "sources":
                object.__setattr__(self, f.name, _check(f.name, getattr(self, f.name)))

    def as_dict(self) -> dict[str, object]:
        """The settings (without ``sources``) as a plain dict."""
        return {name: getattr(self, name) for name in ENV_VARS}

    def apply(self) -> None:
        """Make ``threads`` the library's default thread count (when set)."""
        if self.threads is not None:
            from pixfeed.threads import set_num_threads

            set_num_threads(self.threads)


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/pixfeed/config.toml``, else ``~/.config/pixfeed/config.toml``
    (whether or not it exists)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "pixfeed" / "config.toml"


def _toml_module() -> Any:
    """tomllib (Python 3.11+), else tomli, else None; imported only when a file is read."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10 only
        import tomli

        return tomli
    except ImportError:  # pragma: no cover
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    _toml = _toml_module()
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ValueError(
            f"{path}: reading a config file needs Python 3.11+ or the 'tomli' package "
            "(pip install tomli)"
        )
    try:
        with open(path, "rb") as f:
            data: dict[str, Any] = _toml.load(f)
    except _toml.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    return data


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    tool = _read_toml(path).get("tool")
    if not isinstance(tool, dict) or "pixfeed" not in tool:
        return None
    table = tool["pixfeed"]
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [tool.pixfeed] must be a table, got {table!r}")
    return table


def project_config_path(cwd: str | os.PathLike[str] | None = None) -> Path | None:
    """The project config file that applies in ``cwd`` (default: the current directory), or
    None: the nearest ``pixfeed.toml``, or ``pyproject.toml`` with ``[tool.pixfeed]``."""
    start = Path(cwd if cwd is not None else os.getcwd()).resolve()
    for d in (start, *start.parents):
        candidate = d / "pixfeed.toml"
        if candidate.is_file():
            return candidate
        pyproject = d / "pyproject.toml"
        if pyproject.is_file() and _pyproject_table(pyproject) is not None:
            return pyproject
    return None


def _file_values(path: Path) -> dict[str, object]:
    if path.name == "pyproject.toml":
        table = _pyproject_table(path) or {}
        where = f"{path} [tool.pixfeed]"
    else:
        table = _read_toml(path)
        where = str(path)
    out: dict[str, object] = {}
    for key, value in table.items():
        try:
            out[key] = _check(key, value)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    return out


def _env_value(key: str, text: str) -> object:
    text = text.strip()
    low = text.lower()
    if key in ("preload", "cache"):
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"{key}: expected 1/0, true/false, yes/no or on/off, got {text!r}")
    if key == "backend" or (key in ("threads", "io_threads") and low == "auto"):
        return _check(key, text)
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{key}: expected an integer, got {text!r}") from None
    return _check(key, number)


def load_config(
    overrides: Mapping[str, object] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
) -> Config:
    """The effective configuration: defaults < user config file < project config file <
    ``PIXFEED_*`` environment < ``overrides`` (None values in ``overrides`` mean "not
    given"). See the module docstring for file locations and keys."""
    values: dict[str, Any] = {}
    sources = dict.fromkeys(ENV_VARS, "default")

    layers: list[tuple[str, Path]] = []
    user = user_config_path()
    if user.is_file():
        layers.append(("user config", user))
    project = project_config_path(cwd)
    if project is not None:
        layers.append(("project config", project))
    for label, path in layers:
        for key, value in _file_values(path).items():
            values[key] = value
            sources[key] = f"{label} {path}"

    for key, var in ENV_VARS.items():
        text = os.environ.get(var)
        if text is None or text.strip() == "":
            continue
        try:
            values[key] = _env_value(key, text)
        except ValueError as e:
            raise ValueError(f"environment variable {var}: {e}") from None
        sources[key] = f"env {var}"

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        try:
            values[key] = _check(key, value)
        except ValueError as e:
            raise ValueError(f"overrides: {e}") from None
        sources[key] = "override"

    return Config(**values, sources=MappingProxyType(sources))
