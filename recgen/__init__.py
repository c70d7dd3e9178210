"""RecGen: a TFX platform for a real-time recommender that explains its picks.

Importing any RecGen package (``recgen``, ``components``, ``pipelines``, ...) runs
this module first, which sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow is imported,
because TensorFlow Recommenders needs Keras 2 (tf-keras); see docs/stack.md.
keras-hub keeps using Keras 3 through ``import keras``. It also sets up RecGen's log
(``recgen/progress.py``).
"""
import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter (no GPU here)
# google-api-core (pulled in by tfx) warns on every import that Python 3.10 is old; the
# stack is pinned to 3.10 on purpose (docs/stack.md).
warnings.filterwarnings("ignore", category=FutureWarning, module="google.api_core")

import recgen.progress  # noqa: E402,F401  (RecGen's loggers write progress lines to stderr from here on)

__version__ = "0.1.0"
