"""`recgen data inspect` on the real data sets in ../shared/data."""
import json

import pytest

from recgen import cli


@pytest.mark.parametrize("fixture, expected", [
    ("movielens_small", {"format": "movielens_csv", "events": 100836, "users": 610, "items": 9724,
                         "malformed_rows": 0}),
    ("amazon_instruments", {"format": "amazon_json", "events": 10261, "users": 1429, "items": 900,
                            "malformed_rows": 0}),
])
def test_inspect_json_reports_the_known_counts(fixture, expected, request, capsys):
    path = request.getfixturevalue(fixture)
    assert cli.main(["data", "inspect", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {key: summary[key] for key in expected} == expected
    assert summary["first_timestamp"] < summary["last_timestamp"]
