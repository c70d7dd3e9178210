"""One loaded model version and its signatures, called the way TF Serving calls them.

``ServedVersion.predict`` checks a request's inputs against the signature (names, dtypes,
shapes) before running it, fills inputs left out from the SignatureDef's defaults, and turns
TensorFlow's own errors into ``ServingError``s with a status code.

Example:
    >>> served = ServedVersion("retrieval", 3, "/srv/models/retrieval/3")  # doctest: +SKIP
    >>> served.predict("serving_default", {"examples": np.array([example], dtype=object)})  # doctest: +SKIP
    {'item_ids': array([[b'i7', ...]]), 'scores': array([[0.91, ...]])}
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401 -- registers TF Text ops, which TF Serving's builds link too
from tensorflow_serving.apis import prediction_log_pb2

from serving.errors import ServingError, invalid
from serving.model_base import WARMUP_FILE
from serving.signatures import defaults_of, signature_defs
from serving.tensors import decode_tensor

DEFAULT_SIGNATURE = "serving_default"


class ServedVersion:
    """A SavedModel loaded for serving: its signature functions, SignatureDefs and defaults."""

    def __init__(self, name: str, version: int, path: str):
        self.name, self.version, self.path = name, version, path
        self.model = tf.saved_model.load(path)  # keeps the signatures' resources alive
        self.signature_defs = signature_defs(path)
        self.functions = dict(self.model.signatures)
        self.defaults = {signature: defaults_of(definition) for signature, definition in self.signature_defs.items()}

    def input_specs(self, signature: str) -> Dict[str, tf.TensorSpec]:
        return self.function(signature).structured_input_signature[1]

    def function(self, signature: str):
        if signature not in self.functions:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"serving signature key {signature!r} not found in {self.name} version "
                               f"{self.version}; it has {sorted(self.functions)}")
        return self.functions[signature]

    def checked_inputs(self, signature: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """``inputs`` plus defaults, each checked against the signature; ServingError otherwise."""
        specs = self.input_specs(signature)
        unknown = sorted(set(inputs) - set(specs))
        if unknown:
            raise invalid(f"{unknown} not inputs of signature {signature!r}; its inputs are {sorted(specs)}")
        complete = {**self.defaults.get(signature, {}), **inputs}
        missing = sorted(set(specs) - set(complete))
        if missing:
            raise invalid(f"signature {signature!r} needs inputs {missing}")
        for name, value in complete.items():
            _check(name, np.asarray(value), specs[name])
        return complete

    def run(self, signature: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """The signature's outputs for checked inputs (``checked_inputs``)."""
        specs = self.input_specs(signature)
        try:
            tensors = {name: tf.constant(value, dtype=specs[name].dtype) for name, value in inputs.items()}
        except (TypeError, ValueError) as error:  # e.g. an int64 value outside int32
            raise invalid(f"{self.name} {signature}: {error}") from None
        try:
            outputs = self.function(signature)(**tensors)
        except tf.errors.InvalidArgumentError as error:
            raise invalid(f"{self.name} {signature}: {error.message.splitlines()[0]}") from None
        except UnicodeDecodeError:  # TensorFlow's own error message quoted input bytes that are not UTF-8
            raise invalid(f"{self.name} {signature}: the inputs were refused (e.g. a serialized "
                          "tf.Example that does not parse)") from None
        except tf.errors.OpError as error:
            raise ServingError(grpc.StatusCode.INTERNAL, f"{self.name} {signature}: {error.message}") from None
        return {name: value.numpy() for name, value in outputs.items()}

    def warm_up(self) -> int:
        """Replays ``assets.extra/tf_serving_warmup_requests`` (Predict records); returns the count."""
        path = os.path.join(self.path, WARMUP_FILE)
        if not tf.io.gfile.exists(path):
            return 0
        count = 0
        for record in tf.data.TFRecordDataset(path):
            log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            request = log.predict_log.request
            signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
            inputs = {name: decode_tensor(proto, name) for name, proto in request.inputs.items()}
            self.run(signature, self.checked_inputs(signature, inputs))
            count += 1
        return count


def _check(name: str, value: np.ndarray, spec: tf.TensorSpec) -> None:
    want = spec.dtype
    got_string = value.dtype == object or value.dtype.kind in "SU"
    if (want == tf.string) != got_string or (not got_string and not np.can_cast(value.dtype, want.as_numpy_dtype,
                                                                                 casting="same_kind")):
        raise invalid(f"input {name!r}: expected {want.name}, got {value.dtype}")
    if not spec.shape.is_compatible_with(value.shape):
        raise invalid(f"input {name!r}: expected shape {spec.shape}, got {list(value.shape)}")


def batch_dimension(inputs: Dict[str, np.ndarray]) -> Optional[int]:
    """The shared 0th dimension of all inputs, or None when they have none (not batchable)."""
    sizes = {np.asarray(value).shape[0] if np.ndim(value) else None for value in inputs.values()}
    return sizes.pop() if len(sizes) == 1 else None
