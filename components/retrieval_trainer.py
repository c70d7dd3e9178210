"""``RetrievalTrainer``: TFX's Trainer with two more inputs, the item catalog and the text encoder.

TFX's Trainer spec has no channel for extra artifacts, so this spec extends it and
the executor hands the two URIs to ``run_fn`` in ``fn_args.custom_config``
(``item_catalog_uri``, ``text_encoder_uri``). Everything else is TFX's GenericExecutor.

Example:
    >>> trainer = RetrievalTrainer(examples=transform.outputs["transformed_examples"],  # doctest: +SKIP
    ...                            transform_graph=transform.outputs["transform_graph"],
    ...                            item_catalog=example_gen.outputs["item_catalog"],
    ...                            text_encoder=text_encoder_gen.outputs["text_encoder"],
    ...                            config=RetrievalConfig())
"""
from __future__ import annotations

from typing import Optional

from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils

from components.artifacts import ItemCatalog, TextEncoder
from trainer.config import RetrievalConfig
from trainer.retrieval_trainer import ITEM_CATALOG_URI, TEXT_ENCODER_URI

ITEM_CATALOG_KEY, TEXT_ENCODER_KEY = "item_catalog", "text_encoder"
RUN_FN = "trainer.retrieval_trainer.run_fn"


class RetrievalTrainerSpec(standard_component_specs.TrainerSpec):
    INPUTS = {**standard_component_specs.TrainerSpec.INPUTS,
              ITEM_CATALOG_KEY: ChannelParameter(type=ItemCatalog),
              TEXT_ENCODER_KEY: ChannelParameter(type=TextEncoder, optional=True)}


class RetrievalTrainerExecutor(trainer_executor.GenericExecutor):
    """GenericExecutor that also passes the catalog and text-encoder URIs to ``run_fn``."""

    def _GetFnArgs(self, input_dict, output_dict, exec_properties):
        fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
        fn_args.custom_config = dict(fn_args.custom_config or {})
        fn_args.custom_config[ITEM_CATALOG_URI] = artifact_utils.get_single_uri(input_dict[ITEM_CATALOG_KEY])
        if input_dict.get(TEXT_ENCODER_KEY):
            fn_args.custom_config[TEXT_ENCODER_URI] = artifact_utils.get_single_uri(
                input_dict[TEXT_ENCODER_KEY])
        return fn_args


class RetrievalTrainer(base_component.BaseComponent):
    """Trains and exports the two-tower model (``trainer.retrieval_trainer.run_fn``)."""

    SPEC_CLASS = RetrievalTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(RetrievalTrainerExecutor)

    def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
                 schema: types.BaseChannel, item_catalog: types.BaseChannel,
                 text_encoder: Optional[types.BaseChannel] = None,
                 base_model: Optional[types.BaseChannel] = None,
                 config: RetrievalConfig = RetrievalConfig(), train_steps: Optional[int] = None):
        super().__init__(spec=RetrievalTrainerSpec(
            examples=examples, transform_graph=transform_graph, schema=schema, base_model=base_model,
            hyperparameters=None, item_catalog=item_catalog, text_encoder=text_encoder,
            train_args=trainer_pb2.TrainArgs(num_steps=train_steps or 0), eval_args=trainer_pb2.EvalArgs(),
            module_file=None, run_fn=RUN_FN,
            custom_config=json_utils.dumps({"retrieval": config.to_json()}),
            model=types.Channel(type=standard_artifacts.Model),
            model_run=types.Channel(type=standard_artifacts.ModelRun)))
