"""RecGen's ExampleGen: source data -> train/eval/test tf.Examples + item catalog.

- ``features``: feature names and split names shared with later components.
- ``user_examples``: the per-user leave-last-out split and the tf.Example layout (pure Python).
- ``staging``: one streaming pass over the source into canonical JSON-lines shards.
- ``beam_transforms``: group by user, split, build and write examples (scales with the runner).
- ``executor`` / ``component``: the TFX pieces.
"""
