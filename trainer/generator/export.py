"""The generator's serving SavedModel: prompt building, tokenizer and KV-cached decoding in one graph.

Signature ``generate`` (also ``serving_default``), every id raw as in the source data:

* ``user_id [b]``, ``item_id [b]`` (the item to explain), ``history_item_ids [b, h]`` (oldest
  first, padded with ``""``);
* decoding settings, each a scalar with a default (SignatureDef ``defaults``):
  ``max_length`` (new tokens, default ``max_target_tokens``), ``min_length`` (tokens before the
  text may end), ``temperature`` (0: greedy), ``top_k`` (0: off), ``top_p`` in (0, 1],
  ``no_repeat_ngram_size`` (0: off), ``copy_bias`` (>= 0: how strongly the item's own
  keywords are preferred; 0: off), ``seed``; defaults from ``GeneratorConfig``. Negative words
  are never written (``decoding.TokenBias``) and every prompt asks for a "liked" text. Sampling
  is seeded per row by ``(seed, user, item)``, so a text does not depend on its batch;
* outputs ``explanations [b]`` and the ``prompts [b]`` they answer.

Signature ``explain_examples`` takes serialized tf.Examples as ExampleGen writes them
(``user_id``, ``item_id``, ``history_item_ids``) and decodes with the defaults: the
Evaluator (TFMA) feeds it eval/test examples; ``slice_features`` gives its slices
(``trainer/evaluation_slices.py``).

A bad setting fails the request with ``INVALID_ARGUMENT`` and a message naming it.

Example::

    generate = tf.saved_model.load(export_dir).signatures["generate"]
    generate(user_id=tf.constant(["A1"]), item_id=tf.constant(["B9"]),
             history_item_ids=tf.constant([["B1", "B2"]]))["explanations"]
"""
from __future__ import annotations

import tensorflow as tf

from recgen.contracts import features as F
from recgen.contracts.signatures import EXPLAIN_SIGNATURE
from trainer.evaluation_slices import EvaluationSlices
from trainer.generator.config import GeneratorConfig
from trainer.generator.decoding import DecodingSettings, TokenBias, generate, row_keys
from trainer.generator.prompts import PromptBuilder


class GeneratorServingModule(tf.Module):
    """What the Pusher ships for explanations: ids in, explanation strings out."""

    def __init__(self, causal_lm, tokenizer, prompt_builder: PromptBuilder, config: GeneratorConfig,
                 evaluation_slices: EvaluationSlices):
        super().__init__()
        # A Keras 3 model tracked here would export each weight twice: the graph reads one copy, the
        # checkpoint restores the other, and only tf.saved_model.load links them. A Session loader
        # (TF Serving's, and serving/servable.py) then fails with "Could not find variable"
        # (keras-team/keras#20096). So, as keras.export.ExportArchive does, the module tracks the
        # weights' own tf.Variables and holds the model untracked (its optimizer state stays out too).
        self._hold_untracked(causal_lm)
        self.causal_lm_weights = [weight.value for weight in causal_lm.weights]
        self.tokenizer, self.prompt_builder = tokenizer, prompt_builder
        self.evaluation_slices = evaluation_slices
        self._config = config
        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.string, "user_id"), tf.TensorSpec([None], tf.string, "item_id"),
            tf.TensorSpec([None, None], tf.string, "history_item_ids"),
            tf.TensorSpec([], tf.int32, "max_length"), tf.TensorSpec([], tf.int32, "min_length"),
            tf.TensorSpec([], tf.float32, "temperature"),
            tf.TensorSpec([], tf.int32, "top_k"), tf.TensorSpec([], tf.float32, "top_p"),
            tf.TensorSpec([], tf.int32, "no_repeat_ngram_size"), tf.TensorSpec([], tf.float32, "copy_bias"),
            tf.TensorSpec([], tf.int64, "seed")])
        def generate_signature(user_id, item_id, history_item_ids,
                               max_length=tf.constant(config.max_target_tokens),
                               min_length=tf.constant(config.min_length),
                               temperature=tf.constant(config.temperature), top_k=tf.constant(config.top_k),
                               top_p=tf.constant(config.top_p),
                               no_repeat_ngram_size=tf.constant(config.no_repeat_ngram_size),
                               copy_bias=tf.constant(config.copy_bias), seed=tf.constant(0, tf.int64)):
            return self.explain(user_id, item_id, history_item_ids, DecodingSettings.checked(
                max_length, min_length, temperature, top_k, top_p, no_repeat_ngram_size, copy_bias, seed,
                config))

        self.generate = generate_signature

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, "examples")])
        def explain_examples(examples):
            raw = tf.io.parse_example(examples, {F.USER_ID: tf.io.FixedLenFeature([], tf.string),
                                                 F.ITEM_ID: tf.io.FixedLenFeature([], tf.string),
                                                 F.HISTORY_ITEM_IDS: tf.io.VarLenFeature(tf.string)})
            return generate_signature(raw[F.USER_ID], raw[F.ITEM_ID],
                                      tf.sparse.to_dense(raw[F.HISTORY_ITEM_IDS], default_value=""))
        self.explain_examples = explain_examples

    @tf.__internal__.tracking.no_automatic_dependency_tracking
    def _hold_untracked(self, causal_lm) -> None:
        self.causal_lm = causal_lm

    def explain(self, user_id, item_id, history_item_ids, settings: DecodingSettings) -> dict:
        prompts = self.prompt_builder(user_id, item_id, history_item_ids)
        bias = TokenBias.for_items(self.tokenizer, self.prompt_builder.item_keywords.lookup(item_id))
        explanations = generate(self.causal_lm, self.tokenizer, prompts, row_keys(user_id, item_id), settings,
                                bias, self._config)
        return {"explanations": explanations, "prompts": prompts}


def export_generator(causal_lm, tokenizer, prompt_builder: PromptBuilder, config: GeneratorConfig,
                     evaluation_slices: EvaluationSlices, export_dir: str) -> GeneratorServingModule:
    """Saves the ``generate`` SavedModel to ``export_dir``; returns the module (for in-process use)."""
    module = GeneratorServingModule(causal_lm, tokenizer, prompt_builder, config, evaluation_slices)
    tf.saved_model.save(module, export_dir, signatures={"generate": module.generate,
                                                        "serving_default": module.generate,
                                                        EXPLAIN_SIGNATURE: module.explain_examples,
                                                        "slice_features": evaluation_slices.slice_features})
    return module
