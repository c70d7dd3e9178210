"""Scheduled retraining: one cycle at each time a cron expression names, one cycle at a time.

Cron expressions are RecGen's one dialect (``pipelines/cron.py``, the one ``recgen kubeflow
schedule`` reads): five fields (minute hour day month weekday, local time), or six with
seconds first (``"*/30 * * * * *"``: every 30 s). Cycles run one after another in
this process, and ``run_cycle``'s lock keeps a second scheduler (or a manual ``recgen retrain``)
on the same root from overlapping: that cycle is logged as ``busy``. Times missed while a cycle
ran are skipped, not run back to back. A failed cycle is logged and the schedule goes on.

Example::

    run_schedule("0 3 * * *", lambda: run_cycle("build/run"))
"""
from __future__ import annotations

import datetime
import logging
import time
from typing import Callable, List, Optional

from pipelines.cron import next_time, seconds_first
from pipelines.retraining import CycleOutcome

_logger = logging.getLogger(__name__)


def run_schedule(expression: str, cycle: Callable[[], CycleOutcome], max_cycles: Optional[int] = None,
                 sleep: Callable[[float], None] = time.sleep) -> List[CycleOutcome]:
    """Runs ``cycle`` at each cron time, ``max_cycles`` times (None: until interrupted)."""
    seconds_first(expression)  # a bad expression fails before the first wait
    outcomes: List[CycleOutcome] = []
    while max_cycles is None or len(outcomes) < max_cycles:
        now = datetime.datetime.now().astimezone()
        due = next_time(expression, now)
        _logger.info(f"schedule: next retraining cycle at {due.isoformat(timespec='seconds')}")
        sleep(max(0.0, (due - datetime.datetime.now().astimezone()).total_seconds()))
        outcome = cycle()
        _logger.info(f"schedule: cycle {len(outcomes) + 1}: {outcome.describe()}")
        outcomes.append(outcome)
    return outcomes
