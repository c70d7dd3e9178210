"""``SplitRanker``: the exported model's top-K list for every test user.

It calls the SavedModel's ``recommend`` signature (the one serving uses) on the raw
test examples, excluding each user's whole history (``seen_item_ids``), and writes the
lists. It scores nothing: the RetrievalEvaluator computes the test split's metrics
(docs/evaluation.md#metrics) from the same model's ``serving_default`` lists.

Example::

    ranker = SplitRanker(examples=example_gen.outputs["examples"], model=trainer.outputs["model"])
"""

import json
import logging
import os
from typing import Dict, Iterator

import numpy as np
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils

from components.artifacts import Rankings
from recgen.contracts import features as F
from recgen.contracts.examples_io import dense_example_batches

_logger = logging.getLogger(__name__)

TOP_K_PROPERTY = "top_k"  # the Rankings artifact's custom property: how long the lists are


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


def rank_split(serving_model_dir: str, split_uri: str, out_path: str, top_k: int, batch_size: int = 256) -> int:
    """Writes one ``{"user_id", "items"}`` line per example of the split; returns how many."""
    recommend = tf.saved_model.load(serving_model_dir).signatures["recommend"]
    users = 0
    with tf.io.gfile.GFile(out_path, "w") as out:
        for request in split_requests(split_uri, batch_size):
            result = recommend_for(recommend, request, top_k)
            for user, items, scores in zip(request[F.USER_ID].numpy(), result["item_ids"].numpy(),
                                           result["scores"].numpy()):
                kept = [item.decode("utf-8") for item, score in zip(items, scores) if np.isfinite(score)]
                out.write(json.dumps({"user_id": user.decode("utf-8"), "items": kept}, ensure_ascii=False) + "\n")
                users += 1
    return users


@tfx.dsl.components.component
def SplitRanker(examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
                model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
                rankings: tfx.dsl.components.OutputArtifact[Rankings],
                top_k: tfx.dsl.components.Parameter[int] = 100) -> None:
    """Ranks the whole catalog for every test user with the exported ``recommend`` signature."""
    split_uri = artifact_utils.get_split_uri([examples], F.TEST)
    path = topk_path(rankings.uri)
    users = rank_split(os.path.join(model.uri, "Format-Serving"), split_uri, path, top_k)
    rankings.set_int_custom_property(TOP_K_PROPERTY, top_k)
    _logger.info(f"SplitRanker: top-{top_k} lists of {users:,} test users in {path}")
