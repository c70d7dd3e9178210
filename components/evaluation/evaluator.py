"""``RecGenEvaluator``: TFX's Evaluator with the item catalog and the test-split explanations as
two more inputs.

TFMA metric configs are fixed when the pipeline is built, but two metrics need run-time data.
The diversity metrics need each item's categories and training users: the executor computes
them from the ``item_catalog`` and the train split (``item_statistics.py``), writes
``<evaluation uri>/item_statistics.json`` and points every ``TopKDiversity`` metric at it. The
baseline explainers' text quality needs their texts: the executor points every
``BaselineExplanationQuality`` metric at the ``explanations`` artifact's ``baselines_test.jsonl``
(``baseline_texts.py``). FMR needs each item's feature words: every ``ExplanationQuality`` and
``BaselineExplanationQuality`` metric reads the candidate generator's ``item_keywords.json``, so
the candidate, the last blessed model and the baselines are scored on the same words.
Everything else is TFX's Evaluator executor (TFMA, thresholds, blessing).

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
import logging
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

from components.artifacts import Explanations, ItemCatalog
from components.evaluation import baseline_texts, item_statistics
from components.evaluation.config import model_thresholds, parse_thresholds
from recgen.contracts import features as F
from trainer.catalog import read_catalog
from trainer.generator.keywords import ITEM_KEYWORDS_FILE

_logger = logging.getLogger(__name__)

ITEM_CATALOG_KEY, EXPLANATIONS_KEY = "item_catalog", "explanations"
ITEM_STATISTICS_FILE = "item_statistics.json"
THRESHOLDS_KEY, THRESHOLDS_MODEL_KEY = "thresholds", "thresholds_model"


class RecGenEvaluatorSpec(specs.EvaluatorSpec):
    PARAMETERS = {**specs.EvaluatorSpec.PARAMETERS, THRESHOLDS_KEY: ExecutionParameter(type=str, optional=True),
                  THRESHOLDS_MODEL_KEY: ExecutionParameter(type=str, optional=True)}
    INPUTS = {**specs.EvaluatorSpec.INPUTS, ITEM_CATALOG_KEY: ChannelParameter(type=ItemCatalog, optional=True),
              EXPLANATIONS_KEY: ChannelParameter(type=Explanations, optional=True)}


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


def with_metric_config(eval_config_json: str, class_name: str, **values) -> str:
    """The eval config with ``values`` set in the config of every ``class_name`` metric, e.g.
    ``with_metric_config(config_json, "TopKDiversity", item_statistics_path=path)``."""
    def edit(eval_config):
        for metrics_spec in eval_config.metrics_specs:
            for metric in metrics_spec.metrics:
                if metric.class_name == class_name:
                    metric.config = json.dumps({**json.loads(metric.config or "{}"), **values})
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
        _logger.info(f"Evaluator: {model_uri} against "
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
            exec_properties = {**exec_properties, specs.EVAL_CONFIG_KEY: with_metric_config(
                exec_properties[specs.EVAL_CONFIG_KEY], "TopKDiversity", item_statistics_path=path)}
        keywords = os.path.join(model_uri, ITEM_KEYWORDS_FILE)  # the generator's; FMR's feature words
        if tf.io.gfile.exists(keywords):
            for metric in ("ExplanationQuality", "BaselineExplanationQuality"):
                exec_properties = {**exec_properties, specs.EVAL_CONFIG_KEY: with_metric_config(
                    exec_properties[specs.EVAL_CONFIG_KEY], metric, item_keywords_path=keywords)}
        if input_dict.get(EXPLANATIONS_KEY):
            path = os.path.join(artifact_utils.get_single_uri(input_dict[EXPLANATIONS_KEY]), baseline_texts.FILE)
            exec_properties = {**exec_properties, specs.EVAL_CONFIG_KEY: with_metric_config(
                exec_properties[specs.EVAL_CONFIG_KEY], "BaselineExplanationQuality", baselines_path=path)}
        super().Do(input_dict, output_dict, exec_properties)
        blessing = artifact_utils.get_single_instance(output_dict[specs.BLESSING_KEY])
        _logger.info(f"Evaluator: {'BLESSED' if blessing.get_int_custom_property('blessed') else 'NOT blessed'}")


class RecGenEvaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator (TFMA, thresholds, blessing) with optional ``item_catalog`` and ``explanations`` inputs."""

    SPEC_CLASS = RecGenEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(RecGenEvaluatorExecutor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, eval_config: tfma.EvalConfig,
                 example_splits: List[str], baseline_model: Optional[types.BaseChannel] = None,
                 item_catalog: Optional[types.BaseChannel] = None,
                 explanations: Optional[types.BaseChannel] = None,
                 schema: Optional[types.BaseChannel] = None,
                 thresholds: Optional[Union[str, RuntimeParameter]] = None, thresholds_model: Optional[str] = None):
        super().__init__(spec=RecGenEvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model, item_catalog=item_catalog,
            explanations=explanations,
            schema=schema, eval_config=eval_config, example_splits=json.dumps(example_splits),
            thresholds=thresholds, thresholds_model=thresholds_model,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
