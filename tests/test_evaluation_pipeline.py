"""Evaluator, blessing and Pusher over three pipeline runs on one root (retrieval branch).

1. a good model: blessed against the floors, pushed as version 1;
2. a deliberately degraded one (one training step from scratch): not blessed, not pushed,
   and the report names the failed metrics;
3. a good one again: blessed against run 1's model, pushed as version 2.

Also: TFMA's figures equal an independent numpy computation from the dumped top-100 lists,
and the HTML report renders with its plots in headless Chromium.
"""
import collections
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from components.artifacts import ItemCatalog
from pipelines.html_report import write_html_report
from pipelines.recgen_pipeline import PipelineConfig
from recgen import cli
from recgen.contracts import features as F
from recgen.contracts.model_base import MODELS_CONFIG, WARMUP_FILE, versions
from tests.background_runs import background_result
from trainer.catalog import read_catalog


@pytest.fixture(scope="module")
def three_runs(request):
    """``(config, [evaluation outcome of each run])`` of ``tests/pipeline_runs.evaluation_runs``
    (GOOD, DEGRADED, GOOD on one root), run in the background from the start of the session."""
    runs = background_result(request, "three_runs")
    return PipelineConfig.from_json(runs["config"]), runs["outcomes"]


def test_good_model_is_pushed_degraded_is_refused_and_the_next_good_one_is_version_2(three_runs):
    config, (first, degraded, third) = three_runs
    assert first["blessed"] and first["pushed"] and first["pushed_version"] == 1 and not first["has_baseline"]
    assert not degraded["blessed"] and not degraded["pushed"] and degraded["has_baseline"]
    failed = {failure["metric"] for failure in degraded["failed_thresholds"] if failure["against_baseline"]}
    assert {"hr@10", "ndcg@10"} <= failed
    assert third["blessed"] and third["pushed"] and third["pushed_version"] == 2 and third["has_baseline"]
    model_base = os.path.join(config.model_base, "retrieval")
    assert versions(model_base) == [1, 2]
    assert tf.io.gfile.exists(os.path.join(model_base, "2", "saved_model.pb"))
    warmup = [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request.model_spec.signature_name
              for record in tf.data.TFRecordDataset(os.path.join(model_base, "2", WARMUP_FILE))]
    assert collections.Counter(warmup) == {"serving_default": 8, "recommend_examples": 8, "item_embeddings": 8,
                                            "item_details": 8}
    with open(os.path.join(config.model_base, MODELS_CONFIG), encoding="utf-8") as stream:
        models_config = stream.read()
    assert 'name: "retrieval"' in models_config and model_base in models_config


def test_report_prints_the_table_and_names_the_failed_metrics(three_runs, capsys):
    config, (_, degraded, _) = three_runs
    assert cli.main(["pipeline", "report", "--root", config.root]) == 0
    printed = capsys.readouterr().out
    assert "Evaluator, retrieval (against last blessed model): BLESSED, pushed as version 2" in printed
    assert "target_popularity=head" in printed and "history_length_bucket=>20" in printed
    assert os.path.exists(os.path.join(config.root, "report.html"))
    cli._print_evaluation("retrieval", degraded)
    printed = capsys.readouterr().out
    assert "NOT blessed, not pushed" in printed
    assert "failed: hr@10 (overall): change vs baseline" in printed


def _independent_metrics(topk_path: str, targets: dict, catalog_ids, categories, train_pairs, k: int) -> dict:
    """Section 3 from the dumped lists alone, vectorised with numpy (no RecGen metric code)."""
    lists = {}
    with open(topk_path, encoding="utf-8") as stream:
        for line in stream:
            row = json.loads(line)
            lists[row["user_id"]] = row["items"][:k]
    users = sorted(lists)
    ranks = np.array([lists[u].index(targets[u]) + 1 if targets[u] in lists[u] else np.inf for u in users])
    position = {item: n for n, item in enumerate(catalog_ids)}
    counts = np.bincount([position[i] for u in users for i in lists[u]], minlength=len(catalog_ids))
    names = sorted({c for cs in categories for c in cs})
    vectors = np.array([[float(name in cs) for name in names] for cs in categories])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    ild = []
    for u in users:
        v = vectors[[position[i] for i in lists[u]]]
        v = v[v.any(axis=1)]  # items without categories take no part in ILD
        similarity = v @ v.T
        n = len(v)
        if n >= 2:
            ild.append((n * (n - 1) - (similarity.sum() - np.trace(similarity))) / (n * (n - 1)))
    train_users = len({user for user, _ in train_pairs})
    seen_by = np.bincount([position[item] for _, item in train_pairs], minlength=len(catalog_ids))
    information = -np.log2(np.where(seen_by > 0, seen_by / train_users, 1 / (train_users + 1)))
    listed = [position[i] for u in users for i in lists[u]]
    sorted_counts = np.sort(counts)
    n = len(sorted_counts)
    gini = np.sum((2 * np.arange(1, n + 1) - n - 1) * sorted_counts) / (n * sorted_counts.sum())
    hit = ranks <= k
    return {f"hr@{k}": hit.mean(), f"ndcg@{k}": np.where(hit, 1 / np.log2(np.minimum(ranks, 1e9) + 1), 0).mean(),
            f"mrr@{k}": np.where(hit, 1 / ranks, 0).mean(), f"coverage@{k}": (counts > 0).mean(),
            f"ild@{k}": float(np.mean(ild)), f"novelty@{k}": information[listed].mean(), f"gini@{k}": gini}


def test_tfma_figures_equal_an_independent_computation_from_the_dumped_lists(three_runs):
    from pipelines.artifacts import latest_rankings
    from recgen.contracts.run_root import latest_artifact_uri
    config, (_, _, third) = three_runs
    examples_uri = latest_artifact_uri(config, "Examples", custom_property="source_format")
    spec = {F.USER_ID: tf.io.FixedLenFeature([], tf.string), F.ITEM_ID: tf.io.FixedLenFeature([], tf.string)}

    def pairs(split):
        files = tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz"))
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(lambda r: tf.io.parse_single_example(r, spec))
        return {(row[F.USER_ID].numpy().decode(), row[F.ITEM_ID].numpy().decode()) for row in dataset}

    targets = dict(pairs(F.TEST))
    catalog = read_catalog(latest_artifact_uri(config, ItemCatalog.TYPE_NAME))
    catalog_ids = [item.decode() for item in catalog.item_ids]
    categories = [[c.decode() for c in row if c] for row in catalog.categories]
    topk_path = latest_rankings(config)["topk_test_path"]
    candidate = third["slices"]["overall"]["candidate"]
    for k in (10, 50, 100):
        expected = _independent_metrics(topk_path, targets, catalog_ids, categories, pairs(F.TRAIN), k)
        for name, value in expected.items():
            assert candidate[name] == pytest.approx(value, abs=1e-6), name


def test_html_report_renders_its_plots_in_headless_chromium(three_runs, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no headless Chromium here (make browser installs it with apt-get where it can)")
    config, outcomes = three_runs
    path = write_html_report({"retrieval": outcomes[1], "generator": None}, str(tmp_path / "report.html"))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--enable-logging=stderr", "--v=0", "--window-size=1200,2400"]
    shot = tmp_path / "report.png"
    result = subprocess.run(flags + [f"--screenshot={shot}", f"file://{path}"], capture_output=True, text=True,
                            timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-2000:]
    assert "Uncaught" not in result.stderr and "CONSOLE" not in result.stderr, result.stderr[-2000:]
    dom = subprocess.run(flags + ["--dump-dom", f"file://{path}"], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("data:image/png;base64,") == 3  # accuracy vs K, trade-off, per slice
    assert "NOT blessed" in dom and "hr@10 (overall): change vs baseline" in dom
    pixels = tf.io.decode_png(shot.read_bytes()).numpy()
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50  # plots drawn, not a blank page
