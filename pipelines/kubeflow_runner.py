"""Compiles RecGen's pipeline (``pipelines/recgen_pipeline.create_pipeline``) for Kubeflow Pipelines v2.

TFX's ``KubeflowV2DagRunner`` builds a PipelineJob envelope ``{displayName, labels, pipelineSpec,
runtimeConfig}``; ``kfp.Client`` submits a pipeline package, a YAML ``PipelineSpec``. So
``compile_pipeline`` writes the envelope's inner ``pipelineSpec``, with what the runner leaves out
put where KFP reads it: each runtime parameter's default as the root input's ``defaultValue``
(the runner keeps only the parameter's type) and the pipeline root as ``defaultPipelineRoot``.

Pipeline parameters (set per run): ``data_path``, ``serving_base`` and ``evaluation_thresholds``
(JSON of ``EvaluationConfig`` threshold fields). Fixed at compile time: the image, the pipeline
root and the Beam arguments. Beam arguments cannot be pipeline parameters with TFX 1.16: the
runner copies ``beam_pipeline_args`` into every container's command line as plain strings, and a
``RuntimeParameter`` there fails the compile (TypeError); placeholders in Beam arguments
(``beam_pipeline_args_placeholders``) exist only in TFX's IR for the local and portable runners.

Example::

    spec = compile_pipeline(KubeflowOptions(image="registry/recgen-pipeline:1"),
                            "recgen-pipeline.yaml")
    spec["root"]["inputDefinitions"]["parameters"]["data_path"]["defaultValue"]
    # -> '/gcs/YOUR-BUCKET/recgen/data'
"""
from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Dict, Optional, Tuple

import yaml
from tfx import v1 as tfx
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from components.evaluation.config import EvaluationConfig, thresholds_json
from pipelines.kubeflow_defaults import DEFAULT_DATA, DEFAULT_IMAGE, DEFAULT_PIPELINE_ROOT
from pipelines.recgen_pipeline import SCHEMA_PATH, PipelineConfig, create_pipeline

# Where kubeflow/Dockerfile puts the project in the image.
IMAGE_SOURCE_DIR = "/opt/recgen"
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_PATH, SERVING_BASE, EVALUATION_THRESHOLDS = "data_path", "serving_base", "evaluation_thresholds"


@dataclasses.dataclass(frozen=True)
class KubeflowOptions:
    """What a compiled pipeline fixes (image, pipeline root, Beam arguments) and its parameters' defaults."""

    image: str = DEFAULT_IMAGE
    pipeline_root: str = DEFAULT_PIPELINE_ROOT
    data_path: str = DEFAULT_DATA  # read as a file path inside the pipeline's containers
    serving_base: Optional[str] = None  # default: <pipeline_root>/serving
    evaluation: EvaluationConfig = EvaluationConfig()
    beam_pipeline_args: Tuple[str, ...] = ()

    def parameters(self) -> Dict[str, tfx.dsl.experimental.RuntimeParameter]:
        """The pipeline parameters, by name, with these options as their defaults."""
        defaults = {DATA_PATH: self.data_path,
                    SERVING_BASE: self.serving_base or posixpath.join(self.pipeline_root, "serving"),
                    EVALUATION_THRESHOLDS: thresholds_json(self.evaluation)}
        return {name: tfx.dsl.experimental.RuntimeParameter(name=name, ptype=str, default=default)
                for name, default in defaults.items()}


def pipeline_config(options: KubeflowOptions) -> PipelineConfig:
    """The pipeline's config with runtime parameters, and the schema where the image has it."""
    parameters = options.parameters()
    return PipelineConfig(
        data_path=parameters[DATA_PATH], root=options.pipeline_root,
        schema_path=posixpath.join(IMAGE_SOURCE_DIR, os.path.relpath(SCHEMA_PATH, PROJECT_DIR)),
        beam_pipeline_args=list(options.beam_pipeline_args), evaluation=options.evaluation,
        serving_base=parameters[SERVING_BASE], evaluation_thresholds=parameters[EVALUATION_THRESHOLDS])


def pipeline_spec(options: KubeflowOptions) -> dict:
    """The KFP ``PipelineSpec``, as a dict, of the pipeline under ``options``."""
    # Pipeline spec schema 2.1: parameters typed by ``parameterType`` and constants as plain
    # values, what KFP 2.x reads (2.0's ``type``/``intValue`` form is the older Vertex one).
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
        default_image=options.image, use_pipeline_spec_2_1=True))
    spec = runner.run(create_pipeline(pipeline_config(options)), write_out=False)["pipelineSpec"]
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    for parameter in options.parameters().values():
        inputs[parameter.name].update(defaultValue=parameter.default, isOptional=True)
    spec["defaultPipelineRoot"] = options.pipeline_root
    return spec


def compile_pipeline(options: KubeflowOptions, out_path: str) -> dict:
    """Writes the pipeline package (YAML ``PipelineSpec``) to ``out_path``; returns the spec."""
    spec = pipeline_spec(options)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as stream:
        yaml.safe_dump(spec, stream, sort_keys=True)
    return spec
