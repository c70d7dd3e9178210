"""Where and in which precision retrieval training runs: ``RetrievalConfig.distribute`` and ``dtype_policy``.

``distribute="mirrored"`` trains with ``tf.distribute.MirroredStrategy`` over every GPU of the
machine (synchronous data parallelism; ``batch_size`` is the global batch, split over the
replicas), or over its logical CPUs where it has no GPU. ``dtype_policy="mixed_bfloat16"``
builds the towers' layers to keep float32 variables and compute in bfloat16; their unit-norm
outputs, and the loss, stay float32.

Example::

    strategy = training_strategy(config.distribute)
    with strategy.scope():
        model = RetrievalModel(config, ...)
        model.compile(optimizer=...)
        strategy.run(model.compute_loss, args=(batch,))  # builds the variables
"""
from __future__ import annotations

import contextlib

import tensorflow as tf


def training_strategy(name) -> tf.distribute.Strategy:
    """The strategy ``RetrievalConfig.distribute`` names; ``None``: the default (one device)."""
    if name is None:
        return tf.distribute.get_strategy()
    devices = ([device.name for device in tf.config.list_logical_devices("GPU")]
               or [device.name for device in tf.config.list_logical_devices("CPU")])
    return tf.distribute.MirroredStrategy(devices)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers constructed inside compute in the Keras dtype policy ``name``; the global policy is
    restored after, so that layers built later (TFRS's loss layers, built as the train step is
    traced) and other components of the same process stay float32."""
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
