"""TFX's Trainer with the item catalog (and optionally the text encoder) as extra inputs.

TFX's Trainer spec has no channel for extra artifacts, so ``CatalogTrainerSpec`` extends it
and the executor hands their URIs to ``run_fn`` in ``fn_args.custom_config``
(``item_catalog_uri``, ``text_encoder_uri``). Everything else is TFX's GenericExecutor.
Two components use it:

* ``RetrievalTrainer``: the two-tower model (``trainer.retrieval_trainer.run_fn``) on
  Transform's examples;
* ``GeneratorTrainer``: the explanation LM (``trainer.generator.generator_trainer.run_fn``) on
  ExampleGen's raw examples, with the generator Transform's graph for review keywords.

Example::

    trainer = RetrievalTrainer(examples=transform.outputs["transformed_examples"],
                               transform_graph=transform.outputs["transform_graph"],
                               schema=schema_gen.outputs["schema"],
                               item_catalog=example_gen.outputs["item_catalog"],
                               text_encoder=text_encoder_gen.outputs["text_encoder"],
                               config=RetrievalConfig())
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
from trainer.catalog import ITEM_CATALOG_URI
from trainer.config import RetrievalConfig
from trainer.generator.config import GeneratorConfig
from trainer.retrieval_trainer import TEXT_ENCODER_URI

ITEM_CATALOG_KEY, TEXT_ENCODER_KEY = "item_catalog", "text_encoder"


class CatalogTrainerSpec(standard_component_specs.TrainerSpec):
    INPUTS = {**standard_component_specs.TrainerSpec.INPUTS,
              ITEM_CATALOG_KEY: ChannelParameter(type=ItemCatalog),
              TEXT_ENCODER_KEY: ChannelParameter(type=TextEncoder, optional=True)}


class CatalogTrainerExecutor(trainer_executor.GenericExecutor):
    """GenericExecutor that also passes the catalog and text-encoder URIs to ``run_fn``."""

    def _GetFnArgs(self, input_dict, output_dict, exec_properties):
        fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
        fn_args.custom_config = dict(fn_args.custom_config or {})
        fn_args.custom_config[ITEM_CATALOG_URI] = artifact_utils.get_single_uri(input_dict[ITEM_CATALOG_KEY])
        if input_dict.get(TEXT_ENCODER_KEY):
            fn_args.custom_config[TEXT_ENCODER_URI] = artifact_utils.get_single_uri(
                input_dict[TEXT_ENCODER_KEY])
        return fn_args


class CatalogTrainer(base_component.BaseComponent):
    """A Trainer whose ``run_fn`` also reads the item catalog."""

    SPEC_CLASS = CatalogTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(CatalogTrainerExecutor)

    def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
                 schema: types.BaseChannel, item_catalog: types.BaseChannel, run_fn: str,
                 custom_config: dict, text_encoder: Optional[types.BaseChannel] = None,
                 base_model: Optional[types.BaseChannel] = None, train_steps: Optional[int] = None):
        super().__init__(spec=CatalogTrainerSpec(
            examples=examples, transform_graph=transform_graph, schema=schema, base_model=base_model,
            hyperparameters=None, item_catalog=item_catalog, text_encoder=text_encoder,
            train_args=trainer_pb2.TrainArgs(num_steps=train_steps or 0), eval_args=trainer_pb2.EvalArgs(),
            module_file=None, run_fn=run_fn, custom_config=json_utils.dumps(custom_config),
            model=types.Channel(type=standard_artifacts.Model),
            model_run=types.Channel(type=standard_artifacts.ModelRun)))


class RetrievalTrainer(CatalogTrainer):
    """Trains and exports the two-tower model, warm-started from ``base_model`` when given."""

    def __init__(self, examples, transform_graph, schema, item_catalog, text_encoder=None, base_model=None,
                 config: RetrievalConfig = RetrievalConfig(), train_steps: Optional[int] = None):
        super().__init__(examples, transform_graph, schema, item_catalog, "trainer.retrieval_trainer.run_fn",
                         {"retrieval": config.to_json()}, text_encoder, base_model, train_steps)


class GeneratorTrainer(CatalogTrainer):
    """Trains and exports the explanation generator (raw ``examples``, the generator Transform's graph)."""

    def __init__(self, examples, transform_graph, schema, item_catalog,
                 config: GeneratorConfig = GeneratorConfig(), train_steps: Optional[int] = None):
        super().__init__(examples, transform_graph, schema, item_catalog,
                         "trainer.generator.generator_trainer.run_fn", {"generator": config.to_json()},
                         train_steps=train_steps)
