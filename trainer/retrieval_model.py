"""The TFRS two-tower retrieval model: mixed-negative softmax with logQ correction.

Each step scores a batch's queries against the batch's own items (in-batch
negatives, drawn by popularity) plus ``extra_negatives`` items drawn uniformly from
the whole catalog (mixed negative sampling, Yang et al., WWW 2020), so rare and
never-trained items are seen as negatives too. ``tfrs.tasks.Retrieval`` takes the
diagonal as positives, so the extra candidates only add columns of negatives.

Impression logs (MIND) add a second term: each training click against
``impression_negatives`` items drawn from those shown beside it and not clicked
(a softmax over the click and its drawn negatives, as NRMS trains on MIND, Wu et al.,
EMNLP 2019). Data without impressions leaves the term at zero.

Example::

    model = RetrievalModel(config, sizes, text_encoder, item_probability, catalog_features, catalog.item_ids)
    model.compile(optimizer=tf.keras.optimizers.AdamW(config.learning_rate))
    model.fit(train_dataset, epochs=config.max_epochs)
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recgen.contracts import features as F
from trainer import preprocessing as P
from trainer.catalog import position_table
from trainer.config import RetrievalConfig
from trainer.distribution import dtype_policy
from trainer.towers import CandidateTower, HistoryContent, QueryTower, item_content_tables


@dataclasses.dataclass(frozen=True)
class VocabularySizes:
    """Sizes of Transform's vocabularies (known values, without the OOV bucket)."""

    users: int
    items: int
    categories: int
    title_tokens: int


class RetrievalModel(tfrs.models.Model):
    """Query and candidate towers sharing the item-id embedding (and, with ``history_content``, the
    category and title-token embeddings), trained with ``tfrs.tasks.Retrieval``.

    ``item_probability[i]`` is item index ``i``'s share of training events (index
    ``items`` is the OOV bucket). A candidate's chance of being drawn is the mixture
    ``(B * p_i + M / N) / (B + M)`` of the two samplers (batch B, extras M, catalog N);
    the task subtracts its log from the candidate's logit (logQ correction).
    ``catalog_features`` are the candidate tower's features of every catalog item, whose ids
    are ``catalog_item_ids`` (needed for impression negatives only).
    """

    def __init__(self, config: RetrievalConfig, sizes: VocabularySizes, text_encoder,
                 item_probability: np.ndarray, catalog_features: Dict[str, np.ndarray],
                 catalog_item_ids: Optional[np.ndarray] = None):
        super().__init__()
        self.temperature = config.temperature
        self.impression_negatives = config.impression_negatives if catalog_item_ids is not None else 0
        if self.impression_negatives:
            self.catalog_positions = position_table(catalog_item_ids)
        self.catalog_features = {key: tf.constant(value) for key, value in catalog_features.items()}
        self.catalog_size = len(catalog_features[P.ITEM_INDEX])
        self.extra_negatives = min(config.extra_negatives, self.catalog_size)
        dim = config.embedding_dim
        with dtype_policy(config.dtype_policy):
            item_embedding = tf.keras.layers.Embedding(sizes.items + 2, dim, name="item_embedding")
            category_embedding = tf.keras.layers.Embedding(sizes.categories + 2, dim, name="category_embedding")
            title_embedding = tf.keras.layers.Embedding(sizes.title_tokens + 2, dim, name="title_embedding")
            history_content = HistoryContent(item_content_tables(catalog_features, sizes.items), category_embedding,
                                             title_embedding, name="history_content") if config.history_content else None
            self.query_tower = QueryTower(config, sizes.users, item_embedding, history_content, name="query_tower")
            self.candidate_tower = CandidateTower(config, sizes.items, item_embedding, category_embedding,
                                                  title_embedding, text_encoder, name="candidate_tower")
        self.item_probability = tf.constant(item_probability, tf.float32)
        self.task = tfrs.tasks.Retrieval(temperature=config.temperature, remove_accidental_hits=True)

    def _extra_candidates(self) -> Dict[str, tf.Tensor]:
        if self.extra_negatives >= self.catalog_size:
            return self.catalog_features
        drawn = tf.random.uniform([self.extra_negatives], maxval=self.catalog_size, dtype=tf.int64)
        return {key: tf.gather(value, drawn) for key, value in self.catalog_features.items()}

    def compute_loss(self, features, training=False) -> tf.Tensor:
        queries = self.query_tower(features, training=training)
        extra = self._extra_candidates() if self.extra_negatives else None
        candidate_features = {key: features[key] for key in P.CANDIDATE_FEATURES}
        if extra is not None:
            candidate_features = {key: tf.concat([value, extra[key]], axis=0)
                                  for key, value in candidate_features.items()}
        candidates = self.candidate_tower(candidate_features, training=training)
        items = candidate_features[P.ITEM_INDEX]
        batch = tf.cast(tf.shape(queries)[0], tf.float32)
        extras = float(self.extra_negatives)
        probability = ((batch * tf.gather(self.item_probability, items) + extras / self.catalog_size)
                       / (batch + extras))
        loss = self.task(queries, candidates, candidate_sampling_probability=probability,
                         candidate_ids=items, compute_metrics=False, compute_batch_metrics=False)
        if self.impression_negatives and F.IMPRESSION_ITEM_IDS in features:
            shown = features[F.IMPRESSION_ITEM_IDS]
            clicked = candidates[:tf.shape(queries)[0]]
            # A batch without impressions (every batch of data without them) skips the term's
            # work and its random draws.
            loss += tf.cond(tf.size(shown.values) > 0,
                            lambda: self._impression_loss(queries, clicked, shown, training), lambda: 0.0)
        return loss

    def _drawn_impression_positions(self, shown: tf.SparseTensor) -> tf.Tensor:
        """``[b, K]`` catalog positions of ``K`` items drawn at random (without replacement) from
        each row's shown-and-not-clicked ids; ``-1`` where a row has fewer (or an id is unknown)."""
        positions = self.catalog_positions.lookup(tf.sparse.to_dense(shown, default_value=""))
        k = self.impression_negatives
        positions = tf.concat([positions, -tf.ones([tf.shape(positions)[0], k], tf.int64)], axis=1)
        keys = tf.where(positions >= 0, tf.random.uniform(tf.shape(positions)), -1.0)
        drawn = tf.math.top_k(keys, k).indices
        return tf.gather(positions, drawn, batch_dims=1)

    def _impression_loss(self, queries, clicked, shown: tf.SparseTensor, training) -> tf.Tensor:
        """Mean over the queries with impression negatives of the cross-entropy of the click
        against its drawn negatives (dot products over ``temperature``, as the retrieval task)."""
        positions = self._drawn_impression_positions(shown)
        valid = positions >= 0
        unique, slots = tf.unique(tf.reshape(tf.maximum(positions, 0), [-1]))
        embeddings = self.candidate_tower({key: tf.gather(value, unique) for key, value in self.catalog_features.items()},
                                          training=training)
        negatives = tf.reshape(tf.gather(embeddings, slots), [tf.shape(positions)[0], self.impression_negatives, -1])
        negative_logits = tf.where(valid, tf.einsum("bd,bkd->bk", queries, negatives), -1e9)
        logits = tf.concat([tf.reduce_sum(queries * clicked, axis=1, keepdims=True), negative_logits], axis=1)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.zeros(tf.shape(logits)[0], tf.int32), logits / self.temperature)
        weights = tf.cast(tf.reduce_any(valid, axis=1), tf.float32)
        return tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
