"""Exports an ``LsaModel`` as a TF-Hub-loadable SavedModel: ``[batch] string -> [batch, dim] float32``.

The graph uses core TensorFlow ops only (no TF Text), so TF Serving loads it as is.

Example::

    model = fit_lsa(["toy story", "toy story 2", "the shining", "the shining 2"])
    export_text_encoder(model, "/tmp/text_encoder")
    hub.KerasLayer("/tmp/text_encoder")(tf.constant(["Toy Story 3"])).shape
    # -> TensorShape([1, 1])
"""
import tensorflow as tf

from components.text_encoder.lsa import GRAPH_NON_WORD, LsaModel


def graph_tokenize(texts: tf.Tensor) -> tf.RaggedTensor:
    """``lsa.tokenize`` in the graph: ``[batch]`` strings to ragged ``[batch, (tokens)]``."""
    texts = tf.strings.regex_replace(texts, r"\x00", " ")  # tf.strings.lower stops at NUL
    words = tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), GRAPH_NON_WORD, " ")
    return tf.strings.split(words)


class LsaEncoder(tf.Module):
    """Maps each text to the L2-normalized TF-IDF-weighted mean of its known token vectors."""

    def __init__(self, model: LsaModel):
        super().__init__(name="lsa_encoder")
        self._dim = model.dim
        # "" is never a token; it keeps the table non-empty (TF rejects empty tables).
        keys = tf.constant(("",) + model.tokens, tf.string)
        ids = tf.range(-1, len(model.tokens), dtype=tf.int64)
        self._table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, ids), -1)
        self._idf = tf.Variable(model.idf.reshape(-1), trainable=False, name="idf")
        self._vectors = tf.Variable(model.vectors.reshape(-1, model.dim), trainable=False, name="vectors")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        tokens = graph_tokenize(texts)
        ids = self._table.lookup(tokens.values)
        known = ids >= 0
        ids = tf.boolean_mask(ids, known)
        rows = tf.boolean_mask(tokens.value_rowids(), known)
        weighted = tf.gather(self._vectors, ids) * tf.gather(self._idf, ids)[:, None]
        sums = tf.math.unsorted_segment_sum(weighted, rows, tf.shape(texts, out_type=tf.int64)[0])
        return tf.ensure_shape(tf.math.l2_normalize(sums, axis=1), [None, self._dim])


def export_text_encoder(model: LsaModel, export_dir: str) -> None:
    """Saves ``LsaEncoder(model)`` to ``export_dir`` with ``tf.saved_model.save``."""
    encoder = LsaEncoder(model)
    tf.saved_model.save(encoder, export_dir, signatures={"serving_default": encoder.__call__})
