"""The generator's Transform ``preprocessing_fn``: tf-idf keywords of every review.

TFX Transform analyses the train split only, so the vocabulary and the document
frequencies come from train-split reviews (summary + text). Scores follow ``tft.tfidf``'s
formula, ``tf * (log((1 + N) / (1 + df)) + 1)`` with ``tf`` = count / review length; the
document frequencies come from ``tft.vocabulary(..., store_frequency=True)`` over each
review's distinct tokens, read back with ``tft.apply_vocabulary(lookup_fn=...)``. (``tft.tfidf``
itself needs a second analysis phase, and TFT 1.16's deep-copy of that phase fails on the
installed Beam.) The trainer pools the scores into item keywords and a user's review keywords
(``trainer/generator/keywords.py``). Stop words, tokens shorter than three characters and
tokens in fewer than two train reviews are not keywords.

Transformed features:

=================  ============  ==========================================================
feature            type          meaning
=================  ============  ==========================================================
user_id, item_id   [b] string    passed through
review_term        sparse string each distinct keyword candidate of the review
review_tfidf       sparse float  its tf-idf score in this review
=================  ============  ==========================================================
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from recgen.contracts import features as F
from trainer.generator.config import GeneratorConfig
from trainer.preprocessing import scalar, title_tokens

REVIEW_VOCAB = "review_tokens"
REVIEW_TERM, REVIEW_TFIDF = "review_term", "review_tfidf"
# Function words that tf-idf alone still ranks high in short reviews.
STOP_WORDS = tuple("""
a about after all also am an and any are as at be because been before being but by can
could did do does doing don for from had has have having he her here hers him his how i if
in into is it its just me more most my no nor not now of off on once only or other our out
over own same she should so some such than that the their them then there these they this
those through to too under until up very was we were what when where which while who why
will with would you your yours one get got use used really much well even still make made
""".split())


def review_tokens(summary: tf.Tensor, text: tf.Tensor) -> tf.RaggedTensor:
    """Lower-cased word tokens of summary and text, stop words and 1-2 letter words removed."""
    words = title_tokens(tf.strings.join([summary, text], separator=" "))
    with tf.init_scope():  # built once, not on every call of the traced function
        stop = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(STOP_WORDS), tf.ones(len(STOP_WORDS), tf.int64)), default_value=0)
    keep = tf.logical_and(tf.strings.length(words) >= 3, tf.ragged.map_flat_values(stop.lookup, words) == 0)
    return tf.ragged.boolean_mask(words, keep)


def _document_frequency(terms: tf.Tensor, vocabulary_path: tf.Tensor):
    """``lookup_fn`` for ``tft.apply_vocabulary``: a term's stored frequency (0 when absent)."""
    table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        vocabulary_path, key_dtype=tf.string, key_index=1, value_dtype=tf.int64, value_index=0,
        delimiter=" "), default_value=0)
    return table.lookup(terms), table.size()


def distinct_terms(tokens: tf.RaggedTensor):
    """``(row, term, count)`` for each distinct token of each row, rows in order."""
    keys = tf.strings.join([tf.strings.as_string(tokens.value_rowids()), tokens.flat_values], separator="\x1f")
    distinct, _, counts = tf.unique_with_counts(keys)
    parts = tf.strings.split(distinct, "\x1f").to_tensor(default_value="", shape=[None, 2])
    return tf.strings.to_number(parts[:, 0], tf.int64), parts[:, 1], counts


def preprocessing_fn(inputs, custom_config=None):
    """Called by TFX Transform; ``custom_config["generator"]`` is a ``GeneratorConfig`` JSON."""
    config = GeneratorConfig.from_json((custom_config or {}).get("generator"))
    user_id = scalar(inputs[F.USER_ID], "")
    tokens = review_tokens(scalar(inputs[F.SUMMARY], ""), scalar(inputs[F.TEXT], ""))
    rows, terms, counts = distinct_terms(tokens)
    vocabulary = tft.vocabulary(terms, top_k=config.keyword_vocab_size, frequency_threshold=2,
                                store_frequency=True, vocab_filename=REVIEW_VOCAB)
    document_frequency = tf.cast(tft.apply_vocabulary(terms, vocabulary, lookup_fn=_document_frequency),
                                 tf.float32)
    reviews = tf.cast(tft.size(user_id), tf.float32)
    term_frequency = tf.cast(counts, tf.float32) / tf.cast(tf.gather(tokens.row_lengths(), rows), tf.float32)
    score = term_frequency * (tf.math.log((1.0 + reviews) / (1.0 + document_frequency)) + 1.0)
    known = document_frequency > 0
    batch = tf.shape(user_id, out_type=tf.int64)[0]
    by_row = lambda values: tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(values, known), tf.boolean_mask(rows, known), nrows=batch).to_sparse()
    return {F.USER_ID: user_id, F.ITEM_ID: scalar(inputs[F.ITEM_ID], ""),
            REVIEW_TERM: by_row(terms), REVIEW_TFIDF: by_row(score)}
