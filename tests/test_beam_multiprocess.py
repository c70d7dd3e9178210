"""Beam pipeline arguments reach every Beam-based component, and the data stage run on the
DirectRunner in multi-process mode writes exactly the examples of the single-process run."""
import ast
import glob
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import tensorflow as tf
from apache_beam.runners.portability import local_job_service
from tfx.dsl.compiler import compiler
from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2

from pipelines.local_runner import run_pipeline
from pipelines.recgen_pipeline import PipelineConfig, create_pipeline
from recgen.cli import build_parser, pipeline_config
from recgen.contracts import features as F
from recgen.contracts.examples_io import split_dir
from recgen.contracts.run_root import latest_ingestion_report
from recgen.data.synthetic import SyntheticConfig, write_generic_csv

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
BEAM_COMPONENTS = {"RecGenExampleGen", "StatisticsGen", "Transform", "GeneratorTransform",
                   "RetrievalEvaluator", "GeneratorEvaluator"}
DATA_STAGE_BEAM_PIPELINES = 3  # RecGenExampleGen (reading, then examples) and StatisticsGen


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


def serialized_examples(examples_uri: str, split: str) -> Counter:
    """The multiset of a split's tf.Examples, each serialized canonically (shard order differs
    between runs, and protobuf's map serialization order differs between processes)."""
    files = glob.glob(os.path.join(split_dir(examples_uri, split), "*.gz"))
    return Counter(tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
                   for record in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def run_data_stage(data: Path, root: Path, beam_args: list) -> tuple:
    """ExampleGen -> ... -> ValidationGate; returns (ingestion report, examples by split, seconds)."""
    config = PipelineConfig(data_path=str(data), root=str(root), train=False, beam_pipeline_args=beam_args)
    started = time.monotonic()
    run_pipeline(config)
    seconds = time.monotonic() - started
    report = latest_ingestion_report(config)
    examples_uri = report.pop("examples_uri")  # differs between runs
    return report, {split: serialized_examples(examples_uri, split) for split in F.SPLITS}, seconds


def record_sdk_worker_processes(monkeypatch) -> list:
    """Records every SDK worker subprocess the DirectRunner starts (multi_processing mode only)."""
    started = []
    run = local_job_service.SubprocessSdkWorker.run

    def recording_run(worker):
        started.append(worker)
        return run(worker)

    monkeypatch.setattr(local_job_service.SubprocessSdkWorker, "run", recording_run)
    return started


@pytest.mark.integration
def test_multi_process_direct_runner_writes_the_same_examples(tmp_path, monkeypatch):
    # Worker processes unpickle the project's DoFns by importing their modules: point them at
    # the code under test (pytest puts the project on sys.path of this process only).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    # Given Beam arguments, every TFX Beam executor packs TFX into a 42 MB sdist in a fresh
    # temporary folder that it leaves behind (dependency_utils.build_ephemeral_package).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    workers = record_sdk_worker_processes(monkeypatch)
    data, events = write_generic_csv(SyntheticConfig(users=300, items=120, seed=5), tmp_path / "data")
    single_report, single, single_seconds = run_data_stage(data, tmp_path / "single", [])
    single_process_workers = len(workers)
    multi_report, multi, multi_seconds = run_data_stage(data, tmp_path / "multi", MULTI_PROCESS)
    print(f"\n{events:,} events -> examples {single_report['examples']}; data stage single-process "
          f"{single_seconds:.1f} s, multi-process (2 workers) {multi_seconds:.1f} s")

    # The multi-process run really ran on worker processes: 2 for each Beam pipeline.
    assert (single_process_workers, len(workers)) == (0, 2 * DATA_STAGE_BEAM_PIPELINES)
    assert multi_report == single_report
    for split in F.SPLITS:
        assert sum(single[split].values()) == single_report["examples"][split] > 0
        assert multi[split] == single[split], f"split {split} differs"
