"""The one cron dialect (pipelines/cron.py) that the local scheduler and the KFP client share."""
import datetime

import pytest

from pipelines.cron import CronError, next_time, seconds_first


def test_five_fields_mean_second_zero_and_six_read_seconds_first():
    assert seconds_first("30 2 * * 1-5") == "0 30 2 * * 1-5"
    assert seconds_first("15 30 2 * * 1-5") == "15 30 2 * * 1-5"
    start = datetime.datetime(2026, 12, 4, 12, 0, 0)  # a Friday
    assert next_time("30 2 * * 1-5", start) == datetime.datetime(2026, 12, 7, 2, 30, 0)
    assert next_time("15 30 2 * * 1-5", start) == datetime.datetime(2026, 12, 7, 2, 30, 15)
    assert next_time("*/20 * * * * *", start) == datetime.datetime(2026, 12, 4, 12, 0, 20)


@pytest.mark.parametrize("expression, says", [("every day", "2 fields"), ("1 2 3 4 5 6 7", "7 fields"),
                                              ("0 0 25 * * *", "not a cron expression"),
                                              ("0 61 * * *", "not a cron expression")])
def test_a_bad_expression_says_why(expression, says):
    with pytest.raises(CronError, match=says):
        seconds_first(expression)
