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
    """Indices of the ``k`` candidates MMR picks, in pick order.

    Only the picked items' similarity rows are computed (k x n, not n x n): this runs on every
    request, so it keeps to a few vector operations per pick."""
    count = len(scores)
    if count == 0 or k <= 0:
        return []
    spread = scores.max() - scores.min()
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(count)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norms > 0, norms, 1.0)
    open_relevance = (1 - diversity) * relevance  # -inf once picked: a picked item never wins again
    best = int(open_relevance.argmax())  # nothing picked yet: no similarity penalty
    picked = [best]
    closest = unit @ unit[best]  # highest similarity to anything picked so far
    for _ in range(min(k, count) - 1):
        open_relevance[best] = -np.inf
        best = int((open_relevance - diversity * closest).argmax())
        picked.append(best)
        np.maximum(closest, unit @ unit[best], out=closest)
    return picked
