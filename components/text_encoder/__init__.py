"""A small text encoder the pipeline fits and exports itself: LSA token vectors as a TF-Hub SavedModel.

- ``lsa``: fits TF-IDF + truncated-SVD token vectors on item texts (numpy/scipy).
- ``export``: saves them as a core-ops-only SavedModel, ``[batch] string -> [batch, dim]``.
- ``component``: the ``TextEncoderGen`` TFX component over the ItemCatalog artifact.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads; see recgen/__init__.py)
