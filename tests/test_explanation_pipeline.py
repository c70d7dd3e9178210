"""The explanation branch of the pipeline: GeneratorTransform -> GeneratorTrainer -> SplitExplainer -> GeneratorEvaluator.

Runs on the shared synthetic run (``conftest.synthetic_run``, whose reviews depend on the
user's persona and favourite category and on the item) and on the Amazon run (the dump
covers every test user with ids as in the source).
"""
import json
import os

import pytest
import tensorflow as tf

from recgen.cli import main as recgen_main
from components.evaluation import baseline_texts
from components.evaluation.tfma_metrics import metric_names
from recgen.contracts import features as F
from recgen.contracts.loaded_signature import LoadedSignature
from recgen.contracts.run_root import latest_artifact, latest_artifact_uri
from recgen.contracts.serving_ops import check_servable
from recgen.sentiment import is_negative
from recgen.text_metrics import text_quality
from trainer.generator.keywords import ITEM_KEYWORDS_FILE, read_item_keywords
from tests.test_retrieval_pipeline import raw_examples, strings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def synthetic_generator(synthetic_run):
    config, _, _ = synthetic_run
    model_dir = os.path.join(latest_artifact_uri(config, "Model", producer="GeneratorTrainer"), "Format-Serving")
    return config, model_dir, LoadedSignature(model_dir, "generate")


def report_json(config, capsys):
    capsys.readouterr()
    assert recgen_main(["pipeline", "report", "--root", config.root, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_test_split_explanations_cover_every_test_user_and_score_as_the_report_says(synthetic_run, capsys):
    config, _, _ = synthetic_run
    report = report_json(config, capsys)
    rows = [json.loads(line) for line in open(report["explanations_test_path"], encoding="utf-8")]
    test = [tf.train.Example.FromString(r).features.feature for r in raw_examples(report["data"]["examples_uri"], F.TEST)]
    expected = {(strings(f, F.USER_ID)[0], strings(f, F.ITEM_ID)[0]): (strings(f, F.SUMMARY) or [""])[0].strip()
                for f in test}
    assert {(r["user_id"], r["item_id"]): r["reference"] for r in rows} == expected
    assert len(rows) == len(test) and all(set(r) == {"user_id", "item_id", "text", "reference"} for r in rows)
    assert all(r["text"].strip() for r in rows)
    # The report's figures (the GeneratorEvaluator's), recomputed here from the dumped texts and
    # the generator's item keywords (FMR's feature words).
    scored = [r for r in rows if r["reference"]]
    features = read_item_keywords(os.path.join(latest_artifact_uri(config, "Model", producer="GeneratorTrainer"),
                                               ITEM_KEYWORDS_FILE))
    score = lambda texts: text_quality([r["user_id"] for r in scored], [r["item_id"] for r in scored], texts,
                                       [r["reference"] for r in scored], features)
    metrics = report["explanations"]
    assert metrics["generator"] == pytest.approx(score([r["text"] for r in scored]), abs=1e-9)
    baselines = baseline_texts.read(os.path.join(os.path.dirname(report["explanations_test_path"]),
                                                 baseline_texts.FILE))
    assert set(baselines) == set(expected)
    for n, name in enumerate(("item_most_frequent", "similar_user")):
        assert metrics[name] == pytest.approx(score([baselines[(r["user_id"], r["item_id"])][n] for r in scored]),
                                              abs=1e-9), name
    assert metrics["item_most_frequent"]["personalization"] == 0.0   # one text per item, by definition


def test_no_explanation_argues_against_its_item_though_the_reviews_include_negative_ones(synthetic_run, capsys):
    config, _, _ = synthetic_run
    report = report_json(config, capsys)
    rows = [json.loads(line) for line in open(report["explanations_test_path"], encoding="utf-8")]
    negative_references = [r["reference"] for r in rows if is_negative(r["reference"])]
    assert len(negative_references) >= 0.05 * len(rows), "the synthetic reviews should include negative ones"
    assert [r["text"] for r in rows if is_negative(r["text"])] == []
    assert report["explanations"]["generator"]["negative-share"] == 0.0
    assert report["explanations"]["item_most_frequent"]["negative-share"] > 0.0   # the baselines copy reviews


def test_ranker_and_explainer_write_no_metrics_and_the_report_shows_the_evaluators(synthetic_run, capsys):
    """The Evaluator is the one place test-split metrics are computed (docs/pipeline.md)."""
    config, _, _ = synthetic_run
    metric_like = set(metric_names("TopKAccuracy", (10, 50, 100)) + metric_names("ExplanationQuality")
                      + ["users", "split"])
    files = {"recgen.Rankings": {"topk_test.jsonl"}, "recgen.Explanations": {"explanations_test.jsonl",
                                                                              baseline_texts.FILE}}
    for type_name, expected_files in files.items():
        artifact = latest_artifact(config, type_name)
        assert set(os.listdir(artifact.uri)) == expected_files, type_name
        assert not set(artifact.custom_properties) & metric_like, (type_name, list(artifact.custom_properties))
    report = report_json(config, capsys)
    evaluations = {name: report["evaluation"][name]["slices"]["overall"]["candidate"] for name in report["evaluation"]}
    retrieval = evaluations["retrieval"]
    assert report["retrieval"] == {"users": retrieval["example_count"], "top_k": 100,
                                   **{name: retrieval[name] for name in metric_names("TopKAccuracy", (10, 50, 100))}}
    generator = evaluations["generator"]
    assert report["explanations"]["users"] == generator["example_count"]
    for explainer in ("generator", "item_most_frequent", "similar_user"):
        prefix = "" if explainer == "generator" else f"{explainer}/"
        assert report["explanations"][explainer] == {name: generator[prefix + name]
                                                     for name in metric_names("ExplanationQuality")}, explainer


def test_exported_generator_uses_only_servable_ops(synthetic_generator):
    _, model_dir, _ = synthetic_generator
    assert not any(op.startswith("Xla") for op in check_servable(model_dir))


def histories(config):
    examples = raw_examples(latest_artifact_uri(config, "Examples", custom_property="source_format"), F.TEST)
    return [(strings(f, F.USER_ID)[0], strings(f, F.ITEM_ID)[0], strings(f, F.HISTORY_ITEM_IDS))
            for f in (tf.train.Example.FromString(r).features.feature for r in examples)]


def generate(signature, users, items, history_lists, **decoding):
    width = max(1, max(len(h) for h in history_lists))
    padded = [list(h) + [""] * (width - len(h)) for h in history_lists]
    result = signature(user_id=tf.constant(users), item_id=tf.constant(items),
                       history_item_ids=tf.constant(padded, tf.string), **decoding)
    return [t.decode() for t in result["explanations"].numpy()]


def test_changing_only_the_history_changes_the_text_for_the_same_item(synthetic_generator):
    config, _, signature = synthetic_generator
    rows = histories(config)[:40]
    users, items, own = zip(*rows)
    others = [rows[(n + len(rows) // 2) % len(rows)][2] for n in range(len(rows))]   # another user's history
    with_own = generate(signature, list(users), list(items), list(own))
    with_other = generate(signature, list(users), list(items), others)
    changed = sum(a != b for a, b in zip(with_own, with_other))
    # The copy bias toward the item's own keywords (docs/pipeline.md) makes the item fix most of the
    # text; the history still has to change a clear share of it (45 % at the default settings).
    assert changed >= len(rows) // 3, list(zip(with_own, with_other))[:5]


def test_same_seed_and_settings_give_the_same_text(synthetic_generator):
    config, _, signature = synthetic_generator
    users, items, own = zip(*histories(config)[:16])
    sample = lambda seed: generate(signature, list(users), list(items), list(own), temperature=tf.constant(0.9),
                                   top_p=tf.constant(0.95), seed=tf.constant(seed, tf.int64))
    assert sample(11) == sample(11)
    assert generate(signature, list(users), list(items), list(own)) == generate(signature, list(users), list(items), list(own))


def test_empty_history_and_unknown_item_get_a_generic_explanation(synthetic_generator):
    _, _, signature = synthetic_generator
    texts = generate(signature, ["user_000001", "nobody", "user_000001"], ["item_000003", "item_000003", "no-such-item"],
                     [[], [], ["item_000003"]])
    assert all(len(text.split()) >= 2 for text in texts), texts


@pytest.mark.parametrize("setting, value, message", [
    ("max_length", tf.constant(-3), "max_length must be at least 1"),
    ("top_p", tf.constant(1.5), r"top_p must be in \(0, 1\]"),
    ("top_p", tf.constant(0.0), r"top_p must be in \(0, 1\]"),
    ("copy_bias", tf.constant(-1.0), "copy_bias must be >= 0")])
def test_bad_decoding_settings_are_rejected_with_a_clear_message(synthetic_generator, setting, value, message):
    _, _, signature = synthetic_generator
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        generate(signature, ["user_000001"], ["item_000003"], [[]], **{setting: value})


def test_amazon_explanations_dump_has_every_test_user_with_source_ids(amazon_run, capsys):
    report = report_json(amazon_run, capsys)
    rows = [json.loads(line) for line in open(report["explanations_test_path"], encoding="utf-8")]
    assert len(rows) == 1429 and len({r["user_id"] for r in rows}) == 1429
    assert all(r["item_id"].startswith("B") or r["item_id"][0].isdigit() for r in rows)   # ASINs as in the source
    assert report["explanations"]["generator"]["pairs"] == 1429


def test_no_explanations_leaves_the_generator_branch_out(tmp_path):
    from pipelines.recgen_pipeline import PipelineConfig, create_components
    ids = lambda **fields: {c.id for c in create_components(PipelineConfig(data_path=str(tmp_path), root=str(tmp_path),
                                                                           **fields))}
    branch = {"GeneratorTransform", "GeneratorTrainer", "SplitExplainer"}
    assert branch <= ids() and "SplitRanker" in ids(explain=False)
    assert not branch & ids(explain=False)


def test_explain_examples_signature_writes_what_generate_writes_for_the_same_rows(synthetic_generator):
    """The Evaluator scores ``explain_examples`` (serialized examples); serving calls ``generate``."""
    config, model_dir, signature = synthetic_generator
    examples = raw_examples(latest_artifact_uri(config, "Examples", custom_property="source_format"), F.TEST)[:16]
    users, items, history_lists = zip(*histories(config)[:16])
    from_examples = tf.saved_model.load(model_dir).signatures["explain_examples"](examples=tf.constant(examples))
    assert [t.decode() for t in from_examples["explanations"].numpy()] == generate(signature, users, items,
                                                                                    history_lists)


def test_first_run_blesses_the_generator_against_floors_and_pushes_version_1(synthetic_run, capsys):
    config, _, _ = synthetic_run
    report = report_json(config, capsys)
    generator = report["evaluation"]["generator"]
    assert generator["blessed"] and generator["pushed"] and generator["pushed_version"] == 1
    assert not generator["has_baseline"]
    assert {"target_popularity=head", "target_popularity=tail"} <= set(generator["slices"])
    assert generator["slices"]["overall"]["candidate"]["bleu-1"] >= 1.0  # the floor it was blessed against
    assert tf.io.gfile.exists(os.path.join(config.model_base, "generator", "1", "assets.extra",
                                           "tf_serving_warmup_requests"))
