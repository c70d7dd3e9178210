"""The generator's tokenizer: a keras-hub WordPiece tokenizer learned on the train split.

``ExplanationTokenizer`` adds the special tokens a causal LM needs (``[PAD]``, ``[BOS]``,
``[SEP]`` between prompt and explanation, ``[EOS]``) as keras-hub's model tokenizers do, so
``start_token_id``, ``end_token_id`` and ``pad_token_id`` work as on a preset's tokenizer.

Example::

    tokenizer = learn_tokenizer(["item tuner | about clip", "works great"], 100)
    tokenizer.detokenize(tokenizer.tokenize("works great"))
    # -> 'works great'
"""
from __future__ import annotations

from typing import Sequence

import keras
import keras_hub
import tensorflow as tf

PAD, UNK, BOS, SEP, EOS = "[PAD]", "[UNK]", "[BOS]", "[SEP]", "[EOS]"
RESERVED_TOKENS = [PAD, UNK, BOS, SEP, EOS]


@keras.saving.register_keras_serializable(package="recgen")
class ExplanationTokenizer(keras_hub.tokenizers.WordPieceTokenizer):
    """Lower-casing WordPiece with start, separator, end and padding tokens."""

    def __init__(self, vocabulary=None, **kwargs):
        self._add_special_token(BOS, "start_token")
        self._add_special_token(SEP, "separator_token")
        self._add_special_token(EOS, "end_token")
        self._add_special_token(PAD, "pad_token")
        kwargs.setdefault("lowercase", True)
        kwargs.setdefault("oov_token", UNK)
        super().__init__(vocabulary=vocabulary, **kwargs)


def learn_tokenizer(corpus: Sequence[str], vocabulary_size: int) -> ExplanationTokenizer:
    """``keras_hub.tokenizers.compute_word_piece_vocabulary`` over ``corpus``, reserved tokens first."""
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(tf.constant(list(corpus), tf.string)).batch(1024),
        vocabulary_size=vocabulary_size, lowercase=True, reserved_tokens=RESERVED_TOKENS)
    return ExplanationTokenizer(vocabulary=vocabulary)


def separator_id(tokenizer) -> int:
    """``[SEP]`` of an ``ExplanationTokenizer``; a preset's tokenizer has none, so its end token."""
    return getattr(tokenizer, "separator_token_id", None) or tokenizer.end_token_id
