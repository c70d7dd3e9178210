"""Serving: the TF-Serving-compatible model server and the recommendation service.

Not built yet (issue 6).
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
