"""Artifact types RecGen adds to TFX's standard ones.

Their type names are ``recgen.<Name>``: KubeflowV2DagRunner accepts a custom artifact type only
when its name has that ``namespace.Name`` form (a KFP schema title).
"""
from tfx.types import artifact


class ItemCatalog(artifact.Artifact):
    """Every item of the data set with its content features, as gzipped TFRecords of tf.Example.

    Files: ``<uri>/items.tfrecord.gz`` with features ``item_id``, ``title``,
    ``categories`` (list) and ``description``.
    """

    TYPE_NAME = "recgen.ItemCatalog"


class TextEncoder(artifact.Artifact):
    """A text encoder SavedModel, ``[batch] string -> [batch, dim] float32``, at the artifact uri root.

    ``hub.KerasLayer(uri)`` loads it; custom properties ``vocabulary_size`` and ``dim``.
    """

    TYPE_NAME = "recgen.TextEncoder"


class Rankings(artifact.Artifact):
    """A model's top-K lists for every user of one split (no metrics: the Evaluator computes those).

    Files: ``<uri>/topk_<split>.jsonl`` (``{"user_id": ..., "items": [...]}`` per user,
    ids exactly as in the source); custom property ``top_k`` (the lists' length).
    """

    TYPE_NAME = "recgen.Rankings"


class Explanations(artifact.Artifact):
    """The generator's explanation for every test user's test item, and the baselines' texts (no
    metrics: the GeneratorEvaluator computes those, for the generator and the baselines).

    Files: ``<uri>/explanations_test.jsonl`` (``{"user_id", "item_id", "text", "reference"}`` per
    test user, ids exactly as in the source) and ``<uri>/baselines_test.jsonl``
    (``components/evaluation/baseline_texts.py``).
    """

    TYPE_NAME = "recgen.Explanations"
