"""RecGen's custom TFMA metrics, run by TFMA itself on fixtures whose answers are worked out by hand.

The "models" are tiny SavedModels that answer fixed lists / texts per user, so every
figure below can be checked on paper. The same evaluation configs the pipeline uses
(``components/evaluation/config.py``) drive TFMA, thresholds and blessing included.
"""
import json
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.utils import proto_utils

from components.evaluation import baseline_texts, item_statistics
from components.evaluation.config import (
    BASELINE,
    CANDIDATE,
    EvaluationConfig,
    generator_eval_config,
    retrieval_eval_config,
)
from components.evaluation.evaluator import with_metric_config
from recgen.metrics import accuracy_at_k
from recgen.text_metrics import text_quality

# user -> (target item, history length, top-3 list, scores); u3's last slot is excluded filler (-inf).
LISTS = {"u1": ("a", 3, ["a", "b", "c"], [3.0, 2.0, 1.0]),
         "u2": ("c", 12, ["b", "d", "c"], [3.0, 2.0, 1.0]),
         "u3": ("d", 40, ["a", "b", "d"], [3.0, 2.0, -np.inf])}
CATEGORIES = {"a": ["rock"], "b": ["rock", "jazz"], "c": ["jazz"], "d": []}
TRAIN_USERS_PER_ITEM, TRAIN_USERS = {"a": 2, "b": 1, "d": 4}, 4  # c: no training user


def _example(**features) -> bytes:
    feature = {}
    for key, value in features.items():
        if isinstance(value, int):
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        else:
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write_examples(path, rows) -> str:
    with tf.io.TFRecordWriter(path) as writer:
        for row in rows:
            writer.write(_example(**row))
    return path


class _FixedSlices(tf.Module):
    """``slice_features``: history bucket from ``history_length``; only u1's target counts as head."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def slice_features(self, examples):
        raw = tf.io.parse_example(examples, {"user_id": tf.io.FixedLenFeature([], tf.string),
                                             "history_length": tf.io.FixedLenFeature([], tf.int64, default_value=0)})
        bucket = tf.where(raw["history_length"] <= 5, "<=5", tf.where(raw["history_length"] <= 20, "6-20", ">20"))
        return {"history_length_bucket": bucket,
                "target_popularity": tf.where(raw["user_id"] == "u1", "head", "tail")}


class _FixedLists(_FixedSlices):
    """``serving_default``: a fixed top-3 per user."""

    def __init__(self, lists):
        super().__init__()
        users = sorted(lists)
        self.rows = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(users), tf.range(len(users), dtype=tf.int64)), default_value=0)
        self.items = tf.constant([lists[user][2] for user in users])
        self.scores = tf.constant([lists[user][3] for user in users], tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, examples):
        rows = self.rows.lookup(tf.io.parse_example(examples, {"user_id": tf.io.FixedLenFeature([], tf.string)})[
            "user_id"])
        return {"item_ids": tf.gather(self.items, rows), "scores": tf.gather(self.scores, rows)}


class _FixedTexts(_FixedSlices):
    """``explain_examples``: a fixed text per user."""

    def __init__(self, texts):
        super().__init__()
        self.texts = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(texts)), tf.constant(list(texts.values()))), default_value="")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def explain(self, examples):
        users = tf.io.parse_example(examples, {"user_id": tf.io.FixedLenFeature([], tf.string)})["user_id"]
        return {"explanations": self.texts.lookup(users)}


def _save(module, path, signature_methods) -> str:
    """Saves ``module`` with ``{signature name: method name}``."""
    tf.saved_model.save(module, path, signatures={name: getattr(module, method)
                                                  for name, method in signature_methods.items()})
    return path


def _analyse(eval_config, model_paths, data_path, output_path):
    """TFMA over the fixture the way TFX's Evaluator calls it; returns (metrics by slice, validation)."""
    eval_config = tfma.utils.update_eval_config_with_defaults(eval_config, has_baseline=len(model_paths) > 1,
                                                             rubber_stamp=True)
    models = [tfma.default_eval_shared_model(model_paths[BASELINE if spec.is_baseline else CANDIDATE],
                                             model_name=spec.name, eval_config=eval_config)
              for spec in eval_config.model_specs]  # as TFX's Evaluator does
    tfma.run_model_analysis(eval_shared_model=models if len(models) > 1 else models[0], eval_config=eval_config,
                            data_location=data_path, output_path=output_path)
    by_slice = {}
    for metrics in tfma.load_metrics(output_path):
        slice_name = tuple((key.column, key.bytes_value.decode()) for key in metrics.slice_key.single_slice_keys)
        by_slice[slice_name] = {(item.key.model_name, item.key.name, item.key.is_diff): item.value.double_value.value
                                for item in metrics.metric_keys_and_values}
    return by_slice, tfma.load_validation_result(output_path)


@pytest.fixture(scope="module")
def retrieval_fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfma-retrieval")
    data = _write_examples(str(root / "examples.tfrecord"),
                           [{"user_id": user, "item_id": target, "history_length": length}
                            for user, (target, length, _, _) in LISTS.items()])
    statistics = item_statistics.ItemStatistics.build(sorted(CATEGORIES), [CATEGORIES[i] for i in sorted(CATEGORIES)],
                                                      TRAIN_USERS_PER_ITEM, TRAIN_USERS)
    statistics_path = root / "item_statistics.json"
    statistics_path.write_text(statistics.to_json())
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(with_metric_config(proto_utils.proto_to_json(
        retrieval_eval_config(EvaluationConfig(top_ks=(1, 3), retrieval_floors={"hr@3": 0.5}, retrieval_max_drops={}))),
        "TopKDiversity", item_statistics_path=str(statistics_path)), eval_config)
    model = _save(_FixedLists(LISTS), str(root / "candidate"),
                  {"serving_default": "serve", "slice_features": "slice_features"})
    return root, data, eval_config, model


def test_ranking_and_diversity_metrics_match_hand_computation(retrieval_fixture):
    root, data, eval_config, model = retrieval_fixture
    metrics, validation = _analyse(eval_config, {CANDIDATE: model}, data, str(root / "alone"))
    overall = {name: value for (_, name, _), value in metrics[()].items()}
    # Ranks: u1 1, u2 3, u3 miss (its d has score -inf: excluded filler, not a hit).
    assert overall["example_count"] == 3
    assert overall["hr@1"] == pytest.approx(1 / 3) and overall["hr@3"] == pytest.approx(2 / 3)
    assert overall["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert overall["mrr@3"] == pytest.approx((1 + 1 / 3) / 3)
    assert {name: overall[name] for name in ("hr@3", "ndcg@3", "mrr@3")} == pytest.approx(
        accuracy_at_k(np.array([1, 3, np.inf]), 3))  # the one formula, recgen/metrics.py
    # Top-1 lists a, b, a; top-3 lists abc, bdc, ab.
    assert overall["coverage@1"] == pytest.approx(2 / 4) and overall["coverage@3"] == pytest.approx(1.0)
    assert overall["gini@1"] == pytest.approx((-3 * 0 - 1 * 0 + 1 * 1 + 3 * 2) / (4 * 3))  # counts 0,0,1,2
    # -log2 p: a 1 bit (2 of 4 users), b 2 bits, c log2(5) (no user: 1/(4+1)), d 0 bits.
    assert overall["novelty@1"] == pytest.approx((1 + 2 + 1) / 3)
    assert overall["novelty@3"] == pytest.approx((1 + 2 + math.log2(5) + 2 + 0 + math.log2(5) + 1 + 2) / 8)
    near = 1 - 1 / math.sqrt(2)  # rock vs rock+jazz; d has no categories, so its pairs are left out
    assert math.isnan(overall["ild@1"])  # one item per list: no pair anywhere
    assert overall["ild@3"] == pytest.approx(((near + 1 + near) / 3 + near + near) / 3)  # abc, b-c of bdc, ab
    assert metrics[(("target_popularity", "head"),)][("", "hr@1", False)] == 1.0
    assert metrics[(("history_length_bucket", ">20"),)][("", "hr@3", False)] == 0.0
    assert validation.validation_ok  # hr@3 = 2/3 is above its floor of 0.5


def test_blessing_fails_when_worse_than_the_baseline_by_more_than_allowed(retrieval_fixture, tmp_path):
    root, data, _, model = retrieval_fixture
    better = dict(LISTS, u2=("c", 12, ["c", "b", "d"], [3.0, 2.0, 1.0]))  # u2's target moves to rank 1
    baseline = _save(_FixedLists(better), str(tmp_path / "baseline"),
                     {"serving_default": "serve", "slice_features": "slice_features"})
    config = EvaluationConfig(top_ks=(1, 3), retrieval_floors={"hr@3": 0.5},
                              retrieval_max_drops={"hr@1": 0.1, "hr@3": 0.0})
    statistics_path = str(root / "item_statistics.json")
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(with_metric_config(proto_utils.proto_to_json(retrieval_eval_config(config)),
                                                 "TopKDiversity", item_statistics_path=statistics_path), eval_config)
    metrics, validation = _analyse(eval_config, {CANDIDATE: model, BASELINE: baseline}, data, str(tmp_path / "out"))
    assert metrics[()][(CANDIDATE, "hr@1", True)] == pytest.approx(1 / 3 - 2 / 3)
    assert not validation.validation_ok
    failed = {failure.metric_key.name for per_slice in validation.metric_validations_per_slice
              for failure in per_slice.failures}
    assert failed == {"hr@1"}  # hr@3 is equal (both 2/3), above its floor and within its drop


def _generator_eval_config(baselines_path: str, item_keywords_path: str = "") -> tfma.EvalConfig:
    """The pipeline's generator eval config with the baselines' texts and the item keywords where the
    executor puts them."""
    config_json = with_metric_config(proto_utils.proto_to_json(generator_eval_config(EvaluationConfig())),
                                     "BaselineExplanationQuality", baselines_path=baselines_path,
                                     item_keywords_path=item_keywords_path)
    config_json = with_metric_config(config_json, "ExplanationQuality", item_keywords_path=item_keywords_path)
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(config_json, eval_config)
    return eval_config


def test_explanation_quality_metric_matches_hand_computation(tmp_path):
    data = _write_examples(str(tmp_path / "examples.tfrecord"),
                           [{"user_id": "u1", "item_id": "i1", "summary": "great strings"},
                            {"user_id": "u2", "item_id": "i1", "summary": "nice strings"},
                            {"user_id": "u3", "item_id": "i2", "summary": ""}])  # no reference: not scored
    model = _save(_FixedTexts({"u1": "great strings", "u2": "great strings", "u3": "x"}), str(tmp_path / "generator"),
                  {"explain_examples": "explain", "slice_features": "slice_features"})
    baselines_path = str(tmp_path / baseline_texts.FILE)
    baseline_texts.write(baselines_path, [("u1", "i1", {"item_most_frequent": "nice strings", "similar_user": "great"}),
                                          ("u2", "i1", {"item_most_frequent": "nice strings", "similar_user": "nice"}),
                                          ("u3", "i2", {"item_most_frequent": "x", "similar_user": "x"})])
    keywords_path = str(tmp_path / "item_keywords.json")
    with open(keywords_path, "w") as stream:
        json.dump({"i1": ["strings", "tone"], "i2": ["x"]}, stream)
    metrics, validation = _analyse(_generator_eval_config(baselines_path, keywords_path), {CANDIDATE: model}, data,
                                   str(tmp_path / "out"))
    overall = {name: value for (_, name, _), value in metrics[()].items()}
    # Unigrams: 3 of 4 generated match (great, strings, strings; "great" only once in u2's reference).
    assert overall["bleu-1"] == pytest.approx(75.0)
    assert overall["rouge-1"] == pytest.approx(75.0) and overall["rouge-l"] == pytest.approx(75.0)
    assert overall["distinct-1"] == pytest.approx(2 / 4) and overall["distinct-2"] == pytest.approx(1 / 2)
    assert overall["usr"] == 0.5 and overall["personalization"] == 0.0
    assert overall["pairs"] == 2 and overall["example_count"] == 3
    assert overall["fmr"] == 1.0 and overall["negative-share"] == 0.0           # both name "strings"
    assert overall["similar_user/fmr"] == 0.0 and overall["item_most_frequent/fmr"] == 1.0
    # item-most-frequent: "nice strings" for both; 3 of 4 unigrams match ("nice" not in u1's reference).
    assert overall["item_most_frequent/bleu-1"] == pytest.approx(75.0)
    assert overall["item_most_frequent/usr"] == 0.5 and overall["item_most_frequent/personalization"] == 0.0
    # similar-user: "great", "nice": each the first word of its reference, shorter (brevity penalty).
    assert overall["similar_user/rouge-1"] == pytest.approx(100 * 2 / 3)
    assert overall["similar_user/personalization"] == 1.0 and overall["similar_user/pairs"] == 2
    expected = text_quality(["u1", "u2"], ["i1", "i1"], ["great", "nice"], ["great strings", "nice strings"],
                            {"i1": ["strings", "tone"]})
    assert {name: overall[f"similar_user/{name}"] for name in expected} == pytest.approx(expected)
    head = {name: value for (_, name, _), value in metrics[(("target_popularity", "head"),)].items()}
    assert head["example_count"] == 1 and head["bleu-1"] == pytest.approx(100.0)  # u1's text is its reference
    assert head["item_most_frequent/pairs"] == 1
    assert validation.validation_ok


def test_baselines_text_quality_is_the_candidates_alone_without_a_difference(tmp_path):
    """The baseline explainers' texts do not depend on the model: no baseline-model value, no diff."""
    data = _write_examples(str(tmp_path / "examples.tfrecord"), [{"user_id": "u1", "item_id": "i1", "summary": "ok"}])
    models = {role: _save(_FixedTexts({"u1": text}), str(tmp_path / role),
                          {"explain_examples": "explain", "slice_features": "slice_features"})
              for role, text in ((CANDIDATE, "ok"), (BASELINE, "fine"))}
    baselines_path = str(tmp_path / baseline_texts.FILE)
    baseline_texts.write(baselines_path, [("u1", "i1", {"item_most_frequent": "ok", "similar_user": "no"})])
    metrics, _ = _analyse(_generator_eval_config(baselines_path), models, data, str(tmp_path / "out"))
    baseline_keys = {key for key in metrics[()] if key[1].startswith("item_most_frequent/")}
    assert baseline_keys and {(model, is_diff) for model, _, is_diff in baseline_keys} == {(CANDIDATE, False)}
    assert metrics[()][(CANDIDATE, "item_most_frequent/bleu-1", False)] == pytest.approx(100.0)
    assert metrics[()][(CANDIDATE, "bleu-1", True)] == pytest.approx(100.0)  # the model's own texts are diffed


def test_baselines_text_quality_without_the_explainers_texts_names_what_is_missing(tmp_path):
    data = _write_examples(str(tmp_path / "examples.tfrecord"), [{"user_id": "u1", "item_id": "i1", "summary": "ok"}])
    model = _save(_FixedTexts({"u1": "ok"}), str(tmp_path / "generator"),
                  {"explain_examples": "explain", "slice_features": "slice_features"})
    with pytest.raises(Exception, match="baselines_path"):
        _analyse(generator_eval_config(EvaluationConfig()), {CANDIDATE: model}, data, str(tmp_path / "out"))


def test_diversity_metric_without_item_statistics_names_what_is_missing(retrieval_fixture, tmp_path):
    root, data, _, model = retrieval_fixture
    with pytest.raises(Exception, match="item_statistics_path"):
        _analyse(retrieval_eval_config(EvaluationConfig(top_ks=(1,))), {CANDIDATE: model}, data, str(tmp_path))
