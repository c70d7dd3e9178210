"""RecGen's pipeline: one function that wires the components, and the runners that run it.

- ``recgen_pipeline.create_pipeline``: the TFX pipeline (the same function feeds KFP later).
- ``local_runner``: runs it with LocalDagRunner and prints progress by component.
- ``schema/schema.pbtxt``: the curated schema of RecGen's examples, imported with ImportSchemaGen.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads; see recgen/__init__.py)
