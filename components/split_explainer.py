"""``SplitExplainer``: the exported generator's explanation for every test user, and the two
baselines' texts for the same (user, item).

It calls the SavedModel's ``generate`` signature (the one serving uses) with its default
decoding (``GeneratorConfig``'s) on each test user's test item and history, and writes the texts with their
references (the test events' summaries; MovieLens: the user's tags of the movie). It scores
nothing: the GeneratorEvaluator computes the text quality of the generator and of the baselines
(docs/evaluation.md#metrics), the baselines' from ``baselines_test.jsonl``
(``components/evaluation/baseline_texts.py``).

Baselines, from train-split summaries only (``recgen/explanation_baselines.py``):
* item-most-frequent: the item's most frequent training summary;
* similar-user: the item's training summary by the user whose train items are most similar.
Train reviews are taken in time order (then user, item id), which decides ties.

Example::

    explainer = SplitExplainer(examples=example_gen.outputs["examples"], model=generator_trainer.outputs["model"])
"""

import json
import logging
import os
from collections import defaultdict
from typing import Dict, List

import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils

from components.artifacts import Explanations
from components.evaluation import baseline_texts
from components.split_ranker import split_requests
from recgen.contracts import features as F
from recgen.contracts.examples_io import split_dir
from recgen.contracts.loaded_signature import LoadedSignature
from recgen.explanation_baselines import (
    ITEM_MOST_FREQUENT,
    SIMILAR_USER,
    item_most_frequent_summaries,
    similar_user_summaries,
)

_logger = logging.getLogger(__name__)


def explanations_path(explanations_uri: str, split: str = F.TEST) -> str:
    return os.path.join(explanations_uri, f"explanations_{split}.jsonl")


def split_reviews(split_uri: str) -> List[dict]:
    """``{"user_id", "item_id", "timestamp", "history", "summary"}`` per example of one split."""
    rows = []
    for batch in split_requests(split_uri, batch_size=1024):
        for user, item, time, history, summary in zip(
                batch[F.USER_ID].numpy(), batch[F.ITEM_ID].numpy(), batch[F.TIMESTAMP].numpy(),
                batch[F.HISTORY_ITEM_IDS].numpy(), batch[F.SUMMARY].numpy()):
            rows.append({"user_id": user.decode("utf-8"), "item_id": item.decode("utf-8"), "timestamp": int(time),
                         "history": [h.decode("utf-8") for h in history if h],
                         "summary": summary.decode("utf-8").strip()})
    return rows


def explain_rows(generate: LoadedSignature, rows: List[dict], batch_size: int = 64, **settings) -> List[str]:
    """Explanations for each row's user, item and history, decoded with the signature's defaults
    or with ``settings`` (e.g. ``temperature=tf.constant(0.6)``)."""
    texts: List[str] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        width = max(1, max(len(row["history"]) for row in batch))
        history = [row["history"] + [""] * (width - len(row["history"])) for row in batch]
        result = generate(user_id=tf.constant([row["user_id"] for row in batch]),
                          item_id=tf.constant([row["item_id"] for row in batch]),
                          history_item_ids=tf.constant(history, tf.string), **settings)
        texts.extend(text.decode("utf-8") for text in result["explanations"].numpy())
        _logger.info(f"SplitExplainer: {len(texts):,} of {len(rows):,} examples explained")
    return texts


def baseline_explanations(train: List[dict], queries: List[dict]) -> Dict[str, List[str]]:
    """Both baselines' answers for the queries, from train-split summaries in time order."""
    ordered = sorted(train, key=lambda row: (row["timestamp"], row["user_id"], row["item_id"]))
    reviews = [(row["user_id"], row["item_id"], row["summary"]) for row in ordered]
    train_items: Dict[str, List[str]] = defaultdict(list)
    for row in ordered:
        train_items[row["user_id"]].append(row["item_id"])
    pairs = [(row["user_id"], row["item_id"]) for row in queries]
    return {ITEM_MOST_FREQUENT: item_most_frequent_summaries(reviews, pairs),
            SIMILAR_USER: similar_user_summaries(reviews, pairs, [train_items[user] for user, _ in pairs],
                                                 train_interactions=[(u, i) for u, i, _ in reviews])}


def explain_test_split(serving_model_dir: str, examples_uri: str, out_uri: str) -> int:
    """Writes the generator's explanations file and the baselines' texts; returns how many test users."""
    test = split_reviews(split_dir(examples_uri, F.TEST))
    texts = explain_rows(LoadedSignature(serving_model_dir, "generate"), test)
    with tf.io.gfile.GFile(explanations_path(out_uri), "w") as out:
        for row, text in zip(test, texts):
            out.write(json.dumps({"user_id": row["user_id"], "item_id": row["item_id"], "text": text,
                                  "reference": row["summary"]}, ensure_ascii=False) + "\n")
    baselines = baseline_explanations(split_reviews(split_dir(examples_uri, F.TRAIN)), test)
    baseline_texts.write(os.path.join(out_uri, baseline_texts.FILE),
                         [(row["user_id"], row["item_id"], {name: answers[n] for name, answers in baselines.items()})
                          for n, row in enumerate(test)])
    return len(test)


@tfx.dsl.components.component
def SplitExplainer(examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
                   model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
                   explanations: tfx.dsl.components.OutputArtifact[Explanations]) -> None:
    """Explains every test user's test item with the exported ``generate`` signature; writes the baselines' too."""
    users = explain_test_split(os.path.join(model.uri, "Format-Serving"),
                               artifact_utils.get_single_uri([examples]), explanations.uri)
    _logger.info(f"SplitExplainer: explanations of {users:,} test users in {explanations_path(explanations.uri)}, "
        f"the baselines' in {os.path.join(explanations.uri, baseline_texts.FILE)}")
