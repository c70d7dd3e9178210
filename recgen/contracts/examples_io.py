"""Reading ExampleGen's raw examples (gzipped TFRecords) back, for every layer that needs them.

``dense_example_batches`` gives dense, padded request tensors (what the test-split ranker and
explainer, the generator's trainer, the service's history import and the retrieval baselines read).

Example::

    batch = next(dense_example_batches(["examples/Split-test/data.gz"], 256))
    batch["history_item_ids"].shape
    # -> TensorShape([256, 50])
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, Iterator, Tuple

import tensorflow as tf

from recgen.contracts import features as F

def split_dir(examples_uri: str, split: str) -> str:
    """The folder of one split of an Examples artifact, TFX's ``Split-<name>`` layout.

    >>> split_dir("/runs/examples/7", "test")
    '/runs/examples/7/Split-test'
    """
    return os.path.join(examples_uri, f"Split-{split}")


_REQUEST_SPEC = {F.USER_ID: tf.io.FixedLenFeature([], tf.string),
                 F.ITEM_ID: tf.io.FixedLenFeature([], tf.string),
                 F.TIMESTAMP: tf.io.FixedLenFeature([], tf.int64),
                 F.HISTORY_ITEM_IDS: tf.io.VarLenFeature(tf.string),
                 F.HISTORY_TIMESTAMPS: tf.io.VarLenFeature(tf.int64),
                 F.SEEN_ITEM_IDS: tf.io.VarLenFeature(tf.string),
                 F.IMPRESSION_ITEM_IDS: tf.io.VarLenFeature(tf.string),
                 F.RATING: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
                 F.TEXT: tf.io.FixedLenFeature([], tf.string, default_value=""),
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
