"""Scheduled retraining: one cycle at each time a cron expression names, one cycle at a time.

Cron expressions are croniter's: five fields (minute hour day month weekday, local time), or
six with seconds last (``"* * * * * */30"``: every 30 s). Cycles run one after another in
this process, and ``run_cycle``'s lock keeps a second scheduler (or a manual ``recgen retrain``)
on the same root from overlapping: that cycle is logged as ``busy``. Times missed while a cycle
ran are skipped, not run back to back. A failed cycle is logged and the schedule goes on.

Example::

    run_schedule("0 3 * * *", lambda: run_cycle("build/run"))
"""
from __future__ import annotations

import datetime
import time
from typing import Callable, List, Optional

from croniter import croniter

from pipelines.retraining import CycleOutcome
from recgen.data.canonical import DataError
from recgen.progress import say


def check_cron(expression: str) -> str:
    if not croniter.is_valid(expression):
        raise DataError(f"--cron {expression!r} is not a cron expression: give five fields "
                        "(minute hour day month weekday), or six with seconds last")
    return expression


def run_schedule(expression: str, cycle: Callable[[], CycleOutcome], max_cycles: Optional[int] = None,
                 sleep: Callable[[float], None] = time.sleep) -> List[CycleOutcome]:
    """Runs ``cycle`` at each cron time, ``max_cycles`` times (None: until interrupted)."""
    check_cron(expression)
    outcomes: List[CycleOutcome] = []
    while max_cycles is None or len(outcomes) < max_cycles:
        now = datetime.datetime.now().astimezone()
        due = croniter(expression, now).get_next(datetime.datetime)
        say(f"schedule: next retraining cycle at {due.isoformat(timespec='seconds')}")
        sleep(max(0.0, (due - datetime.datetime.now().astimezone()).total_seconds()))
        outcome = cycle()
        say(f"schedule: cycle {len(outcomes) + 1}: {outcome.describe()}")
        outcomes.append(outcome)
    return outcomes
