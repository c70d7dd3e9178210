"""The contracts every other layer of RecGen shares; this package imports nothing else of RecGen.

- ``features``: feature and split names of ExampleGen's examples, catalog and report files.
- ``signatures``: the models' signature names and the request tf.Examples both sides build.
- ``model_base``: the TF Serving model base layout (``<base>/<model>/<version>/``).
- ``serving_ops``: the op check every exported SavedModel must pass to load in stock TF Serving.
- ``loaded_signature``: calling a signature as TF Serving does (SignatureDef defaults).
- ``events`` and ``event_spans``: the user event the service records, and the span files of
  logged events that retraining feeds back to ExampleGen.
- ``run_root``: finding a pipeline run's artifacts in its ML Metadata store.
- ``examples_io``: reading ExampleGen's examples back as dense batches.
- ``errors``: ``DataError``, for input RecGen cannot use.

See docs/architecture.md for the layers above this one.
"""
