"""The pipeline's data stages (ExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator
-> gate) run with LocalDagRunner on real data and on synthetic data with an injected anomaly."""
import csv
import glob
import os
from collections import defaultdict

import pytest
import tensorflow as tf

from pipelines.local_runner import run_pipeline
from pipelines.recgen_pipeline import PipelineConfig
from recgen.contracts import features as F
from recgen.contracts.run_root import latest_ingestion_report
from recgen.data import DataAnomaliesError
from recgen.data.synthetic import SyntheticConfig, write_generic_csv
from trainer.config import RetrievalConfig

pytestmark = pytest.mark.integration


def read_split(examples_uri, split):
    files = glob.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz"))
    assert files, f"no files for split {split}"
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        yield tf.train.Example.FromString(record.numpy()).features.feature


def ratings_by_user(ratings_csv):
    """Independent of the adapters: each user's (movieId, timestamp) in file order."""
    users = defaultdict(list)
    with open(ratings_csv, newline="") as stream:
        for row in csv.DictReader(stream):
            users[row["userId"]].append((row["movieId"], int(row["timestamp"])))
    return users


def test_movielens_small_pipeline_splits_exactly_as_the_protocol_implies(movielens_small, tmp_path):
    config = PipelineConfig(data_path=str(movielens_small), root=str(tmp_path), train=False)
    run_pipeline(config)
    report = latest_ingestion_report(config)

    users = ratings_by_user(movielens_small / "ratings.csv")
    held_out = sum(1 for events in users.values() if len(events) >= 3)
    total = sum(len(events) for events in users.values())
    assert (total, len(users), held_out) == (100836, 610, 610)
    assert report["examples"] == {"train": total - 2 * held_out, "eval": held_out, "test": held_out}

    test_examples = list(read_split(report["examples_uri"], "test"))
    assert len(test_examples) == held_out
    for feature in test_examples[:50]:
        user = feature[F.USER_ID].bytes_list.value[0].decode()
        ordered = sorted(enumerate(users[user]), key=lambda p: (p[1][1], p[0]))
        items = [movie for _, (movie, _) in ordered]
        assert feature[F.ITEM_ID].bytes_list.value[0].decode() == items[-1]
        assert [v.decode() for v in feature[F.HISTORY_ITEM_IDS].bytes_list.value] == items[:-1][-50:]
        assert feature[F.HISTORY_LENGTH].int64_list.value[0] == len(items) - 1


def test_amazon_pipeline_counts_and_keeps_review_text(amazon_instruments, tmp_path):
    config = PipelineConfig(data_path=str(amazon_instruments), root=str(tmp_path),
                            retrieval=RetrievalConfig(history_length=5), train=False)
    run_pipeline(config)
    report = latest_ingestion_report(config)
    assert report["examples"] == {"train": 10261 - 2 * 1429, "eval": 1429, "test": 1429}
    eval_examples = list(read_split(report["examples_uri"], "eval"))
    assert all(len(f[F.HISTORY_ITEM_IDS].bytes_list.value) <= 5 for f in eval_examples)
    assert sum(bool(f[F.TEXT].bytes_list.value) for f in eval_examples if F.TEXT in f) > 1400


def test_injected_anomaly_stops_the_run_naming_the_feature(tmp_path):
    data, _ = write_generic_csv(SyntheticConfig(users=150, items=80, seed=11), tmp_path / "data")
    rows = (data / "events.csv").read_text().splitlines()
    # A clock bug: a tenth of the events were logged with negative Unix times.
    broken = [rows[0]] + [",".join([*r.split(",")[:2], "-" + r.split(",")[2], *r.split(",")[3:]])
                          if n % 10 == 0 else r for n, r in enumerate(rows[1:])]
    (data / "events.csv").write_text("\n".join(broken) + "\n")

    config = PipelineConfig(data_path=str(data), root=str(tmp_path / "run"), train=False)
    with pytest.raises(DataAnomaliesError, match="feature 'timestamp'"):
        run_pipeline(config)
