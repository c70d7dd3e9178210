"""Training on impression negatives (MIND): each click against items shown beside it and not clicked;
the query tower reading its history's content."""
import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_retrieval_model import tiny_model as model
from trainer import preprocessing as P

def shown(rows) -> tf.SparseTensor:
    return tf.ragged.constant(rows, dtype=tf.string, ragged_rank=1).to_sparse()


def test_drawn_negatives_are_distinct_shown_catalog_items_padded_with_minus_one():
    tf.random.set_seed(0)
    drawn = model(impression_negatives=2)._drawn_impression_positions(
        shown([[b"a", b"b", b"unknown", b"new"], [], [b"c"]])).numpy()
    assert drawn.shape == (3, 2)
    assert len(set(drawn[0])) == 2 and set(drawn[0]) <= {0, 1, 4}  # an id outside the catalog is never drawn
    assert drawn[1].tolist() == [-1, -1]
    assert drawn[2].tolist() == [2, -1]


def test_every_shown_item_is_drawn_over_many_steps():
    tf.random.set_seed(1)
    retrieval = model(impression_negatives=1)
    rows = shown([[b"a", b"b", b"c", b"d"]])
    drawn = {int(retrieval._drawn_impression_positions(rows)[0, 0]) for _ in range(60)}
    assert drawn == {0, 1, 2, 3}


def test_the_loss_is_the_cross_entropy_of_the_click_against_its_shown_items():
    retrieval = model(impression_negatives=3)
    rng = np.random.default_rng(0)
    queries = tf.math.l2_normalize(tf.constant(rng.normal(size=(3, 8)), tf.float32), axis=1)
    clicked = tf.math.l2_normalize(tf.constant(rng.normal(size=(3, 8)), tf.float32), axis=1)
    rows = shown([[b"a", b"new"], [], [b"b", b"c", b"d"]])  # the middle query has no impression: left out
    loss = float(retrieval._impression_loss(queries, clicked, rows, training=False))

    embeddings = retrieval.candidate_tower({key: tf.constant(value) for key, value in
                                            retrieval.catalog_features.items()}).numpy()
    q, c, temperature = queries.numpy(), clicked.numpy(), retrieval.temperature

    def cross_entropy(row, negatives):
        logits = np.r_[q[row] @ c[row], embeddings[negatives] @ q[row]] / temperature
        return np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[0]

    assert loss == pytest.approx((cross_entropy(0, [0, 4]) + cross_entropy(2, [1, 2, 3])) / 2, rel=1e-4)
    assert float(retrieval._impression_loss(queries, clicked, shown([[], [], []]), training=False)) == 0.0


def test_without_catalog_ids_or_with_zero_negatives_the_term_is_off():
    assert model(impression_negatives=0).impression_negatives == 0
    assert model(impression_negatives=4, catalog_ids=None).impression_negatives == 0
    assert model(impression_negatives=4).impression_negatives == 4


def batch(impressions) -> dict:
    rows = len(impressions)
    return {P.USER_INDEX: tf.constant([0, 1, 2][:rows]), P.HISTORY_ITEM_INDEX: tf.constant([[1, 2, -1]] * rows),
            P.HISTORY_RECENCY: tf.constant([[0, 1, -1]] * rows), P.HISTORY_AGE_BUCKET: tf.constant([[3, 5, -1]] * rows),
            P.GAP_AGE_BUCKET: tf.constant([3] * rows), P.ITEM_INDEX: tf.constant([0, 3, 4][:rows]),
            P.ITEM_CATEGORY_INDEX: tf.constant([[0, -1]] * rows), P.ITEM_TITLE_TOKEN_INDEX: tf.constant([[1, -1]] * rows),
            P.ITEM_TEXT: tf.constant([b"one", b"four", b"five"][:rows]), "impression_item_ids": shown(impressions)}


@pytest.mark.parametrize("history_content", [False, True])
def test_a_batch_without_impressions_has_the_loss_of_a_model_without_the_term(history_content):
    losses = {}
    for negatives in (0, 4):
        tf.keras.utils.set_random_seed(3)
        retrieval = model(negatives, history_content=history_content)
        losses[negatives] = {name: float(retrieval.compute_loss(batch(rows)))
                             for name, rows in (("none", [[], [], []]), ("some", [[b"b", b"c"], [], [b"a"]]))}
    assert losses[4]["none"] == losses[0]["none"] == losses[0]["some"]
    assert losses[4]["some"] > losses[0]["some"]


def test_history_content_is_each_items_mean_category_plus_mean_title_token_embedding():
    retrieval = model(0, history_content=True)
    tower = retrieval.candidate_tower
    content = retrieval.query_tower.history_content(tf.constant([[2, 0, -1], [4, 2, 2]])).numpy()  # 4: OOV
    categories, tokens = tower.category_embedding.embeddings.numpy(), tower.title_embedding.embeddings.numpy()
    item_2 = (categories[0 + 1] + categories[1 + 1]) / 2 + (tokens[3 + 1] + tokens[4 + 1]) / 2  # categories [0, 1], tokens [3, 4]
    item_0 = categories[0 + 1] + (tokens[0 + 1] + tokens[1 + 1]) / 2
    np.testing.assert_allclose(content[0], [item_2, item_0, np.zeros(8)], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(content[1], [np.zeros(8), item_2, item_2], rtol=1e-5, atol=1e-6)
