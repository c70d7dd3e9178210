"""Keyword tables from the train split's reviews, pooled from Transform's per-review tf-idf.

* item keywords: the ``item_keywords`` highest summed tf-idf terms over an item's train reviews;
* review keywords: the ``review_keywords`` highest tf-idf terms of one (user, item) train review,
  which the prompt uses as "what this user says about things they had".

Only train-split reviews are read (the caller passes train files), so no eval or test
reference text reaches a prompt. For a training prompt, ``item_keywords_without`` leaves the
example's own review out, as serving never has the review it is asked to write.

Example::

    tables = read_keyword_tables(fn_args.train_files, tft_output, config)
    tables.item_keywords["B0002E1G5C"]
    # -> 'strings tone bright elixir coated nanoweb'
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
from typing import Dict, Iterable, List, Tuple

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from trainer.generator import preprocessing as GP
from trainer.generator.config import GeneratorConfig

Scores = Dict[str, float]
ITEM_KEYWORDS_FILE = "item_keywords.json"  # beside the generator's Format-Serving/


def top_terms(scores: Scores, count: int) -> str:
    """The ``count`` best-scoring terms as one space-separated string (ties: alphabetical)."""
    best = sorted((term for term, score in scores.items() if score > 0), key=lambda t: (-scores[t], t))
    return " ".join(best[:count])


@dataclasses.dataclass
class KeywordTables:
    """Summed scores per item and scores per (user, item) review."""

    item_scores: Dict[str, Scores]
    review_scores: Dict[Tuple[str, str], Scores]
    config: GeneratorConfig

    @property
    def item_keywords(self) -> Dict[str, str]:
        return {item: top_terms(scores, self.config.item_keywords)
                for item, scores in self.item_scores.items()}

    @property
    def review_keywords(self) -> Dict[Tuple[str, str], str]:
        return {pair: top_terms(scores, self.config.review_keywords)
                for pair, scores in self.review_scores.items()}

    def item_keywords_without(self, user_id: str, item_id: str) -> str:
        """The item's keywords with this user's review of it left out."""
        own = self.review_scores.get((user_id, item_id), {})
        pooled = {term: score - own.get(term, 0.0) for term, score in self.item_scores.get(item_id, {}).items()}
        return top_terms(pooled, self.config.item_keywords)


def review_term_scores(files: Iterable[str], tft_output) -> Iterable[Tuple[str, str, Scores]]:
    """``(user_id, item_id, {term: tf-idf})`` for every raw example, through Transform's graph."""
    spec = tft_output.raw_feature_spec()
    layer = tft_output.transform_features_layer()
    records = tf.data.TFRecordDataset(list(files), compression_type="GZIP").batch(1024)
    for batch in records:
        transformed = layer(tf.io.parse_example(batch, spec))
        terms = tf.RaggedTensor.from_sparse(transformed[GP.REVIEW_TERM])  # distinct per review
        scores = tf.RaggedTensor.from_sparse(transformed[GP.REVIEW_TFIDF])
        for user, item, row_terms, row_scores in zip(
                transformed[F.USER_ID].numpy(), transformed[F.ITEM_ID].numpy(),
                terms.to_list(), scores.to_list()):
            yield (user.decode("utf-8"), item.decode("utf-8"),
                   {term.decode("utf-8"): score for term, score in zip(row_terms, row_scores)})


def read_keyword_tables(train_files: Iterable[str], tft_output, config: GeneratorConfig) -> KeywordTables:
    """Pools the train split's per-review scores into item and review tables."""
    item_scores: Dict[str, Scores] = collections.defaultdict(lambda: collections.defaultdict(float))
    review_scores: Dict[Tuple[str, str], Scores] = {}
    for user, item, scores in review_term_scores(train_files, tft_output):
        if not scores:
            continue
        review_scores[(user, item)] = scores
        for term, score in scores.items():
            item_scores[item][term] += float(np.float32(score))
    return KeywordTables({item: dict(s) for item, s in item_scores.items()}, review_scores, config)


def write_item_keywords(tables: KeywordTables, model_dir: str) -> str:
    """``{item_id: [keyword, ...]}`` of every item into ``model_dir/item_keywords.json``; returns the path.
    These are the item's feature words that FMR looks for (docs/evaluation.md#metrics)."""
    path = os.path.join(model_dir, ITEM_KEYWORDS_FILE)
    with tf.io.gfile.GFile(path, "w") as stream:
        json.dump({item: words.split() for item, words in tables.item_keywords.items()}, stream)
    return path


def read_item_keywords(path: str) -> Dict[str, List[str]]:
    """What ``write_item_keywords`` wrote."""
    with tf.io.gfile.GFile(path) as stream:
        return json.load(stream)
