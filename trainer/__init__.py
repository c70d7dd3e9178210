"""Trainer ``run_fn``s: the TFRS two-tower retrieval model and the keras-hub explanation generator.

Not built yet (issues 3 and 4); the pipeline currently ends at data validation.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
