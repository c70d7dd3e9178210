"""The RecGen TFX pipeline, as one function that wires components (the TFX way).

Today: ExampleGen -> StatisticsGen -> ImportSchemaGen (curated schema) -> ExampleValidator
-> ValidationGate. Later stages (Transform, Trainer, Evaluator, Pusher) hang off the gate.

Example:
    >>> pipeline = create_pipeline(PipelineConfig(data_path="../shared/data/movielens-latest-small",
    ...                                           root="/tmp/recgen"))
    >>> [c.id for c in pipeline.components]  # doctest: +SKIP
    ['RecGenExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator', 'ValidationGate']
"""
from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

from tfx import v1 as tfx

from components.example_gen.component import RecGenExampleGen
from components.example_gen.features import DEFAULT_HISTORY_LENGTH
from components.validation_gate import ValidationGate
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "schema.pbtxt")
PIPELINE_NAME = "recgen"


@dataclasses.dataclass
class PipelineConfig:
    """Everything a pipeline run needs; ``root`` holds artifacts and the metadata store."""

    data_path: str
    root: str
    data_format: Optional[str] = None
    history_length: int = DEFAULT_HISTORY_LENGTH
    max_malformed_fraction: float = DEFAULT_MAX_MALFORMED_FRACTION
    schema_path: str = SCHEMA_PATH
    beam_pipeline_args: List[str] = dataclasses.field(default_factory=list)
    pipeline_name: str = PIPELINE_NAME

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.root, "pipeline")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.root, "metadata.sqlite")


def create_components(config: PipelineConfig) -> list:
    example_gen = RecGenExampleGen(
        data_path=os.path.abspath(config.data_path), data_format=config.data_format,
        history_length=config.history_length, max_malformed_fraction=config.max_malformed_fraction)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=os.path.abspath(config.schema_path))
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    validation_gate = ValidationGate(anomalies=example_validator.outputs["anomalies"])
    return [example_gen, statistics_gen, schema_gen, example_validator, validation_gate]


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path),
        beam_pipeline_args=config.beam_pipeline_args,
        enable_cache=False)
