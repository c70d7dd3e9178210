"""Calling a SavedModel signature the way TF Serving does: inputs left out take the SignatureDef's defaults.

``tf.saved_model.load`` gives signatures that require every input, although the SavedModel
records defaults (``SignatureDef.defaults``, written for ``tf.function`` arguments with tensor
default values). ``LoadedSignature`` reads them from ``saved_model.pb`` and fills them in.

Example::

    generate = LoadedSignature("/models/generator/3", "generate")
    generate(user_id=tf.constant(["u1"]), item_id=tf.constant(["i9"]),
             history_item_ids=tf.constant([["i3"]]))["explanations"]
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from recgen.contracts.model_base import SAVED_MODEL_FILE


def signature_defs(export_dir: str):
    """The SignatureDef map of a SavedModel's (only) MetaGraph, read from ``saved_model.pb``."""
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(os.path.join(export_dir, SAVED_MODEL_FILE), "rb") as stream:
        proto.ParseFromString(stream.read())
    return proto.meta_graphs[0].signature_def


def defaults_of(definition) -> Dict[str, np.ndarray]:
    """``{input name: default value}`` of one SignatureDef (empty when it has none)."""
    return {name: tf.make_ndarray(value) for name, value in definition.defaults.items()}


def signature_defaults(export_dir: str, signature: str) -> Dict[str, tf.Tensor]:
    """``{input name: default tensor}`` of one signature (empty when it has none)."""
    return {name: tf.constant(value) for name, value in defaults_of(signature_defs(export_dir)[signature]).items()}


class LoadedSignature:
    """One signature of a SavedModel, callable with keyword inputs; missing inputs take defaults."""

    def __init__(self, export_dir: str, signature: str):
        self.model = tf.saved_model.load(export_dir)  # keeps the signature's resources alive
        self.function = self.model.signatures[signature]
        self.defaults = signature_defaults(export_dir, signature)

    def __call__(self, **inputs) -> Dict[str, tf.Tensor]:
        return self.function(**{**self.defaults, **inputs})
