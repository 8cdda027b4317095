"""Shared output helpers: JSON printing, and the library's progress counter (shown only when
stderr is a terminal unless asked)."""

from __future__ import annotations

import json
import sys
from typing import Any

from pixfeed._progress import Progress

__all__ = ["Progress", "print_json"]


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
