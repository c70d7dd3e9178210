"""``TestSetExplainer``: the exported generator's explanation for every test user, scored against
the held-out review and next to two baselines (docs/evaluation.md#metrics).

It calls the SavedModel's ``generate`` signature (the one serving uses) with its default
(greedy) decoding on each test user's test item and history. References are the test
events' summaries (MovieLens: the user's tags of the movie); metrics count only pairs with
a reference, the JSON-lines file has every test user.

Baselines, from train-split summaries only (``recgen/explanation_baselines.py``):
* item-most-frequent: the item's most frequent training summary;
* similar-user: the item's training summary by the user whose train items are most similar.
Train reviews are taken in time order (then user, item id), which decides ties.

Example:
    >>> explainer = TestSetExplainer(examples=example_gen.outputs["examples"],  # doctest: +SKIP
    ...                              model=generator_trainer.outputs["model"])
"""

import json
import os
from collections import defaultdict
from typing import Dict, List

import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils

from components.artifacts import Explanations
from components.test_set_ranker import split_requests
from recgen.contracts import features as F
from recgen.contracts.loaded_signature import LoadedSignature
from recgen.explanation_baselines import item_most_frequent_summaries, similar_user_summaries
from recgen.progress import say
from recgen.text_metrics import text_quality

METRICS_FILE = "metrics.json"
GENERATOR, ITEM_MOST_FREQUENT, SIMILAR_USER = "generator", "item_most_frequent", "similar_user"


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


def explain_rows(generate: LoadedSignature, rows: List[dict], batch_size: int = 64) -> List[str]:
    """Greedy explanations (the signature's defaults) for each row's user, item and history."""
    texts: List[str] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        width = max(1, max(len(row["history"]) for row in batch))
        history = [row["history"] + [""] * (width - len(row["history"])) for row in batch]
        result = generate(user_id=tf.constant([row["user_id"] for row in batch]),
                          item_id=tf.constant([row["item_id"] for row in batch]),
                          history_item_ids=tf.constant(history, tf.string))
        texts.extend(text.decode("utf-8") for text in result["explanations"].numpy())
        say(f"TestSetExplainer: {len(texts):,} of {len(rows):,} test users explained")
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


def score_explanations(rows: List[dict], answers: Dict[str, List[str]]) -> Dict[str, dict]:
    """``text_quality`` of each explainer over the rows that have a reference."""
    scored = [n for n, row in enumerate(rows) if row["summary"]]
    pick = lambda values: [values[n] for n in scored]
    return {name: text_quality(pick([r["user_id"] for r in rows]), pick([r["item_id"] for r in rows]),
                               pick(texts), pick([r["summary"] for r in rows]))
            for name, texts in answers.items()}


def explain_test_split(serving_model_dir: str, examples_uri: str, out_uri: str) -> Dict[str, dict]:
    """Writes the explanations file and ``metrics.json``; returns the metrics."""
    test = split_reviews(os.path.join(examples_uri, f"Split-{F.TEST}"))
    texts = explain_rows(LoadedSignature(serving_model_dir, "generate"), test)
    with tf.io.gfile.GFile(explanations_path(out_uri), "w") as out:
        for row, text in zip(test, texts):
            out.write(json.dumps({"user_id": row["user_id"], "item_id": row["item_id"], "text": text,
                                  "reference": row["summary"]}, ensure_ascii=False) + "\n")
    answers = {GENERATOR: texts,
               **baseline_explanations(split_reviews(os.path.join(examples_uri, f"Split-{F.TRAIN}")), test)}
    metrics = {"split": F.TEST, "users": len(test), **score_explanations(test, answers)}
    with tf.io.gfile.GFile(os.path.join(out_uri, METRICS_FILE), "w") as stream:
        json.dump(metrics, stream, indent=2)
    return metrics


@tfx.dsl.components.component
def TestSetExplainer(examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
                     model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
                     explanations: tfx.dsl.components.OutputArtifact[Explanations]) -> None:
    """Explains every test user's test item with the exported ``generate`` signature and scores it."""
    metrics = explain_test_split(os.path.join(model.uri, "Format-Serving"),
                                 artifact_utils.get_single_uri([examples]), explanations.uri)
    for name, value in metrics[GENERATOR].items():
        explanations.set_float_custom_property(name, float(value))
    generator, baseline = metrics[GENERATOR], metrics[ITEM_MOST_FREQUENT]
    say(f"TestSetExplainer: {generator['pairs']:,} test explanations with a reference: BLEU-1 "
        f"{generator['bleu-1']:.2f} (item-most-frequent {baseline['bleu-1']:.2f}), ROUGE-L "
        f"{generator['rouge-l']:.2f} ({baseline['rouge-l']:.2f}), USR {generator['usr']:.2f}; "
        f"explanations in {explanations_path(explanations.uri)}")
