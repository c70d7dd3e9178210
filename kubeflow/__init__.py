"""Kubeflow Pipelines (KFP v2): the runner that compiles RecGen's pipeline, and its image.

Not built yet (issue 7).
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
