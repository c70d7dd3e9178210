"""The query side of the Transform graph, on its own: raw user and history -> the query tower's features.

The Transform layer (``tft_output.transform_features_layer()``) runs its whole graph on every
call: it fills in the inputs a query does not have and computes the candidate's features too
(title regexes and splits, category and title-token lookups), which are more than half the ops
of a one-request retrieval call. TFT cannot prune a TF2 transform graph to some of its outputs,
so the serving model's query path uses this module instead. It builds the same tables as
``tft.apply_vocabulary`` (a ``StaticVocabularyTable`` over the vocabulary file Transform wrote,
one line per index, ``OOV_BUCKETS`` out-of-vocabulary bucket) and shares
``preprocessing.query_features`` with ``preprocessing_fn``, so both compute the same features;
``tests/test_retrieval_pipeline.py`` checks the two against each other.

Example::

    transform = QueryTransform(tft_output, config)
    transform(user_id, history_item_ids, history_timestamps, timestamp)[P.USER_INDEX]
"""
from __future__ import annotations

import tensorflow as tf

from trainer import preprocessing as P
from trainer.config import RetrievalConfig


def _vocabulary_table(vocabulary_file: str) -> tf.lookup.StaticVocabularyTable:
    """What ``tft.apply_vocabulary`` looks a string up in (its 'text' file format)."""
    return tf.lookup.StaticVocabularyTable(
        tf.lookup.TextFileInitializer(vocabulary_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
        num_oov_buckets=P.OOV_BUCKETS)


class QueryTransform(tf.Module):
    """``P.QUERY_FEATURES`` from raw query inputs, with Transform's user and item vocabularies."""

    def __init__(self, tft_output, config: RetrievalConfig):
        super().__init__()
        self.users = _vocabulary_table(tft_output.vocabulary_file_by_name(P.USER_VOCAB))
        self.items = _vocabulary_table(tft_output.vocabulary_file_by_name(P.ITEM_VOCAB))
        self._config = config

    def __call__(self, user_id: tf.Tensor, history_item_ids: tf.RaggedTensor,
                 history_timestamps: tf.RaggedTensor, timestamp: tf.Tensor) -> dict:
        """``user_id [b]``, histories ``[b, (h)]`` oldest first, ``timestamp [b]`` -> the query features."""
        history_index = tf.ragged.map_flat_values(self.items.lookup, history_item_ids)
        return P.query_features(self.users.lookup(user_id), history_index, history_timestamps, timestamp,
                                self._config)
