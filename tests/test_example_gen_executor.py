"""RecGen's ExampleGen executor run directly: error budget, nothing accepted lost, catalog."""
import glob
import json
import os

import pytest
import tensorflow as tf

from components.example_gen import executor as eg
from recgen.contracts import features as F
from recgen.data import MalformedDataError


def count_records(pattern):
    return sum(1 for _ in tf.data.TFRecordDataset(glob.glob(pattern), compression_type="GZIP"))


def write_events(path, rows, bad_lines=()):
    lines = ["user_id,item_id,timestamp"]
    for n in range(rows):
        lines.append(f"u{n % 50},i{n % 37},{1000 + n}")
    for position in bad_lines:
        lines.insert(position, "u1,i1,not-a-time")
    path.write_text("\n".join(lines) + "\n")


def test_within_budget_malformed_rows_are_reported_and_every_accepted_row_becomes_an_example(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_events(data / "events.csv", 1999, bad_lines=[500])
    (data / "items.csv").write_text("item_id,title,categories\ni3,Capo,accessory|guitar\n")
    examples, catalog = eg.run_standalone(str(data), str(tmp_path / "out"))

    report = json.loads((tmp_path / "out" / "examples" / F.INGESTION_REPORT).read_text())
    assert report["malformed_rows"] == 1
    assert report["first_bad_rows"][0]["line"] == 501  # inserted at list index 500 = line 501
    assert report["first_bad_rows"][0]["file"].endswith("events.csv")
    total = sum(count_records(os.path.join(examples.uri, f"Split-{s}", "*.gz")) for s in ("train", "eval", "test"))
    assert total == report["events"] == 1999
    assert report["examples"] == {"train": 1999 - 100, "eval": 50, "test": 50}
    assert examples.get_int_custom_property("malformed_rows") == 1

    items = {}
    for record in tf.data.TFRecordDataset(os.path.join(catalog.uri, F.CATALOG_FILE), compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        items[feature["item_id"].bytes_list.value[0].decode()] = feature
    assert len(items) == 37
    assert items["i3"]["title"].bytes_list.value == [b"Capo"]
    assert items["i3"]["categories"].bytes_list.value == [b"accessory", b"guitar"]
    assert items["i4"]["title"].bytes_list.value == [b""]


def test_past_the_budget_the_run_fails_naming_the_first_bad_rows(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_events(data / "events.csv", 1000, bad_lines=[10, 20, 30])
    with pytest.raises(MalformedDataError) as caught:
        eg.run_standalone(str(data), str(tmp_path / "out"))
    message = str(caught.value)
    assert "3 of 1003" in message
    assert "events.csv:11: field 'timestamp' is not a Unix time" in message


def test_tfx_readers_read_the_examples_written_at_a_low_gzip_level(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to
    from tfx_bsl.public import tfxio

    data = tmp_path / "data"
    data.mkdir()
    write_events(data / "events.csv", 500)
    examples, _ = eg.run_standalone(str(data), str(tmp_path / "out"))
    pattern = os.path.join(examples.uri, "Split-train", "*.gz")
    # TFX's components read examples through tfx-bsl's TFXIO on Beam (StatisticsGen, Transform).
    source = tfxio.TFExampleRecord(file_pattern=pattern, telemetry_descriptors=["recgen-test"])
    with beam.Pipeline() as pipeline:
        counted = (pipeline | source.RawRecordBeamSource()
                   | beam.Map(lambda record: tf.train.Example.FromString(record).features.feature[F.USER_ID])
                   | beam.combiners.Count.Globally())
        assert_that(counted, equal_to([500 - 100]))
    assert count_records(pattern) == 500 - 100
