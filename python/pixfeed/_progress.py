"""A dependency-free progress counter on stderr for the library's long calls.

``enabled``: ``None`` shows it only when stderr is a terminal; ``True`` always: on a
terminal one line redrawn in place, elsewhere (a log file, CI) one line per 10 % so that logs
stay short; ``False`` never. Thread-safe: `update` may be called from worker threads.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

# Redrawing a terminal line more often than this only costs time.
_REDRAW_SECONDS = 0.1


class Progress:
    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self._stream: TextIO = sys.stderr
        tty = self._stream.isatty()
        self.enabled = tty if enabled is None else bool(enabled)
        self._tty = tty
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._last_decile = -1
        self._printed = -1
        self._start = time.perf_counter()

    def update(self, n: int = 1) -> None:
        if not self.enabled:
            self.done += n
            return
        with self._lock:
            self.done += n
            self._draw(final=False)

    def _line(self) -> str:
        pct = 100.0 * self.done / max(self.total, 1)
        elapsed = time.perf_counter() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return f"{self.label}: {self.done}/{self.total} ({pct:5.1f}%, {rate:,.0f}/s)"

    def _draw(self, final: bool) -> None:
        now = time.perf_counter()
        if self._tty:
            if final or now - self._last_draw >= _REDRAW_SECONDS or self.done == self.total:
                self._stream.write("\r" + self._line())
                self._stream.flush()
                self._last_draw = now
            return
        decile = 10 * self.done // max(self.total, 1)
        if decile > self._last_decile or (final and self.done != self._printed):
            self._last_decile = decile
            self._printed = self.done
            self._stream.write(self._line() + "\n")
            self._stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._draw(final=True)
            if self._tty:
                self._stream.write("\n")
                self._stream.flush()
