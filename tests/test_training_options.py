"""Settings that change how the retrieval model computes, not what it reads: the attention window
and the dtype policy (a GPU machine's mixed precision). Training over two replicas is in
test_retrieval_pipeline.py (it needs a pipeline run's artifacts)."""
import numpy as np
import tensorflow as tf

from trainer import preprocessing as P
from tests.tiny_retrieval_model import query_features, tiny_model


def test_self_attention_reads_only_the_most_recent_attention_window_items():
    """An item's age enters the attended sequence alone, so past the window it changes nothing."""
    tower = tiny_model(impression_negatives=0, attention_window=3).query_tower
    ages = query_features()[P.HISTORY_AGE_BUCKET].numpy()
    reference = tower(query_features(ages)).numpy()

    def with_age_changed(position):
        changed = ages.copy()
        changed[0, position] = (changed[0, position] + 7) % 40
        return tower(query_features(changed)).numpy()

    np.testing.assert_array_equal(with_age_changed(4), reference)  # the 5th most recent: outside the window
    assert not np.allclose(with_age_changed(1)[0], reference[0])
    np.testing.assert_array_equal(with_age_changed(1)[1], reference[1])  # the other query is untouched


def test_mixed_bfloat16_towers_compute_in_bfloat16_and_return_float32():
    retrieval = tiny_model(impression_negatives=0, dtype_policy="mixed_bfloat16")
    assert tf.keras.mixed_precision.global_policy().name == "float32"  # only the towers' layers changed
    assert retrieval.query_tower.blocks[0].attention.compute_dtype == "bfloat16"
    assert retrieval.query_tower.user_embedding.variable_dtype == "float32"
    queries = retrieval.query_tower(query_features())
    assert queries.dtype == tf.float32
    np.testing.assert_allclose(np.linalg.norm(queries.numpy(), axis=1), 1.0, rtol=1e-5)
    candidates = {key: tf.constant(value[:2]) for key, value in retrieval.catalog_features.items()}
    loss = retrieval.compute_loss({**query_features(), **candidates}, training=True)
    assert loss.dtype == tf.float32 and np.isfinite(float(loss))
