"""The TFX component class and spec of RecGen's ExampleGen.

Example::

    example_gen = RecGenExampleGen(data_path="../shared/data/movielens-latest-small")
    example_gen.outputs["examples"], example_gen.outputs["item_catalog"]
"""
from __future__ import annotations

from typing import Optional

from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import Channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.artifacts import ItemCatalog
from components.example_gen import executor
from recgen.contracts.features import DEFAULT_HISTORY_LENGTH
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION


class RecGenExampleGenSpec(ComponentSpec):
    PARAMETERS = {
        executor.DATA_PATH_KEY: ExecutionParameter(type=str),
        executor.DATA_FORMAT_KEY: ExecutionParameter(type=str, optional=True),
        executor.HISTORY_LENGTH_KEY: ExecutionParameter(type=int),
        executor.MAX_MALFORMED_FRACTION_KEY: ExecutionParameter(type=float),
        executor.EVENT_SPANS_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.ITEM_CATALOG_KEY: ChannelParameter(type=ItemCatalog),
    }


class RecGenExampleGen(base_beam_component.BaseBeamComponent):
    """Source data in any supported format -> leave-last-out train/eval/test examples + item catalog.

    ``event_spans``: a folder of retraining spans (``recgen.contracts.event_spans``) whose events
    follow the source's; the Examples artifact's ``span`` is the last one read."""

    SPEC_CLASS = RecGenExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, data_path: str, data_format: Optional[str] = None,
                 history_length: int = DEFAULT_HISTORY_LENGTH,
                 max_malformed_fraction: float = DEFAULT_MAX_MALFORMED_FRACTION,
                 event_spans: Optional[str] = None):
        super().__init__(RecGenExampleGenSpec(
            data_path=data_path, data_format=data_format or "", history_length=history_length,
            max_malformed_fraction=max_malformed_fraction, event_spans=event_spans or "",
            examples=Channel(type=standard_artifacts.Examples),
            item_catalog=Channel(type=ItemCatalog)))
