"""``ModelBasePusher``: a blessed model into a TF Serving model base, as integer versions.

TFX's Pusher names versions by timestamp; TF Serving serves the highest integer version and
operators read versions as 1, 2, 3, so this pusher writes ``<serving_base>/<model_name>/<n>/``
with ``n`` one above the highest version already there. Each push:

1. copies the model's ``Format-Serving`` SavedModel to a hidden temporary directory beside
   the versions, adds ``assets.extra/tf_serving_warmup_requests`` (``PredictionLog``
   records built from real examples of ``warmup_split``, for every signature the service
   calls: a signature's first call is slow, and it must not be a user's) and renames it into
   place, so a polling server never sees half a version;
2. rewrites ``<serving_base>/models.config`` (a ``ModelServerConfig`` text proto) listing
   every model in the base, for ``tensorflow_model_server --model_config_file``.

A model that is not blessed is not pushed; the ``PushedModel`` artifact says so
(``pushed`` = 0) and the report names the failed thresholds from the evaluation.

Example::

    pusher = ModelBasePusher(model=trainer.outputs["model"],
                             model_blessing=evaluator.outputs["blessing"],
                             examples=example_gen.outputs["examples"],
                             serving_base="/srv/models", model_name="retrieval",
                             warmup_signatures="serving_default,recommend_examples,item_embeddings,item_details")
"""

import logging
import os
from typing import List

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils

from recgen.contracts import features as F
from recgen.contracts.model_base import MODELS_CONFIG, WARMUP_FILE, check_model_name, versions
from recgen.contracts.signatures import EXAMPLES_INPUT, ITEM_ID_SIGNATURES, ITEM_IDS_INPUT, predict_request

logger = logging.getLogger(__name__)


def _warmup_inputs(signature: str, serialized: bytes) -> dict:
    """A signature's inputs from one serialized example: the example itself, or for a signature
    over item ids (``item_embeddings``, ``item_details``) the example's item id."""
    if signature in ITEM_ID_SIGNATURES:
        example = tf.train.Example.FromString(serialized)
        return {ITEM_IDS_INPUT: list(example.features.feature[F.ITEM_ID].bytes_list.value)}
    return {EXAMPLES_INPUT: [serialized]}


def warmup_records(example_files: List[str], model_name: str, signatures: List[str], count: int) -> List[bytes]:
    """``count`` PredictionLog records per signature, one example each."""
    records = []
    for serialized in tf.data.TFRecordDataset(example_files, compression_type="GZIP").take(count):
        for signature in signatures:
            request = predict_request(model_name, signature, _warmup_inputs(signature, serialized.numpy()))
            records.append(prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())
    return records


def write_models_config(serving_base: str) -> str:
    """``models.config`` naming every model directory of the base; returns its path."""
    config = model_server_config_pb2.ModelServerConfig()
    for name in sorted(name.rstrip("/") for name in tf.io.gfile.listdir(serving_base)):
        path = os.path.join(serving_base, name)
        if tf.io.gfile.isdir(path) and versions(path):
            entry = config.model_config_list.config.add()
            entry.name, entry.base_path, entry.model_platform = name, os.path.abspath(path), "tensorflow"
    path = os.path.join(serving_base, MODELS_CONFIG)
    temporary = path + ".tmp"
    with tf.io.gfile.GFile(temporary, "w") as stream:
        stream.write(text_format.MessageToString(config))
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def push(serving_model_dir: str, serving_base: str, model_name: str, warmup: List[bytes]) -> int:
    """Copies a SavedModel in as the next version with its warm-up records; returns the version."""
    check_model_name(model_name)
    model_base = os.path.join(serving_base, model_name)
    tf.io.gfile.makedirs(model_base)
    version = (versions(model_base) or [0])[-1] + 1
    staging = os.path.join(model_base, f".pushing-{version}")
    if tf.io.gfile.exists(staging):
        tf.io.gfile.rmtree(staging)
    for directory, _, files in tf.io.gfile.walk(serving_model_dir):
        target = os.path.join(staging, os.path.relpath(directory, serving_model_dir))
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name))
    tf.io.gfile.makedirs(os.path.join(staging, os.path.dirname(WARMUP_FILE)))
    with tf.io.TFRecordWriter(os.path.join(staging, WARMUP_FILE)) as writer:
        for record in warmup:
            writer.write(record)
    tf.io.gfile.rename(staging, os.path.join(model_base, str(version)))
    write_models_config(serving_base)
    return version


@tfx.dsl.components.component
def ModelBasePusher(model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
                    model_blessing: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ModelBlessing],
                    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
                    pushed_model: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.PushedModel],
                    serving_base: tfx.dsl.components.Parameter[str],
                    model_name: tfx.dsl.components.Parameter[str],
                    warmup_signatures: tfx.dsl.components.Parameter[str],
                    warmup_split: tfx.dsl.components.Parameter[str] = F.EVAL,
                    warmup_requests: tfx.dsl.components.Parameter[int] = 8) -> None:
    """Pushes a blessed model as the next integer version of ``model_name``; skips any other.
    ``warmup_signatures``: the comma-separated signatures its warm-up records call."""
    pushed_model.set_string_custom_property("model_name", model_name)
    if not model_blessing.get_int_custom_property("blessed"):
        pushed_model.set_int_custom_property("pushed", 0)
        logger.info(f"Pusher: {model_name} NOT pushed: the Evaluator did not bless {model.uri}")
        return
    files = sorted(tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], warmup_split), "*.gz")))
    version = push(os.path.join(model.uri, "Format-Serving"), serving_base, model_name,
                   warmup_records(files, model_name, warmup_signatures.split(","), warmup_requests))
    destination = os.path.join(serving_base, model_name, str(version))
    pushed_model.set_int_custom_property("pushed", 1)
    pushed_model.set_int_custom_property("pushed_version", version)
    pushed_model.set_string_custom_property("pushed_destination", destination)
    logger.info(f"Pusher: {model_name} version {version} -> {destination}")
