"""One loaded model version and its signatures, called the way TF Serving calls them.

TF Serving loads a SavedModel's MetaGraph into a Session and runs a signature by feeding its
SignatureDef's input tensors and fetching its output tensors. ``ServedVersion`` does the same
(``tf.compat.v1.saved_model.load`` and a ``Session`` callable per signature) rather than
``tf.saved_model.load``, which rebuilds every function of the SavedModel as a Python graph:
for the retrieval model that took 2.4 times as long (``benchmarks/model_load_benchmark.py``),
and a new version must load quickly under load. Each signature's Session callable is built on
its first run, as TF Serving's Session builds an executor on a signature's first Run: building
one prunes and optimizes the graph (about 0.4 s each, 3.7 s for the retrieval model's nine),
and the warm-up records replayed before the swap build the ones clients call.

``ServedVersion.checked_inputs`` checks a request's inputs against the SignatureDef (names,
dtypes, shapes) before it runs, fills inputs left out from the SignatureDef's defaults, and
``run`` turns TensorFlow's own errors into ``ServingError``s with a status code.

Example::

    served = ServedVersion("retrieval", 3, "/srv/models/retrieval/3")
    served.run("serving_default", {"examples": np.array([example], dtype=object)})
    # -> {'item_ids': array([[b'i7', ...]]), 'scores': array([[0.91, ...]])}
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Dict, List, NamedTuple, Optional

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401 -- registers TF Text ops, which TF Serving's builds link too
from tensorflow.core.protobuf import config_pb2
from tensorflow_serving.apis import prediction_log_pb2

from recgen.contracts.loaded_signature import defaults_of
from recgen.contracts.model_base import WARMUP_FILE
from serving.errors import ServingError, invalid
from serving.tensors import decode_tensor

DEFAULT_SIGNATURE = "serving_default"
INIT_OP_SIGNATURE = "__saved_model_init_op"  # in every TF2 SavedModel; run at load, not callable


class _Signature(NamedTuple):
    """One callable signature: its inputs' specs, its output names and the Session callable's options."""
    input_specs: Dict[str, tf.TensorSpec]
    output_names: List[str]
    options: config_pb2.CallableOptions


def _spec(tensor_info) -> tf.TensorSpec:
    shape = None if tensor_info.tensor_shape.unknown_rank else [
        None if dim.size < 0 else dim.size for dim in tensor_info.tensor_shape.dim]
    return tf.TensorSpec(shape, tf.as_dtype(tensor_info.dtype), name=tensor_info.name)


class ServedVersion:
    """A SavedModel loaded into its own Session: callable signatures, SignatureDefs and defaults."""

    def __init__(self, name: str, version: int, path: str):
        self.name, self.version, self.path = name, version, path
        graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=graph)
        with graph.as_default():
            meta_graph = tf.compat.v1.saved_model.load(self._session, [tf.saved_model.SERVING], path)
        self.signature_defs = meta_graph.signature_def
        self.defaults = {signature: defaults_of(definition) for signature, definition in self.signature_defs.items()}
        self._signatures = {signature: _signature(definition)
                            for signature, definition in self.signature_defs.items() if signature != INIT_OP_SIGNATURE}
        self._calls: Dict[str, Callable] = {}
        self._calls_lock = threading.Lock()

    def _call(self, signature: str) -> Callable:
        """The signature's C++ ``Session::MakeCallable`` handle, built on first use.
        ``Session.make_callable`` with feeds falls back to ``Session.run`` and its per-call fetch
        and feed handling in Python; ``_make_callable_from_options`` (as Keras 2's graph functions
        use it) goes straight to ``TF_SessionRunCallable``."""
        call = self._calls.get(signature)
        if call is None:
            with self._calls_lock:  # concurrent first requests build it once
                call = self._calls.get(signature)
                if call is None:
                    options = self._signatures[signature].options
                    call = self._calls[signature] = self._session._make_callable_from_options(options)  # noqa: SLF001
        return call

    def signature(self, signature: str) -> _Signature:
        if signature not in self._signatures:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"serving signature key {signature!r} not found in {self.name} version "
                               f"{self.version}; it has {sorted(self._signatures)}")
        return self._signatures[signature]

    def input_specs(self, signature: str) -> Dict[str, tf.TensorSpec]:
        return self.signature(signature).input_specs

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
        specs, output_names, _ = self.signature(signature)
        feeds = [_as_dtype(name, inputs[name], spec.dtype) for name, spec in specs.items()]
        try:
            outputs = self._call(signature)(*feeds)
        except tf.errors.InvalidArgumentError as error:
            raise invalid(f"{self.name} {signature}: {error.message.splitlines()[0]}") from None
        except UnicodeDecodeError:  # TensorFlow's own error message quoted input bytes that are not UTF-8
            raise invalid(f"{self.name} {signature}: the inputs were refused (e.g. a serialized "
                          "tf.Example that does not parse)") from None
        except tf.errors.OpError as error:
            raise ServingError(grpc.StatusCode.INTERNAL, f"{self.name} {signature}: {error.message}") from None
        return dict(zip(output_names, outputs))

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


def _signature(definition) -> _Signature:
    specs = {name: _spec(info) for name, info in sorted(definition.inputs.items())}
    outputs = sorted(definition.outputs)
    options = config_pb2.CallableOptions(feed=[spec.name for spec in specs.values()],
                                         fetch=[definition.outputs[name].name for name in outputs])
    return _Signature(specs, outputs, options)


def _check(name: str, value: np.ndarray, spec: tf.TensorSpec) -> None:
    want = spec.dtype
    got_string = value.dtype == object or value.dtype.kind in "SU"
    if (want == tf.string) != got_string or (not got_string and not np.can_cast(value.dtype, want.as_numpy_dtype,
                                                                                 casting="same_kind")):
        raise invalid(f"input {name!r}: expected {want.name}, got {value.dtype}")
    if not spec.shape.is_compatible_with(value.shape):
        raise invalid(f"input {name!r}: expected shape {spec.shape}, got {list(value.shape)}")


def _as_dtype(name: str, value, dtype: tf.DType) -> np.ndarray:
    """``value`` as ``dtype``'s NumPy type; an integer it cannot hold is refused, not wrapped."""
    array = np.asarray(value)
    if dtype.is_integer and array.dtype.kind in "iu" and array.size:
        limits = np.iinfo(dtype.as_numpy_dtype)
        if array.min() < limits.min or array.max() > limits.max:
            raise invalid(f"input {name!r}: a value outside {dtype.name} ({limits.min}..{limits.max})")
    return array.astype(dtype.as_numpy_dtype, copy=False)


def batch_dimension(inputs: Dict[str, np.ndarray]) -> Optional[int]:
    """The shared 0th dimension of all inputs, or None when they have none (not batchable)."""
    sizes = {np.asarray(value).shape[0] if np.ndim(value) else None for value in inputs.values()}
    return sizes.pop() if len(sizes) == 1 else None
