"""The serialized tf.Examples RecGen's service sends to the models: one contract for both sides.

TF Serving batches a signature only when every input has a batch dimension, so the
recommendation service calls the fully batched signatures: ``recommend_examples`` (retrieval)
and ``explain_examples`` (generator), each over serialized tf.Examples, and the retrieval
model's ``item_embeddings`` and ``item_details`` over item ids. The retrieval export
parses with ``QUERY_FEATURE_SPEC``; the service builds examples with ``query_example`` and
``explain_example``.

Example:
    >>> serialized = query_example("u1", ["i1", "i2"], [100, 200], 300, exclude=["i9"])
    >>> tf.io.parse_example([serialized], QUERY_FEATURE_SPEC)["timestamp"].numpy()
    array([300])
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import predict_pb2

from recgen.contracts import features as F

EXCLUDE_ITEM_IDS = "exclude_item_ids"
EXAMPLES_INPUT = "examples"  # the input name of every serialized-example signature
RECOMMEND_SIGNATURE = "recommend_examples"  # the service's retrieval call
ITEM_EMBEDDINGS_SIGNATURE, ITEM_IDS_INPUT = "item_embeddings", "item_ids"  # MMR's item vectors
# The catalog's ``item_ids [n]`` -> ``titles [n]``, ``categories [n, c]`` (padded with ""; an id
# not in the catalog gets "" throughout): what each recommended item carries in the response.
ITEM_DETAILS_SIGNATURE, TITLES_OUTPUT, CATEGORIES_OUTPUT = "item_details", "titles", "categories"
ITEM_ID_SIGNATURES = (ITEM_EMBEDDINGS_SIGNATURE, ITEM_DETAILS_SIGNATURE)  # those whose input is ITEM_IDS_INPUT
EXPLAIN_SIGNATURE = "explain_examples"  # the service's generator call
# The retrieval export's own settings the service follows: ``examples [b]`` (any strings) ->
# ``history_length [b]``, how many recent events the query tower reads (RetrievalConfig's).
SETTINGS_SIGNATURE, HISTORY_LENGTH_OUTPUT = "model_settings", "history_length"
# ``serving_default``'s scores of each example's target, then of its ``impression_item_ids``
# (NaN for padding): what the Evaluator's impression metrics rank.
IMPRESSION_SCORES_OUTPUT = "impression_scores"

QUERY_FEATURE_SPEC = {
    F.USER_ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
    F.HISTORY_ITEM_IDS: tf.io.VarLenFeature(tf.string),
    F.HISTORY_TIMESTAMPS: tf.io.VarLenFeature(tf.int64),
    F.TIMESTAMP: tf.io.FixedLenFeature([], tf.int64, default_value=0),
    EXCLUDE_ITEM_IDS: tf.io.VarLenFeature(tf.string),
}


def _bytes(values: Sequence[str]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))


def _ints(values: Sequence[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def query_example(user_id: str, history_item_ids: Sequence[str], history_timestamps: Sequence[int],
                  timestamp: int, exclude: Sequence[str] = ()) -> bytes:
    """A ``recommend_examples`` request row: history oldest first, request time in Unix seconds."""
    return tf.train.Example(features=tf.train.Features(feature={
        F.USER_ID: _bytes([user_id]), F.HISTORY_ITEM_IDS: _bytes(history_item_ids),
        F.HISTORY_TIMESTAMPS: _ints(history_timestamps), F.TIMESTAMP: _ints([timestamp]),
        EXCLUDE_ITEM_IDS: _bytes(exclude)})).SerializeToString()


def explain_example(user_id: str, item_id: str, history_item_ids: Sequence[str]) -> bytes:
    """An ``explain_examples`` request row: why ``user_id`` may like ``item_id``."""
    return tf.train.Example(features=tf.train.Features(feature={
        F.USER_ID: _bytes([user_id]), F.ITEM_ID: _bytes([item_id]),
        F.HISTORY_ITEM_IDS: _bytes(history_item_ids)})).SerializeToString()


def predict_request(model: str, signature: str, inputs: Dict[str, Any], version: Optional[int] = None):
    """A TF Serving ``PredictRequest``: ``inputs`` are arrays or lists (or ready ``TensorProto``s);
    no ``version`` asks for the latest."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = model, signature
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(value if isinstance(value, tensor_pb2.TensorProto) else
                                      tf.make_tensor_proto(value))
    return request
