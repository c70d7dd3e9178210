"""The Transform ``preprocessing_fn``: raw examples -> the features the two towers read.

Vocabularies (computed on the train split by TFX Transform, each with one
out-of-vocabulary bucket): users, items, item categories and item title tokens.
Indices follow ``tft.apply_vocabulary``: ``0 .. V-1`` known, ``V`` out of vocabulary;
list features are padded with ``PAD = -1`` (the model shifts indices by one, so an
embedding table has ``V + 2`` rows with row 0 for padding).

Transformed features:

=========================  ===========  =================================================
feature                    shape        meaning
=========================  ===========  =================================================
user_index                 [b]          user vocabulary index (OOV: unknown user)
item_index                 [b]          target item index (OOV: item not in train)
history_item_index         [b, N]       last N history items, most recent first, padded
history_recency            [b, N]       0 for the most recent history item, 1, 2, ...
history_age_bucket         [b, N]       log2(1 + minutes before the target) bucket
gap_age_bucket             [b]          bucket of the time since the last history event
item_category_index        [b, C]       the target item's categories, padded
item_title_token_index     [b, T]       its title tokens, padded
item_text                  [b]          title, categories and description (text encoder)
item_id, seen_item_ids     raw strings  passed through for whole-catalog evaluation
impression_item_ids        raw strings  passed through for training on impression negatives
=========================  ===========  =================================================

The Transform graph is part of every exported model, so serving takes raw features.
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from recgen.contracts import features as F
from trainer.config import RetrievalConfig

USER_VOCAB, ITEM_VOCAB = "user_id", "item_id"
ITEM_COUNTS_VOCAB = "item_id_counts"
CATEGORY_VOCAB, TITLE_VOCAB = "item_categories", "item_title_tokens"

USER_INDEX, ITEM_INDEX = "user_index", "item_index"
HISTORY_ITEM_INDEX, HISTORY_RECENCY = "history_item_index", "history_recency"
HISTORY_AGE_BUCKET, GAP_AGE_BUCKET = "history_age_bucket", "gap_age_bucket"
ITEM_CATEGORY_INDEX, ITEM_TITLE_TOKEN_INDEX = "item_category_index", "item_title_token_index"
ITEM_TEXT = "item_text"

QUERY_FEATURES = (USER_INDEX, HISTORY_ITEM_INDEX, HISTORY_RECENCY, HISTORY_AGE_BUCKET, GAP_AGE_BUCKET)
CANDIDATE_FEATURES = (ITEM_INDEX, ITEM_CATEGORY_INDEX, ITEM_TITLE_TOKEN_INDEX, ITEM_TEXT)
PAD = -1
OOV_BUCKETS = 1


def ragged(value) -> tf.RaggedTensor:
    if isinstance(value, tf.SparseTensor):
        return tf.RaggedTensor.from_sparse(value)
    if isinstance(value, tf.RaggedTensor):
        return value
    return tf.RaggedTensor.from_tensor(tf.reshape(value, [tf.shape(value)[0], -1]))


def scalar(value, default) -> tf.Tensor:
    """The first value of each row, ``default`` where a row has none."""
    return ragged(value).to_tensor(default_value=default, shape=[None, 1])[:, 0]


def age_bucket(seconds: tf.Tensor, buckets: int) -> tf.Tensor:
    """``floor(log2(1 + minutes))`` clipped to ``[0, buckets - 1]``; negative ages count as 0."""
    minutes = tf.maximum(tf.cast(seconds, tf.float32), 0.0) / 60.0
    bucket = tf.math.floor(tf.math.log1p(minutes) / tf.math.log(2.0))
    return tf.clip_by_value(tf.cast(bucket, tf.int64), 0, buckets - 1)


def title_tokens(titles: tf.Tensor) -> tf.RaggedTensor:
    """Lower-cased word tokens: ``"Toy Story (1995)"`` -> ``["toy", "story", "1995"]``."""
    words = tf.strings.regex_replace(tf.strings.lower(titles), r"[^\w]+", " ")
    return tf.strings.split(tf.strings.strip(words))


def most_recent_first(ragged: tf.RaggedTensor, width: int, pad) -> tf.Tensor:
    """The last ``width`` values of each row, newest first, right-padded: ``[[a, b, c]] -> [[c, b, a, pad]]``."""
    recent = ragged[:, -width:]
    lengths = recent.row_lengths()
    dense = recent.to_tensor(default_value=pad, shape=[None, width])
    source = lengths[:, None] - 1 - tf.range(width, dtype=lengths.dtype)[None, :]
    reversed_rows = tf.gather(dense, tf.maximum(source, 0), batch_dims=1)
    return tf.where(source >= 0, reversed_rows, tf.cast(pad, dense.dtype))


def padded(ragged: tf.RaggedTensor, width: int, pad) -> tf.Tensor:
    """The first ``width`` values of each row, right-padded to ``width``."""
    return ragged[:, :width].to_tensor(default_value=pad, shape=[None, width])


def raw_query(inputs: dict) -> tuple:
    """``(user_id [b], history_item_ids [b, (h)], history_timestamps [b, (h)], timestamp [b])`` of raw
    examples as ``tf.io.parse_example`` gives them (what ``QueryTransform`` takes)."""
    return (scalar(inputs[F.USER_ID], ""), ragged(inputs[F.HISTORY_ITEM_IDS]), ragged(inputs[F.HISTORY_TIMESTAMPS]),
            scalar(inputs[F.TIMESTAMP], tf.constant(0, tf.int64)))


def query_features(user_index: tf.Tensor, history_index: tf.RaggedTensor, history_timestamps: tf.RaggedTensor,
                   timestamp: tf.Tensor, config: RetrievalConfig) -> dict:
    """The query tower's features from vocabulary indices and raw times (histories oldest first).

    Shared by ``preprocessing_fn`` and the serving model's query path
    (``trainer/query_transform.py``), so training and serving compute them the same way.
    """
    history_times = most_recent_first(history_timestamps, config.history_length, -1)
    history_item_index = most_recent_first(history_index, config.history_length, PAD)
    present = history_item_index != PAD
    ages = age_bucket(timestamp[:, None] - history_times, config.age_buckets)
    recency = tf.broadcast_to(tf.range(config.history_length, dtype=tf.int64), tf.shape(ages))
    return {
        USER_INDEX: user_index,
        HISTORY_ITEM_INDEX: history_item_index,
        HISTORY_RECENCY: tf.where(present, recency, PAD),
        HISTORY_AGE_BUCKET: tf.where(present, ages, PAD),
        GAP_AGE_BUCKET: tf.where(present[:, 0], ages[:, 0], PAD),
    }


def preprocessing_fn(inputs, custom_config=None):
    """Called by TFX Transform; ``custom_config["retrieval"]`` is a ``RetrievalConfig`` JSON."""
    config = RetrievalConfig.from_json((custom_config or {}).get("retrieval"))
    user_id, history_ids, history_timestamps, timestamp = raw_query(inputs)
    item_id = scalar(inputs[F.ITEM_ID], "")
    title = scalar(inputs[F.ITEM_TITLE], "")
    description = scalar(inputs[F.ITEM_DESCRIPTION], "")
    categories = ragged(inputs[F.ITEM_CATEGORIES])

    item_vocab = tft.vocabulary(item_id, vocab_filename=ITEM_VOCAB)
    tft.vocabulary(item_id, vocab_filename=ITEM_COUNTS_VOCAB, store_frequency=True)
    history_index = tft.apply_vocabulary(history_ids, deferred_vocab_filename_tensor=item_vocab,
                                         num_oov_buckets=OOV_BUCKETS)
    user_index = tft.compute_and_apply_vocabulary(user_id, vocab_filename=USER_VOCAB, num_oov_buckets=OOV_BUCKETS)

    return {
        **query_features(user_index, history_index, history_timestamps, timestamp, config),
        ITEM_INDEX: tft.apply_vocabulary(item_id, deferred_vocab_filename_tensor=item_vocab,
                                         num_oov_buckets=OOV_BUCKETS),
        ITEM_CATEGORY_INDEX: padded(tft.compute_and_apply_vocabulary(
            categories, vocab_filename=CATEGORY_VOCAB, num_oov_buckets=OOV_BUCKETS), config.max_categories, PAD),
        ITEM_TITLE_TOKEN_INDEX: padded(tft.compute_and_apply_vocabulary(
            title_tokens(title), top_k=config.title_vocab_size, vocab_filename=TITLE_VOCAB,
            num_oov_buckets=OOV_BUCKETS), config.max_title_tokens, PAD),
        ITEM_TEXT: tf.strings.strip(tf.strings.join(
            [title, tf.strings.reduce_join(categories, axis=1, separator=" "), description],
            separator=" ")),
        F.ITEM_ID: item_id,
        F.SEEN_ITEM_IDS: ragged(inputs[F.SEEN_ITEM_IDS]).to_sparse(),
        F.IMPRESSION_ITEM_IDS: ragged(inputs[F.IMPRESSION_ITEM_IDS]).to_sparse(),
    }
