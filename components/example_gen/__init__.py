"""RecGen's ExampleGen: source data -> train/eval/test tf.Examples + item catalog.

- ``features``: feature names and split names shared with later components.
- ``user_examples``: the per-user leave-last-out split and the tf.Example layout, per event (the
  reference the vectorized builder is tested against).
- ``arrow_examples``: the same split and examples, vectorized over Arrow tables, encoded by tfx-bsl.
- ``beam_transforms``: read and validate source shards into user buckets, then build and write
  each bucket's examples (scales with the runner).
- ``executor`` / ``component``: the TFX pieces.
"""
