"""Warm start: a new model begins from the last blessed model's weights.

Vocabularies change between runs (new users and items arrive), so embedding tables
are carried over row by row through their vocabularies: a value known to both runs
keeps its trained row, a new value starts from its fresh initialisation. Other weights
are copied when their shapes still match. (TF's own ``warm_start`` with ``VocabInfo``
serves graph-mode checkpoints, not Keras models, hence this module.)

Example::

    save(model, tft_output, "/models/1/warm_start")
    restore(new_model, "/models/1/Format-Serving", new_tft_output)
"""
from __future__ import annotations

import io
import logging
import os
import shutil
from typing import Dict, List

import numpy as np
import tensorflow as tf

from trainer import preprocessing as P

logger = logging.getLogger(__name__)

WARM_START_DIR = "warm_start"
WEIGHTS_FILE = "weights.npz"
# Embedding layer name -> the vocabulary that indexes its rows (row = index + 1).
VOCABULARY_OF_TABLE = {"user_embedding": P.USER_VOCAB, "item_embedding": P.ITEM_VOCAB,
                       "category_embedding": P.CATEGORY_VOCAB, "title_embedding": P.TITLE_VOCAB}


def _vocabulary_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.vocab")


def _read_vocabulary(path: str) -> List[bytes]:
    with tf.io.gfile.GFile(path, "rb") as stream:
        return [line.rstrip(b"\n") for line in stream]


def save(model, tft_output, directory: str) -> None:
    """Writes every trainable weight (by variable name) and the vocabularies that index the tables."""
    tf.io.gfile.makedirs(directory)
    buffer = io.BytesIO()
    np.savez(buffer, **{variable.name: variable.numpy() for variable in model.trainable_weights})
    with tf.io.gfile.GFile(os.path.join(directory, WEIGHTS_FILE), "wb") as stream:
        stream.write(buffer.getvalue())
    for name in set(VOCABULARY_OF_TABLE.values()):
        shutil.copyfile(tft_output.vocabulary_file_by_name(name), _vocabulary_path(directory, name))


def _table_vocabulary(variable_name: str):
    for layer, vocabulary in VOCABULARY_OF_TABLE.items():
        if f"/{layer}/" in f"/{variable_name}":
            return vocabulary
    return None


def remap_rows(old: np.ndarray, old_vocabulary: List[bytes], new: np.ndarray,
               new_vocabulary: List[bytes]) -> int:
    """Copies rows of values known to both vocabularies (and the padding/OOV rows) into ``new``."""
    new_index = {value: n for n, value in enumerate(new_vocabulary)}
    carried = 0
    for old_n, value in enumerate(old_vocabulary):
        if value in new_index:
            new[new_index[value] + 1] = old[old_n + 1]
            carried += 1
    new[0] = old[0]
    new[len(new_vocabulary) + 1] = old[len(old_vocabulary) + 1]
    return carried


def member_directory(model_dir: str, member: int) -> str:
    """Where ensemble member ``member`` of the model under ``model_dir`` keeps its warm-start
    weights: ``warm_start/`` for the first (and a single model), ``warm_start/member-N/`` after."""
    directory = os.path.join(model_dir, WARM_START_DIR)
    return directory if member == 0 else os.path.join(directory, f"member-{member}")


def restore(model, base_model_serving_dir: str, tft_output, member: int = 0) -> Dict[str, int]:
    """Fills ``model``'s variables from the base model's warm-start weights of the same ensemble
    member; returns rows carried per table."""
    directory = member_directory(os.path.dirname(base_model_serving_dir.rstrip("/")), member)
    if not tf.io.gfile.exists(os.path.join(directory, WEIGHTS_FILE)):
        logger.info(f"Trainer: base model {base_model_serving_dir} has no warm-start weights for ensemble member "
                    f"{member + 1}; training it from scratch")
        return {}
    with tf.io.gfile.GFile(os.path.join(directory, WEIGHTS_FILE), "rb") as stream:
        saved = dict(np.load(io.BytesIO(stream.read())))
    carried: Dict[str, int] = {}
    for variable in model.trainable_weights:  # not the text encoder's: it is refitted on each catalog
        if variable.name not in saved:
            continue
        old, vocabulary = saved[variable.name], _table_vocabulary(variable.name)
        if vocabulary is not None:
            new = variable.numpy()
            carried[vocabulary] = remap_rows(
                old, _read_vocabulary(_vocabulary_path(directory, vocabulary)), new,
                tft_output.vocabulary_by_name(vocabulary))
            variable.assign(new)
        elif tuple(old.shape) == tuple(variable.shape):
            variable.assign(old)
    logger.info(f"Trainer: warm start from {base_model_serving_dir}: rows carried " +
                ", ".join(f"{name} {count:,}" for name, count in sorted(carried.items())))
    return carried
