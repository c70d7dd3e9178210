"""A sample recommendation with explanations from the latest run's exported models, for people to read.

Example::

    print(sample_recommendation(config, k=5))
    # -> sample recommendation for user 42, whose latest items were 'Heat (1995)', 'Casino (1995)':
      1. Goodfellas (1990)  (score 0.412)
         "great crime story, a classic"
"""
from __future__ import annotations

import os

import tensorflow as tf

from components.artifacts import ItemCatalog
from components.split_ranker import recommend_for, split_requests
from pipelines.recgen_pipeline import PipelineConfig
from recgen.contracts import features as F
from recgen.contracts.examples_io import split_dir
from recgen.contracts.loaded_signature import LoadedSignature
from recgen.contracts.run_root import latest_artifact_uri, latest_ingestion_report
from trainer.catalog import read_catalog


def explain(generator_dir: str, request: dict, item_ids: tf.Tensor) -> list:
    """The generator's (greedy) explanation of each recommended item for the request's user."""
    count = tf.shape(item_ids)[0]
    generate = LoadedSignature(generator_dir, "generate")
    result = generate(user_id=tf.repeat(request[F.USER_ID], count), item_id=item_ids,
                      history_item_ids=tf.repeat(request[F.HISTORY_ITEM_IDS], count, axis=0))
    return [text.decode("utf-8") for text in result["explanations"].numpy()]


def sample_recommendation(config: PipelineConfig, k: int = 5, shown_history: int = 3) -> str:
    """The top ``k`` for the first test user, with titles where the catalog has them, each explained
    when the run trained the generator."""
    model_uri = latest_artifact_uri(config, "Model", producer="RetrievalTrainer")
    generator_uri = latest_artifact_uri(config, "Model", producer="GeneratorTrainer")
    catalog_uri = latest_artifact_uri(config, ItemCatalog.TYPE_NAME)
    examples_uri = latest_ingestion_report(config)["examples_uri"]
    request = next(split_requests(split_dir(examples_uri, F.TEST), batch_size=1))
    recommend = tf.saved_model.load(os.path.join(model_uri, "Format-Serving")).signatures["recommend"]
    result = recommend_for(recommend, request, k)
    catalog = read_catalog(catalog_uri)
    titles = {item.decode(): (title.decode() or item.decode()) for item, title in zip(catalog.item_ids, catalog.titles)}
    history = [titles.get(i.decode(), i.decode()) for i in request[F.HISTORY_ITEM_IDS].numpy()[0][-shown_history:]]
    lines = [f"sample recommendation for user {request[F.USER_ID].numpy()[0].decode()}, "
             f"whose latest items were {', '.join(repr(h) for h in history)}:"]
    explanations = ([None] * k if generator_uri is None  # a run with --no-explanations
                    else explain(os.path.join(generator_uri, "Format-Serving"), request, result["item_ids"][0]))
    for rank, (item, score, text) in enumerate(zip(result["item_ids"].numpy()[0], result["scores"].numpy()[0],
                                                   explanations), 1):
        lines.append(f"  {rank}. {titles.get(item.decode(), item.decode())}  (score {score:.3f})")
        if text is not None:
            lines.append(f"     \"{text}\"")
    return "\n".join(lines)
