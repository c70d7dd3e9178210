"""RecGen's one cron dialect, read the same way by ``recgen schedule`` and ``recgen kubeflow schedule``.

An expression has five fields, ``minute hour day-of-month month day-of-week``, or six with a
seconds field first, ``second minute hour day-of-month month day-of-week``: the order KFP's
scheduler (robfig/cron) reads. Five fields mean second 0. Times are local for the local
scheduler and the cluster's for KFP. croniter does the parsing; it wants an optional seconds
field last, so ``next_time`` moves it there.

Example:
    >>> seconds_first("0 3 * * *")
    '0 0 3 * * *'
    >>> next_time("*/30 * * * * *", datetime.datetime(2026, 1, 1, 12, 0, 10)).isoformat()
    '2026-01-01T12:00:30'
"""
from __future__ import annotations

import datetime

from croniter import croniter

from recgen.data import DataError

FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")


class CronError(DataError):
    """An expression this dialect does not read; the ``recgen`` command reports it and exits 1."""


def seconds_first(expression: str) -> str:
    """The expression as six fields, seconds first (KFP's form); CronError saying why it is not one."""
    fields = expression.split()
    if len(fields) == len(FIELDS) - 1:
        fields = ["0", *fields]
    if len(fields) != len(FIELDS):
        raise CronError(f"cron {expression!r} has {len(fields)} fields; give five ({' '.join(FIELDS[1:])}) "
                        f"or six with seconds first ({' '.join(FIELDS)})")
    if not croniter.is_valid(_croniter_form(fields)):
        raise CronError(f"cron {expression!r} is not a cron expression: {' '.join(FIELDS)}, "
                        "each a value, a range, a list, '*' or a step")
    return " ".join(fields)


def next_time(expression: str, after: datetime.datetime) -> datetime.datetime:
    """The first time after ``after`` that the expression names."""
    return croniter(_croniter_form(seconds_first(expression).split()), after).get_next(datetime.datetime)


def _croniter_form(fields) -> str:
    return " ".join([*fields[1:], fields[0]])
