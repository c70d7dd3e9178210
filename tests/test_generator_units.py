"""The explanation generator's pieces, on toy inputs where the answer is known by hand, and a
tiny model trained here: decoding settings, the n-gram guard, top-k/top-p, the core-op cache
update, keyword tables, prompts, token sequences, the preset round trip and the export."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from recgen.contracts.loaded_signature import LoadedSignature
from recgen.contracts.serving_ops import check_servable
from trainer.catalog import Catalog
from trainer.evaluation_slices import EvaluationSlices
from trainer.generator.config import GeneratorConfig
from trainer.generator.decoding import (
    DecodingSettings,
    TokenBias,
    _core_slice_update,
    banned_ngram_logits,
    filtered_log_probs,
    tidy,
)
from trainer.generator.export import export_generator
from trainer.generator.keywords import KeywordTables, top_terms
from trainer.generator.model import build_causal_lm, load_preset, save_preset, training_batch
from trainer.generator.outcome import outcome_of
from trainer.generator.prompts import PromptBuilder
from trainer.generator.tokenizer import RESERVED_TOKENS, ExplanationTokenizer, learn_tokenizer

TINY = GeneratorConfig(num_layers=1, num_heads=2, hidden_dim=32, intermediate_dim=64, dropout=0.0,
                       max_prompt_tokens=24, max_target_tokens=8, vocabulary_size=200, item_keywords=2,
                       review_keywords=2, min_length=0, temperature=0.0, top_k=0,
                       copy_bias=0.0)  # greedy, unbiased by default


def settings(**changes):
    values = dict(max_length=8, min_length=0, temperature=0.0, top_k=0, top_p=1.0, no_repeat_ngram_size=3,
                  copy_bias=0.0, seed=0)
    values.update(changes)
    return DecodingSettings.checked(**values, config=TINY)


@pytest.mark.parametrize("changes, message", [
    ({"max_length": -1}, "max_length must be at least 1"), ({"max_length": 0}, "max_length must be at least 1"),
    ({"max_length": 17}, "max_length must be at most 16"), ({"top_p": 0.0}, "top_p must be in (0, 1]"),
    ({"top_p": 1.5}, "top_p must be in (0, 1]"), ({"temperature": -0.1}, "temperature must be >= 0"),
    ({"top_k": -2}, "top_k must be >= 0"), ({"min_length": -1}, "min_length must be >= 0"),
    ({"min_length": 9}, "min_length must be at most max_length"), ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size must be >= 0"),
    ({"copy_bias": -1.0}, "copy_bias must be >= 0")])
def test_bad_decoding_settings_fail_with_a_message_naming_the_setting(changes, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("(", r"\(").replace("]", r"\]")):
        settings(**changes)


def test_the_ngram_guard_bans_the_token_that_would_repeat_a_generated_trigram():
    # Generated so far (positions 1..5): 5 6 7 5 6; position 0 is the prompt. Next is position 6.
    # The trigram "5 6 7" exists, so after "5 6" the token 7 is banned; nothing else is.
    tokens = tf.constant([[9, 5, 6, 7, 5, 6, 0, 0]])
    generated = tf.constant([[False, True, True, True, True, True, True, True]])
    logits = tf.zeros([1, 10])
    banned = banned_ngram_logits(logits, tokens, generated, tf.constant(6), tf.constant(3)).numpy()[0]
    assert banned[7] < -1e8 and np.all(np.delete(banned, 7) == 0)
    # The same trigram inside the prompt does not count.
    in_prompt = tf.constant([[False, False, False, False, True, True, True, True]])
    assert np.all(banned_ngram_logits(logits, tokens, in_prompt, tf.constant(6), tf.constant(3)).numpy() == 0)
    assert np.all(banned_ngram_logits(logits, tokens, generated, tf.constant(6), tf.constant(0)).numpy() == 0)


def test_top_k_and_top_p_keep_the_expected_tokens():
    log_probs = tf.math.log(tf.constant([[0.1, 0.5, 0.3, 0.1]]))
    kept = lambda k, p: set(np.flatnonzero(filtered_log_probs(log_probs, tf.constant(k), tf.constant(p)).numpy()[0] > -1e8))
    assert kept(2, 1.0) == {1, 2}
    assert kept(0, 0.5) == {1}          # 0.5 alone reaches p = 0.5
    assert kept(0, 0.7) == {1, 2}       # 0.5 < 0.7, then 0.8
    assert kept(0, 1.0) == {0, 1, 2, 3}


def test_the_core_op_cache_update_equals_xlas_dynamic_update_slice():
    from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice
    inputs = tf.reshape(tf.range(2 * 5 * 3, dtype=tf.float32), [2, 5, 3])
    update = -tf.ones([2, 1, 3])
    start = [tf.constant(0), tf.constant(3), tf.constant(0)]
    np.testing.assert_array_equal(_core_slice_update(inputs, update, start).numpy(),
                                  dynamic_update_slice(inputs, update, start).numpy())


def test_keyword_tables_rank_by_pooled_score_and_leave_a_review_out():
    tables = KeywordTables(item_scores={"i1": {"warm": 1.0, "tone": 0.6, "cheap": 0.5}},
                           review_scores={("u1", "i1"): {"warm": 0.9, "cheap": 0.1}}, config=TINY)
    assert tables.item_keywords == {"i1": "warm tone"}
    assert tables.review_keywords == {("u1", "i1"): "warm cheap"}
    assert tables.item_keywords_without("u1", "i1") == "tone cheap"   # warm 0.1, tone 0.6, cheap 0.4
    assert top_terms({"b": 1.0, "a": 1.0, "c": 0.0}, 5) == "a b"       # ties alphabetical, zero dropped


def toy_builder(table_dir, config=TINY):
    catalog = Catalog(np.array([b"i1", b"i2", b"i3"], dtype=object), np.array([b"Warm Amp (Tube)", b"Bright Strings", b""], dtype=object),
                      np.array([[b"Gear", b"Amps"], [b"Gear", b""], [b"", b""]], dtype=object), np.array([b"", b"", b""], dtype=object))
    tables = KeywordTables(item_scores={"i1": {"warm": 1.0}, "i2": {"bright": 1.0}},
                           review_scores={("u1", "i1"): {"cozy": 1.0}, ("u1", "i2"): {"crisp": 1.0}}, config=config)
    return PromptBuilder.from_tables(catalog, tables, config, str(table_dir))


def test_prompts_name_the_item_and_the_users_own_words_and_survive_unknowns(tmp_path):
    builder = toy_builder(tmp_path)
    prompts = builder(tf.constant(["u1", "u1", "u9"]), tf.constant(["i3", "i3", "nope"]),
                      tf.constant([["i1", "i2"], ["i2", ""], ["", ""]])).numpy()
    assert prompts[0].decode() == "liked || item  |  | about  || user crisp cozy | recent bright strings ; warm amp tube"
    assert prompts[1].decode() == "liked || item  |  | about  || user crisp | recent bright strings"
    assert prompts[2].decode() == "liked || item  |  | about  || user  | recent "
    known = builder(tf.constant(["u1"]), tf.constant(["i1"]), tf.constant([[""]])).numpy()[0].decode()
    assert known.startswith("liked || item warm amp tube | gear, amps | about warm ||")


def test_training_prompts_carry_each_reviews_outcome(tmp_path):
    builder = toy_builder(tmp_path)
    prompts = builder(tf.constant(["u1", "u1"]), tf.constant(["i1", "i2"]), tf.constant([[""], [""]]),
                      outcomes=tf.constant([outcome_of(1.0, ""), outcome_of(0.0, "it broke, awful")])).numpy()
    assert [p.decode().split(" || ")[0] for p in prompts] == ["disliked", "disliked"]
    assert outcome_of(3.0, "") == "mixed" and outcome_of(4.0, "awful") == "liked"   # a rating wins over text


def test_the_token_bias_bans_negative_words_and_prefers_the_items_unwritten_keywords():
    tokenizer = ExplanationTokenizer(vocabulary=RESERVED_TOKENS + ["warm", "tone", "bright", "not", "disappointing",
                                                                   "great", "##s"])
    bias = TokenBias.for_items(tokenizer, tf.constant(["warm tone", "brights"]))   # "##s" is no word start
    vocabulary = tokenizer.get_vocabulary()
    idx = {word: vocabulary.index(word) for word in ("warm", "tone", "bright", "not", "disappointing", "great")}
    tokens = tf.constant([[idx["great"], idx["warm"]], [idx["great"], idx["great"]]])
    written = tf.constant([[True, True], [True, True]])     # row 0 wrote "warm" already
    logits = bias(tf.zeros([2, len(vocabulary)]), tokens, written, tf.constant(4.0)).numpy()
    assert logits[0, idx["not"]] < -1e8 and logits[1, idx["disappointing"]] < -1e8
    assert logits[0, idx["tone"]] == 4.0 and logits[0, idx["warm"]] == 0.0 and logits[0, idx["bright"]] == 0.0
    assert logits[1, idx["bright"]] == 4.0 and logits[1, idx["great"]] == 0.0
    assert logits[1, vocabulary.index("##s")] == 0.0
    no_copy = bias(tf.zeros([2, len(vocabulary)]), tokens, written, tf.constant(0.0)).numpy()
    assert np.all(no_copy[no_copy > -1e8] == 0.0)


def test_training_sequences_learn_only_the_explanation_and_its_end():
    tokenizer = learn_tokenizer(["item warm amp", "great tone"], 50)
    inputs, labels, weights = training_batch(tokenizer, tf.constant(["item warm amp"]), tf.constant(["great tone"]), TINY)
    ids = lambda text: tokenizer.tokenize(text).numpy().tolist()
    # A 50-token vocabulary splits words into pieces: the target is cut to max_target_tokens.
    prompt = [tokenizer.start_token_id] + ids("item warm amp")[:TINY.max_prompt_tokens] + [tokenizer.separator_token_id]
    assert len(ids("great tone")) > TINY.max_target_tokens
    target = ids("great tone")[:TINY.max_target_tokens] + [tokenizer.end_token_id]
    length = len(prompt) + len(target)
    assert inputs["token_ids"].numpy()[0][:length - 1].tolist() == (prompt + target)[:-1]
    assert labels.numpy()[0][:length - 1].tolist() == (prompt + target)[1:]
    learned = np.flatnonzero(weights.numpy()[0])
    assert learned.tolist() == list(range(len(prompt) - 1, length - 1))   # the positions predicting the target


def test_tidy_rejoins_wordpiece_punctuation():
    assert tidy(tf.constant(["great , isn ' t it !"])).numpy()[0].decode() == "great, isn't it!"


EXPLANATIONS = {"i1": "warm cozy tone", "i2": "bright crisp strings"}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import keras
    keras.utils.set_random_seed(1)
    model_dir = tmp_path_factory.mktemp("generator")  # as the Trainer lays out its Model artifact
    builder = toy_builder(model_dir / "prompt_tables")
    items = list(EXPLANATIONS) * 16
    prompts = [p.decode() for p in builder(tf.constant(["u1"] * 32), tf.constant(items), tf.constant([[""]] * 32)).numpy()]
    references = [EXPLANATIONS[item] for item in items]
    tokenizer = learn_tokenizer(list(prompts) + list(references), TINY.vocabulary_size)
    causal_lm = build_causal_lm(TINY, tokenizer)
    causal_lm.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=[])
    inputs, labels, weights = training_batch(tokenizer, tf.constant(prompts), tf.constant(references), TINY)
    causal_lm.fit(inputs, labels, sample_weight=weights, epochs=60, batch_size=32, verbose=0)
    export_dir = str(model_dir / "serving")
    module = export_generator(causal_lm, tokenizer, builder, TINY, EvaluationSlices.from_training_events(np.array([b"i1"], object), np.array([1])),
                              export_dir)
    return causal_lm, tokenizer, module, export_dir


def explain(module_or_signature, users=("u1",), items=("i1",), history=(("i2",),), **decoding):
    request = dict(user_id=tf.constant(list(users)), item_id=tf.constant(list(items)),
                   history_item_ids=tf.constant([list(h) for h in history]))
    if isinstance(module_or_signature, LoadedSignature):
        return [t.decode() for t in module_or_signature(**request, **decoding)["explanations"].numpy()]
    out = module_or_signature.generate(**request, **{k: tf.constant(v) for k, v in decoding.items()})
    return [t.decode() for t in out["explanations"].numpy()]


def test_the_tiny_model_learns_each_items_explanation(tiny_model):
    _, _, module, _ = tiny_model
    assert explain(module, users=("u1", "u1"), items=("i1", "i2"), history=(("",), ("",))) == \
        ["warm cozy tone", "bright crisp strings"]


def test_same_seed_and_settings_give_the_same_sampled_text(tiny_model):
    _, _, module, _ = tiny_model
    sampled = lambda seed: explain(module, temperature=1.5, top_k=50, top_p=1.0, seed=tf.constant(seed, tf.int64), no_repeat_ngram_size=0)
    assert sampled(7) == sampled(7)
    assert len({tuple(sampled(seed)) for seed in range(8)}) > 1   # the seed does reach the sampler


def test_exported_generator_has_only_core_and_tf_text_2_12_ops_and_defaults(tiny_model):
    _, _, _, export_dir = tiny_model
    ops = check_servable(export_dir)
    assert not any(op.startswith("Xla") for op in ops)
    defaults = LoadedSignature(export_dir, "generate").defaults
    assert int(defaults["max_length"]) == TINY.max_target_tokens and float(defaults["top_p"]) == 1.0


def test_a_fresh_process_gets_the_same_greedy_text_as_the_python_model(tiny_model):
    _, _, module, export_dir = tiny_model
    history = (("i2", "i1"), ("", ""), ("i1", ""))
    users, items = ("u1", "u9", "u1"), ("i1", "nope", "i2")
    expected = explain(module, users, items, history)
    script = ("import os, json, sys; os.environ['TF_USE_LEGACY_KERAS'] = '1'\n"
              "import tensorflow as tf, tensorflow_text\n"
              "from recgen.contracts.loaded_signature import LoadedSignature\n"
              f"g = LoadedSignature({export_dir!r}, 'generate')\n"
              f"out = g(user_id=tf.constant({list(users)!r}), item_id=tf.constant({list(items)!r}),"
              f" history_item_ids=tf.constant({[list(h) for h in history]!r}))\n"
              "print(json.dumps([t.decode() for t in out['explanations'].numpy()]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
    assert all(expected)   # an unknown item and an empty history still get text


def test_a_session_loader_as_tf_servings_restores_every_weight_and_gets_the_same_text(tiny_model):
    """TF Serving loads a SavedModel into a Session (so does serving/servable.py): Keras 3 weights
    exported the default way are found uninitialized there ("Could not find variable")."""
    from serving.servable import ServedVersion
    _, _, module, export_dir = tiny_model
    users, items, history = ("u1", "u9"), ("i1", "i2"), (("i2",), ("",))
    served = ServedVersion("generator", 1, export_dir)
    request = {"user_id": np.array(users, object), "item_id": np.array(items, object),
               "history_item_ids": np.array(history, object)}
    outputs = served.run("generate", served.checked_inputs("generate", request))
    assert [text.decode() for text in outputs["explanations"]] == explain(module, users, items, history)


def test_the_prompt_tables_travel_in_the_saved_models_assets_not_in_its_graph(tiny_model, tmp_path):
    from serving.servable import ServedVersion
    _, _, module, export_dir = tiny_model
    assert sorted(os.listdir(os.path.join(export_dir, "assets"))) == [
        "categories.tsv", "item_keywords.tsv", "review_keywords.tsv", "titles.tsv"]
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as graph:
        assert b"warm amp tube" not in graph.read()  # i1's title, which a table of constants held
    moved = str(tmp_path / "moved")
    shutil.copytree(export_dir, moved)
    written = os.path.join(os.path.dirname(export_dir), "prompt_tables")
    os.rename(written, written + ".away")  # the files the tables were written to at training time
    try:
        served = ServedVersion("generator", 1, moved)
        request = {"user_id": np.array(["u1"], object), "item_id": np.array(["i1"], object),
                   "history_item_ids": np.array([["i2"]], object)}
        prompts = served.run("generate", served.checked_inputs("generate", request))["prompts"]
    finally:
        os.rename(written + ".away", written)
    assert prompts[0].decode() == module.prompt_builder(
        tf.constant(["u1"]), tf.constant(["i1"]), tf.constant([["i2"]])).numpy()[0].decode()
    assert prompts[0].decode().startswith("liked || item warm amp tube | gear, amps | about warm ||")


def test_a_text_table_keeps_keys_and_values_with_tabs_newlines_and_non_ascii(tmp_path):
    from trainer.generator.prompts import TextTable
    table = TextTable({"a\tb": "x\ny", "ü": "", "k": "v  v", "": "empty key"}, str(tmp_path / "t.tsv"))
    found = table.lookup(tf.constant(["a\tb", "ü", "k", "", "absent"])).numpy()
    assert [value.decode() for value in found] == ["x\ny", "", "v  v", "empty key", ""]
    empty = TextTable({}, str(tmp_path / "empty.tsv"))
    assert empty.lookup(tf.constant(["k"])).numpy().tolist() == [b""]


def test_a_saved_preset_restarts_the_same_model(tiny_model, tmp_path):
    causal_lm, tokenizer, _, _ = tiny_model
    save_preset(causal_lm, tokenizer, str(tmp_path / "preset"))
    restored_lm, restored_tokenizer = load_preset(str(tmp_path / "preset"))
    assert restored_tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
    inputs, _, _ = training_batch(tokenizer, tf.constant(["item warm amp"]), tf.constant(["warm"]), TINY)
    np.testing.assert_allclose(restored_lm(inputs).numpy(), causal_lm(inputs).numpy(), atol=1e-5)
