"""The TFRS two-tower retrieval model: mixed-negative softmax with logQ correction.

Each step scores a batch's queries against the batch's own items (in-batch
negatives, drawn by popularity) plus ``extra_negatives`` items drawn uniformly from
the whole catalog (mixed negative sampling, Yang et al., WWW 2020), so rare and
never-trained items are seen as negatives too. ``tfrs.tasks.Retrieval`` takes the
diagonal as positives, so the extra candidates only add columns of negatives.

Example::

    model = RetrievalModel(config, sizes, text_encoder, item_probability, catalog_features)
    model.compile(optimizer=tf.keras.optimizers.AdamW(config.learning_rate))
    model.fit(train_dataset, epochs=config.max_epochs)
"""
from __future__ import annotations

import dataclasses
from typing import Dict

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from trainer import preprocessing as P
from trainer.config import RetrievalConfig
from trainer.towers import CandidateTower, QueryTower


@dataclasses.dataclass(frozen=True)
class VocabularySizes:
    """Sizes of Transform's vocabularies (known values, without the OOV bucket)."""

    users: int
    items: int
    categories: int
    title_tokens: int


class RetrievalModel(tfrs.models.Model):
    """Query and candidate towers sharing one item-id embedding, trained with ``tfrs.tasks.Retrieval``.

    ``item_probability[i]`` is item index ``i``'s share of training events (index
    ``items`` is the OOV bucket). A candidate's chance of being drawn is the mixture
    ``(B * p_i + M / N) / (B + M)`` of the two samplers (batch B, extras M, catalog N);
    the task subtracts its log from the candidate's logit (logQ correction).
    ``catalog_features`` are the candidate tower's features of every catalog item.
    """

    def __init__(self, config: RetrievalConfig, sizes: VocabularySizes, text_encoder,
                 item_probability: np.ndarray, catalog_features: Dict[str, np.ndarray]):
        super().__init__()
        self.catalog_features = {key: tf.constant(value) for key, value in catalog_features.items()}
        self.catalog_size = len(catalog_features[P.ITEM_INDEX])
        self.extra_negatives = min(config.extra_negatives, self.catalog_size)
        item_embedding = tf.keras.layers.Embedding(sizes.items + 2, config.embedding_dim,
                                                   name="item_embedding")
        self.query_tower = QueryTower(config, sizes.users, item_embedding, name="query_tower")
        self.candidate_tower = CandidateTower(config, sizes.items, sizes.categories, sizes.title_tokens,
                                              item_embedding, text_encoder, name="candidate_tower")
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
        return self.task(queries, candidates, candidate_sampling_probability=probability,
                         candidate_ids=items, compute_metrics=False, compute_batch_metrics=False)
