"""RecGen's own TFX components, each a spec + executor + thin component class (as in ``tfx/components``).

- ``example_gen``: reads any supported source format, splits per user (leave-last-out) and
  writes one tf.Example per target event, plus the item catalog.
- ``validation_gate``: stops the pipeline when ExampleValidator found anomalies.
- ``artifacts``: the artifact types RecGen adds to TFX's standard ones.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads; see recgen/__init__.py)
