"""Sources read shard by shard (byte ranges) give the events and malformed-row reports of one pass."""
import functools
import json

import pytest

from components.example_gen import executor as eg
from recgen.contracts import features as F
from recgen.data import MalformedRowReport, open_source
from recgen.data.formats import movielens
from recgen.data.shards import count_newlines, first_lines, plan_shards, read_shard

BAD_ROWS = ["u1,i1,not-a-time", "u2,,5", " u3 ,i2,7", "u4,i3", "u5,i4,8,great", "u6,i5,2024-03-01T10:00:00Z",
            "u7,i6,9,4.5,\"quoted, text\"", "   ", "", "u8,i7,10,,  padded ", "u9,i8,1e3"]


def one_pass(source):
    report = MalformedRowReport()
    return list(source.events(report)), report


def sharded(source, range_bytes):
    shards = plan_shards([source], range_bytes=range_bytes)
    firsts = first_lines(shards, [count_newlines(shard) for shard in shards])
    report, events = MalformedRowReport(), []
    tags = (movielens.tags_by_rating(source.path, MalformedRowReport())  # ReadShards reads them once
            if source.format == "movielens_csv" else None)
    for shard in shards:
        table = read_shard(shard, firsts[shard.ordinal], report, tags)
        rows = sorted(zip(table["seq"].to_pylist(), *(table[c].to_pylist() for c in table.column_names[1:])))
        events.extend((*row[1:-1], tuple(row[-1])) for row in rows)  # Event holds a tuple of ids
    return shards, events, report


def write_events(path, rows=600, header="user_id,item_id,timestamp,rating,text"):
    lines = [header] + [f"u{n % 40},i{n % 23},{1000 + n},{n % 5 + 1},text {n}" for n in range(rows)]
    for offset, bad in enumerate(BAD_ROWS):  # spread over the middle of the file
        lines.insert(200 + 31 * offset, bad)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("range_bytes", [1 << 20, 997, 64])
def test_byte_ranges_give_the_events_and_the_report_of_one_pass(tmp_path, range_bytes):
    write_events(tmp_path / "events.csv")
    source = open_source(tmp_path)
    events, report = one_pass(source)
    shards, sharded_events, sharded_report = sharded(source, range_bytes)
    assert len(shards) == (1 if range_bytes > 1000 else len(shards)) and (range_bytes > 1000 or len(shards) > 5)
    assert sharded_events == [tuple(event) for event in events]
    report.keep = sharded_report.keep = 100
    assert sharded_report == report
    assert report.malformed == 4 and [row.line for row in report.first_bad_rows][0] == 201


def test_malformed_rows_in_a_middle_range_keep_their_file_line_numbers(tmp_path, monkeypatch):
    write_events(tmp_path / "events.csv", rows=3000)
    monkeypatch.setattr(eg, "plan_shards", functools.partial(plan_shards, range_bytes=4096))
    _, report = one_pass(open_source(tmp_path))
    eg.run_standalone(str(tmp_path), str(tmp_path / "out"), max_malformed_fraction=0.01)
    written = json.loads((tmp_path / "out" / "examples" / F.INGESTION_REPORT).read_text())
    assert [row["line"] for row in written["first_bad_rows"]] == [row.line for row in report.first_bad_rows]
    assert [row["line"] for row in written["first_bad_rows"]][:2] == [201, 232]
    assert written["first_bad_rows"][0]["reason"] == "field 'timestamp' is not a Unix time or ISO 8601 date: 'not-a-time'"
    assert (written["accepted_rows"], written["malformed_rows"]) == (report.accepted, report.malformed)


def test_movielens_ratings_with_tags_and_bad_encoding_read_in_ranges(tmp_path):
    ratings = ["userId,movieId,rating,timestamp"] + [f"{n % 9},{n % 13},{n % 5}.5,{900 + n}" for n in range(400)]
    ratings.insert(150, "3,4,x,5")
    (tmp_path / "ratings.csv").write_bytes(("\n".join(ratings[:300]) + "\n").encode() + b"\xff\xfe,1,2,3\n"
                                           + ("\n".join(ratings[300:]) + "\n").encode())
    (tmp_path / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,1,funny,5\n1,1,dark,6\n2,2,,7\nbad\n")
    source = open_source(tmp_path)
    events, report = one_pass(source)
    for range_bytes in (1 << 20, 700):
        _, sharded_events, sharded_report = sharded(source, range_bytes)
        sharded_report.first_bad_rows = [r for r in sharded_report.first_bad_rows if r.file.endswith("ratings.csv")]
        report_ratings = [r for r in report.first_bad_rows if r.file.endswith("ratings.csv")]
        assert sharded_events == [tuple(event) for event in events]
        assert sharded_report.first_bad_rows == report_ratings and len(report_ratings) == 2
    assert any(event.summary == "funny, dark" for event in events)
