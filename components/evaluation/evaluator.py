"""``RecGenEvaluator``: TFX's Evaluator with the item catalog as one more input.

TFMA metric configs are fixed when the pipeline is built, but the diversity metrics need
run-time data (each item's categories, each item's training users). The executor computes
them from the ``item_catalog`` and the train split (``item_statistics.py``), writes
``<evaluation uri>/item_statistics.json`` and points every ``TopKDiversity`` metric at it;
everything else is TFX's Evaluator executor (TFMA, thresholds, blessing).

TFX's ``eval_config`` cannot be a runtime parameter, so the blessing thresholds can also come
as a string parameter, ``thresholds`` (JSON of ``EvaluationConfig`` threshold fields, e.g. a
Kubeflow pipeline parameter): the executor then replaces the eval config's thresholds with
those of ``thresholds_model`` ("retrieval" or "generator"). Empty: the eval config's own.

Example::

    evaluator = RecGenEvaluator(examples=example_gen.outputs["examples"],
                                model=trainer.outputs["model"],
                                baseline_model=resolver.outputs["model"],
                                item_catalog=example_gen.outputs["item_catalog"],
                                eval_config=retrieval_eval_config(EvaluationConfig()),
                                example_splits=["test"])
"""
from __future__ import annotations

import json
import os
from typing import List, Optional, Union

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.orchestration.data_types import RuntimeParameter
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import proto_utils

from components.artifacts import ItemCatalog
from components.evaluation import item_statistics
from components.evaluation.config import model_thresholds, parse_thresholds
from recgen.contracts import features as F
from recgen.progress import say
from trainer.catalog import read_catalog

ITEM_CATALOG_KEY = "item_catalog"
ITEM_STATISTICS_FILE = "item_statistics.json"
THRESHOLDS_KEY, THRESHOLDS_MODEL_KEY = "thresholds", "thresholds_model"


class RecGenEvaluatorSpec(specs.EvaluatorSpec):
    PARAMETERS = {**specs.EvaluatorSpec.PARAMETERS, THRESHOLDS_KEY: ExecutionParameter(type=str, optional=True),
                  THRESHOLDS_MODEL_KEY: ExecutionParameter(type=str, optional=True)}
    INPUTS = {**specs.EvaluatorSpec.INPUTS, ITEM_CATALOG_KEY: ChannelParameter(type=ItemCatalog, optional=True)}


def write_item_statistics(catalog_uri: str, examples: types.Artifact, path: str) -> None:
    """Item categories and training users, as ``TopKDiversity`` reads them."""
    catalog = read_catalog(catalog_uri)
    train_files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], F.TRAIN), "*.gz"))
    users_per_item, train_users = item_statistics.users_per_item(train_files)
    categories = [[value.decode("utf-8") for value in row if value] for row in catalog.categories]
    statistics = item_statistics.ItemStatistics.build(
        [item.decode("utf-8") for item in catalog.item_ids], categories, users_per_item, train_users)
    with tf.io.gfile.GFile(path, "w") as stream:
        stream.write(statistics.to_json())


def _edited(eval_config_json: str, edit) -> str:
    """The JSON eval config after ``edit(eval_config proto)``."""
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(eval_config_json, eval_config)
    edit(eval_config)
    return proto_utils.proto_to_json(eval_config)


def with_item_statistics(eval_config_json: str, path: str) -> str:
    """The eval config with ``item_statistics_path`` set in every ``TopKDiversity`` metric."""
    def edit(eval_config):
        for metrics_spec in eval_config.metrics_specs:
            for metric in metrics_spec.metrics:
                if metric.class_name == "TopKDiversity":
                    metric.config = json.dumps({**json.loads(metric.config or "{}"), "item_statistics_path": path})
    return _edited(eval_config_json, edit)


def with_thresholds(eval_config_json: str, thresholds: str, model: str) -> str:
    """The eval config (one metrics spec) with the thresholds of ``model`` from ``thresholds``."""
    def edit(eval_config):
        (metrics_spec,) = eval_config.metrics_specs
        metrics_spec.thresholds.clear()
        metrics_spec.per_slice_thresholds.clear()
        for name, threshold in model_thresholds(parse_thresholds(thresholds), model).items():
            metrics_spec.per_slice_thresholds[name].CopyFrom(threshold)
    return _edited(eval_config_json, edit)


class RecGenEvaluatorExecutor(evaluator_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        model_uri = artifact_utils.get_single_uri(input_dict[specs.MODEL_KEY])
        has_baseline = bool(input_dict.get(specs.BASELINE_MODEL_KEY))
        say(f"Evaluator: {model_uri} against "
            f"{artifact_utils.get_single_uri(input_dict[specs.BASELINE_MODEL_KEY]) if has_baseline else 'floors only (no blessed model yet)'}")
        if exec_properties.get(THRESHOLDS_KEY):
            exec_properties = {**exec_properties, specs.EVAL_CONFIG_KEY: with_thresholds(
                exec_properties[specs.EVAL_CONFIG_KEY], exec_properties[THRESHOLDS_KEY],
                exec_properties[THRESHOLDS_MODEL_KEY])}
        if input_dict.get(ITEM_CATALOG_KEY):
            path = os.path.join(artifact_utils.get_single_uri(output_dict[specs.EVALUATION_KEY]),
                                ITEM_STATISTICS_FILE)
            write_item_statistics(artifact_utils.get_single_uri(input_dict[ITEM_CATALOG_KEY]),
                                  artifact_utils.get_single_instance(input_dict[specs.EXAMPLES_KEY]), path)
            exec_properties = {**exec_properties, specs.EVAL_CONFIG_KEY: with_item_statistics(
                exec_properties[specs.EVAL_CONFIG_KEY], path)}
        super().Do(input_dict, output_dict, exec_properties)
        blessing = artifact_utils.get_single_instance(output_dict[specs.BLESSING_KEY])
        say(f"Evaluator: {'BLESSED' if blessing.get_int_custom_property('blessed') else 'NOT blessed'}")


class RecGenEvaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator (TFMA, thresholds, blessing) with an optional ``item_catalog`` input."""

    SPEC_CLASS = RecGenEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(RecGenEvaluatorExecutor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, eval_config: tfma.EvalConfig,
                 example_splits: List[str], baseline_model: Optional[types.BaseChannel] = None,
                 item_catalog: Optional[types.BaseChannel] = None,
                 schema: Optional[types.BaseChannel] = None,
                 thresholds: Optional[Union[str, RuntimeParameter]] = None, thresholds_model: Optional[str] = None):
        super().__init__(spec=RecGenEvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model, item_catalog=item_catalog,
            schema=schema, eval_config=eval_config, example_splits=json.dumps(example_splits),
            thresholds=thresholds, thresholds_model=thresholds_model,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
