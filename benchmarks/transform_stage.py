"""TFX's Transform executor run on an ExampleGen output outside a pipeline, as the pipeline wires
it, for the benchmarks (``example_gen_benchmark.py``, ``retrieval_benchmark.py``).

Example::

    examples, _ = run_standalone(data, "/tmp/eg")          # components.example_gen.executor
    run_transform(examples, "/tmp/graph", "/tmp/transformed")
"""
from __future__ import annotations

import json
import os

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipelines", "schema")


def examples_artifact(uri: str):
    """The ``Examples`` artifact of an ExampleGen output folder written by ``run_standalone``."""
    from tfx.types import artifact_utils, standard_artifacts
    from recgen.contracts import features as F

    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = uri, artifact_utils.encode_split_names(list(F.SPLITS))
    return examples


def run_transform(examples, transform_graph: str, transformed: str) -> None:
    """Analyses the train split with ``trainer.preprocessing`` and transforms every split."""
    from tfx.components.transform.executor import Executor
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import standard_artifacts, standard_component_specs as specs
    from trainer.config import RetrievalConfig

    schema, graph, output = (standard_artifacts.Schema(), standard_artifacts.TransformGraph(),
                             standard_artifacts.Examples())
    schema.uri, graph.uri, output.uri = SCHEMA_DIR, transform_graph, transformed
    Executor(base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=[])).Do(
        {specs.EXAMPLES_KEY: [examples], specs.SCHEMA_KEY: [schema]},
        {specs.TRANSFORM_GRAPH_KEY: [graph], specs.TRANSFORMED_EXAMPLES_KEY: [output]},
        {specs.PREPROCESSING_FN_KEY: "trainer.preprocessing.preprocessing_fn",
         specs.CUSTOM_CONFIG_KEY: json.dumps({"retrieval": RetrievalConfig().to_json()}),
         specs.DISABLE_STATISTICS_KEY: 1})
