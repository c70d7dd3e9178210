"""The whole pipeline through Transform, the two-tower Trainer and the test-split ranking.

One run on synthetic data (which has titles and categories) checks the exported
SavedModel's signatures and ops; one run on the real Amazon data set guards accuracy
against a most-popular baseline computed here, independently of the pipeline. Both runs
(``synthetic_run``, ``amazon_run``) are session fixtures in ``conftest.py``.
"""
import collections
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from components.artifacts import ItemCatalog, TextEncoder
from pipelines.artifacts import latest_rankings
from recgen.cli import main as recgen_main
from recgen.contracts import features as F
from recgen.contracts.run_root import latest_artifact_uri, latest_ingestion_report
from recgen.contracts.serving_ops import check_servable
from recgen.contracts.model_base import WARMUP_FILE
from recgen.contracts.signatures import (
    CATEGORIES_OUTPUT,
    HISTORY_LENGTH_OUTPUT,
    ITEM_DETAILS_SIGNATURE,
    SETTINGS_SIGNATURE,
    TITLES_OUTPUT,
)
from recgen.metrics import accuracy_at_k, ranks_in_lists
from tests.serving_fixtures import catalog_details  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def raw_examples(examples_uri, split):
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz")))
    return [record.numpy() for record in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def strings(feature, name):
    return [v.decode() for v in feature[name].bytes_list.value] if name in feature else []


def recommend(model, history, k=10, exclude=(), user="user_000001", timestamp=2_000_000_000):
    width = max(len(history), 1)
    result = model.signatures["recommend"](
        user_id=tf.constant([user]), history_item_ids=tf.constant([list(history) + [""] * (width - len(history))]),
        history_timestamps=tf.constant([[timestamp - 60 * (len(history) - n) for n in range(width)]], tf.int64),
        timestamp=tf.constant([timestamp], tf.int64), k=tf.constant(k),
        exclude_item_ids=tf.constant([list(exclude) or [""]]))
    return [i.decode() for i in result["item_ids"].numpy()[0]], result["scores"].numpy()[0]


def test_every_exported_graph_uses_only_ops_stock_tf_serving_has(synthetic_run):
    _, model_dir, model = synthetic_run
    check_servable(model_dir)
    assert {"recommend", "serving_default", "query_embedding", "candidate_embedding",
            SETTINGS_SIGNATURE, ITEM_DETAILS_SIGNATURE} <= set(model.signatures)


def test_item_details_are_the_catalogs_and_empty_for_unknown_ids(synthetic_run, catalog_details):
    config, _, model = synthetic_run
    known = sorted(catalog_details)[::7]
    details = model.signatures[ITEM_DETAILS_SIGNATURE](item_ids=tf.constant(known + ["not-an-item"]))
    titles, categories = details[TITLES_OUTPUT].numpy(), details[CATEGORIES_OUTPUT].numpy()
    assert [(t.decode(), [c.decode() for c in row if c]) for t, row in zip(titles, categories)] == \
        [catalog_details[item] for item in known] + [("", [])]
    assert all(title for title, _ in map(catalog_details.get, known))
    assert max(len(row) for _, row in catalog_details.values()) == categories.shape[1] > 1
    warmup = [prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
              for record in tf.data.TFRecordDataset(os.path.join(config.model_base, "retrieval", "1", WARMUP_FILE))]
    replayed = [request for request in warmup if request.model_spec.signature_name == ITEM_DETAILS_SIGNATURE]
    assert len(replayed) == 8 and all(tf.make_ndarray(r.inputs["item_ids"]).size == 1 for r in replayed), \
        "the pushed version warms item_details up like the service's other signatures"


def test_the_export_carries_the_pipeline_configs_history_length(synthetic_run):
    config, _, model = synthetic_run
    settings = model.signatures[SETTINGS_SIGNATURE](examples=tf.constant([""]))
    assert settings[HISTORY_LENGTH_OUTPUT].numpy().tolist() == [config.retrieval.history_length]


def test_recommend_removes_history_and_exclusions_and_returns_k_sorted(synthetic_run):
    _, _, model = synthetic_run
    history = ["item_000003", "item_000010", "item_000042"]
    items, scores = recommend(model, history, k=15, exclude=["item_000007"])
    assert len(items) == 15 and not set(items) & set(history + ["item_000007"])
    assert list(scores) == sorted(scores, reverse=True)


def test_a_new_event_changes_the_next_recommendation_without_retraining(synthetic_run):
    _, _, model = synthetic_run
    before, _ = recommend(model, ["item_000003", "item_000010"], k=10)
    after, _ = recommend(model, ["item_000003", "item_000010", before[0]], k=10)
    assert before[0] not in after and after != before[1:]


def test_unknown_user_and_empty_history_still_get_a_full_list(synthetic_run):
    _, _, model = synthetic_run
    items, scores = recommend(model, [], k=20, user="nobody-seen-before")
    assert len(set(items)) == 20 and np.isfinite(scores).all()


def test_query_and_candidate_embeddings_reproduce_recommend_scores(synthetic_run):
    _, _, model = synthetic_run
    history = ["item_000001", "item_000002"]
    items, scores = recommend(model, history, k=5)
    query = model.signatures["query_embedding"](
        user_id=tf.constant(["user_000001"]), history_item_ids=tf.constant([history]),
        history_timestamps=tf.constant([[2_000_000_000 - 120, 2_000_000_000 - 60]], tf.int64),
        timestamp=tf.constant([2_000_000_000], tf.int64))["embedding"].numpy()
    catalog = {}
    for record in raw_examples(latest_ingestion_report(synthetic_run[0])["examples_uri"], "train"):
        feature = tf.train.Example.FromString(record).features.feature
        catalog[strings(feature, F.ITEM_ID)[0]] = feature
    chosen = [catalog[item] for item in items]
    candidates = model.signatures["candidate_embedding"](
        item_id=tf.constant(items), item_title=tf.constant([strings(f, F.ITEM_TITLE)[0] for f in chosen]),
        item_categories=tf.ragged.constant([strings(f, F.ITEM_CATEGORIES) for f in chosen]).to_tensor(""),
        item_description=tf.constant([strings(f, F.ITEM_DESCRIPTION)[0] for f in chosen]))["embedding"].numpy()
    np.testing.assert_allclose(candidates @ query[0], scores, rtol=1e-4, atol=1e-5)


def test_an_item_never_trained_on_is_embedded_from_its_content(synthetic_run):
    _, _, model = synthetic_run
    embed = model.signatures["candidate_embedding"]
    args = dict(item_title=tf.constant(["Cozy Novel 999", "Cozy Novel 999"]),
                item_categories=tf.constant([["books", ""], ["garden", "tools"]]),
                item_description=tf.constant(["a cozy novel", "a sturdy spade"]))
    vectors = embed(item_id=tf.constant(["brand-new-1", "brand-new-2"]), **args)["embedding"].numpy()
    assert np.isfinite(vectors).all() and not np.allclose(vectors[0], vectors[1])


def with_unknowns(record: bytes, user: str, history: list) -> bytes:
    """``record`` with another user and history (timestamps a minute apart, before the example's)."""
    example = tf.train.Example.FromString(record)
    features = example.features.feature
    timestamp = features[F.TIMESTAMP].int64_list.value[0]
    features[F.USER_ID].bytes_list.value[:] = [user.encode()]
    features[F.HISTORY_ITEM_IDS].bytes_list.value[:] = [item.encode() for item in history]
    features[F.HISTORY_TIMESTAMPS].int64_list.value[:] = [timestamp - 60 * (len(history) - n) for n in range(len(history))]
    return example.SerializeToString()


def test_the_query_path_computes_what_transforms_whole_graph_computes(synthetic_run):
    import tensorflow_transform as tft

    from trainer import preprocessing as P
    from trainer.query_transform import QueryTransform
    config, _, _ = synthetic_run
    tft_output = tft.TFTransformOutput(latest_artifact_uri(config, "TransformGraph", producer="Transform"))
    records = raw_examples(latest_ingestion_report(config)["examples_uri"], "test")
    known = [item.decode() for item in tft_output.vocabulary_by_name(P.ITEM_VOCAB)[:3]]  # indices 0, 1, 2
    records += [with_unknowns(records[0], "nobody-seen-before", ["never-sold", *known, "never-sold-2"]),
                with_unknowns(records[1], "nobody-seen-before", [])]
    raw = tf.io.parse_example(records, tft_output.raw_feature_spec())
    whole = tft_output.transform_features_layer()(raw)
    query = QueryTransform(tft_output, config.retrieval)(*P.raw_query(raw))
    assert set(query) == set(P.QUERY_FEATURES)
    for key in P.QUERY_FEATURES:
        np.testing.assert_array_equal(query[key].numpy(), whole[key].numpy(), err_msg=key)
    unknown_user, unknown_item = (tft_output.vocabulary_size_by_name(name) for name in (P.USER_VOCAB, P.ITEM_VOCAB))
    assert query[P.USER_INDEX].numpy()[-1] == unknown_user
    assert query[P.HISTORY_ITEM_INDEX].numpy()[-2, :6].tolist() == [unknown_item, 2, 1, 0, unknown_item, P.PAD]
    assert (query[P.HISTORY_ITEM_INDEX].numpy()[-1] == P.PAD).all()


def test_serving_default_over_tf_examples_matches_the_dumped_top_k(synthetic_run):
    config, _, model = synthetic_run
    report = latest_rankings(config)
    dumped = [json.loads(line) for line in open(report["topk_test_path"])]
    records = raw_examples(latest_ingestion_report(config)["examples_uri"], "test")
    assert len(dumped) == len(records) == 300
    served = model.signatures["serving_default"](tf.constant(records[:25]))
    for line, items, scores in zip(dumped, served["item_ids"].numpy(), served["scores"].numpy()):
        assert line["items"] == [i.decode() for i, score in zip(items, scores) if np.isfinite(score)]


def test_report_json_names_the_top_k_file_and_its_metrics(synthetic_run, capsys):
    config, _, _ = synthetic_run
    assert recgen_main(["pipeline", "report", "--root", config.root, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert os.path.exists(report["topk_test_path"])
    assert report["retrieval"]["users"] == 300 and 0 <= report["retrieval"]["hr@10"] <= 1


def most_popular_ranks(examples_uri):
    """Most-popular baseline, computed here from the raw examples: train + eval events per item
    (what the test split's model may learn from; the issue's 0.078 is scored this way)."""
    counts = collections.Counter()
    for record in raw_examples(examples_uri, "train") + raw_examples(examples_uri, "eval"):
        counts[strings(tf.train.Example.FromString(record).features.feature, F.ITEM_ID)[0]] += 1
    ranking = sorted(counts, key=lambda item: (-counts[item], item))
    lists, targets = [], []
    for record in raw_examples(examples_uri, "test"):
        feature = tf.train.Example.FromString(record).features.feature
        seen = set(strings(feature, F.SEEN_ITEM_IDS))
        lists.append([item for item in ranking if item not in seen][:10])
        targets.append(strings(feature, F.ITEM_ID)[0])
    return ranks_in_lists(lists, targets)


def test_amazon_top_100_excludes_history_and_beats_most_popular_clearly(amazon_run):
    report = latest_rankings(amazon_run)
    examples_uri = latest_ingestion_report(amazon_run)["examples_uri"]
    dumped = {line["user_id"]: line["items"] for line in map(json.loads, open(report["topk_test_path"]))}
    targets, lists = [], []
    for record in raw_examples(examples_uri, "test"):
        feature = tf.train.Example.FromString(record).features.feature
        user = strings(feature, F.USER_ID)[0]
        assert len(dumped[user]) == 100 and not set(dumped[user]) & set(strings(feature, F.SEEN_ITEM_IDS))
        targets.append(strings(feature, F.ITEM_ID)[0])
        lists.append(dumped[user])
    assert len(dumped) == len(targets) == 1429
    ours = accuracy_at_k(ranks_in_lists(lists, targets), 10)
    assert ours["hr@10"] == pytest.approx(report["retrieval"]["hr@10"], abs=1e-12)
    popular = accuracy_at_k(most_popular_ranks(examples_uri), 10)
    assert popular["hr@10"] == pytest.approx(0.078, abs=0.002)  # the figure, same protocol
    assert ours["hr@10"] >= 1.25 * popular["hr@10"], (ours, popular)


def retrieval_fn_args(config, retrieval=None, **fields):
    """FnArgs for ``trainer.retrieval_trainer`` over the synthetic run's artifacts (``retrieval``: its
    RetrievalConfig, default the run's)."""
    from tfx.components.trainer.fn_args_utils import FnArgs

    from trainer.catalog import ITEM_CATALOG_URI
    from trainer.retrieval_trainer import TEXT_ENCODER_URI
    uri = lambda type_name, producer=None: latest_artifact_uri(config, type_name, producer=producer)
    transformed = uri("Examples", "Transform")
    return FnArgs(transform_output=uri("TransformGraph", "Transform"), train_steps=None,
                  train_files=[os.path.join(transformed, "Split-train", "*")],
                  eval_files=[os.path.join(transformed, "Split-eval", "*")],
                  custom_config={"retrieval": (retrieval or config.retrieval).to_json(),
                                 ITEM_CATALOG_URI: uri(ItemCatalog.TYPE_NAME),
                                 TEXT_ENCODER_URI: uri(TextEncoder.TYPE_NAME)}, **fields)


def test_warm_start_restores_the_base_models_weights_through_its_vocabularies(synthetic_run):
    from trainer import warm_start
    from trainer.data import training_dataset
    from trainer.retrieval_trainer import _Training

    config, model_dir, _ = synthetic_run
    training = _Training(retrieval_fn_args(config, base_model=model_dir))
    model = training.new_model(training_dataset(training.fn_args.train_files, training.tft_output, training.config), 0)
    saved = np.load(os.path.join(os.path.dirname(model_dir), warm_start.WARM_START_DIR, warm_start.WEIGHTS_FILE))
    restored = {variable.name: variable.numpy() for variable in model.trainable_weights}
    assert set(restored) == set(saved.files)
    for name in saved.files:
        np.testing.assert_array_equal(restored[name], saved[name])  # same vocabularies: every row carried


@pytest.fixture(scope="module")
def single_phase_models(synthetic_run, tmp_path_factory):
    """``(config, [serving dir, serving dir])``: the synthetic run's retrieval config without the
    refit on eval, 2 epochs, trained twice by ``run_fn`` in this process, each time after another
    global seed (what an earlier component might leave behind)."""
    from trainer.retrieval_trainer import run_fn
    config, _, _ = synthetic_run
    single_phase = config.retrieval.replace(refit_on_eval=False, max_epochs=2)
    serving_dirs = []
    for attempt in range(2):
        tf.random.set_seed(1000 + attempt)
        serving_dir = str(tmp_path_factory.mktemp(f"single-phase-{attempt}") / "Format-Serving")
        run_fn(retrieval_fn_args(config, single_phase, base_model=None, serving_model_dir=serving_dir))
        serving_dirs.append(serving_dir)
    return single_phase, serving_dirs


def test_training_does_not_depend_on_what_ran_before_in_the_process(single_phase_models):
    """The pipeline runs every component in one process; the same run_fn twice must train the same model
    (tf.data's shuffle once paired its seed with whatever global seed an earlier component left)."""
    _, serving_dirs = single_phase_models
    embeddings = [tf.saved_model.load(serving_dir).candidate_embeddings.numpy() for serving_dir in serving_dirs]
    np.testing.assert_array_equal(embeddings[0], embeddings[1])


def test_warm_start_weights_are_the_early_stopped_models_not_the_refit_on_eval(synthetic_run, single_phase_models,
                                                                               tmp_path):
    """A next run selects its epochs on eval; weights refit on those eval events would bias it."""
    from trainer import warm_start
    from trainer.retrieval_trainer import run_fn
    config, _, _ = synthetic_run
    single_phase, (without_refit_dir, _) = single_phase_models
    with_refit_dir = str(tmp_path / "refit" / "Format-Serving")
    run_fn(retrieval_fn_args(config, single_phase.replace(refit_on_eval=True), base_model=None,
                             serving_model_dir=with_refit_dir))
    with_refit, without_refit = (np.load(os.path.join(os.path.dirname(serving_dir), warm_start.WARM_START_DIR,
                                                      warm_start.WEIGHTS_FILE))
                                 for serving_dir in (with_refit_dir, without_refit_dir))
    assert set(with_refit.files) == set(without_refit.files)
    for name in with_refit.files:
        np.testing.assert_array_equal(with_refit[name], without_refit[name], err_msg=name)


def test_progress_log_has_every_component_finishing(synthetic_run):
    """The progress lines come from these log records; a reset absl level once silenced them."""
    config, _, _ = synthetic_run
    log = open(os.path.join(config.root, "logs", "pipeline.log"), encoding="utf-8").read()
    for component in ("RecGenExampleGen", "TextEncoderGen", "Transform", "RetrievalTrainer", "SplitRanker",
                      "GeneratorTransform", "GeneratorTrainer", "SplitExplainer",
                      "RetrievalEvaluator", "GeneratorEvaluator"):
        assert f"Component {component} is finished." in log


def test_an_ensemble_serves_the_sum_of_its_members_scores(synthetic_run, single_phase_models, tmp_path):
    """Member 1 of an ensemble trains exactly as a single model would; the export concatenates the
    members' embeddings, so its scores are the members' scores added up."""
    from trainer import warm_start
    from trainer.retrieval_trainer import run_fn
    config, _, _ = synthetic_run
    single_phase, (single_dir, _) = single_phase_models  # ensemble_size 1
    assert single_phase.ensemble_size == 1
    serving_dir = str(tmp_path / "ensemble-2" / "Format-Serving")
    run_fn(retrieval_fn_args(config, single_phase.replace(ensemble_size=2), base_model=None,
                             serving_model_dir=serving_dir))
    modules = {1: tf.saved_model.load(single_dir), 2: tf.saved_model.load(serving_dir)}
    dim = single_phase.embedding_dim
    single, ensemble = modules[1].candidate_embeddings.numpy(), modules[2].candidate_embeddings.numpy()
    assert ensemble.shape == (single.shape[0], 2 * dim)
    np.testing.assert_allclose(ensemble[:, :dim], single, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ensemble[:, dim:], single, atol=1e-3)  # the second member has its own seed

    history = ["item_000003", "item_000010"]
    query = {"user_id": tf.constant(["user_000001"]), "history_item_ids": tf.constant([history]),
             "history_timestamps": tf.constant([[2_000_000_000 - 120, 2_000_000_000 - 60]], tf.int64),  # as recommend() sends
             "timestamp": tf.constant([2_000_000_000], tf.int64)}
    embedding = modules[2].signatures["query_embedding"](**query)["embedding"].numpy()[0]
    items, scores = recommend(modules[2], history, k=5, timestamp=2_000_000_000)
    found = modules[2].signatures["item_embeddings"](item_ids=tf.constant(items))["embeddings"].numpy()
    member_scores = [found[:, :dim] @ embedding[:dim], found[:, dim:] @ embedding[dim:]]
    np.testing.assert_allclose(scores, member_scores[0] + member_scores[1], rtol=1e-4, atol=1e-4)
    model_dir = tmp_path / "ensemble-2"
    history_file = json.loads((model_dir / "training_history.json").read_text())
    assert [member["seed"] for member in history_file["members"]] == [single_phase.seed, single_phase.seed + 1]
    assert os.path.exists(os.path.join(warm_start.member_directory(str(model_dir), 1), warm_start.WEIGHTS_FILE))


# Trains in a fresh process, so that the CPU can be split into two logical devices before
# TensorFlow starts: MirroredStrategy then has two replicas to keep in sync, as on a 2-GPU machine.
TWO_REPLICA_RUN = """
import json, sys
import recgen  # noqa: F401 (TF_USE_LEGACY_KERAS)
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfx.components.trainer.fn_args_utils import FnArgs
from trainer.distribution import training_strategy
from trainer.retrieval_trainer import run_fn
run_fn(FnArgs(**json.loads(sys.argv[1])))
print(json.dumps({"replicas": training_strategy("mirrored").num_replicas_in_sync,
                  "policy_after": tf.keras.mixed_precision.global_policy().name}))
"""


def graph_dtypes(serving_dir) -> set:
    """Every dtype a node attribute of the SavedModel's functions names."""
    from tensorflow.core.protobuf import saved_model_pb2
    saved = saved_model_pb2.SavedModel.FromString(open(os.path.join(serving_dir, "saved_model.pb"), "rb").read())
    return {tf.dtypes.as_dtype(value.type).name for function in saved.meta_graphs[0].graph_def.library.function
            for node in function.node_def for value in node.attr.values() if value.type}


def test_mirrored_bfloat16_training_on_two_replicas_exports_a_float32_model(synthetic_run, tmp_path):
    """``distribute="mirrored"`` with ``dtype_policy="mixed_bfloat16"``, as on a GPU machine: two replicas
    train in sync, the graph computes in bfloat16, the export serves float32 scores that rank at least half as
    well as a float32 single-device model's, and the process's global policy is float32 again."""
    import subprocess
    import sys

    config, model_dir, _ = synthetic_run
    placed = config.retrieval.replace(distribute="mirrored", dtype_policy="mixed_bfloat16")
    serving_dir = str(tmp_path / "placed" / "Format-Serving")
    args = retrieval_fn_args(config, placed, base_model=None, serving_model_dir=serving_dir)
    fields = {name: getattr(args, name) for name in ("transform_output", "train_files", "eval_files", "custom_config",
                                                     "serving_model_dir", "base_model", "train_steps")}
    done = subprocess.run([sys.executable, "-c", TWO_REPLICA_RUN, json.dumps(fields)], check=True,
                          stdout=subprocess.PIPE, text=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"replicas": 2, "policy_after": "float32"}
    assert "bfloat16" in graph_dtypes(serving_dir)
    model = tf.saved_model.load(serving_dir)
    assert model.candidate_embeddings.dtype == tf.float32
    items, scores = recommend(model, ["item_000003", "item_000010"], k=5)
    assert len(items) == 5 and scores.dtype == np.float32 and not {"item_000003", "item_000010"} & set(items)
    placed_eval, float32_eval = (json.loads(open(os.path.join(directory, "training_history.json")).read())["best_eval"]
                                 for directory in (os.path.dirname(serving_dir), os.path.dirname(model_dir)))
    assert placed_eval["hr@10"] >= 0.5 * float32_eval["hr@10"], (placed_eval, float32_eval)
