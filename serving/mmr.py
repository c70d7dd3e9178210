"""Maximal marginal relevance (Carbonell & Goldstein, 1998): re-ranking a top list for diversity.

Each step picks the candidate maximising
``(1 - diversity) * relevance - diversity * max cosine similarity to the items already picked``,
with relevance min-max scaled to [0, 1] over the candidates. ``diversity`` 0 keeps the
model's order; 1 picks by dissimilarity alone after the first item.

Example:
    >>> mmr_order(np.array([3.0, 2.9, 1.0]), np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]]), k=2, diversity=0.5)
    [0, 2]
"""
from __future__ import annotations

from typing import List

import numpy as np


def mmr_order(scores: np.ndarray, embeddings: np.ndarray, k: int, diversity: float) -> List[int]:
    """Indices of the ``k`` candidates MMR picks, in pick order."""
    count = len(scores)
    spread = scores.max() - scores.min() if count else 0.0
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(count)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    picked: List[int] = []
    closest = np.full(count, -np.inf)  # highest similarity to anything picked so far
    available = np.ones(count, dtype=bool)
    for _ in range(min(k, count)):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = np.where(available, (1 - diversity) * relevance - diversity * penalty, -np.inf)
        best = int(np.argmax(value))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, similarity[best])
    return picked
