"""The recommendation service's client of a TF Serving API (RecGen's model server or stock TF Serving).

Every call goes through the ``tensorflow-serving-api`` ``PredictionService`` stub with a
deadline, over the fully batched signatures (``serving/query_examples.py``); a model server
error becomes a ``ServingError`` the service's caller can act on.

Example:
    >>> models = ModelClient("127.0.0.1:8500")  # doctest: +SKIP
    >>> ids, scores, version = models.recommend([query_example("u1", ["i1"], [100], 200)], timeout=1.0)  # doctest: +SKIP
"""
from __future__ import annotations

import threading
from typing import Dict, List, Optional, Sequence, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving.errors import ServingError
from serving.query_examples import EXAMPLES_INPUT

RETRIEVAL, GENERATOR = "retrieval", "generator"
_PASSED_ON = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INVALID_ARGUMENT}


class ModelClient:
    """Predict calls to the retrieval and generator models of one model server."""

    def __init__(self, address: str, retrieval_model: str = RETRIEVAL, generator_model: str = GENERATOR):
        self.address = address
        self.channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 16 << 20)])
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.retrieval_model, self.generator_model = retrieval_model, generator_model
        self._cache_lock = threading.Lock()
        self._cached_version, self._cached_embeddings = None, {}

    def predict(self, model: str, signature: str, inputs: Dict[str, np.ndarray], timeout: float,
                version: Optional[int] = None) -> Tuple[Dict[str, np.ndarray], int]:
        """The signature's outputs and the version that answered."""
        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = model, signature
        if version is not None:
            request.model_spec.version.value = version
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        try:
            response = self.stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            code = error.code() if error.code() in _PASSED_ON else grpc.StatusCode.UNAVAILABLE
            raise ServingError(code, f"model server {self.address}, {model}/{signature}: {error.details()}") from None
        outputs = {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
        return outputs, response.model_spec.version.value

    def recommend(self, queries: Sequence[bytes], timeout: float) -> Tuple[np.ndarray, np.ndarray, int]:
        """Top item ids (bytes) and scores per query example, and the retrieval version."""
        outputs, version = self.predict(self.retrieval_model, "recommend_examples",
                                        {EXAMPLES_INPUT: np.array(queries, dtype=object)}, timeout)
        return outputs["item_ids"], outputs["scores"], version

    def item_embeddings(self, item_ids: Sequence[bytes], version: int, timeout: float) -> np.ndarray:
        """Candidate-tower embeddings of catalog items from the given retrieval version.

        A version's item embeddings never change, so they are cached per version: after the first
        requests, diversity re-ranking needs no second model call.
        """
        with self._cache_lock:
            if self._cached_version != version:
                self._cached_version, self._cached_embeddings = version, {}
            cache = self._cached_embeddings
            missing = list(dict.fromkeys(item for item in item_ids if item not in cache))
        if missing:
            outputs, _ = self.predict(self.retrieval_model, "item_embeddings",
                                      {"item_ids": np.array(missing, dtype=object)}, timeout, version)
            with self._cache_lock:
                cache.update(zip(missing, outputs["embeddings"]))
        return np.stack([cache[item] for item in item_ids])

    def explain(self, rows: Sequence[bytes], timeout: float) -> Tuple[List[str], int]:
        """One explanation per ``explain_example`` row, and the generator version."""
        outputs, version = self.predict(self.generator_model, "explain_examples",
                                        {EXAMPLES_INPUT: np.array(rows, dtype=object)}, timeout)
        return [text.decode("utf-8", errors="replace") for text in outputs["explanations"]], version

    def close(self) -> None:
        self.channel.close()
