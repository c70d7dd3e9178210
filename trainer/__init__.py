"""The models: the TFRS two-tower retrieval model and, in ``generator/``, the keras-hub explanation generator.

Each has a config (``config.py``, ``generator/config.py``), a Transform ``preprocessing_fn``, the
model, its serving export and a Trainer ``run_fn`` (``retrieval_trainer.py``,
``generator/generator_trainer.py``). Models read the contracts (``recgen.contracts``) and the
metrics, never the TFX components or pipelines above them.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
