"""Retraining's data spans: the service's logged events written as spans, and ExampleGen reading them."""
import glob
import json
import os

import tensorflow as tf

from components.example_gen.executor import run_standalone
from pipelines.retraining import write_new_span
from recgen.contracts import features as F
from recgen.contracts.event_spans import SpanEvent, list_spans, next_sequence, read_span_events, write_span
from recgen.contracts.events import StoredEvent
from recgen.contracts.features import INGESTION_REPORT
from recgen.data.synthetic import SyntheticConfig, write_generic_csv
from serving.sqlite_event_store import SQLiteEventStore
from trainer.catalog import read_catalog


def test_spans_are_numbered_in_order_and_read_back(tmp_path):
    assert list_spans(tmp_path / "spans") == [] and next_sequence(tmp_path / "spans") == 1
    first = write_span(tmp_path / "spans", [SpanEvent("u1", "i1", 100, 'says "hi", twice')], 1, 4)
    second = write_span(tmp_path / "spans", [SpanEvent("u2", "i,2", 200), SpanEvent("u1", "i3", 300)], 5, 6)
    (tmp_path / "spans" / ".partial-span-00003").mkdir()  # a crashed write is not a span
    assert [(s.number, s.first_sequence, s.last_sequence, s.events) for s in list_spans(tmp_path / "spans")] == \
        [(1, 1, 4, 1), (2, 5, 6, 2)]
    assert next_sequence(tmp_path / "spans") == 7
    assert list(read_span_events(first.events_path)) == [SpanEvent("u1", "i1", 100, 'says "hi", twice')]
    assert list(read_span_events(second.events_path)) == [SpanEvent("u2", "i,2", 200, ""),
                                                         SpanEvent("u1", "i3", 300, "")]


def _record(store, event_id, user, item, timestamp, text=""):
    return store.record(StoredEvent(event_id, user, item, timestamp, "click", text))[0].sequence


def test_each_new_span_holds_only_events_logged_since_the_last(tmp_path):
    spans = str(tmp_path / "spans")
    with SQLiteEventStore(str(tmp_path / "events.db")) as store:
        store.import_events([StoredEvent("data:u0:i0:1", "u0", "i0", 1, "training_data")])  # not logged
        assert write_new_span(store, spans) is None
        for n in range(3):
            _record(store, f"e{n}", "u1", f"i{n}", 100 + n, "line one\nline two" if n == 0 else "")
        first = write_new_span(store, spans)
        last = _record(store, "e3", "u2", "new_item", 200)
        _record(store, "e0", "u1", "i0", 100, "line one\nline two")  # a retried event is no new event
        second = write_new_span(store, spans)
        assert write_new_span(store, spans) is None
    assert (first.number, first.events, second.number, second.events) == (1, 3, 2, 1)
    assert list(read_span_events(first.events_path))[0] == SpanEvent("u1", "i0", 100, "line one line two")
    assert list(read_span_events(second.events_path)) == [SpanEvent("u2", "new_item", 200, "")]
    assert second.first_sequence == second.last_sequence == last


def _split_rows(examples_uri, split):
    rows = []
    for path in glob.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz")):
        for record in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            features = tf.train.Example.FromString(record.numpy()).features.feature
            rows.append((features[F.USER_ID].bytes_list.value[0].decode(),
                         features[F.ITEM_ID].bytes_list.value[0].decode(),
                         [v.decode() for v in features[F.HISTORY_ITEM_IDS].bytes_list.value]))
    return rows


def test_example_gen_reads_spans_after_the_source(tmp_path):
    data, count = write_generic_csv(SyntheticConfig(users=40, items=30, seed=3), tmp_path / "data")
    user = "user_000001"  # a synthetic user who gets two more events in a span, after all their own
    new_events = [SpanEvent(user, "brand_new_item", 4_000_000_000), SpanEvent(user, "item_000002", 4_000_000_100),
                  SpanEvent("newcomer", "item_000003", 4_000_000_000)]
    write_span(tmp_path / "spans", new_events, 1, 3)
    examples, catalog = run_standalone(str(data), str(tmp_path / "out"), event_spans=str(tmp_path / "spans"))

    with open(os.path.join(examples.uri, INGESTION_REPORT)) as stream:
        report = json.load(stream)
    assert report["events"] == count + 3 and report["spans"][0]["events"] == 3
    assert examples.span == 1
    assert b"brand_new_item" in read_catalog(catalog.uri).item_ids
    test_rows = {row[0]: row for row in _split_rows(examples.uri, F.TEST)}
    eval_rows = {row[0]: row for row in _split_rows(examples.uri, F.EVAL)}
    # The span's events are the user's latest: the last one is the test target, the one before eval.
    assert test_rows[user][1] == "item_000002" and eval_rows[user][1] == "brand_new_item"
    assert test_rows[user][2][-1] == "brand_new_item"
    # A user with a single event is train-only (docs/evaluation.md#protocol).
    assert "newcomer" not in test_rows and ("newcomer", "item_000003", []) in _split_rows(examples.uri, F.TRAIN)


def test_a_malformed_span_row_is_counted_with_its_file_and_line(tmp_path):
    data, count = write_generic_csv(SyntheticConfig(users=20, items=10, seed=4), tmp_path / "data")
    span = write_span(tmp_path / "spans", [SpanEvent("u1", "i1", 5)], 1, 1)
    with open(span.events_path, "a") as stream:
        stream.write("u2,i2,not-a-time,\n")
    examples, _ = run_standalone(str(data), str(tmp_path / "out"), event_spans=str(tmp_path / "spans"),
                                 max_malformed_fraction=0.5)
    with open(os.path.join(examples.uri, INGESTION_REPORT)) as stream:
        report = json.load(stream)
    assert report["malformed_rows"] == 1 and report["events"] == count + 1
    bad_rows = [row for key, value in report.items() if isinstance(value, list) for row in value
                if isinstance(row, dict) and "line" in row]
    assert [(row["file"], row["line"]) for row in bad_rows] == [(str(span.events_path), 3)]
