"""Whole-catalog evaluation during training, and early stopping on it.

Every eval user is ranked against every catalog item, their seen items excluded
(docs/evaluation.md#protocol), so the number early stopping watches is the one the
test split is reported with, not a sampled-negatives proxy.

Example::

    evaluator = WholeCatalogEvaluator(catalog, catalog_features, eval_queries, k=10)
    model.fit(train, epochs=30, callbacks=[EarlyStoppingOnHitRate(evaluator, patience=3)])
"""
from __future__ import annotations

import logging
import time
from typing import Dict

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from recgen.metrics import accuracy_at_k, target_ranks
from trainer import preprocessing as P
from trainer.catalog import Catalog

logger = logging.getLogger(__name__)


def embed(tower, features: Dict[str, np.ndarray], batch_size: int = 4096) -> np.ndarray:
    count = len(next(iter(features.values())))
    return np.concatenate([
        tower({key: value[start:start + batch_size] for key, value in features.items()}, training=False).numpy()
        for start in range(0, count, batch_size)])


class WholeCatalogEvaluator:
    """HR/NDCG/MRR@k of a retrieval model on eval queries over the whole catalog."""

    def __init__(self, catalog: Catalog, catalog_features: Dict[str, np.ndarray],
                 queries: Dict[str, np.ndarray], k: int):
        positions = catalog.positions()
        self.k = k
        self.catalog_features = catalog_features
        self.query_features = {key: queries[key] for key in P.QUERY_FEATURES}
        self.targets = np.array([positions[item.decode("utf-8")] for item in queries[F.ITEM_ID]])
        self.excluded = [np.array([positions[s] for s in map(bytes.decode, seen) if s in positions], np.int64)
                         for seen in queries[F.SEEN_ITEM_IDS]]

    def ranks(self, model, chunk: int = 1024) -> np.ndarray:
        candidates = embed(model.candidate_tower, self.catalog_features)
        queries = embed(model.query_tower, self.query_features)
        return np.concatenate([
            target_ranks(queries[start:start + chunk] @ candidates.T, self.targets[start:start + chunk],
                         self.excluded[start:start + chunk])
            for start in range(0, len(queries), chunk)])

    def evaluate(self, model) -> Dict[str, float]:
        return accuracy_at_k(self.ranks(model), self.k)


class EarlyStoppingOnHitRate(tf.keras.callbacks.Callback):
    """Stops when eval HR@k has not improved for ``patience`` epochs; keeps the best epoch's weights."""

    def __init__(self, evaluator: WholeCatalogEvaluator, patience: int):
        super().__init__()
        self.evaluator, self.patience = evaluator, patience
        self.best_metrics: Dict[str, float] = {}
        self.best_epoch = -1
        self.history = []
        self._best_weights = None
        self._since_best = 0
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.evaluator.evaluate(self.model)
        key = f"hr@{self.evaluator.k}"
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan)), **metrics})
        if logs is not None:
            logs.update({f"eval_{name}": value for name, value in metrics.items()})
        improved = metrics[key] > self.best_metrics.get(key, -1.0)
        logger.info(f"epoch {epoch + 1}: loss {self.history[-1]['loss']:.4f}, eval " +
                    ", ".join(f"{name} {value:.4f}" for name, value in metrics.items()) +
                    f" ({time.monotonic() - self._epoch_started:.1f} s){' best' if improved else ''}")
        if improved:
            self.best_metrics, self.best_epoch, self._since_best = metrics, epoch + 1, 0
            self._best_weights = self.model.get_weights()
            return
        self._since_best += 1
        if self._since_best >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
