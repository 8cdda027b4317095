"""Shared output helpers: JSON printing and TTY-only progress."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


class Progress:
    """A one-line progress counter on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            pct = 100.0 * self.done / max(self.total, 1)
            sys.stderr.write(f"\r{self.label}: {self.done}/{self.total} ({pct:5.1f}%)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
