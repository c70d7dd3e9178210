"""The serving SavedModel: Transform's graph + both towers + the catalog's embeddings.

Queries go through ``QueryTransform`` (the query side of Transform's graph, see
``trainer/query_transform.py``); candidates through Transform's whole layer.

Signatures (every input raw, exactly as in the source data):

* ``recommend``: ``user_id [b]``, ``history_item_ids [b, h]`` and ``history_timestamps [b, h]``
  (oldest first, padded with ``""`` / anything), ``timestamp [b]`` (request time, Unix
  seconds), ``k []``, ``exclude_item_ids [b, e]`` (padded with ``""``) -> ``item_ids [b, k]``,
  ``scores [b, k]`` over the whole catalog with history and exclusions removed (when
  fewer than k items remain, the tail has score ``-inf``);
* ``serving_default``: serialized tf.Examples as ExampleGen writes them -> the top
  ``serving_top_k`` items, history and ``seen_item_ids`` removed, and ``impression_scores
  [b, 1 + m]``: the score of the target item, then of each of its ``impression_item_ids``
  (NaN for padding and unknown ids), for the impression metrics;
* ``recommend_examples``: serialized query tf.Examples (``recgen/contracts/signatures.py``: user,
  history, request time, ``exclude_item_ids``) -> the top ``serving_top_k`` items; every input
  has a batch dimension, so TF Serving's server-side batching can merge requests;
* ``item_embeddings``: ``item_ids [n]`` -> the catalog's ``embeddings [n, d]`` (zeros for an id
  not in the catalog), for diversity re-ranking;
* ``item_details``: ``item_ids [n]`` -> the catalog's ``titles [n]`` and ``categories [n, c]``
  (padded with ``""``; ``""`` throughout for an id not in the catalog), what the service shows
  beside each recommended item;
* ``query_embedding``: the ``recommend`` inputs without k and exclusions -> ``embedding``;
* ``candidate_embedding``: ``item_id``, ``item_title``, ``item_categories [b, c]``,
  ``item_description`` -> ``embedding``;
* ``slice_features``: serialized tf.Examples -> the Evaluator's slicing features
  (``trainer/evaluation_slices.py``);
* ``model_settings``: ``examples [b]`` (any strings) -> ``history_length [b]``, the history
  the query tower reads, so that the service sends as many recent events.

Example::

    export_serving_model(model, tft_output, catalog, config, "/tmp/model")
    recommend = tf.saved_model.load("/tmp/model").signatures["recommend"]
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from recgen.contracts.signatures import (
    CATEGORIES_OUTPUT,
    EXAMPLES_INPUT,
    EXCLUDE_ITEM_IDS,
    ITEM_DETAILS_SIGNATURE,
    ITEM_EMBEDDINGS_SIGNATURE,
    ITEM_IDS_INPUT,
    QUERY_FEATURE_SPEC,
    HISTORY_LENGTH_OUTPUT,
    IMPRESSION_SCORES_OUTPUT,
    RECOMMEND_SIGNATURE,
    SETTINGS_SIGNATURE,
    TITLES_OUTPUT,
)
from trainer import preprocessing as P
from trainer.catalog import Catalog, position_table, raw_item_features
from trainer.config import RetrievalConfig
from trainer.evaluation_slices import EvaluationSlices
from trainer.query_transform import QueryTransform
from trainer.raw_features import ragged_lists, ragged_lists_like

_STRINGS, _INTS = tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.int64)
_STRING_LISTS, _INT_LISTS = tf.TensorSpec([None, None], tf.string), tf.TensorSpec([None, None], tf.int64)
_QUERY_SIGNATURE = dict(user_id=_STRINGS, history_item_ids=_STRING_LISTS,
                        history_timestamps=_INT_LISTS, timestamp=_INTS)


class RetrievalServingModule(tf.Module):
    """What the Pusher ships: raw request in, whole-catalog top-k out."""

    def __init__(self, model, tft_output, catalog: Catalog, candidate_embeddings: np.ndarray,
                 config: RetrievalConfig, evaluation_slices: EvaluationSlices):
        super().__init__()
        self.query_tower, self.candidate_tower = model.query_tower, model.candidate_tower
        self.tft_layer = tft_output.transform_features_layer()
        self.query_transform = QueryTransform(tft_output, config)
        self.candidate_ids = tf.constant(catalog.item_ids.astype(object))
        self.candidate_embeddings = tf.Variable(candidate_embeddings, trainable=False,
                                                name="candidate_embeddings")
        self.catalog_positions = position_table(catalog.item_ids)
        self.catalog_titles = tf.constant(catalog.titles.astype(object), tf.string)
        self.catalog_categories = tf.constant(catalog.categories.astype(object), tf.string)
        self._raw_feature_spec = tft_output.raw_feature_spec()
        self.evaluation_slices = evaluation_slices
        self._serving_top_k = config.serving_top_k
        self._history_length = config.history_length

    def _embed_queries(self, user_id, history_item_ids: tf.RaggedTensor, history_timestamps: tf.RaggedTensor,
                       timestamp) -> tf.Tensor:
        features = self.query_transform(user_id, history_item_ids, history_timestamps, timestamp)
        return self.query_tower(features, training=False)

    def _embed_padded_queries(self, user_id, history_item_ids, history_timestamps, timestamp) -> tf.Tensor:
        """Histories ``[b, h]`` padded with ``""`` (timestamps beside them padded with anything)."""
        return self._embed_queries(user_id, ragged_lists(history_item_ids, pad=""),
                                   ragged_lists_like(history_timestamps, history_item_ids, pad=""), timestamp)

    def _top_k(self, queries: tf.Tensor, excluded_ids: tf.Tensor, k) -> dict:
        # Written here rather than tfrs.layers.factorized_top_k.BruteForce: its
        # query_with_exclusions needs a static exclusion width, and requests carry any number.
        scores = tf.matmul(queries, self.candidate_embeddings, transpose_b=True)
        positions = self.catalog_positions.lookup(excluded_ids)
        rows = tf.broadcast_to(tf.range(tf.shape(positions, out_type=tf.int64)[0])[:, None],
                               tf.shape(positions, out_type=tf.int64))
        known = positions >= 0
        cells = tf.stack([tf.boolean_mask(rows, known), tf.boolean_mask(positions, known)], axis=1)
        scores = tf.tensor_scatter_nd_update(
            scores, cells, tf.fill([tf.shape(cells)[0]], tf.constant(-np.inf, scores.dtype)))
        k = tf.minimum(tf.cast(k, tf.int32), tf.shape(scores)[1])
        top_scores, top_positions = tf.math.top_k(scores, k=k)  # lower position (item id) first on ties
        return {"item_ids": tf.gather(self.candidate_ids, top_positions), "scores": top_scores}

    @tf.function(input_signature=[*_QUERY_SIGNATURE.values(), tf.TensorSpec([], tf.int32), _STRING_LISTS])
    def recommend(self, user_id, history_item_ids, history_timestamps, timestamp, k, exclude_item_ids):
        queries = self._embed_padded_queries(user_id, history_item_ids, history_timestamps, timestamp)
        return self._top_k(queries, tf.concat([history_item_ids, exclude_item_ids], axis=1), k)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve_examples(self, examples):
        raw = tf.io.parse_example(examples, self._raw_feature_spec)
        queries = self._embed_queries(*P.raw_query(raw))
        seen = tf.concat([tf.sparse.to_dense(raw[F.HISTORY_ITEM_IDS], default_value=""),
                          tf.sparse.to_dense(raw[F.SEEN_ITEM_IDS], default_value="")], axis=1)
        return {**self._top_k(queries, seen, self._serving_top_k),
                IMPRESSION_SCORES_OUTPUT: self._scores_of(queries, tf.concat([
                    P.scalar(raw[F.ITEM_ID], "")[:, None],
                    tf.sparse.to_dense(raw[F.IMPRESSION_ITEM_IDS], default_value="")], axis=1))}

    def _scores_of(self, queries: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """Each query's scores of its row of ``item_ids [b, m]``; NaN where an id is not in the catalog."""
        positions = self.catalog_positions.lookup(item_ids)
        scores = tf.einsum("bd,bmd->bm", queries, tf.gather(self.candidate_embeddings, tf.maximum(positions, 0)))
        return tf.where(positions >= 0, scores, tf.constant(np.nan, scores.dtype))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)])
    def recommend_examples(self, examples):
        query = tf.io.parse_example(examples, QUERY_FEATURE_SPEC)
        history = tf.sparse.to_dense(query[F.HISTORY_ITEM_IDS], default_value="")
        queries = self._embed_padded_queries(query[F.USER_ID], history,
                                             tf.sparse.to_dense(query[F.HISTORY_TIMESTAMPS], default_value=0),
                                             query[F.TIMESTAMP])
        excluded = tf.concat([history, tf.sparse.to_dense(query[EXCLUDE_ITEM_IDS], default_value="")], axis=1)
        return self._top_k(queries, excluded, self._serving_top_k)

    def _catalog_rows(self, table, item_ids, missing) -> tf.Tensor:
        """``table``'s rows (the catalog in id order) for ``item_ids``; ``missing`` for an unknown id."""
        positions = self.catalog_positions.lookup(item_ids)
        found = tf.gather(table, tf.maximum(positions, 0))
        known = tf.reshape(positions >= 0, [-1] + [1] * (found.shape.rank - 1))
        return tf.where(known, found, tf.fill(tf.shape(found), tf.constant(missing, found.dtype)))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=ITEM_IDS_INPUT)])
    def item_embeddings(self, item_ids):
        return {"embeddings": self._catalog_rows(self.candidate_embeddings, item_ids, 0.0)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=ITEM_IDS_INPUT)])
    def item_details(self, item_ids):
        return {TITLES_OUTPUT: self._catalog_rows(self.catalog_titles, item_ids, ""),
                CATEGORIES_OUTPUT: self._catalog_rows(self.catalog_categories, item_ids, "")}

    @tf.function(input_signature=list(_QUERY_SIGNATURE.values()))
    def query_embedding(self, user_id, history_item_ids, history_timestamps, timestamp):
        return {"embedding": self._embed_padded_queries(user_id, history_item_ids, history_timestamps, timestamp)}

    @tf.function(input_signature=[_STRINGS, _STRINGS, _STRING_LISTS, _STRINGS])
    def candidate_embedding(self, item_id, item_title, item_categories, item_description):
        transformed = self.tft_layer(raw_item_features(item_id, item_title, item_categories, item_description))
        return {"embedding": self.candidate_tower({key: transformed[key] for key in P.CANDIDATE_FEATURES},
                                                  training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)])
    def model_settings(self, examples):
        return {HISTORY_LENGTH_OUTPUT: tf.fill(tf.shape(examples), tf.constant(self._history_length, tf.int64))}

    def signatures(self) -> dict:
        return {"recommend": self.recommend, "serving_default": self.serve_examples,
                RECOMMEND_SIGNATURE: self.recommend_examples, ITEM_EMBEDDINGS_SIGNATURE: self.item_embeddings,
                ITEM_DETAILS_SIGNATURE: self.item_details,
                "query_embedding": self.query_embedding, "candidate_embedding": self.candidate_embedding,
                "slice_features": self.evaluation_slices.slice_features, SETTINGS_SIGNATURE: self.model_settings}


def export_serving_model(model, tft_output, catalog: Catalog, candidate_embeddings: np.ndarray,
                         config: RetrievalConfig, export_dir: str, training_events: np.ndarray) -> None:
    """Saves the serving SavedModel with its signatures to ``export_dir``.

    ``training_events[i]`` counts catalog item ``i``'s training events (head / tail and seen /
    unseen slices).
    """
    module = RetrievalServingModule(model, tft_output, catalog, candidate_embeddings, config,
                                    EvaluationSlices.from_training_events(catalog.item_ids, training_events))
    # Keras would also save every layer's traced call functions, which only Keras reloading uses;
    # without them the SavedModel loads about a third faster, and a model server swaps versions
    # sooner. keras_option_scope is tf_keras's own switch for this (private module path).
    from tf_keras.src.saving.legacy.saved_model.utils import keras_option_scope
    with keras_option_scope(save_traces=False):
        tf.saved_model.save(module, export_dir, signatures=module.signatures())
