"""Dense request tensors (``recgen.contracts.examples_io``) -> what the Transform layer expects.

The curated schema gives every raw feature a variable length, so the Transform layer
expects ``tf.SparseTensor`` inputs; the ``as_sparse_*`` helpers build them back from
dense, padded tensors (``ragged_lists*`` give the same rows as ``tf.RaggedTensor``).

Example::

    as_sparse_lists(tf.constant([["a", "b", ""], ["c", "", ""]]), pad="")
    # -> SparseTensor(values=[b"a", b"b", b"c"], ...)
"""
from __future__ import annotations

import tensorflow as tf


def as_sparse_column(values: tf.Tensor) -> tf.SparseTensor:
    """``[batch]`` -> a ``[batch, 1]`` SparseTensor that keeps every value (even empty strings)."""
    return tf.RaggedTensor.from_tensor(tf.reshape(values, [-1, 1])).to_sparse()


def ragged_lists(values: tf.Tensor, pad) -> tf.RaggedTensor:
    """``[batch, width]`` padded with ``pad`` -> the non-padding values of each row."""
    return ragged_lists_like(values, values, pad)


def ragged_lists_like(values: tf.Tensor, like: tf.Tensor, pad) -> tf.RaggedTensor:
    """``values`` at the positions where ``like`` is not ``pad`` (timestamps beside their item ids)."""
    return tf.ragged.boolean_mask(values, like != pad)


def as_sparse_lists(values: tf.Tensor, pad) -> tf.SparseTensor:
    """``[batch, width]`` padded with ``pad`` -> a SparseTensor of the non-padding values."""
    return ragged_lists(values, pad).to_sparse()
