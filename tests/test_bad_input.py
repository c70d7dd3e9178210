"""Bad input: clear errors for unreadable sources; malformed rows counted with file and line."""
import gzip
import json

import pytest

from recgen import cli
from recgen.data import DataError, MalformedDataError, MalformedRowReport, open_source
from recgen.data.summary import summarize


def read_all(path, format=None):
    report = MalformedRowReport()
    events = list(open_source(path, format).events(report))
    return events, report


def test_missing_path_fails_at_once_naming_it(tmp_path):
    with pytest.raises(DataError, match="nowhere: no such file or directory"):
        open_source(tmp_path / "nowhere")


def test_unknown_format_is_named_with_the_known_ones(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DataError, match="unknown data format.*--format"):
        open_source(tmp_path)
    with pytest.raises(DataError, match="unknown format 'parquet'.*generic_csv"):
        open_source(tmp_path, "parquet")


def test_malformed_rows_are_counted_with_file_and_line_and_good_rows_kept(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,timestamp,rating\n"
                    "u1,i1,100,5\n"
                    "u1,i2\n"                     # line 3: too few fields (truncated row)
                    "u2,i1,yesterday,4\n"         # line 4: bad timestamp
                    ",i3,300,4\n"                 # line 5: empty user
                    "u2,i2,400,great\n"           # line 6: bad rating
                    "u3,i3,500,1\n")
    events, report = read_all(path)
    assert [(e.user_id, e.item_id) for e in events] == [("u1", "i1"), ("u3", "i3")]
    assert (report.accepted, report.malformed) == (2, 4)
    where = [(row.line, row.reason) for row in report.first_bad_rows]
    assert [line for line, _ in where] == [3, 4, 5, 6]
    assert "expected 3 fields" in where[0][1]
    assert "'timestamp' is not a Unix time" in where[1][1]
    assert "'user_id' is empty" in where[2][1]
    assert "'rating' is not a number" in where[3][1]
    assert all(row.file == str(path) for row in report.first_bad_rows)


def test_wrongly_encoded_line_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"userId,movieId,rating,timestamp\n1,2,4.0,10\n\xff\xfe,3,4.0,11\n1,4,2.0,12\n")
    events, report = read_all(path)
    assert [e.item_id for e in events] == ["2", "4"]
    assert report.malformed == 1
    assert report.first_bad_rows[0].line == 3
    assert "not valid utf-8" in report.first_bad_rows[0].reason


def test_truncated_gzip_keeps_complete_lines_and_counts_the_truncation(tmp_path):
    lines = "".join(json.dumps({"reviewerID": f"A{n}", "asin": "B1", "overall": 5.0,
                                "unixReviewTime": 1000 + n}) + "\n" for n in range(2000))
    whole = gzip.compress(lines.encode())
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    events, report = read_all(path)
    assert 0 < len(events) < 2000
    assert [e.user_id for e in events] == [f"A{n}" for n in range(len(events))]
    assert report.malformed == 1
    assert "truncated or corrupt" in report.first_bad_rows[0].reason


def test_invalid_json_line_is_counted(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text('{"reviewerID": "A", "asin": "B", "unixReviewTime": 5}\n{"reviewerID": "A", "asin\n[1, 2]\n')
    events, report = read_all(path)
    assert len(events) == 1
    assert [row.line for row in report.first_bad_rows] == [2, 3]
    assert "not a JSON object" in report.first_bad_rows[0].reason
    assert "expected a JSON object, found list" in report.first_bad_rows[1].reason


def test_empty_file_has_no_events_and_the_pipeline_refuses_it(tmp_path):
    from components.example_gen.executor import run_standalone
    path = tmp_path / "u.data"
    path.write_text("")
    assert summarize(open_source(path)).events == 0
    with pytest.raises(DataError, match="no events could be read"):
        run_standalone(str(path), str(tmp_path / "out"))


def test_error_budget_passes_within_and_fails_past_naming_first_bad_rows():
    report = MalformedRowReport()
    for _ in range(999):
        report.accept()
    report.reject("ratings.csv", 17, "field 'timestamp' is empty", "1,2,3,")
    report.check_budget(0.001)  # 1 of 1000: within the default budget
    report.reject("ratings.csv", 18, "field 'userId' is empty", ",2,3,4")
    with pytest.raises(MalformedDataError) as caught:
        report.check_budget(0.001)
    message = str(caught.value)
    assert "2 of 1001" in message
    assert "ratings.csv:17: field 'timestamp' is empty" in message
    assert "ratings.csv:18" in message


def test_cli_reports_a_missing_path_as_an_error(tmp_path, capsys):
    assert cli.main(["data", "inspect", str(tmp_path / "missing")]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_cli_inspect_json_counts_malformed_rows(tmp_path, capsys):
    path = tmp_path / "u.data"
    path.write_text("1\t10\t5\t100\n2\t10\t4\n3\t11\t3\t300\n")
    assert cli.main(["data", "inspect", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("format", "events", "users", "items", "first_timestamp",
                                     "last_timestamp", "malformed_rows")} == {
        "format": "movielens_100k", "events": 2, "users": 2, "items": 2,
        "first_timestamp": 100, "last_timestamp": 300, "malformed_rows": 1}
    assert summary["first_bad_rows"][0]["line"] == 2


def test_pipeline_run_fails_at_once_on_an_unknown_format(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not data\n")
    assert cli.main(["pipeline", "run", "--data", str(tmp_path), "--root", str(tmp_path / "root")]) == 1
    assert "unknown data format" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()
