"""Beam pipeline arguments reach every Beam-based component."""
import ast
from pathlib import Path

from tfx.dsl.compiler import compiler
from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2

from pipelines.recgen_pipeline import PipelineConfig, create_pipeline
from recgen.cli import build_parser, pipeline_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BEAM_COMPONENTS = {"RecGenExampleGen", "StatisticsGen", "Transform", "GeneratorTransform",
                   "RetrievalEvaluator", "GeneratorEvaluator"}


def beam_args_by_node(config: PipelineConfig) -> dict:
    """Each Beam executor's arguments in the compiled pipeline, as LocalDagRunner hands them over."""
    deployment = pipeline_pb2.IntermediateDeploymentConfig()
    compiler.Compiler().compile(create_pipeline(config)).deployment_config.Unpack(deployment)
    args = {}
    for node, spec in deployment.executor_specs.items():
        beam_spec = executable_spec_pb2.BeamExecutableSpec()
        if spec.Unpack(beam_spec):
            args[node] = [arg.value.string_value for arg in beam_spec.beam_pipeline_args_placeholders]
    return args


def test_cli_beam_args_reach_every_beam_component(tmp_path):
    cli_args = ["--beam-arg=--runner=FlinkRunner", "--beam-arg=--flink_master=localhost:8081"]
    config = pipeline_config(build_parser().parse_args(
        ["pipeline", "run", "--root", str(tmp_path), *cli_args]), data=str(tmp_path))
    expected = ["--runner=FlinkRunner", "--flink_master=localhost:8081"]
    assert beam_args_by_node(config) == {node: expected for node in BEAM_COMPONENTS}


def beam_pipeline_constructions(path: Path) -> list:
    """``beam.Pipeline(...)`` calls in a module (docstrings aside): those skip the Beam arguments."""
    return [f"{path}:{node.lineno}" for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Pipeline" and getattr(node.func.value, "id", None) == "beam"]


def test_project_executors_build_beam_pipelines_only_through_make_beam_pipeline():
    packages = ("components", "pipelines", "recgen", "trainer", "serving")
    modules = [path for package in packages for path in (PROJECT_ROOT / package).rglob("*.py")]
    assert [call for path in modules for call in beam_pipeline_constructions(path)] == []

