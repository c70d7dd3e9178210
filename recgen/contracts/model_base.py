"""The model base TF Serving reads: ``<base>/<model_name>/<integer version>/saved_model.pb``.

The Pusher writes it, RecGen's model server and stock ``tensorflow_model_server`` read it.
Model names are plain names (letters, digits, ``_ . -``) and every model directory must lie
inside the base, so no request or config entry can reach files elsewhere.

Example:
    >>> import os, tempfile
    >>> base_dir = tempfile.mkdtemp()
    >>> for version in ("1", "2", "3"):  # version 3 is still being written: no saved_model.pb yet
    ...     os.makedirs(os.path.join(base_dir, "retrieval", version))
    >>> for version in ("1", "2"):
    ...     open(os.path.join(base_dir, "retrieval", version, SAVED_MODEL_FILE), "wb").close()
    >>> base = ModelBase(base_dir)
    >>> list(base.model_dirs())
    ['retrieval']
    >>> base.servable_versions(base.model_dirs()["retrieval"])
    [1, 2]
"""
from __future__ import annotations

import os
import re
from typing import Dict, List

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

MODELS_CONFIG = "models.config"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
SAVED_MODEL_FILE = "saved_model.pb"
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_model_name(name: str) -> str:
    """``name`` when it is a plain model name; ValueError otherwise."""
    if not MODEL_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"model name {name!r} must be 1-128 letters, digits, '_', '.', '-' "
                         "and start with a letter or digit")
    return name


def versions(model_dir: str) -> List[int]:
    """Integer version directories of one model, ascending (whatever they hold)."""
    if not tf.io.gfile.isdir(model_dir):
        return []
    names = [name.rstrip("/") for name in tf.io.gfile.listdir(model_dir)]
    return sorted(int(name) for name in names if name.isdigit())


class ModelBase:
    """The models of one base: those ``models.config`` lists, else every model directory."""

    def __init__(self, base_dir: str):
        self.base_dir = os.path.realpath(base_dir)

    @property
    def models_config_path(self) -> str:
        return os.path.join(self.base_dir, MODELS_CONFIG)

    def model_dirs(self) -> Dict[str, str]:
        """``{model name: model directory}``; raises ValueError for an entry outside the base."""
        if tf.io.gfile.exists(self.models_config_path):
            config = model_server_config_pb2.ModelServerConfig()
            with tf.io.gfile.GFile(self.models_config_path) as stream:
                text_format.Parse(stream.read(), config)
            entries = {entry.name: entry.base_path for entry in config.model_config_list.config}
        elif not tf.io.gfile.isdir(self.base_dir):
            return {}  # nothing pushed yet
        else:
            entries = {name.rstrip("/"): os.path.join(self.base_dir, name.rstrip("/"))
                       for name in tf.io.gfile.listdir(self.base_dir) if not name.startswith(".")}
            entries = {name: path for name, path in entries.items() if tf.io.gfile.isdir(path)}
        return {check_model_name(name): self._inside(name, path) for name, path in entries.items()}

    def _inside(self, name: str, path: str) -> str:
        resolved = os.path.realpath(os.path.join(self.base_dir, path))
        if os.path.commonpath([resolved, self.base_dir]) != self.base_dir:
            raise ValueError(f"model {name!r}: {path} is outside the model base {self.base_dir} "
                             f"(was {MODELS_CONFIG} written for another location? rewrite it with "
                             "components.model_base_pusher.write_models_config or remove it)")
        return resolved

    @staticmethod
    def servable_versions(model_dir: str) -> List[int]:
        """Versions with a complete SavedModel, ascending."""
        return [version for version in versions(model_dir)
                if tf.io.gfile.exists(os.path.join(model_dir, str(version), SAVED_MODEL_FILE))]
