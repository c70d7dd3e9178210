"""A retrieval model over a five-item catalog, small enough to build in a unit test.

Example::

    retrieval = tiny_model(impression_negatives=2, attention_window=3)
    retrieval.query_tower(query_features())
"""
import numpy as np
import tensorflow as tf

from trainer import preprocessing as P
from trainer.config import RetrievalConfig
from trainer.retrieval_model import RetrievalModel, VocabularySizes

HISTORY = 6
CATALOG_IDS = np.array([b"a", b"b", b"c", b"d", b"new"])  # "new": not in the train vocabulary (OOV index 4)


def tiny_model(impression_negatives: int, catalog_ids=CATALOG_IDS, **settings) -> RetrievalModel:
    """Built over ``catalog_ids`` (``None``: no catalog), with 8-dimensional embeddings and a hashing text encoder."""
    config = RetrievalConfig(embedding_dim=8, impression_negatives=impression_negatives, extra_negatives=0, **settings)
    catalog_features = {
        P.ITEM_INDEX: np.array([0, 1, 2, 3, 4]),
        P.ITEM_CATEGORY_INDEX: np.array([[0, -1], [1, -1], [0, 1], [-1, -1], [1, -1]]),
        P.ITEM_TITLE_TOKEN_INDEX: np.array([[0, 1], [2, -1], [3, 4], [1, -1], [4, 0]]),
        P.ITEM_TEXT: np.array([b"one", b"two", b"three", b"four", b"five"]),
    }
    text_encoder = tf.keras.layers.Lambda(lambda texts: tf.one_hot(tf.strings.to_hash_bucket_fast(texts, 8), 8))
    built = RetrievalModel(config, VocabularySizes(users=2, items=4, categories=2, title_tokens=5), text_encoder,
                           np.full(5, 0.2), catalog_features, catalog_ids)
    built.candidate_tower({key: tf.constant(value) for key, value in catalog_features.items()})
    return built


def query_features(ages=None) -> dict:
    """Two queries over the tiny catalog: a full history of six items (index 0-3), and one of two."""
    rng = np.random.default_rng(0)
    ages = rng.integers(0, 40, (2, HISTORY)) if ages is None else ages
    return {P.USER_INDEX: tf.constant([0, 1]), P.HISTORY_ITEM_INDEX: tf.constant([[0, 1, 2, 3, 0, 1], [3, 2, -1, -1, -1, -1]]),
            P.HISTORY_RECENCY: tf.constant(np.tile(np.arange(HISTORY), (2, 1))), P.HISTORY_AGE_BUCKET: tf.constant(ages),
            P.GAP_AGE_BUCKET: tf.constant([1, 2])}
