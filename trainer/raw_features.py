"""Raw examples <-> the dense request tensors serving signatures receive.

``dense_example_batches`` reads ExampleGen's raw examples as dense, padded request
tensors (what TestSetRanker, TestSetExplainer and the generator's trainer read). The
curated schema gives every raw feature a variable length, so the Transform layer
expects ``tf.SparseTensor`` inputs; the ``as_sparse_*`` helpers build them back from
dense, padded tensors (``ragged_lists*`` give the same rows as ``tf.RaggedTensor``).

Example:
    >>> as_sparse_lists(tf.constant([["a", "b", ""], ["c", "", ""]]), pad="")  # doctest: +SKIP
    SparseTensor(values=[b"a", b"b", b"c"], ...)
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, Tuple

import tensorflow as tf

from components.example_gen import features as F

_REQUEST_SPEC = {F.USER_ID: tf.io.FixedLenFeature([], tf.string),
                 F.ITEM_ID: tf.io.FixedLenFeature([], tf.string),
                 F.TIMESTAMP: tf.io.FixedLenFeature([], tf.int64),
                 F.HISTORY_ITEM_IDS: tf.io.VarLenFeature(tf.string),
                 F.HISTORY_TIMESTAMPS: tf.io.VarLenFeature(tf.int64),
                 F.SEEN_ITEM_IDS: tf.io.VarLenFeature(tf.string),
                 F.SUMMARY: tf.io.FixedLenFeature([], tf.string, default_value="")}


def dense_example_batches(files: Iterable[str], batch_size: int) -> Iterator[Dict[str, tf.Tensor]]:
    """Batches of raw examples (gzipped TFRecords) as dense tensors, lists padded with ``""`` / 0."""
    records = tf.data.TFRecordDataset(list(files), compression_type="GZIP").batch(batch_size)
    for batch in records.map(lambda b: tf.io.parse_example(b, _REQUEST_SPEC)):
        yield {key: (tf.sparse.to_dense(value, default_value="" if value.dtype == tf.string else 0)
                     if isinstance(value, tf.SparseTensor) else value) for key, value in batch.items()}


def user_item_pairs(files: Iterable[str], batch_size: int = 4096) -> Iterator[Tuple[bytes, bytes]]:
    """``(user_id, item_id)`` of every raw example (gzipped TFRecords), in file order."""
    spec = {F.USER_ID: tf.io.FixedLenFeature([], tf.string), F.ITEM_ID: tf.io.FixedLenFeature([], tf.string)}
    records = tf.data.TFRecordDataset(list(files), compression_type="GZIP").batch(batch_size)
    for batch in records.map(lambda b: tf.io.parse_example(b, spec)):
        yield from zip(batch[F.USER_ID].numpy().tolist(), batch[F.ITEM_ID].numpy().tolist())


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
