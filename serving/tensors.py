"""Tensors in and out of the wire formats TF Serving speaks: ``TensorProto`` (gRPC) and JSON (REST).

Every decoder bounds the tensor's size before it allocates anything (a ``TensorProto`` can
claim a shape of 10^12 elements in a few bytes) and raises ``ServingError(INVALID_ARGUMENT)``
naming the input on anything malformed.

Example:
    >>> decode_tensor(tf.make_tensor_proto([b"u1"]), "user_id")
    array([b'u1'], dtype=object)
    >>> json_value(np.array([b"ok", b"\\xff"], dtype=object))
    ['ok', {'b64': '/w=='}]
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Dict

import numpy as np
import tensorflow as tf

from serving.errors import invalid

MAX_ELEMENTS = 1_000_000  # per input tensor


def decode_tensor(proto, name: str, max_elements: int = MAX_ELEMENTS) -> np.ndarray:
    """The ndarray a Predict request's ``TensorProto`` holds."""
    try:
        dtype = tf.as_dtype(proto.dtype)
    except TypeError:
        raise invalid(f"input {name!r}: unknown dtype {proto.dtype}") from None
    dims = [dim.size for dim in proto.tensor_shape.dim]
    if proto.tensor_shape.unknown_rank or any(size < 0 for size in dims):
        raise invalid(f"input {name!r}: shape {dims} is not fully defined")
    elements = int(np.prod(dims, dtype=np.float64))
    if elements > max_elements:
        raise invalid(f"input {name!r}: {elements} elements, more than the limit of {max_elements:,}")
    try:
        return tf.make_ndarray(proto) if dtype != tf.string else _decode_strings(proto, dims)
    except (ValueError, TypeError) as error:
        raise invalid(f"input {name!r}: {error}") from None


def _decode_strings(proto, dims) -> np.ndarray:
    # tf.make_ndarray repeats a single string_val to fill any shape: here counts must match.
    values = np.array(list(proto.string_val), dtype=object)
    if values.size != int(np.prod(dims)):
        raise ValueError(f"{values.size} string values for shape {dims}")
    return values.reshape(dims)


def encode_tensor(value) -> Any:
    """A ``TensorProto`` of an output tensor or ndarray."""
    return tf.make_tensor_proto(value.numpy() if hasattr(value, "numpy") else value)


def from_json(value, dtype: tf.DType, name: str) -> np.ndarray:
    """An ndarray of ``dtype`` from a REST request's JSON value (strings may be ``{"b64": ...}``)."""
    try:
        if dtype == tf.string:
            return np.array(_json_bytes(value), dtype=object)
        array = np.asarray(value, dtype=dtype.as_numpy_dtype)
    except (ValueError, TypeError, binascii.Error) as error:
        raise invalid(f"input {name!r}: not a {dtype.name} tensor: {error}") from None
    if array.size > MAX_ELEMENTS:
        raise invalid(f"input {name!r}: {array.size} elements, more than the limit of {MAX_ELEMENTS:,}")
    return array


def _json_bytes(value):
    if isinstance(value, list):
        return [_json_bytes(item) for item in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"], validate=True)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{value!r} is neither a string nor {{\"b64\": ...}}")


def json_value(array: np.ndarray):
    """Nested lists for a JSON response; bytes that are not UTF-8 become ``{"b64": ...}``."""
    if array.dtype == object:
        return np.vectorize(_json_string, otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def _json_string(value: bytes):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def rows_to_columns(instances: list, names: list) -> Dict[str, list]:
    """TF Serving's row format (``instances``) as one list per input."""
    if not instances:
        raise invalid("'instances' is empty")
    if all(isinstance(row, dict) for row in instances):
        keys = set(instances[0])
        if any(set(row) != keys for row in instances):
            raise invalid("every instance must name the same inputs")
        return {key: [row[key] for row in instances] for key in keys}
    if len(names) != 1:
        raise invalid(f"instances without input names need a signature with one input; this one has {names}")
    return {names[0]: instances}
