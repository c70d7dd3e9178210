"""Small keras-hub GPT-2 presets made offline: a byte-level BPE tokenizer whose merges spell the
given words whole, and a randomly initialised ``GPT2Backbone`` of any size, saved with keras-hub's
``save_to_preset`` so ``from_preset`` reads them as it reads ``gpt2_base_en``.

Example::

    preset_dir = save_gpt2_preset(tmp_path / "preset", ["warm", "tone"], num_layers=1, hidden_dim=32)
    GeneratorConfig(preset=preset_dir, lora_rank=4)
"""
from __future__ import annotations

import os
import random
from typing import Iterable, List, Tuple

END_TOKEN = "<|endoftext|>"


def byte_symbols() -> List[str]:
    """GPT-2's byte-level alphabet: byte ``b`` is shown as one printable character (printable
    Latin-1 bytes as themselves, the others as code points from 256 on, so a space is ``Ġ``)."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(ord("¡"), ord("¬") + 1)) | set(range(ord("®"), ord("ÿ") + 1))
    symbols, extra = [], 0
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    return symbols


def bpe_vocabulary(words: Iterable[str], size: int = 0) -> Tuple[dict, List[str]]:
    """``(vocabulary, merges)`` of a byte-level BPE that keeps each of ``words`` (lower-case ASCII)
    one token, with or without a leading space; any other text falls back to single bytes.
    ``size`` pads the vocabulary with unused tokens (a backbone's embedding size)."""
    tokens = byte_symbols()
    merges: List[str] = []
    space = byte_symbols()[ord(" ")]
    # Spaced words first: BPE merges the lowest-ranked pair first, so " warm" becomes one token
    # rather than a space and "warm".
    for spelled in [space + word for word in sorted(set(words))] + sorted(set(words)):
        for end in range(2, len(spelled) + 1):
            merge = f"{spelled[:end - 1]} {spelled[end - 1]}"
            if merge not in merges:
                merges.append(merge)
                tokens.append(spelled[:end])
    tokens = list(dict.fromkeys(tokens)) + [END_TOKEN]
    tokens += [f"<unused{i}>" for i in range(max(0, size - len(tokens)))]
    return {token: index for index, token in enumerate(tokens)}, merges


def gpt2_tokenizer(words: Iterable[str], size: int = 0):
    import keras_hub
    vocabulary, merges = bpe_vocabulary(words, size)
    return keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)


def pretrain(backbone, tokenizer, corpus: List[str], steps: int) -> None:
    """Next-token training of every weight on ``corpus``: a random backbone's tiny embeddings give
    near-uniform logits that adapters on a few projections barely move; a pretrained one's do not."""
    import keras
    import keras_hub
    import tensorflow as tf
    tokens = tokenizer.tokenize(tf.constant(corpus))
    tokens = tokens if isinstance(tokens, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(tokens)
    ids = tokens.to_tensor(default_value=tokenizer.pad_token_id)
    mask = tf.sequence_mask(tokens.row_lengths(), tf.shape(ids)[1])
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    causal_lm.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=[])
    causal_lm.fit({"token_ids": ids[:, :-1], "padding_mask": mask[:, :-1]}, ids[:, 1:],
                  sample_weight=tf.cast(mask[:, 1:], tf.float32), epochs=steps, batch_size=len(corpus), verbose=0)


def save_gpt2_preset(preset_dir, words: Iterable[str], num_layers: int = 2, num_heads: int = 2, hidden_dim: int = 32,
                     intermediate_dim: int = 64, max_sequence_length: int = 128, vocabulary_size: int = 0,
                     pretrain_steps: int = 0, seed: int = 0) -> str:
    """A GPT-2 preset directory (backbone config and weights, tokenizer): random weights, then
    ``pretrain_steps`` steps on random word sequences (so it knows the words, not any task)."""
    import keras
    import keras_hub
    keras.utils.set_random_seed(seed)
    words = sorted(set(words))
    tokenizer = gpt2_tokenizer(words, vocabulary_size)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=0.0, max_sequence_length=max_sequence_length)
    if pretrain_steps:
        rng = random.Random(seed)
        corpus = [" ".join(rng.choice(words) for _ in range(8)) + END_TOKEN for _ in range(64)]
        pretrain(backbone, tokenizer, corpus, pretrain_steps)
    preset_dir = str(preset_dir)
    os.makedirs(preset_dir, exist_ok=True)
    backbone.save_to_preset(preset_dir)
    tokenizer.save_to_preset(preset_dir)
    return preset_dir
