"""Artifact types RecGen adds to TFX's standard ones."""
from tfx.types import artifact


class ItemCatalog(artifact.Artifact):
    """Every item of the data set with its content features, as gzipped TFRecords of tf.Example.

    Files: ``<uri>/items.tfrecord.gz`` with features ``item_id``, ``title``,
    ``categories`` (list) and ``description``.
    """

    TYPE_NAME = "RecGenItemCatalog"
