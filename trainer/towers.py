"""The two towers of the retrieval model, over Transform's features (see trainer/preprocessing.py).

Every layer is named: variable names are what warm start matches weights by, and
Keras's automatic names (``dense_27``) change with how many models a process built.

Indices arrive as ``-1`` (padding), ``0 .. V-1`` (known) or ``V`` (out of vocabulary);
``_shifted`` adds one so that embedding row 0 is padding and ``V + 1`` is the
unknown-value row that unknown users and items share.

Example::

    item_embedding = tf.keras.layers.Embedding(num_items + 2, 64)
    queries = QueryTower(config, num_users, item_embedding)(features)  # [batch, 64], unit norm
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from trainer import preprocessing as P
from trainer.config import RetrievalConfig


def _shifted(index: tf.Tensor) -> tf.Tensor:
    return tf.cast(index, tf.int64) + 1


def _masked_mean(vectors: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """Mean over the non-padding positions of ``[batch, width, dim]``; zeros for an empty row."""
    mask = tf.cast(index != P.PAD, vectors.dtype)[:, :, None]
    return tf.reduce_sum(vectors * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def _replace_with_unknown(index: tf.Tensor, unknown: int, rate: float, training: bool) -> tf.Tensor:
    """During training, ``rate`` of the indices become ``unknown`` (teaches the unknown path)."""
    if not training or rate <= 0:
        return index
    dropped = tf.random.uniform(tf.shape(index)) < rate
    return tf.where(dropped, tf.cast(unknown, index.dtype), index)


def _projection(config: RetrievalConfig, name: str) -> tf.keras.Sequential:
    return tf.keras.Sequential([
        tf.keras.layers.Dropout(config.dropout, name=f"{name}_dropout"),
        tf.keras.layers.Dense(2 * config.embedding_dim, activation="gelu", name=f"{name}_hidden"),
        tf.keras.layers.Dense(config.embedding_dim, name=f"{name}_output"),
        # float32 whatever the dtype policy: the retrieval task, the export and the service score in float32.
        tf.keras.layers.UnitNormalization(name=f"{name}_unit_norm", dtype="float32"),
    ], name=name)


class HistoryEncoderBlock(tf.keras.layers.Layer):
    """One pre-norm self-attention block over the history sequence."""

    def __init__(self, config: RetrievalConfig, **kwargs):
        super().__init__(**kwargs)
        dim = config.embedding_dim
        self.attention = tf.keras.layers.MultiHeadAttention(
            config.attention_heads, key_dim=dim // config.attention_heads, dropout=config.dropout,
            name="attention")
        self.feed_forward = tf.keras.Sequential(
            [tf.keras.layers.Dense(2 * dim, activation="gelu", name="expand"),
             tf.keras.layers.Dense(dim, name="contract")], name="feed_forward")
        self.norm_attention = tf.keras.layers.LayerNormalization(name="norm_attention")
        self.norm_feed_forward = tf.keras.layers.LayerNormalization(name="norm_feed_forward")
        self.dropout = tf.keras.layers.Dropout(config.dropout, name="dropout")

    def call(self, sequence, present, training=False):
        normed = self.norm_attention(sequence)
        attention_mask = present[:, None, :] & present[:, :, None]
        attended = self.attention(normed, normed, attention_mask=attention_mask, training=training)
        sequence = sequence + self.dropout(attended, training=training)
        return sequence + self.dropout(self.feed_forward(self.norm_feed_forward(sequence)), training=training)


def item_content_tables(catalog_features: dict, num_items: int) -> tuple:
    """``(categories [V + 2, C], title tokens [V + 2, T])`` of every train-vocabulary item, by
    shifted item index (``_shifted``): row 0 (padding) and ``V + 1`` (unknown) have no content.

    >>> import numpy as np
    >>> features = {P.ITEM_INDEX: np.array([1, 0, 2]), P.ITEM_CATEGORY_INDEX: np.array([[5], [6], [7]]),
    ...             P.ITEM_TITLE_TOKEN_INDEX: np.array([[8], [9], [3]])}
    >>> [table[:, 0].tolist() for table in item_content_tables(features, num_items=2)]
    [[-1, 6, 5, -1], [-1, 9, 8, -1]]
    """
    index = catalog_features[P.ITEM_INDEX]
    known = index < num_items
    tables = []
    for key in (P.ITEM_CATEGORY_INDEX, P.ITEM_TITLE_TOKEN_INDEX):
        table = np.full((num_items + 2, catalog_features[key].shape[1]), P.PAD, np.int32)
        table[index[known] + 1] = catalog_features[key][known]
        tables.append(table)
    return tuple(tables)


class HistoryContent(tf.keras.layers.Layer):
    """History items -> their content: the mean of their categories' embeddings plus the mean of
    their title tokens' (the candidate tower's tables), so the query reads what the user read,
    not only which ids. Each distinct item in the batch is embedded once."""

    def __init__(self, tables: tuple, category_embedding, title_embedding, **kwargs):
        super().__init__(**kwargs)
        self.categories, self.title_tokens = (tf.constant(table) for table in tables)
        self.category_embedding, self.title_embedding = category_embedding, title_embedding

    def call(self, history):
        distinct, slots = tf.unique(tf.reshape(_shifted(history), [-1]))
        categories, tokens = tf.gather(self.categories, distinct), tf.gather(self.title_tokens, distinct)
        content = (_masked_mean(self.category_embedding(_shifted(categories)), categories)
                   + _masked_mean(self.title_embedding(_shifted(tokens)), tokens))
        return tf.reshape(tf.gather(content, slots), tf.concat([tf.shape(history), [-1]], axis=0))


class QueryTower(tf.keras.Model):
    """User embedding (with an unknown-user row) + self-attention over recent history + time context.

    Besides the attended sequence (its most recent position and its mean), the plain
    mean of the history's item embeddings goes straight to the projection: an
    order-free, item-to-item path that small data sets lean on. With ``history_content``
    (a ``HistoryContent``), the mean content of the history goes there too.
    """

    def __init__(self, config: RetrievalConfig, num_users: int, item_embedding, history_content=None, **kwargs):
        super().__init__(**kwargs)
        self.history_content = history_content
        dim, self.config, self.unknown_user = config.embedding_dim, config, num_users
        self.user_embedding = tf.keras.layers.Embedding(num_users + 2, dim, name="user_embedding")
        self.item_embedding = item_embedding
        self.recency_embedding = tf.keras.layers.Embedding(config.history_length + 1, dim,
                                                           name="recency_embedding")
        self.age_embedding = tf.keras.layers.Embedding(config.age_buckets + 1, dim, name="age_embedding")
        self.gap_embedding = tf.keras.layers.Embedding(config.age_buckets + 1, dim, name="gap_embedding")
        self.blocks = [HistoryEncoderBlock(config, name=f"history_block_{n}")
                       for n in range(config.attention_layers)]
        self.history_norm = tf.keras.layers.LayerNormalization(name="history_norm")
        self.projection = _projection(config, "query_projection")

    def call(self, features, training=False):
        users = _replace_with_unknown(features[P.USER_INDEX], self.unknown_user,
                                      self.config.user_id_dropout, training)
        history = features[P.HISTORY_ITEM_INDEX]
        history_items = self.item_embedding(_shifted(history))
        window = self.config.attention_window
        attended = history[:, :window]
        present = attended != P.PAD
        sequence = (history_items[:, :window]
                    + self.recency_embedding(_shifted(features[P.HISTORY_RECENCY][:, :window]))
                    + self.age_embedding(_shifted(features[P.HISTORY_AGE_BUCKET][:, :window])))
        for block in self.blocks:
            sequence = block(sequence, present, training=training)
        sequence = self.history_norm(sequence)
        most_recent = sequence[:, 0] * tf.cast(present[:, :1], sequence.dtype)
        parts = [self.user_embedding(_shifted(users)), most_recent, _masked_mean(sequence, attended),
                 _masked_mean(history_items, history), self.gap_embedding(_shifted(features[P.GAP_AGE_BUCKET]))]
        if self.history_content is not None:
            parts.append(_masked_mean(self.history_content(history), history))
        return self.projection(tf.concat(parts, axis=1), training=training)


class CandidateTower(tf.keras.Model):
    """Item id embedding + categories + title tokens + a text encoder, so unseen items can be retrieved."""

    def __init__(self, config: RetrievalConfig, num_items: int, item_embedding, category_embedding,
                 title_embedding, text_encoder, **kwargs):
        super().__init__(**kwargs)
        dim, self.config, self.unknown_item = config.embedding_dim, config, num_items
        self.item_embedding = item_embedding
        self.category_embedding, self.title_embedding = category_embedding, title_embedding
        self.text_encoder = text_encoder
        self.text_projection = tf.keras.layers.Dense(dim, name="text_projection")
        self.projection = _projection(config, "candidate_projection")

    def call(self, features, training=False):
        items = _replace_with_unknown(features[P.ITEM_INDEX], self.unknown_item,
                                      self.config.item_id_dropout, training)
        categories = features[P.ITEM_CATEGORY_INDEX]
        tokens = features[P.ITEM_TITLE_TOKEN_INDEX]
        text = self.text_projection(self.text_encoder(tf.reshape(features[P.ITEM_TEXT], [-1])))
        return self.projection(tf.concat([
            self.item_embedding(_shifted(items)),
            _masked_mean(self.category_embedding(_shifted(categories)), categories),
            _masked_mean(self.title_embedding(_shifted(tokens)), tokens), text], axis=1), training=training)
