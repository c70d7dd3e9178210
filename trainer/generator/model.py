"""The causal LM (keras-hub GPT-2 backbone, small sizes from the config) and its token sequences.

A training sequence is ``[BOS] prompt [SEP] explanation [EOS]``; the loss weights only the
explanation and ``[EOS]``. Generation feeds ``[BOS] prompt [SEP]`` and continues it.

The model is saved as a keras-hub preset directory (backbone and tokenizer), so a later
run starts from it (``GeneratorConfig.preset``) exactly as from a downloaded preset.
``pretrained_causal_lm`` loads a preset in ``GeneratorConfig.dtype_policy`` and, with
``lora_rank``, leaves only LoRA factors trainable; a LoRA model's saved preset holds the
merged weights (Keras folds each LoRA delta into its kernel when saving).

Example::

    causal_lm = build_causal_lm(GeneratorConfig(), tokenizer)
    causal_lm, tokenizer = pretrained_causal_lm(GeneratorConfig(preset="gpt2_base_en", lora_rank=8))
    inputs, labels, weights = training_batch(tokenizer, prompts, references, config)
"""
from __future__ import annotations

from typing import Optional, Tuple

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
        max_sequence_length=max_sequence_length(config), dtype=config.dtype_policy)
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def load_preset(preset: str, dtype: Optional[str] = None
                ) -> Tuple[keras_hub.models.CausalLM, keras_hub.tokenizers.Tokenizer]:
    """A keras-hub preset's causal LM and tokenizer: a Kaggle/Hugging Face handle, or a
    directory ``save_preset`` wrote. Batches are tokenized here, so the LM has no preprocessor.
    ``dtype`` (a Keras dtype policy name) is the model's alone; the global policy stays as it is."""
    return (keras_hub.models.CausalLM.from_preset(preset, preprocessor=None, dtype=dtype),
            keras_hub.tokenizers.Tokenizer.from_preset(preset))


def pretrained_causal_lm(config: GeneratorConfig
                         ) -> Tuple[keras_hub.models.CausalLM, keras_hub.tokenizers.Tokenizer]:
    """``config.preset``'s causal LM (in ``config.dtype_policy``) and tokenizer; with
    ``config.lora_rank``, LoRA-enabled so that only the low-rank factors train."""
    causal_lm, tokenizer = load_preset(config.preset, config.dtype_policy)
    if config.lora_rank:
        enable_lora(causal_lm, config.lora_rank)
    return causal_lm, tokenizer


def enable_lora(causal_lm, rank: int) -> None:
    """keras-hub's ``backbone.enable_lora(rank)``: it freezes every layer and adds rank-``rank``
    factors to the attention query and value projections, but leaves those two layers' biases
    trainable. LoRA (Hu et al., 2021) trains the factors alone, so the biases are frozen here too:
    a tuned model then differs from its preset only by the factors' product."""
    causal_lm.backbone.enable_lora(rank)
    for weight in causal_lm.backbone.trainable_weights:
        if weight.name not in ("lora_kernel_a", "lora_kernel_b"):
            weight.trainable = False


def save_preset(causal_lm, tokenizer, preset_dir: str) -> None:
    """Backbone weights and config plus tokenizer (vocabulary included), as a keras-hub preset."""
    causal_lm.backbone.save_to_preset(preset_dir)
    tokenizer.save_to_preset(preset_dir)


def save_tuned(causal_lm, tokenizer, config: GeneratorConfig, preset_dir: str):
    """Saves the trained model as a preset (``save_preset``) and returns the model to export: the
    same one, or for LoRA the preset reloaded, its deltas merged into the kernels, so the
    serving graph computes no low-rank products and serves exactly what ``Preset/`` restarts."""
    save_preset(causal_lm, tokenizer, preset_dir)
    if not config.lora_rank:
        return causal_lm
    merged, _ = load_preset(preset_dir, config.dtype_policy)
    return merged


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
