"""The ``TextEncoderGen`` component: fits LSA on the item catalog's texts and exports the encoder.

Example::

    encoder = TextEncoderGen(item_catalog=example_gen.outputs["item_catalog"], dim=32)
    build_text_encoder("catalog_dir", "/tmp/text_encoder", dim=8).dim
    # -> 8
"""
import os
from typing import Iterator

import tensorflow as tf
from tfx import v1 as tfx

from components.artifacts import ItemCatalog, TextEncoder
from components.text_encoder.export import export_text_encoder
from components.text_encoder.lsa import LsaModel, fit_lsa
from recgen.contracts.features import CATALOG_FILE


def item_texts(catalog_uri: str) -> Iterator[str]:
    """Each catalog item's title, categories and description, joined by spaces."""
    records = tf.data.TFRecordDataset(os.path.join(catalog_uri, CATALOG_FILE), compression_type="GZIP")
    for record in records.as_numpy_iterator():
        feature = tf.train.Example.FromString(record).features.feature
        parts = [v for key in ("title", "categories", "description") for v in feature[key].bytes_list.value]
        yield " ".join(p.decode("utf-8", errors="replace") for p in parts)


def build_text_encoder(catalog_uri: str, export_dir: str, dim: int = 32, vocab_size: int = 20000) -> LsaModel:
    """Fits LSA on the catalog at ``catalog_uri`` and exports its encoder SavedModel to ``export_dir``."""
    model = fit_lsa(item_texts(catalog_uri), dim=dim, vocab_size=vocab_size)
    export_text_encoder(model, export_dir)
    return model


@tfx.dsl.components.component
def TextEncoderGen(item_catalog: tfx.dsl.components.InputArtifact[ItemCatalog],
                   text_encoder: tfx.dsl.components.OutputArtifact[TextEncoder],
                   dim: tfx.dsl.components.Parameter[int] = 32,
                   vocab_size: tfx.dsl.components.Parameter[int] = 20000) -> None:
    """Writes the item-text encoder SavedModel to ``text_encoder.uri``."""
    model = build_text_encoder(item_catalog.uri, text_encoder.uri, dim, vocab_size)
    text_encoder.set_int_custom_property("vocabulary_size", len(model.tokens))
    text_encoder.set_int_custom_property("dim", model.dim)
