"""A seed ensemble of two-tower models, served as one two-tower model.

Each member is a ``RetrievalModel`` trained alone with its own seed. The ensemble's query and
candidate towers concatenate the members' embeddings, so a query-candidate dot product is the
sum of the members' scores: the whole-catalog top-k, the exported signatures and TF Serving
see one model with ``ensemble_size * embedding_dim`` dimensions. On small, sparse data the
members' errors differ from seed to seed, and their sum ranks better than any one of them.

Example::

    ensemble = Ensemble([model_seed_42, model_seed_43, model_seed_44])
    ensemble.query_tower(query_features).shape
    # -> TensorShape([256, 192])
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf


class ConcatenatedTower(tf.keras.layers.Layer):
    """The members' towers side by side: one embedding, their outputs concatenated."""

    def __init__(self, towers: Sequence[tf.keras.layers.Layer], **kwargs):
        super().__init__(**kwargs)
        self.towers = list(towers)

    def call(self, features, training=False):
        return tf.concat([tower(features, training=training) for tower in self.towers], axis=-1)


class Ensemble:
    """``query_tower`` and ``candidate_tower`` over trained members (what evaluation and export use)."""

    def __init__(self, members: Sequence):
        self.members = list(members)
        self.query_tower = ConcatenatedTower([m.query_tower for m in self.members], name="query_towers")
        self.candidate_tower = ConcatenatedTower([m.candidate_tower for m in self.members],
                                                 name="candidate_towers")
