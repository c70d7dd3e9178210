"""RecGen's log: progress lines for long work (data conversion, pipeline stages, servers), on stderr.

Every RecGen module logs through ``logging.getLogger(__name__)``. The loggers of RecGen's
packages (``LOGGED_PACKAGES``) write the bare message to stderr at INFO and above, or at the
level of ``$RECGEN_LOG_LEVEL``; ``recgen --log-level LEVEL`` calls ``configure_logging``,
which also passes the level on to child processes (``recgen serve --workers``, Beam workers).
Their records do not propagate to the root logger, which TFX's dependencies configure.

Example:
    >>> progress = RowProgress("converting", enabled=True, every_seconds=2.0)
    >>> for n in range(1, 1_000_001):
    ...     progress.update(n)  # a line at most every 2 s, e.g. "converting: 655,360 rows (327,680 rows/s)"
    >>> progress.done(1_000_000)  # "converting: 1,000,000 rows in 3.1 s (322,580 rows/s)", on stderr
"""
from __future__ import annotations

import logging
import os
import sys
import time

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_LEVEL_VARIABLE = "RECGEN_LOG_LEVEL"
LOGGED_PACKAGES = ("recgen", "serving", "components", "trainer", "pipelines")
_logger = logging.getLogger(__name__)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (pytest's capsys replaces it)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


_HANDLER = _StderrHandler()


def _set_level(level: str) -> None:
    for name in LOGGED_PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        if _HANDLER not in logger.handlers:
            logger.addHandler(_HANDLER)


def configure_logging(level: str) -> None:
    """Logs RecGen's records at ``level`` (one of ``LOG_LEVELS``) and above, in this process
    and in the processes it starts from now on."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level {level!r}: use one of {', '.join(LOG_LEVELS)}")
    os.environ[LOG_LEVEL_VARIABLE] = level
    _set_level(level)


def log_level() -> str:
    """The level RecGen's loggers log at now, e.g. ``"INFO"``."""
    return logging.getLevelName(logging.getLogger(LOGGED_PACKAGES[0]).level)


def say(message: str) -> None:
    """A progress line at INFO (modules with a logger of their own call ``logger.info``)."""
    _logger.info(message)


_set_level(os.environ.get(LOG_LEVEL_VARIABLE) if os.environ.get(LOG_LEVEL_VARIABLE) in LOG_LEVELS else "INFO")


class RowProgress:
    """Logs a running row count at most every ``every_seconds`` seconds."""

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
