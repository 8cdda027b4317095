"""The library's default thread count (SPEC section 1)."""

from __future__ import annotations

from pixfeed import _args, _core

__all__ = ["get_num_threads", "set_num_threads"]


def set_num_threads(n: int) -> None:
    """Set the default number of native threads (initially ``PIXFEED_NUM_THREADS`` or all
    cores)."""
    _core.set_num_threads(_args.positive_int(n, "n"))


def get_num_threads() -> int:
    """The default number of native threads."""
    return _core.get_num_threads()
