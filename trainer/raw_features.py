"""Dense request tensors -> the raw features Transform's graph takes (all variable-length).

The curated schema gives every raw feature a variable length, so the Transform
layer expects ``tf.SparseTensor`` inputs; these helpers build them from the dense,
padded tensors that serving signatures receive.

Example:
    >>> as_sparse_lists(tf.constant([["a", "b", ""], ["c", "", ""]]), pad="")  # doctest: +SKIP
    SparseTensor(values=[b"a", b"b", b"c"], ...)
"""
from __future__ import annotations

import tensorflow as tf


def as_sparse_column(values: tf.Tensor) -> tf.SparseTensor:
    """``[batch]`` -> a ``[batch, 1]`` SparseTensor that keeps every value (even empty strings)."""
    return tf.RaggedTensor.from_tensor(tf.reshape(values, [-1, 1])).to_sparse()


def as_sparse_lists(values: tf.Tensor, pad) -> tf.SparseTensor:
    """``[batch, width]`` padded with ``pad`` -> a SparseTensor of the non-padding values."""
    return tf.ragged.boolean_mask(values, values != pad).to_sparse()


def as_sparse_lists_like(values: tf.Tensor, like: tf.Tensor, pad) -> tf.SparseTensor:
    """``values`` at the positions where ``like`` is not ``pad`` (timestamps beside their item ids)."""
    return tf.ragged.boolean_mask(values, like != pad).to_sparse()
