"""MMR re-ranking against its definition, computed the slow way."""
import numpy as np
import pytest

from serving.mmr import mmr_order


def _mmr_by_definition(scores, embeddings, k, diversity):
    relevance = (scores - scores.min()) / (scores.max() - scores.min())
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    picked = []
    while len(picked) < min(k, len(scores)):
        def value(i):
            penalty = max(float(unit[i] @ unit[j]) for j in picked) if picked else 0.0
            return (1 - diversity) * relevance[i] - diversity * penalty
        picked.append(max((i for i in range(len(scores)) if i not in picked), key=value))
    return picked


@pytest.mark.parametrize("diversity", [0.0, 0.1, 0.5, 1.0])
def test_mmr_picks_what_the_definition_picks(diversity):
    rng = np.random.default_rng(7)
    for _ in range(20):
        scores, embeddings = rng.normal(size=40), rng.normal(size=(40, 8))
        assert mmr_order(scores, embeddings, 10, diversity) == _mmr_by_definition(scores, embeddings, 10, diversity)


def test_mmr_without_diversity_keeps_the_model_order_and_handles_small_inputs():
    scores = np.array([0.5, 3.0, 1.0, 2.0])
    assert mmr_order(scores, np.eye(4), 3, 0.0) == [1, 3, 2]
    assert mmr_order(scores, np.eye(4), 10, 0.3) == [1, 3, 2, 0]
    assert mmr_order(np.array([]), np.zeros((0, 4)), 5, 0.3) == []
