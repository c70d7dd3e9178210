"""The causal LM (keras-hub GPT-2 backbone, small sizes from the config) and its token sequences.

A training sequence is ``[BOS] prompt [SEP] explanation [EOS]``; the loss weights only the
explanation and ``[EOS]``. Generation feeds ``[BOS] prompt [SEP]`` and continues it.

The model is saved as a keras-hub preset directory (backbone and tokenizer), so a later
run starts from it (``GeneratorConfig.preset``) exactly as from a downloaded preset.

Example::

    causal_lm = build_causal_lm(GeneratorConfig(), tokenizer)
    inputs, labels, weights = training_batch(tokenizer, prompts, references, config)
"""
from __future__ import annotations

from typing import Tuple

import keras_hub
import tensorflow as tf

from trainer.generator.config import GeneratorConfig
from trainer.generator.tokenizer import separator_id


def max_sequence_length(config: GeneratorConfig) -> int:
    """[BOS] prompt [SEP] plus the longest generation a request may ask for."""
    return config.max_prompt_tokens + 2 + config.max_generation_tokens


def build_causal_lm(config: GeneratorConfig, tokenizer) -> keras_hub.models.GPT2CausalLM:
    """A randomly initialised GPT-2-style causal LM over ``tokenizer``'s vocabulary."""
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=config.num_layers,
        num_heads=config.num_heads, hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim, dropout=config.dropout,
        max_sequence_length=max_sequence_length(config))
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def load_preset(preset: str) -> Tuple[keras_hub.models.CausalLM, keras_hub.tokenizers.Tokenizer]:
    """A keras-hub preset's causal LM and tokenizer: a Kaggle/Hugging Face handle, or a
    directory ``save_preset`` wrote. Batches are tokenized here, so the LM has no preprocessor."""
    return (keras_hub.models.CausalLM.from_preset(preset, preprocessor=None),
            keras_hub.tokenizers.Tokenizer.from_preset(preset))


def save_preset(causal_lm, tokenizer, preset_dir: str) -> None:
    """Backbone weights and config plus tokenizer (vocabulary included), as a keras-hub preset."""
    causal_lm.backbone.save_to_preset(preset_dir)
    tokenizer.save_to_preset(preset_dir)


def tokens_of(tokenizer, texts: tf.Tensor) -> tf.RaggedTensor:
    """Token ids per text, always a RaggedTensor: keras-hub returns a dense tensor when rows are
    equally long, and Python lists when called eagerly outside tf.data."""
    tokens = tokenizer.tokenize(texts)
    if isinstance(tokens, list):
        tokens = tf.ragged.constant(tokens, dtype=tf.int32, ragged_rank=1)
    elif not isinstance(tokens, tf.RaggedTensor):
        tokens = tf.RaggedTensor.from_tensor(tokens)
    return tf.cast(tokens, tf.int32)


def prompt_token_ids(tokenizer, prompts: tf.Tensor, config: GeneratorConfig) -> tf.RaggedTensor:
    """``[BOS] prompt [SEP]`` per row, the prompt cut to ``max_prompt_tokens``."""
    tokens = tokens_of(tokenizer, prompts)[:, :config.max_prompt_tokens]
    rows = tf.shape(prompts)[0]
    start = tf.fill([rows, 1], tf.constant(tokenizer.start_token_id, tf.int32))
    separator = tf.fill([rows, 1], tf.constant(separator_id(tokenizer), tf.int32))
    return tf.concat([start, tokens, separator], axis=1)


def training_batch(tokenizer, prompts: tf.Tensor, references: tf.Tensor,
                   config: GeneratorConfig) -> Tuple[dict, tf.Tensor, tf.Tensor]:
    """Model inputs, next-token labels and loss weights (explanation and ``[EOS]`` only)."""
    prompt = prompt_token_ids(tokenizer, prompts, config)
    target = tokens_of(tokenizer, references)[:, :config.max_target_tokens]
    end = tf.fill([tf.shape(references)[0], 1], tf.constant(tokenizer.end_token_id, tf.int32))
    sequence = tf.concat([prompt, target, end], axis=1)
    width = config.sequence_length
    token_ids = sequence.to_tensor(default_value=tokenizer.pad_token_id, shape=[None, width])
    learned = tf.concat([tf.zeros_like(prompt[:, 1:], tf.float32), tf.ones_like(target, tf.float32),
                         tf.ones_like(end, tf.float32)], axis=1)
    weights = learned.to_tensor(default_value=0.0, shape=[None, width - 1])
    weights = weights / tf.reduce_mean(weights)  # Keras averages over all positions: a mean per learned token
    padding_mask = tf.sequence_mask(sequence.row_lengths(), width)
    inputs = {"token_ids": token_ids[:, :-1], "padding_mask": padding_mask[:, :-1]}
    return inputs, token_ids[:, 1:], weights
