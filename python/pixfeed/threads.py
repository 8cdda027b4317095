"""The library's default thread count (docs/conventions.md).

No thread count may exceed `MAX_THREADS` (1024): ``set_num_threads``, every ``threads=``
argument, ``PIXFEED_NUM_THREADS`` and the ``threads`` configuration key refuse more. Setting
or reading the count starts no thread: the pool is built when native work first needs it.
"""

from __future__ import annotations

import warnings

from pixfeed import _args, _core

__all__ = ["MAX_THREADS", "get_num_threads", "set_num_threads"]

#: The most threads a thread count may ask for.
MAX_THREADS: int = _args.MAX_THREADS


def set_num_threads(n: int) -> None:
    """Set the default number of native threads, 1 to `MAX_THREADS` (initially
    ``PIXFEED_NUM_THREADS`` or all cores)."""
    _core.set_num_threads(_args.thread_count(n, "n"))


def get_num_threads() -> int:
    """The default number of native threads."""
    return _core.get_num_threads()


def _check_env() -> None:
    """Warn (once, at import) when ``PIXFEED_NUM_THREADS`` is set to something the pool
    ignores: not an integer, or outside 1..MAX_THREADS."""
    value = _core.env_num_threads()
    if isinstance(value, str):
        warnings.warn(
            f"environment variable PIXFEED_NUM_THREADS={value!r} ignored: expected an "
            f"integer from 1 to {MAX_THREADS} or 'auto'; the default thread count is "
            f"{get_num_threads()} (all cores)",
            RuntimeWarning,
            stacklevel=2,
        )


_check_env()
