"""A fake of the served models for fast tests of the recommendation service's logic: a
``ModelClient`` answering the signatures the service calls from a small catalog, in plain Python."""
import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from recgen.contracts.signatures import (
    CATEGORIES_OUTPUT,
    EXAMPLES_INPUT,
    EXCLUDE_ITEM_IDS,
    HISTORY_LENGTH_OUTPUT,
    ITEM_IDS_INPUT,
    TITLES_OUTPUT,
)
from serving.model_client import ModelClient

# item id -> (title, categories); "i9" is recommended but not in the catalog.
CATALOG = {"i1": ("Blue Guitar", ["Guitars", "Acoustic"]), "i2": ("Drum Kit", ["Drums"]), "i3": ("Tuner", [])}
RANKED = ["i1", "i2", "i3", "i9"]  # what the retrieval model recommends, best first


def _features(serialized: bytes) -> dict:
    """A tf.Example's features as lists of str / int."""
    features = tf.train.Example.FromString(serialized).features.feature
    return {name: [v.decode() for v in f.bytes_list.value] or list(f.int64_list.value)
            for name, f in features.items()}


class FakeModels(ModelClient):
    """Version ``min(history_lengths)`` answers (set ``version`` to push another).
    Retrieval: ``model_settings`` says ``history_lengths[version]``, ``recommend_examples``
    ranks ``RANKED`` without the excluded and history items, ``item_details`` reads ``CATALOG``.
    Generator: ``explain_examples`` writes ``"<item> for <user> after <history>"``.
    ``calls`` records ``(signature, version asked, inputs as features or ids)``."""

    def __init__(self, history_lengths=None):
        super().__init__()
        self.history_lengths, self.calls = history_lengths or {1: 50}, []
        self.version = min(self.history_lengths)

    def asked(self, signature: str) -> list:
        return [(version, inputs) for name, version, inputs in self.calls if name == signature]

    def predict(self, model, signature, inputs, timeout, version=None):
        values = inputs.get(EXAMPLES_INPUT, inputs.get(ITEM_IDS_INPUT))
        rows = [value if signature.startswith("item_") else _features(value) for value in values]
        self.calls.append((signature, version, rows))
        return getattr(self, f"_{signature}")(rows), self.version

    def _model_settings(self, rows):
        return {HISTORY_LENGTH_OUTPUT: np.array([self.history_lengths[self.version]] * len(rows))}

    def _recommend_examples(self, rows):
        left = [[item for item in RANKED if item not in row.get(EXCLUDE_ITEM_IDS, []) + row.get(
            F.HISTORY_ITEM_IDS, [])] for row in rows]
        return {"item_ids": np.array([[item.encode() for item in items] for items in left], dtype=object),
                "scores": np.array([[float(len(RANKED) - n) for n in range(len(items))] for items in left], np.float32)}

    def _item_details(self, item_ids):
        details = [CATALOG.get(item.decode(), ("", [])) for item in item_ids]
        return {TITLES_OUTPUT: np.array([title.encode() for title, _ in details], dtype=object),
                CATEGORIES_OUTPUT: np.array([[c.encode() for c in categories] + [b""] * (2 - len(categories))
                                             for _, categories in details], dtype=object)}

    def _explain_examples(self, rows):
        return {"explanations": np.array([f"{row[F.ITEM_ID][0]} for {row[F.USER_ID][0]} after "
                                          f"{','.join(row.get(F.HISTORY_ITEM_IDS, []))}".encode()
                                          for row in rows], dtype=object)}
