"""RecGen: a TFX platform for a real-time recommender that explains its picks.

Importing any RecGen package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow
is imported, because TensorFlow Recommenders needs Keras 2 (tf-keras); see
ENGINEERING.md section 1. keras-hub keeps using Keras 3 through ``import keras``.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"
