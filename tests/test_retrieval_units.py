"""Pieces of the retrieval trainer checked in isolation: Transform helpers, config, warm start."""
import numpy as np
import pytest
import tensorflow as tf

from trainer import preprocessing as P
from trainer.config import RetrievalConfig
from trainer.warm_start import remap_rows


def test_history_is_reversed_to_most_recent_first_truncated_and_padded():
    ragged = tf.ragged.constant([[1, 2, 3], [], [4, 5, 6, 7, 8]], dtype=tf.int64)
    dense = P.most_recent_first(ragged, width=4, pad=-1).numpy().tolist()
    assert dense == [[3, 2, 1, -1], [-1, -1, -1, -1], [8, 7, 6, 5]]


def test_age_buckets_are_log2_minutes_clipped():
    seconds = tf.constant([-5, 0, 60, 3 * 60, 10 ** 12], tf.int64)
    assert P.age_bucket(seconds, buckets=20).numpy().tolist() == [0, 0, 1, 2, 19]


def test_title_tokens_are_lower_cased_words():
    tokens = P.title_tokens(tf.constant(["Toy Story (1995)", ""])).to_list()
    assert tokens == [[b"toy", b"story", b"1995"], []]


def test_config_round_trips_through_json_and_rejects_unknown_fields():
    config = RetrievalConfig(embedding_dim=16, text_encoder_handle="https://example/encoder")
    assert RetrievalConfig.from_json(config.to_json()) == config
    try:
        RetrievalConfig.from_json('{"embeding_dim": 3}')
    except TypeError as error:
        assert "embeding_dim" in str(error)
    else:
        raise AssertionError("a misspelt field was accepted")


@pytest.mark.parametrize("field, value", [("dtype_policy", "mixed_float16"), ("distribute", "tpu"),
                                          ("attention_window", 0)])
def test_config_refuses_a_bad_training_option_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        RetrievalConfig(**{field: value})


def test_warm_start_carries_rows_by_vocabulary_value():
    old_vocabulary = [b"a", b"b", b"c"]
    old = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)  # rows: pad, a, b, c, oov
    new_vocabulary = [b"c", b"d", b"a"]
    new = np.full((5, 2), -1.0, np.float32)
    assert remap_rows(old, old_vocabulary, new, new_vocabulary) == 2
    assert new[1].tolist() == old[3].tolist()  # c
    assert new[2].tolist() == [-1.0, -1.0]     # d is new: keeps its initialisation
    assert new[3].tolist() == old[1].tolist()  # a
    assert new[0].tolist() == old[0].tolist() and new[4].tolist() == old[4].tolist()
