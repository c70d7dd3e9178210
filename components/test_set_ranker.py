"""``TestSetRanker``: the exported model's top-K for every test user, and the accuracy it scores.

It calls the SavedModel's ``recommend`` signature (the one serving uses) on the raw
test examples, excluding each user's whole history (``seen_item_ids``), and scores the
lists per docs/evaluation.md.

Example:
    >>> ranker = TestSetRanker(examples=example_gen.outputs["examples"],  # doctest: +SKIP
    ...                        model=trainer.outputs["model"])
"""

import json
import os
from typing import Dict, Iterator

import numpy as np
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils

from components.artifacts import Rankings
from recgen.contracts import features as F
from recgen.contracts.examples_io import dense_example_batches
from recgen.metrics import accuracy_at_k, ranks_in_lists
from recgen.progress import say

METRICS_FILE = "metrics.json"
REPORTED_K = (10, 50, 100)


def topk_path(rankings_uri: str, split: str = F.TEST) -> str:
    return os.path.join(rankings_uri, f"topk_{split}.jsonl")


def split_requests(split_uri: str, batch_size: int) -> Iterator[Dict[str, tf.Tensor]]:
    """Batches of one split's raw examples as dense ``recommend`` inputs (lists padded with ``""``/0)."""
    return dense_example_batches(sorted(tf.io.gfile.glob(os.path.join(split_uri, "*.gz"))), batch_size)


def recommend_for(recommend, request: Dict[str, tf.Tensor], k: int) -> Dict[str, tf.Tensor]:
    """Calls a ``recommend`` signature for a ``split_requests`` batch, excluding each user's seen items."""
    return recommend(user_id=request[F.USER_ID], history_item_ids=request[F.HISTORY_ITEM_IDS],
                     history_timestamps=request[F.HISTORY_TIMESTAMPS], timestamp=request[F.TIMESTAMP],
                     k=tf.constant(k, tf.int32), exclude_item_ids=request[F.SEEN_ITEM_IDS])


def rank_split(serving_model_dir: str, split_uri: str, out_path: str, top_k: int,
               batch_size: int = 256) -> Dict[str, float]:
    """Writes one ``{"user_id", "items"}`` line per example of the split; returns its metrics."""
    recommend = tf.saved_model.load(serving_model_dir).signatures["recommend"]
    lists, targets = [], []
    with tf.io.gfile.GFile(out_path, "w") as out:
        for request in split_requests(split_uri, batch_size):
            result = recommend_for(recommend, request, top_k)
            for user, items, scores, target in zip(request[F.USER_ID].numpy(), result["item_ids"].numpy(),
                                                   result["scores"].numpy(), request[F.ITEM_ID].numpy()):
                kept = [item.decode("utf-8") for item, score in zip(items, scores) if np.isfinite(score)]
                out.write(json.dumps({"user_id": user.decode("utf-8"), "items": kept}, ensure_ascii=False) + "\n")
                lists.append(kept)
                targets.append(target.decode("utf-8"))
    ranks = ranks_in_lists(lists, targets)
    metrics: Dict[str, float] = {"users": len(targets)}
    for k in REPORTED_K:
        if k <= top_k:
            metrics.update(accuracy_at_k(ranks, k))
    return metrics


@tfx.dsl.components.component
def TestSetRanker(examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
                  model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
                  rankings: tfx.dsl.components.OutputArtifact[Rankings],
                  top_k: tfx.dsl.components.Parameter[int] = 100) -> None:
    """Ranks the whole catalog for every test user with the exported ``recommend`` signature."""
    split_uri = artifact_utils.get_split_uri([examples], F.TEST)
    path = topk_path(rankings.uri)
    metrics = rank_split(os.path.join(model.uri, "Format-Serving"), split_uri, path, top_k)
    with tf.io.gfile.GFile(os.path.join(rankings.uri, METRICS_FILE), "w") as stream:
        json.dump({"split": F.TEST, "top_k": top_k, **metrics}, stream, indent=2)
    for name, value in metrics.items():
        rankings.set_float_custom_property(name, float(value))
    say(f"TestSetRanker: {metrics['users']:,} test users, HR@10 {metrics['hr@10']:.4f}, "
        f"NDCG@10 {metrics['ndcg@10']:.4f}; top-{top_k} lists in {path}")
