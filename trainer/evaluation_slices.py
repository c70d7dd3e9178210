"""The Evaluator's slicing features, exported as a ``slice_features`` signature by both models.

TFMA slices on exact feature values, and two of the slices RecGen reports need training-time
knowledge, so each exported model answers them itself (TFMA reads them as transformed features):

* ``history_length_bucket``: ``"<=5"``, ``"6-20"`` or ``">20"`` events before the target;
* ``target_popularity``: ``"head"`` when the target item is among the ``HEAD_SHARE`` of catalog
  items with the most training events, else ``"tail"``;
* ``target_seen``: ``"seen"`` when the target item has training events, ``"unseen"`` when it
  has none (a cold-start item, ranked from its content alone: most test-time news articles).

Example::

    slices = EvaluationSlices.from_training_events(np.array([b"a", b"b", b"c"]), np.array([1, 9, 0]))
    [v.numpy().tolist() for v in slices.slice_features(tf.constant([example])).values()]
    # -> [[b'<=5'], [b'head'], [b'seen']]
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from recgen.contracts.examples_io import user_item_pairs

HEAD_SHARE = 0.2  # share of the catalog, by training events, that counts as "head"
HISTORY_BUCKETS = ((5, "<=5"), (20, "6-20"))  # (upper bound, name); longer histories are LONG_HISTORY
LONG_HISTORY = ">20"


def head_item_ids(item_ids: np.ndarray, training_events: np.ndarray) -> np.ndarray:
    """The ``HEAD_SHARE`` of catalog items with the most training events (ties: catalog order)."""
    order = np.lexsort((np.arange(len(item_ids)), -np.asarray(training_events)))
    return item_ids[order[:int(np.ceil(HEAD_SHARE * len(item_ids)))]]


def training_event_counts(train_files, item_ids: np.ndarray) -> np.ndarray:
    """Training events of each catalog item, counted in raw (ExampleGen) train examples."""
    position = {item: n for n, item in enumerate(item_ids.tolist())}
    counts = np.zeros(len(item_ids))
    for _, item in user_item_pairs(train_files):
        if item in position:
            counts[position[item]] += 1
    return counts


def _id_set(item_ids: np.ndarray) -> tf.lookup.StaticHashTable:
    """A table that maps each of ``item_ids`` to 1 and any other id to 0."""
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(item_ids.astype(object), tf.string), tf.ones([len(item_ids)], tf.int64)), default_value=0)


class EvaluationSlices(tf.Module):
    """Holds the head items and the items with training events; ``slice_features`` maps
    serialized examples to slice names."""

    def __init__(self, head_ids: np.ndarray, trained_ids: np.ndarray):
        super().__init__()
        self.head_items, self.trained_items = _id_set(head_ids), _id_set(trained_ids)

    @classmethod
    def from_training_events(cls, item_ids: np.ndarray, training_events: np.ndarray) -> "EvaluationSlices":
        """Slices of a catalog whose item ``i`` has ``training_events[i]`` training events."""
        return cls(head_item_ids(item_ids, training_events), item_ids[np.asarray(training_events) > 0])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def slice_features(self, examples):
        raw = tf.io.parse_example(examples, {
            F.ITEM_ID: tf.io.FixedLenFeature([], tf.string),
            F.HISTORY_LENGTH: tf.io.FixedLenFeature([], tf.int64, default_value=0)})
        length = raw[F.HISTORY_LENGTH]
        bucket = tf.fill(tf.shape(length), LONG_HISTORY)
        for upper, name in reversed(HISTORY_BUCKETS):
            bucket = tf.where(length <= upper, name, bucket)
        head = self.head_items.lookup(raw[F.ITEM_ID]) > 0
        trained = self.trained_items.lookup(raw[F.ITEM_ID]) > 0
        return {"history_length_bucket": bucket, "target_popularity": tf.where(head, "head", "tail"),
                "target_seen": tf.where(trained, "seen", "unseen")}
