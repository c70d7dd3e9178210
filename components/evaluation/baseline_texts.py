"""The baseline explainers' texts for the test split: written by ``SplitExplainer``, scored by the Evaluator.

One JSON line per test example, ``{"user_id", "item_id", "item_most_frequent", "similar_user"}``
(``recgen/explanation_baselines.py``), in ``<Explanations uri>/baselines_test.jsonl``. The
GeneratorEvaluator's ``BaselineExplanationQuality`` metric reads it back, so the baselines' text
quality is computed where the generator's is, on the same examples and slices.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), FILE)
    >>> write(path, [("u1", "i1", {"item_most_frequent": "Nice", "similar_user": "Fine"})])
    >>> read(path)
    {('u1', 'i1'): ('Nice', 'Fine')}
"""
from __future__ import annotations

import json
from typing import Dict, Iterable, Mapping, Tuple

import tensorflow as tf

from recgen.explanation_baselines import BASELINES

FILE = "baselines_test.jsonl"


def write(path: str, rows: Iterable[Tuple[str, str, Mapping[str, str]]]) -> None:
    """``(user_id, item_id, {baseline name: text})`` per example."""
    with tf.io.gfile.GFile(path, "w") as out:
        for user, item, texts in rows:
            out.write(json.dumps({"user_id": user, "item_id": item, **{name: texts[name] for name in BASELINES}},
                                 ensure_ascii=False) + "\n")


def read(path: str) -> Dict[Tuple[str, str], Tuple[str, ...]]:
    """``{(user_id, item_id): (text of each of BASELINES, in order)}``."""
    with tf.io.gfile.GFile(path) as stream:
        rows = [json.loads(line) for line in stream if line.strip()]
    return {(row["user_id"], row["item_id"]): tuple(row[name] for name in BASELINES) for row in rows}
