"""The pretrained-LLM path of the explanation generator, offline: a small keras-hub GPT-2 preset
made here (``tests/tiny_presets.py``, saved with ``save_to_preset``) is LoRA-tuned, saved,
exported, op-checked and served by RecGen's model server to the real TF Serving gRPC stubs;
mixed precision builds, trains and generates on a CPU."""
import json

import grpc
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_service_pb2_grpc

from recgen.config_options import changed_config
from recgen.contracts.errors import DataError
from recgen.contracts.serving_ops import check_servable
from recgen.contracts.signatures import predict_request
from trainer.catalog import Catalog
from trainer.evaluation_slices import EvaluationSlices
from trainer.generator.config import GeneratorConfig
from trainer.generator.export import export_generator
from trainer.generator.keywords import KeywordTables
from trainer.generator.model import load_preset, pretrained_causal_lm, save_tuned, training_batch
from trainer.generator.prompts import PromptBuilder
from tests.tiny_presets import save_gpt2_preset

EXPLANATIONS = {"i1": "warm cozy tone", "i2": "bright crisp strings"}
WORDS = ("item warm amp tube gear amps about user cozy crisp recent bright strings tone").split()
SMALL = dict(max_prompt_tokens=24, max_target_tokens=6, min_length=1, temperature=0.0, top_k=0,
             item_keywords=2, review_keywords=2, learning_rate=0.01, weight_decay=0.0)
LORA_FACTORS = ("lora_kernel_a", "lora_kernel_b")


def toy_builder(config, table_dir):
    catalog = Catalog(np.array([b"i1", b"i2"], dtype=object), np.array([b"Warm Amp (Tube)", b"Bright Strings"], dtype=object),
                      np.array([[b"Gear", b"Amps"], [b"Gear", b""]], dtype=object), np.array([b"", b""], dtype=object))
    tables = KeywordTables(item_scores={"i1": {"warm": 1.0}, "i2": {"bright": 1.0}},
                           review_scores={("u1", "i1"): {"cozy": 1.0}, ("u1", "i2"): {"crisp": 1.0}}, config=config)
    return PromptBuilder.from_tables(catalog, tables, config, str(table_dir))


@pytest.fixture(scope="module")
def preset_dir(tmp_path_factory):
    return save_gpt2_preset(tmp_path_factory.mktemp("gpt2") / "preset", WORDS, num_layers=2, num_heads=2,
                            hidden_dim=32, intermediate_dim=128, pretrain_steps=30)


def config_of(preset_dir, **changes):
    return GeneratorConfig(preset=preset_dir, **{**SMALL, **changes})


def toy_batch(config, tokenizer, table_dir):
    builder = toy_builder(config, table_dir)
    items = list(EXPLANATIONS) * 8
    prompts = builder(tf.constant(["u1"] * len(items)), tf.constant(items), tf.constant([[""]] * len(items)))
    return builder, training_batch(tokenizer, prompts, tf.constant([EXPLANATIONS[i] for i in items]), config)


def fit(causal_lm, batch, config, steps):
    inputs, labels, weights = batch
    causal_lm.compile(optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=[])
    return causal_lm.fit(inputs, labels, sample_weight=weights, epochs=steps, batch_size=len(labels), verbose=0)


def parameters(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


@pytest.fixture(scope="module")
def tuned(preset_dir, tmp_path_factory):
    """A LoRA rank-4 model before and after 20 steps, with every weight's value before."""
    config = config_of(preset_dir, lora_rank=4)
    keras.utils.set_random_seed(3)
    causal_lm, tokenizer = pretrained_causal_lm(config)
    builder, batch = toy_batch(config, tokenizer, tmp_path_factory.mktemp("tables"))
    logits_before = causal_lm(batch[0]).numpy()
    values_before = {w.path: w.numpy().copy() for w in causal_lm.weights}
    history = fit(causal_lm, batch, config, steps=20)
    return dict(config=config, causal_lm=causal_lm, tokenizer=tokenizer, builder=builder, batch=batch,
                logits_before=logits_before, values_before=values_before, loss=history.history["loss"])


def test_lora_trains_only_the_low_rank_factors_of_query_and_value(preset_dir, tuned):
    causal_lm = tuned["causal_lm"]
    trainable = sorted(w.path for w in causal_lm.trainable_weights)
    expected = sorted(f"transformer_layer_{layer}/self_attention/{projection}/{factor}"
                      for layer in range(2) for projection in ("query", "value") for factor in LORA_FACTORS)
    assert trainable == expected   # embeddings, norms, feed-forward, key/output and every bias frozen
    full, _ = pretrained_causal_lm(config_of(preset_dir))   # no lora_rank: full fine-tuning
    assert parameters(full.trainable_weights) == parameters(full.weights) > 30_000
    # rank 4 over [32 hidden, 2 heads, 16 per head] kernels: 2 layers x 2 projections x (A 32x2x4 + B 4x16)
    assert parameters(causal_lm.trainable_weights) == 2 * 2 * (32 * 2 * 4 + 4 * 16) == 1280
    assert parameters(causal_lm.trainable_weights) < 0.05 * parameters(full.trainable_weights)


def test_training_changes_the_outputs_and_leaves_frozen_weights_as_they_were(tuned):
    causal_lm = tuned["causal_lm"]
    assert tuned["loss"][-1] < 0.7 * tuned["loss"][0]
    assert np.abs(causal_lm(tuned["batch"][0]).numpy() - tuned["logits_before"]).max() > 0.1
    changed = {w.path for w in causal_lm.weights if not np.array_equal(w.numpy(), tuned["values_before"][w.path])}
    assert changed and all(path.endswith(LORA_FACTORS) for path in changed)
    assert any(path.endswith("lora_kernel_b") for path in changed)   # B starts at zero: the delta grew


def test_the_saved_preset_holds_merged_weights_that_restart_the_tuned_model(tuned, tmp_path):
    config, causal_lm, tokenizer = tuned["config"], tuned["causal_lm"], tuned["tokenizer"]
    inputs = tuned["batch"][0]
    merged = save_tuned(causal_lm, tokenizer, config, str(tmp_path / "Preset"))
    assert not any(w.path.endswith(LORA_FACTORS) for w in merged.weights)   # nothing low-rank left to serve
    np.testing.assert_allclose(merged(inputs).numpy(), causal_lm(inputs).numpy(), atol=1e-5)
    # A later run from Preset/ (LoRA again) starts where this one ended: new factors add zero.
    restarted, restarted_tokenizer = pretrained_causal_lm(config.replace(preset=str(tmp_path / "Preset")))
    assert restarted_tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
    np.testing.assert_allclose(restarted(inputs).numpy(), causal_lm(inputs).numpy(), atol=1e-5)


def serve(export_dir_parent, model_name="generator"):
    from serving.model_server import ModelServer, ModelServerOptions
    return ModelServer(ModelServerOptions(base_dir=str(export_dir_parent), grpc_port=0, rest_port=0,
                                          batching=None)).start()


REQUEST = {"user_id": np.array([b"u1", b"u1", b"u9"], object), "item_id": np.array([b"i1", b"i2", b"nope"], object),
           "history_item_ids": np.array([[b"i2"], [b""], [b""]], object)}


def test_the_lora_tuned_export_passes_the_op_check_and_serves_over_tf_servings_grpc_api(tuned, tmp_path):
    config, tokenizer, builder = tuned["config"], tuned["tokenizer"], tuned["builder"]
    merged = save_tuned(tuned["causal_lm"], tokenizer, config, str(tmp_path / "Preset"))
    export_dir = tmp_path / "serving" / "generator" / "1"
    module = export_generator(merged, tokenizer, builder, config, EvaluationSlices.from_training_events(np.array([b"i1"], object), np.array([1])),
                              str(export_dir))
    ops = check_servable(str(export_dir))
    assert not any(op.startswith("Xla") for op in ops)
    # Byte-level BPE may stop inside a UTF-8 character, so texts are compared as bytes.
    expected = module.generate(**{k: tf.constant(v) for k, v in REQUEST.items()})["explanations"].numpy().tolist()
    assert all(text.strip() for text in expected)
    server = serve(tmp_path / "serving")
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc_address))
        response = stub.Predict(predict_request("generator", "generate", REQUEST), timeout=60)
    finally:
        server.stop()
    served = tf.make_ndarray(response.outputs["explanations"]).tolist()
    assert served == expected   # greedy: the Session-loaded graph restores every (merged) weight


@pytest.mark.parametrize("changes, field", [
    ({"dtype_policy": "float16"}, "dtype_policy"), ({"dtype_policy": "bfloat16_mixed"}, "dtype_policy"),
    ({"lora_rank": -1}, "lora_rank"), ({"lora_rank": 2.5}, "lora_rank"), ({"lora_rank": True}, "lora_rank")])
def test_a_bad_dtype_policy_or_lora_rank_fails_with_a_message_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        GeneratorConfig(preset="gpt2_base_en", **changes)
    with pytest.raises(DataError, match=f"--generator-config .*{field}"):   # as `recgen pipeline run` reports it
        changed_config(GeneratorConfig(preset="p"), "--generator-config", json.dumps(changes))


def test_lora_without_a_preset_is_refused_and_the_cli_json_reaches_the_new_fields():
    with pytest.raises(ValueError, match="lora_rank 8: .*set preset"):
        GeneratorConfig(lora_rank=8)
    config = changed_config(GeneratorConfig(), "--generator-config",
                            '{"preset": "gpt2_base_en", "lora_rank": 8, "dtype_policy": "mixed_bfloat16"}')
    assert (config.preset, config.lora_rank, config.dtype_policy) == ("gpt2_base_en", 8, "mixed_bfloat16")
    assert GeneratorConfig.from_json(config.to_json()) == config
    assert GeneratorConfig(lora_rank=0).lora_rank == 0   # 0: full fine-tuning, no preset needed


def test_mixed_bfloat16_builds_trains_and_generates_on_cpu_and_leaves_the_global_policy(preset_dir, tmp_path):
    config = config_of(preset_dir, lora_rank=4, dtype_policy="mixed_bfloat16")
    causal_lm, tokenizer = pretrained_causal_lm(config)
    assert keras.config.dtype_policy().name == "float32"   # the model's policy only
    assert causal_lm.backbone.compute_dtype == "bfloat16" and causal_lm.backbone.variable_dtype == "float32"
    assert all(w.dtype == "float32" for w in causal_lm.weights)   # master weights and factors in float32
    builder, batch = toy_batch(config, tokenizer, tmp_path)
    assert causal_lm.backbone(batch[0]).dtype == "bfloat16"   # hidden states; keras-hub casts logits to float32
    loss = fit(causal_lm, batch, config, steps=3).history["loss"]
    assert np.isfinite(loss).all()
    merged = save_tuned(causal_lm, tokenizer, config, str(tmp_path / "Preset"))
    assert merged.backbone.compute_dtype == "bfloat16"
    export_dir = str(tmp_path / "serving")
    module = export_generator(merged, tokenizer, builder, config, EvaluationSlices.from_training_events(np.array([b"i1"], object), np.array([1])), export_dir)
    check_servable(export_dir)
    texts = module.generate(**{k: tf.constant(v) for k, v in REQUEST.items()})["explanations"].numpy()
    assert all(text.strip() for text in texts)
    from serving.servable import ServedVersion
    served = ServedVersion("generator", 1, export_dir)
    outputs = served.run("generate", served.checked_inputs("generate", dict(REQUEST)))
    assert outputs["explanations"].tolist() == texts.tolist()


def test_load_preset_casts_to_the_asked_policy(preset_dir):
    causal_lm, _ = load_preset(preset_dir, "mixed_float16")
    assert causal_lm.backbone.compute_dtype == "float16" and keras.config.dtype_policy().name == "float32"
