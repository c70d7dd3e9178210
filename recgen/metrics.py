"""Ranking metrics exactly as docs/evaluation.md define them, for everything that scores ranks:
the Trainer's early stopping, the Evaluator's ``TopKAccuracy`` and ``benchmarks/``.

Ranks are 1-based over the whole catalog with the user's history excluded; ties in
score are broken by catalog position (catalogs are sorted by item id), never in the
target's favour.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.1, 0.9, 0.5, 0.9]])
    >>> ranks = target_ranks(scores, targets=np.array([3]), excluded=[np.array([1])])
    >>> ranks.tolist()  # item 1 excluded, so nothing is left above item 3
    [1.0]
    >>> accuracy_at_k(np.array([1, 3, 20]), 10)["hr@10"]
    0.6666666666666666
"""
from __future__ import annotations

from typing import Dict, Iterable, Sequence

import numpy as np


def target_ranks(scores: np.ndarray, targets: np.ndarray, excluded: Sequence[np.ndarray]) -> np.ndarray:
    """Rank of each row's target among non-excluded catalog positions; ``scores`` is ``[users, items]``.

    A target that is itself excluded (a repeat of a history item) can never be
    recommended, so its rank is ``inf``: a miss, as in the dumped top-K lists.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets][:, None]
    repeated = np.array([np.isin(target, positions) for target, positions in zip(targets, excluded)], bool)
    for row, positions in enumerate(excluded):
        scores[row, positions] = -np.inf
    above = (scores > target_scores).sum(axis=1)
    tied_before = ((scores == target_scores) & (np.arange(scores.shape[1])[None, :] < targets[:, None])).sum(axis=1)
    return np.where(repeated, np.inf, above + tied_before + 1)


def rank_in_list(items: Sequence[str], target: str) -> float:
    """1-based rank of ``target`` in one top-K list, ``inf`` when absent."""
    items = list(items)
    return float(items.index(target) + 1) if target in items else np.inf


def ranks_in_lists(lists: Iterable[Sequence[str]], targets: Iterable[str]) -> np.ndarray:
    """``rank_in_list`` of each target in its top-K list."""
    return np.asarray([rank_in_list(items, target) for items, target in zip(lists, targets)], dtype=np.float64)


def gains_at_k(ranks: np.ndarray, k: int) -> Dict[str, np.ndarray]:
    """Each user's HR@K, NDCG@K and MRR@K term (0 for a rank beyond K): the one place the formulas live.

    >>> gains_at_k(np.array([1, 3, 20]), 10)["ndcg@10"].tolist()
    [1.0, 0.5, 0.0]
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = ranks <= k
    safe = np.where(hit, ranks, 1.0)
    return {f"hr@{k}": hit.astype(np.float64),
            f"ndcg@{k}": np.where(hit, 1.0 / np.log2(safe + 1.0), 0.0),
            f"mrr@{k}": np.where(hit, 1.0 / safe, 0.0)}


def accuracy_at_k(ranks: np.ndarray, k: int) -> Dict[str, float]:
    """HR@K, NDCG@K and MRR@K averaged over users (one target each)."""
    return {name: float(values.mean()) for name, values in gains_at_k(ranks, k).items()}


IMPRESSION_NAMES = ("auc", "mrr", "ndcg@5", "ndcg@10")


def _dcg(labels_in_order: np.ndarray, k: int) -> float:
    top = labels_in_order[:k]
    return float(np.sum((2.0 ** top - 1.0) / np.log2(np.arange(len(top)) + 2.0)))


def impression_metrics(labels: Sequence[int], scores: Sequence[float]) -> Dict[str, float]:
    """MIND's AUC, MRR, nDCG@5 and nDCG@10 of one impression (docs/evaluation.md#impression-metrics).

    ``labels`` are 1 (clicked) or 0 per shown item, ``scores`` the model's. Equal scores put
    the unclicked item first (never in the clicks' favour); AUC counts a tie as half.

    >>> impression_metrics([0, 1, 0], [0.2, 0.5, 0.9])  # the click is 2nd of 3
    {'auc': 0.5, 'mrr': 0.5, 'ndcg@5': 0.6309297535714575, 'ndcg@10': 0.6309297535714575}
    """
    labels, scores = np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    positives, negatives = scores[labels > 0], scores[labels == 0]
    pairs = positives[:, None] - negatives[None, :]
    auc = float(((pairs > 0).sum() + 0.5 * (pairs == 0).sum()) / pairs.size)
    in_order = labels[np.lexsort((labels, -scores))]  # score descending; on ties, unclicked first
    mrr = float(np.sum(in_order / (np.arange(len(in_order)) + 1.0)) / labels.sum())
    best = np.sort(labels)[::-1]
    return {"auc": auc, "mrr": mrr,
            **{f"ndcg@{k}": _dcg(in_order, k) / _dcg(best, k) for k in (5, 10)}}
