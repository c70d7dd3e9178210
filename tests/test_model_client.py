"""The service's model client: item embeddings come from the model once per version, then from
the cache, row for row as the model gave them."""
import numpy as np

from serving.model_client import ModelClient


class CountingModels(ModelClient):
    """``item_embeddings`` of item ``b"iN"`` is ``[N, version]``; records the ids each call asked for."""

    def __init__(self):
        super().__init__()
        self.asked = []

    def predict(self, model, signature, inputs, timeout, version=None):
        ids = list(inputs["item_ids"])
        self.asked.append(ids)
        return {"embeddings": np.array([[float(i[1:]), version] for i in ids], np.float32)}, version


def test_item_embeddings_are_cached_per_version_in_the_order_asked():
    models = CountingModels()
    first = models.item_embeddings([b"i3", b"i1", b"i3"], version=1, timeout=1.0)
    assert first.tolist() == [[3, 1], [1, 1], [3, 1]]
    assert models.asked == [[b"i3", b"i1"]]
    second = models.item_embeddings([b"i2", b"i1", b"i3", b"i2"], version=1, timeout=1.0)
    assert second.tolist() == [[2, 1], [1, 1], [3, 1], [2, 1]]
    assert models.asked[1:] == [[b"i2"]], "only the item not cached yet is asked for"
    assert models.item_embeddings([b"i1"], version=1, timeout=1.0).tolist() == [[1, 1]]
    assert len(models.asked) == 2
    newer = models.item_embeddings([b"i1", b"i2"], version=2, timeout=1.0)
    assert newer.tolist() == [[1, 2], [2, 2]] and models.asked[2:] == [[b"i1", b"i2"]]
