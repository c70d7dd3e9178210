"""Ranking metrics of docs/evaluation.md, checked against hand-computed answers."""
import math

import numpy as np

from recgen.metrics import accuracy_at_k, ranks_in_lists, target_ranks


def test_ties_are_broken_by_catalog_position_never_in_the_targets_favour():
    scores = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert target_ranks(scores, np.array([2]), [np.array([], int)]).tolist() == [3]
    assert target_ranks(scores, np.array([0]), [np.array([], int)]).tolist() == [1]


def test_excluded_items_do_not_count_and_an_excluded_target_is_a_miss():
    scores = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]])
    ranks = target_ranks(scores, np.array([2, 1]), [np.array([0, 1]), np.array([0, 1])])
    assert ranks.tolist() == [1, math.inf]  # user 2's target repeats a history item


def test_accuracy_at_k_matches_hand_computation():
    metrics = accuracy_at_k(np.array([1, 4, 11, np.inf]), 10)
    assert metrics["hr@10"] == 0.5
    assert math.isclose(metrics["ndcg@10"], (1 + 1 / math.log2(5)) / 4)
    assert math.isclose(metrics["mrr@10"], (1 + 0.25) / 4)


def test_ranks_in_lists_is_one_based_and_infinite_when_absent():
    assert ranks_in_lists([["a", "b"], ["c"]], ["b", "z"]).tolist() == [2, math.inf]
