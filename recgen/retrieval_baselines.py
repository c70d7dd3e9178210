"""The retrieval baselines the two-tower model is compared with, on RecGen's split and metrics.

* ``most popular (recent)``: items by their events in the last ``window`` of the fitted events
  (the window, "all" included, chosen on the eval split);
* ``EASE`` (Steck, 2019): a closed-form item-item model, its λ chosen on the eval split;
* ``content only``: the cosine similarity of an item's TF-IDF text (title, categories,
  description) to the mean of the user's history items' (scikit-learn's ``TfidfVectorizer``);
  it needs no events, so it ranks items unseen in training as well as seen ones.

Each hyperparameter is chosen on the eval split with a fit on train events; the test split is then
scored once by a refit on train + eval events (the test user's history includes eval). Test
figures are whole-catalog HR@10 / NDCG@10 (docs/evaluation.md#metrics), also for targets seen
and unseen in training, and MIND's impression metrics where the examples carry impressions.

Example::

    splits = {split: read_split(examples_uri, split) for split in SPLITS}
    table = compare_baselines(splits, ItemTexts.from_catalog(read_catalog(catalog_uri)))
    table["EASE"]["test"]["ndcg@10"]
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer

from recgen.contracts import features as F
from recgen.contracts.examples_io import dense_example_batches, split_dir
from recgen.metrics import accuracy_at_k, impression_metrics, target_ranks

EASE_LAMBDAS = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0)
RECENT_WINDOWS_DAYS = (None, 30.0, 7.0, 1.0)  # None: every fitted event
DAY = 86_400
CHUNK = 1024  # test users scored at once: bounds the [users, catalog] score matrix


@dataclasses.dataclass(frozen=True)
class Row:
    """One raw example: its target, time, the user's whole history and its impression's other items."""

    user: str
    item: str
    timestamp: int
    seen: Tuple[str, ...]
    impression: Tuple[str, ...] = ()


def read_split(examples_uri: str, split: str) -> List[Row]:
    """Every raw example of one split of an Examples artifact."""
    files = tf.io.gfile.glob(f"{split_dir(examples_uri, split)}/*.gz")
    strings = lambda values: tuple(value.decode() for value in values if value)  # without padding
    return [Row(user.decode(), item.decode(), int(timestamp), strings(seen), strings(impression))
            for batch in dense_example_batches(files, CHUNK)
            for user, item, timestamp, seen, impression in zip(*(batch[key].numpy().tolist() for key in (
                F.USER_ID, F.ITEM_ID, F.TIMESTAMP, F.SEEN_ITEM_IDS, F.IMPRESSION_ITEM_IDS)))]


# A scorer maps evaluated rows to their scores over the catalog, ``[rows, items]``.
Scorer = Callable[[Sequence[Row]], np.ndarray]


class ItemTexts:
    """Item positions and texts: ``ids`` in catalog order, ``texts`` (title, categories, description) beside them."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]):
        self.ids, self.texts = list(ids), list(texts)
        self.position = {item: n for n, item in enumerate(self.ids)}

    @classmethod
    def from_catalog(cls, catalog) -> "ItemTexts":
        """From the Trainer's ``Catalog`` (``trainer/catalog.py``: byte arrays, categories padded with b"")."""
        texts = [" ".join(part.decode() for part in (title, *categories, description) if part)
                 for title, categories, description in zip(catalog.titles, catalog.categories, catalog.descriptions)]
        return cls([item.decode() for item in catalog.item_ids], texts)

    def positions(self, items: Sequence[str]) -> np.ndarray:
        return np.array([self.position[item] for item in items if item in self.position], np.int64)

    def history_matrix(self, rows: Sequence[Row]) -> np.ndarray:
        matrix = np.zeros((len(rows), len(self.ids)), np.float32)
        for n, row in enumerate(rows):
            matrix[n, self.positions(row.seen)] = 1.0
        return matrix


def popular_scorer(fit: Sequence[Row], catalog: ItemTexts, window_days) -> Scorer:
    latest = max(row.timestamp for row in fit)
    recent = [row.item for row in fit if window_days is None or row.timestamp > latest - window_days * DAY]
    counts = np.bincount(catalog.positions(recent), minlength=len(catalog.ids)).astype(np.float64)
    return lambda rows: np.tile(counts, (len(rows), 1))


def ease_scorer(fit: Sequence[Row], catalog: ItemTexts, lam: float) -> Scorer:
    by_user: Dict[str, List[str]] = {}
    for row in fit:
        by_user.setdefault(row.user, []).append(row.item)
    users = catalog.history_matrix([Row(user, "", 0, tuple(items)) for user, items in by_user.items()])
    gram = users.T.astype(np.float64) @ users + lam * np.eye(len(catalog.ids))
    precision = np.linalg.inv(gram)
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return lambda rows: catalog.history_matrix(rows) @ weights


def content_scorer(catalog: ItemTexts) -> Scorer:
    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(catalog.texts)  # rows are L2-normalised

    def score(rows: Sequence[Row]) -> np.ndarray:
        profile = vectors.T @ catalog.history_matrix(rows).T  # [terms, rows]: summed history vectors
        return np.asarray((vectors @ profile).T)  # a sum ranks as the mean does
    return score


def _hit_figures(ranks: np.ndarray) -> Dict[str, float]:
    """HR@10 and NDCG@10 of target ranks (the baselines' table leaves MRR out)."""
    return {name: value for name, value in accuracy_at_k(ranks, 10).items() if name != "mrr@10"}


def evaluate(scorer: Scorer, rows: Sequence[Row], catalog: ItemTexts, trained: set) -> Dict[str, float]:
    """HR@10 and NDCG@10 overall and for seen / unseen targets; impression metrics where there are impressions."""
    ranks, impressions = [], []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        scores = scorer(chunk)
        ranks.append(target_ranks(scores, catalog.positions([row.item for row in chunk]),
                                  [catalog.positions(row.seen) for row in chunk]))
        for row, row_scores in zip(chunk, scores):
            shown = catalog.positions(row.impression)
            if len(shown):
                labels = np.r_[1.0, np.zeros(len(shown))]
                impressions.append(impression_metrics(labels, row_scores[np.r_[catalog.position[row.item], shown]]))
    ranks = np.concatenate(ranks)
    seen = np.array([row.item in trained for row in rows])
    figures = _hit_figures(ranks)
    for label, mask in (("seen", seen), ("unseen", ~seen)):
        figures[f"{label}_users"] = int(mask.sum())
        figures.update({f"{label}/{name}": value for name, value in (_hit_figures(ranks[mask]) if mask.any() else {}).items()})
    if impressions:
        figures["impressions"] = len(impressions)
        figures.update({f"impression_{name}": float(np.mean([m[name] for m in impressions]))
                        for name in impressions[0]})
    return figures


def compare_baselines(splits: Dict[str, List[Row]], catalog: ItemTexts) -> Dict[str, dict]:
    """Each baseline's chosen setting and its test figures (``splits``: rows of train, eval, test)."""
    train, evals, tests = (splits[split] for split in F.SPLITS)
    trained = {row.item for row in train}  # "seen" as the model's slice has it: in Transform's train vocabulary
    families = {"most popular (recent)": (popular_scorer, RECENT_WINDOWS_DAYS, "window {} days"),
                "EASE": (ease_scorer, EASE_LAMBDAS, "λ = {:g}")}
    table = {}
    for name, (make, settings, describe) in families.items():
        best = max(settings, key=lambda setting: evaluate(make(train, catalog, setting), evals, catalog,
                                                          trained)["ndcg@10"])
        table[name] = {"setting": describe.format(best) if best is not None else "all events",
                       "test": evaluate(make(train + evals, catalog, best), tests, catalog, trained)}
    table["content only"] = {"setting": "TF-IDF of title, categories, description",
                             "test": evaluate(content_scorer(catalog), tests, catalog, trained)}
    return table
