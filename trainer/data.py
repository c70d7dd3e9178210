"""tf.data input over Transform's output examples.

Example::

    train = training_dataset(fn_args.train_files, tft_output, config)
    queries = load_eval_queries(fn_args.eval_files, tft_output)
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from trainer import preprocessing as P
from trainer.config import RetrievalConfig

TRAINING_FEATURES = P.QUERY_FEATURES + P.CANDIDATE_FEATURES + (F.IMPRESSION_ITEM_IDS,)


def matching_files(patterns) -> List[str]:
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    return sorted(path for pattern in patterns for path in tf.io.gfile.glob(pattern))


def _parsed(patterns, tft_output, keys) -> tf.data.Dataset:
    spec = {key: value for key, value in tft_output.transformed_feature_spec().items() if key in keys}
    files = matching_files(patterns)
    if not files:
        raise ValueError(f"no transformed examples match {patterns}")
    return tf.data.TFRecordDataset(files, compression_type="GZIP"), spec


def training_dataset(patterns, tft_output, config: RetrievalConfig) -> tf.data.Dataset:
    """Shuffled (seeded) batches of the features both towers read, repeated by ``fit``'s epochs.

    Distributed, every batch is whole: replicas given unequal shares of a last, short batch
    cannot all-reduce their embedding gradients (their row counts differ)."""
    records, spec = _parsed(patterns, tft_output, TRAINING_FEATURES)
    return (records.shuffle(100_000, seed=config.seed, reshuffle_each_iteration=True)
            .batch(config.batch_size, drop_remainder=config.distribute is not None)
            .map(lambda batch: tf.io.parse_example(batch, spec), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def load_eval_queries(patterns, tft_output, batch_size: int = 4096) -> Dict[str, np.ndarray]:
    """Every eval/test example in memory: query features, the target ``item_id`` and ``seen_item_ids``."""
    records, spec = _parsed(patterns, tft_output, P.QUERY_FEATURES + (F.ITEM_ID, F.SEEN_ITEM_IDS))
    columns: Dict[str, list] = {key: [] for key in spec}
    for batch in records.batch(batch_size).map(lambda b: tf.io.parse_example(b, spec)):
        for key, value in batch.items():
            if isinstance(value, tf.SparseTensor):
                columns[key].extend(tf.RaggedTensor.from_sparse(value).to_list())
            else:
                columns[key].append(value.numpy())
    return {key: (values if isinstance(spec[key], tf.io.VarLenFeature) else np.concatenate(values))
            for key, values in columns.items()}
