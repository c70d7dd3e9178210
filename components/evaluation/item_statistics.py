"""What the beyond-accuracy metrics know about each catalog item (docs/evaluation.md#metrics).

* content vectors: the item's category / genre multi-hot, unit-normalised; an item without
  categories has none, and pairs with such an item are left out of ILD (a list with no
  pair left has no ILD; a data set without categories has no ILD at all: NaN);
* self-information ``-log2 p_i``, ``p_i`` = share of training users who interacted with the
  item; items no training user saw get ``p_i = 1 / (users + 1)``.

``RecGenEvaluator``'s executor computes them once per run from the item catalog and the
train split and writes them as JSON, which ``TopKDiversity`` reads on every Beam worker.

Example:
    >>> stats = ItemStatistics.build(["a", "b"], [["rock"], ["rock", "jazz"]], {"a": 1}, train_users=2)
    >>> round(stats.intra_list_distance(stats.positions_of(["a", "b"])), 4)  # 1 - cos(45 deg)
    0.2929
    >>> gini(np.array([0, 0, 4]))
    0.6666666666666666
"""
from __future__ import annotations

import dataclasses
import json
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from recgen.contracts.examples_io import user_item_pairs


@dataclasses.dataclass
class ItemStatistics:
    item_ids: List[str]
    category_vectors: np.ndarray   # [items, categories], rows unit-norm or zero
    self_information: np.ndarray   # [items], -log2 p_i
    _positions: Dict[str, int] = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._positions = {item: n for n, item in enumerate(self.item_ids)}

    @classmethod
    def build(cls, item_ids: Sequence[str], categories: Sequence[Sequence[str]],
              users_per_item: Dict[str, int], train_users: int) -> "ItemStatistics":
        names = sorted({category for item in categories for category in item if category})
        column = {name: n for n, name in enumerate(names)}
        vectors = np.zeros((len(item_ids), len(names)))
        for row, item in enumerate(categories):
            for category in item:
                if category:
                    vectors[row, column[category]] = 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        users = np.array([users_per_item.get(item, 0) for item in item_ids], dtype=np.float64)
        probability = np.where(users > 0, users / max(train_users, 1), 1.0 / (train_users + 1))
        return cls(list(item_ids), vectors, -np.log2(probability))

    def positions_of(self, items: Iterable[str]) -> np.ndarray:
        """Catalog positions of the listed items; ids outside the catalog are an error."""
        try:
            return np.array([self._positions[item] for item in items], dtype=np.int64)
        except KeyError as error:
            raise ValueError(f"recommended item {error} is not in the evaluated item catalog") from None

    def intra_list_distance(self, positions: np.ndarray) -> Optional[float]:
        """Mean pairwise ``1 - cosine`` of the listed items that have categories; None with < 2 such."""
        vectors = self.category_vectors[positions]
        vectors = vectors[np.linalg.norm(vectors, axis=1) > 0]
        if len(vectors) < 2:
            return None
        similarity = vectors @ vectors.T
        upper = np.triu_indices(len(vectors), k=1)
        return float(np.mean(1.0 - similarity[upper]))

    def to_json(self) -> str:
        return json.dumps({"item_ids": self.item_ids, "category_vectors": self.category_vectors.tolist(),
                           "self_information": self.self_information.tolist()})


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal; near 1: one item takes everything)."""
    counts = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(counts), counts.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * counts) / (n * total))


def read(path: str) -> ItemStatistics:
    with tf.io.gfile.GFile(path) as stream:
        data = json.load(stream)
    return ItemStatistics(data["item_ids"], np.asarray(data["category_vectors"], dtype=np.float64).reshape(
        len(data["item_ids"]), -1), np.asarray(data["self_information"], dtype=np.float64))


def users_per_item(train_files: Sequence[str]) -> tuple:
    """``({item_id: distinct training users}, distinct training users)`` from raw train examples."""
    pairs = set(user_item_pairs(train_files))
    counts: Dict[str, int] = {}
    for _, item in pairs:
        counts[item.decode("utf-8")] = counts.get(item.decode("utf-8"), 0) + 1
    return counts, len({user for user, _ in pairs})
