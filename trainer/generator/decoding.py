"""Batched decoding with request-time settings: greedy, temperature, top-k, top-p, minimum
length, a repeated-n-gram guard and a copy bias towards the item's own feature words.

Every explanation is a reason to try its item, so two token biases apply at each step
(``TokenBias``): the words that argue against an item (``recgen.sentiment.negative_words``:
"disappointing", "not", "doesn"...) are banned, and each of the item's keywords not yet
written gets ``copy_bias`` added to its logit, which makes texts name what is specific to the
item (FMR, Distinct) instead of the corpus's most generic phrases ("great product").

keras-hub's ``generate_step`` runs the KV-cached loop and calls a sampler each step. Its
stock samplers do not fit a serving signature: their k, p and temperature are Python
constants fixed at construction, their randomness is a stateful ``SeedGenerator`` (a request
cannot be replayed), and none guards against repeated n-grams or early ends.
``RequestSampler`` subclasses ``keras_hub.samplers.Sampler`` with all of these as tensors.
Each row samples statelessly from ``(seed, its row key, position)``, the row key being a hash
of its user and item, so a text does not depend on which other requests share the batch.

keras's TensorFlow backend writes the KV cache with the XLA op ``XlaDynamicUpdateSlice``,
which runs only where XLA JIT is enabled (not stock TF Serving's default). ``generate``
swaps in a pad-and-select update built from core ops while it traces.

Example::

    settings = DecodingSettings.checked(max_length=20, min_length=4, temperature=0.7, top_k=0,
                                        top_p=0.9, no_repeat_ngram_size=3, copy_bias=4.0, seed=1,
                                        config=config)
    bias = TokenBias.for_items(tokenizer, item_keywords)  # item_keywords [b]: "tone bright ..."
    texts = generate(causal_lm, tokenizer, prompts, row_keys(users, items), settings, bias, config)
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import List

import keras_hub
import numpy as np
import tensorflow as tf
from keras.src.backend.tensorflow import core as keras_tf_core

from recgen.sentiment import negative_words
from trainer.generator.config import GeneratorConfig
from trainer.generator.model import prompt_token_ids, tokens_of


@dataclasses.dataclass
class DecodingSettings:
    """Scalar tensors: ``max_length`` (new tokens), ``min_length`` (tokens before ``[EOS]`` may
    come), ``temperature`` (0: greedy), ``top_k`` (0: off), ``top_p`` in (0, 1],
    ``no_repeat_ngram_size`` (0: off), ``copy_bias`` (>= 0, added to the logits of the item's
    unwritten keywords; 0: off) and ``seed``."""

    max_length: tf.Tensor
    min_length: tf.Tensor
    temperature: tf.Tensor
    top_k: tf.Tensor
    top_p: tf.Tensor
    no_repeat_ngram_size: tf.Tensor
    copy_bias: tf.Tensor
    seed: tf.Tensor

    @classmethod
    def checked(cls, max_length, min_length, temperature, top_k, top_p, no_repeat_ngram_size, copy_bias, seed,
                config: GeneratorConfig) -> "DecodingSettings":
        """Converts and validates; a bad setting raises ``InvalidArgumentError`` naming it."""
        settings = cls(tf.cast(max_length, tf.int32), tf.cast(min_length, tf.int32), tf.cast(temperature, tf.float32),
                       tf.cast(top_k, tf.int32), tf.cast(top_p, tf.float32),
                       tf.cast(no_repeat_ngram_size, tf.int32), tf.cast(copy_bias, tf.float32),
                       tf.cast(seed, tf.int64))
        limit = config.max_generation_tokens
        checks = [
            tf.debugging.assert_greater(settings.max_length, 0, message="max_length must be at least 1"),
            tf.debugging.assert_less_equal(settings.max_length, limit,
                                           message=f"max_length must be at most {limit}"),
            tf.debugging.assert_greater_equal(settings.min_length, 0, message="min_length must be >= 0"),
            tf.debugging.assert_less_equal(settings.min_length, settings.max_length,
                                           message="min_length must be at most max_length"),
            tf.debugging.assert_greater_equal(settings.temperature, 0.0, message="temperature must be >= 0"),
            tf.debugging.assert_greater_equal(settings.top_k, 0, message="top_k must be >= 0"),
            tf.debugging.assert_greater(settings.top_p, 0.0, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(settings.top_p, 1.0, message="top_p must be in (0, 1]"),
            tf.debugging.assert_greater_equal(settings.no_repeat_ngram_size, 0,
                                              message="no_repeat_ngram_size must be >= 0"),
            tf.debugging.assert_greater_equal(settings.copy_bias, 0.0, message="copy_bias must be >= 0"),
        ]
        with tf.control_dependencies(checks):
            return cls(*(tf.identity(getattr(settings, field.name)) for field in dataclasses.fields(cls)))


def banned_ngram_logits(logits, tokens, generated, index, size):
    """``-inf`` for every token that would repeat a generated n-gram of ``size`` at ``index``."""
    frames = tf.signal.frame(tokens, tf.maximum(size, 1), 1, axis=1)           # [b, f, n]
    starts = tf.range(tf.shape(frames)[1])
    last = tf.gather(tokens, tf.maximum(index - size + 1 + tf.range(tf.maximum(size - 1, 0)), 0), axis=1)
    same_prefix = tf.reduce_all(frames[:, :, :-1] == last[:, None, :], axis=2)
    # An n-gram counts when all of it lies in the generated part, before ``index``.
    frame_generated = tf.reduce_all(tf.signal.frame(generated, tf.maximum(size, 1), 1, axis=1), axis=2)
    repeats = same_prefix & frame_generated & (starts + size - 1 < index)[None, :]
    hits = tf.where(repeats)
    banned = tf.stack([hits[:, 0], tf.cast(tf.gather_nd(frames[:, :, -1], hits), tf.int64)], axis=1)
    banned_logits = tf.tensor_scatter_nd_update(
        logits, banned, tf.fill([tf.shape(banned)[0]], tf.constant(-1e9, logits.dtype)))
    return tf.cond(size > 0, lambda: banned_logits, lambda: logits)


def filtered_log_probs(log_probs, top_k, top_p):
    """Keeps the ``top_k`` most likely tokens (0: all) and the smallest set reaching ``top_p``."""
    vocabulary = tf.shape(log_probs)[-1]
    sorted_log_probs, order = tf.math.top_k(log_probs, k=vocabulary)
    rank = tf.range(vocabulary)[None, :]
    keep_k = tf.logical_or(top_k <= 0, rank < top_k)
    mass_before = tf.math.cumsum(tf.exp(sorted_log_probs), axis=-1, exclusive=True)
    keep = keep_k & (mass_before < top_p)
    kept = tf.where(keep, sorted_log_probs, tf.constant(-1e9, log_probs.dtype))
    inverse = tf.argsort(order, axis=-1)
    return tf.gather(kept, inverse, batch_dims=1)


def sample_rows(log_probs, row_seeds):
    """One token per row, row ``b`` drawn with its own stateless seed ``row_seeds[b]`` (``[b, 2]``)."""
    draw = lambda args: tf.random.stateless_categorical(args[0][None], 1, seed=args[1], dtype=tf.int32)[0, 0]
    return tf.map_fn(draw, (log_probs, row_seeds), fn_output_signature=tf.int32)


def token_words(tokenizer) -> List[str]:
    """Each vocabulary entry as a lower-case word, its word-start marker (BPE ``Ġ``,
    SentencePiece ``▁``) dropped; a WordPiece continuation (``##ing``) keeps its ``##``."""
    return [token.lstrip("\u0120\u2581").lower() for token in tokenizer.get_vocabulary()]


def negative_token_mask(tokenizer) -> np.ndarray:
    """``[vocabulary]`` bool: the tokens that are a word of ``negative_words``."""
    banned = negative_words()
    return np.array([word in banned for word in token_words(tokenizer)])


@dataclasses.dataclass
class TokenBias:
    """What is added to every step's logits: ``banned [vocabulary]`` (-1e9 for the negative
    words, else 0) and ``copy_bias`` on ``keyword_ids [b, k]`` (the word-start tokens of each
    row's item keywords, -1 padded) until the row has written them."""

    banned: tf.Tensor
    keyword_ids: tf.Tensor

    @classmethod
    def for_items(cls, tokenizer, item_keywords: tf.Tensor) -> "TokenBias":
        """The bias for rows explaining items with ``item_keywords [b]`` (space-separated words)."""
        banned = tf.constant(np.where(negative_token_mask(tokenizer), -1e9, 0.0), tf.float32)
        continuation = tf.constant([word.startswith("##") for word in token_words(tokenizer)])
        ids = tokens_of(tokenizer, item_keywords)
        ids = tf.ragged.boolean_mask(ids, tf.logical_not(tf.gather(continuation, ids)))
        return cls(banned, ids.to_tensor(default_value=-1))

    def __call__(self, logits, tokens, written, copy_bias):
        """``logits [b, v]`` biased, given ``tokens [b, l]`` and which of them the row has
        ``written [b, l]`` so far."""
        logits = tf.cast(logits, tf.float32) + self.banned[None, :]
        keyword_ids = self.keyword_ids
        done = tf.reduce_any((keyword_ids[:, :, None] == tokens[:, None, :]) & written[:, None, :], axis=2)
        values = tf.where((keyword_ids >= 0) & tf.logical_not(done), copy_bias, 0.0)
        rows = tf.broadcast_to(tf.range(tf.shape(keyword_ids)[0])[:, None], tf.shape(keyword_ids))
        indices = tf.reshape(tf.stack([rows, tf.maximum(keyword_ids, 0)], axis=-1), [-1, 2])
        copy = tf.tensor_scatter_nd_max(tf.zeros_like(logits), indices, tf.reshape(values, [-1]))
        return logits + copy


class RequestSampler(keras_hub.samplers.Sampler):
    """A keras-hub sampler whose settings are tensors of one request (see the module docstring)."""

    def __init__(self, settings: DecodingSettings, row_keys: tf.Tensor, bias: TokenBias, end_token_id: int):
        super().__init__(temperature=settings.temperature)
        self.settings, self.row_keys, self.bias, self.end_token_id = settings, row_keys, bias, end_token_id
        self._step = None

    def __call__(self, next, prompt, cache=None, index=0, mask=None, **kwargs):
        in_prompt = tf.cast(mask, tf.bool)
        prompt_lengths = tf.reduce_sum(tf.cast(in_prompt, tf.int32), axis=1)

        def guarded_next(tokens, cache, step):
            logits, hidden_states, cache = next(tokens, cache, step)
            self._step = step  # read by get_next_token within the same loop step
            written = tf.logical_not(in_prompt) & (tf.range(tf.shape(tokens)[1]) < step)[None, :]
            logits = self.bias(logits, tokens, written, self.settings.copy_bias)
            logits = banned_ngram_logits(logits, tokens, tf.logical_not(in_prompt), step,
                                         self.settings.no_repeat_ngram_size)
            too_short = (step - prompt_lengths) < self.settings.min_length
            no_end = tf.one_hot(self.end_token_id, tf.shape(logits)[-1], on_value=-1e9, off_value=0.0,
                                dtype=logits.dtype)
            return tf.where(too_short[:, None], logits + no_end, logits), hidden_states, cache

        return super().__call__(guarded_next, prompt, cache, index, mask, **kwargs)

    def compute_probabilities(self, logits):
        """Log-probabilities at the request's temperature (any positive value when greedy)."""
        temperature = tf.where(self.settings.temperature > 0, self.settings.temperature, 1.0)
        return tf.nn.log_softmax(tf.cast(logits, tf.float32) / temperature)

    def get_next_token(self, log_probs):
        def sample():
            filtered = filtered_log_probs(log_probs, self.settings.top_k, self.settings.top_p)
            row_seeds = tf.stack([tf.bitwise.bitwise_xor(self.row_keys, self.settings.seed),
                                  tf.fill(tf.shape(self.row_keys), tf.cast(self._step, tf.int64))], axis=1)
            return sample_rows(filtered, row_seeds)

        return tf.cond(self.settings.temperature > 0, sample,
                       lambda: tf.argmax(log_probs, axis=-1, output_type=tf.int32))


def _core_slice_update(inputs, updates, start_indices):
    """``XlaDynamicUpdateSlice`` from core ops: pad the update to full size and select it."""
    start = tf.cast(tf.stack(start_indices), tf.int32)
    after = tf.shape(inputs) - start - tf.shape(updates)
    paddings = tf.stack([start, after], axis=1)
    placed = tf.pad(updates, paddings)
    inside = tf.pad(tf.ones_like(updates, tf.bool), paddings)
    return tf.where(inside, placed, inputs)


@contextlib.contextmanager
def core_ops_only():
    """While tracing, keras's TF ``slice_update`` writes without XLA ops (see the module docstring)."""
    original = keras_tf_core.dynamic_update_slice
    keras_tf_core.dynamic_update_slice = _core_slice_update
    try:
        yield
    finally:
        keras_tf_core.dynamic_update_slice = original


def row_keys(user_id: tf.Tensor, item_id: tf.Tensor) -> tf.Tensor:
    """A stable 62-bit hash of each (user, item): the sampling stream of that row."""
    return tf.strings.to_hash_bucket_fast(tf.strings.join([user_id, item_id], separator="\x1f"), 2 ** 62)


def generate(causal_lm, tokenizer, prompts: tf.Tensor, keys: tf.Tensor, settings: DecodingSettings,
             bias: TokenBias, config: GeneratorConfig) -> tf.Tensor:
    """Explanations ``[b]`` for prompts ``[b]`` (``keys``: ``row_keys``): KV-cached decoding to
    ``[EOS]`` or ``max_length``."""
    prompt = prompt_token_ids(tokenizer, prompts, config)
    width = tf.cast(tf.reduce_max(prompt.row_lengths()), tf.int32) + settings.max_length
    token_ids = prompt.to_tensor(default_value=tokenizer.pad_token_id, shape=tf.stack([-1, width]))
    padding_mask = tf.sequence_mask(prompt.row_lengths(), width)
    previous = getattr(causal_lm, "sampler", None)
    causal_lm.sampler = RequestSampler(settings, keys, bias, tokenizer.end_token_id)
    try:
        with core_ops_only():
            output = causal_lm.generate_step({"token_ids": token_ids, "padding_mask": padding_mask},
                                             stop_token_ids=[tokenizer.end_token_id])
    finally:
        causal_lm.sampler = previous
    # Keep what was generated, up to (not including) [EOS].
    new_tokens = tf.logical_and(output["padding_mask"], tf.logical_not(padding_mask))
    new_tokens = tf.logical_and(new_tokens, output["token_ids"] != tokenizer.end_token_id)
    explanation = tf.ragged.boolean_mask(output["token_ids"], new_tokens)
    return tidy(tokenizer.detokenize(explanation))


def tidy(texts: tf.Tensor) -> tf.Tensor:
    """Undoes WordPiece's spaces around punctuation: ``"great , isn ' t it !"`` -> ``"great, isn't it!"``."""
    texts = tf.strings.regex_replace(texts, r" ([.,!?;:)%])", r"\1")
    texts = tf.strings.regex_replace(texts, r"(\w) ' (\w)", r"\1'\2")
    return tf.strings.strip(texts)
