"""The item catalog as the candidate tower reads it: every item, sorted by id.

Sorting by id is what makes ``tf.math.top_k`` (lower index first on ties) break
ties by item id, as docs/evaluation.md#protocol requires.

Example::

    catalog = read_catalog(item_catalog_uri)
    features = transformed_item_features(tft_output.transform_features_layer(), catalog)
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from recgen.contracts.features import CATALOG_FILE
from trainer import preprocessing as P
from trainer.raw_features import as_sparse_column, as_sparse_lists

ITEM_CATALOG_URI = "item_catalog_uri"  # the key under which a Trainer's run_fn finds the catalog
_CATALOG_SPEC = {"item_id": tf.io.FixedLenFeature([], tf.string),
                 "title": tf.io.FixedLenFeature([], tf.string, default_value=""),
                 "categories": tf.io.VarLenFeature(tf.string),
                 "description": tf.io.FixedLenFeature([], tf.string, default_value="")}


@dataclasses.dataclass
class Catalog:
    """Parallel arrays over items in id order; ``categories`` is padded with ``""``."""

    item_ids: np.ndarray
    titles: np.ndarray
    categories: np.ndarray
    descriptions: np.ndarray

    def __len__(self) -> int:
        return len(self.item_ids)

    def positions(self) -> dict:
        """``{item_id (str): position}``."""
        return {item.decode("utf-8"): n for n, item in enumerate(self.item_ids)}


def position_table(item_ids) -> tf.lookup.StaticHashTable:
    """Item id -> its position in ``item_ids`` (bytes or strings, catalog order); -1 for any other id."""
    keys = tf.constant(np.asarray(item_ids).astype(object), tf.string)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        keys, tf.range(tf.size(keys, out_type=tf.int64), dtype=tf.int64)), default_value=-1)


def read_catalog(catalog_uri: str) -> Catalog:
    """Reads ``<uri>/items.tfrecord.gz`` written by RecGen's ExampleGen."""
    dataset = tf.data.TFRecordDataset(os.path.join(catalog_uri, CATALOG_FILE), compression_type="GZIP")
    parsed = [tf.io.parse_example(batch, _CATALOG_SPEC) for batch in dataset.batch(8192)]
    if not parsed:
        raise ValueError(f"item catalog {catalog_uri} has no items")
    column = lambda key: np.concatenate([batch[key].numpy() for batch in parsed])
    categories = tf.concat([tf.RaggedTensor.from_sparse(batch["categories"]) for batch in parsed], axis=0)
    ids = column("item_id")
    order = np.argsort(ids, kind="stable")
    return Catalog(ids[order], column("title")[order], categories.to_tensor("").numpy()[order],
                   column("description")[order])


def raw_item_features(item_ids, titles, categories, descriptions) -> dict:
    """Dense item columns -> the raw (sparse) features Transform's layer takes."""
    return {F.ITEM_ID: as_sparse_column(item_ids), F.ITEM_TITLE: as_sparse_column(titles),
            F.ITEM_CATEGORIES: as_sparse_lists(categories, pad=""),
            F.ITEM_DESCRIPTION: as_sparse_column(descriptions)}


def transformed_item_features(tft_layer, catalog: Catalog, batch_size: int = 4096) -> dict:
    """The candidate tower's features for every catalog item (Transform applied, in id order)."""
    batches = []
    for start in range(0, len(catalog), batch_size):
        window = slice(start, start + batch_size)
        transformed = tft_layer(raw_item_features(
            tf.constant(catalog.item_ids[window]), tf.constant(catalog.titles[window]),
            tf.constant(catalog.categories[window]), tf.constant(catalog.descriptions[window])))
        batches.append({key: transformed[key].numpy() for key in P.CANDIDATE_FEATURES})
    return {key: np.concatenate([b[key] for b in batches]) for key in P.CANDIDATE_FEATURES}
