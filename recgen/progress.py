"""Progress lines for long work (data conversion, pipeline stages), written to stderr.

Example:
    >>> progress = RowProgress("converting", enabled=True, every_seconds=2.0)
    >>> for n in range(1, 1_000_001):
    ...     progress.update(n)  # a line at most every 2 s, e.g. "converting: 655,360 rows (327,680 rows/s)"
    >>> progress.done(1_000_000)  # "converting: 1,000,000 rows in 3.1 s (322,580 rows/s)", on stderr
"""
from __future__ import annotations

import sys
import time


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class RowProgress:
    """Prints a running row count at most every ``every_seconds`` seconds."""

    def __init__(self, label: str, enabled: bool = True, every_seconds: float = 5.0):
        self.label = label
        self.enabled = enabled
        self.every_seconds = every_seconds
        self.started = time.monotonic()
        self._next_report = self.started + every_seconds

    def update(self, rows: int) -> None:
        if not self.enabled or rows % 4096:
            return
        now = time.monotonic()
        if now >= self._next_report:
            self._next_report = now + self.every_seconds
            say(f"{self.label}: {rows:,} rows ({rows / (now - self.started):,.0f} rows/s)")

    def done(self, rows: int) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            say(f"{self.label}: {rows:,} rows in {elapsed:.1f} s "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s)")
