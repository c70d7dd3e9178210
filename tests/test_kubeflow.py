"""Kubeflow Pipelines v2: the package ``recgen kubeflow compile`` writes, read back with the kfp SDK's
own loaders; ``submit`` and ``schedule`` against a fake KFP API server (v2beta1 REST) on loopback."""
import http.server
import importlib.util
import json
import os
import re
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.utils import proto_utils

from components.evaluation.config import EvaluationConfig, parse_thresholds, retrieval_eval_config, thresholds_json
from components.evaluation.evaluator import with_thresholds
from pipelines.kubeflow_runner import IMAGE_SOURCE_DIR, KubeflowOptions, pipeline_config
from pipelines.recgen_pipeline import PipelineConfig, create_pipeline
from recgen.cli import main as recgen_main

PROJECT = Path(__file__).resolve().parents[1]
IMAGE = "registry.example/recgen-pipeline:test"
ROOT = "gs://test-bucket/recgen"
DATA = "/mnt/data/movielens"
THRESHOLDS = {"retrieval_floors": {"hr@10": 0.3}}
BEAM_ARG = "--direct_num_workers=2"
PIPELINE_OPTIONS = ["--image", IMAGE, "--pipeline-root", ROOT, "--data", DATA, "--thresholds",
                    json.dumps(THRESHOLDS), f"--beam-arg={BEAM_ARG}"]
PARAMETERS = {"data_path", "serving_base", "evaluation_thresholds"}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kubeflow") / "recgen-pipeline.yaml"
    assert recgen_main(["kubeflow", "compile", "--out", str(path)] + PIPELINE_OPTIONS) == 0
    return path


def parse_spec(spec_dict: dict) -> pipeline_spec_pb2.PipelineSpec:
    """Strict: an unknown field fails the parse."""
    return json_format.ParseDict(spec_dict, pipeline_spec_pb2.PipelineSpec())


@pytest.fixture(scope="module")
def spec(package) -> pipeline_spec_pb2.PipelineSpec:
    return parse_spec(yaml.safe_load(package.read_text()))


def test_kfp_loads_the_package_with_the_parameters_and_their_defaults(package, spec):
    pipeline = components.load_component_from_file(str(package))
    inputs = pipeline.component_spec.inputs
    assert set(inputs) == PARAMETERS
    assert inputs["data_path"].default == DATA
    assert inputs["serving_base"].default == f"{ROOT}/serving"
    assert parse_thresholds(inputs["evaluation_thresholds"].default) == EvaluationConfig(**THRESHOLDS)
    assert all(spec_input.optional for spec_input in inputs.values())
    assert spec.default_pipeline_root == ROOT


def test_every_component_is_a_task_and_every_step_runs_the_image(spec):
    pipeline = create_pipeline(pipeline_config(KubeflowOptions()))
    tasks = set(spec.root.dag.tasks)
    resolvers = {c.id for c in pipeline.components if type(c).__name__ == "Resolver"}
    assert resolvers == {"RetrievalTrainer_latest_blessed", "GeneratorTrainer_latest_blessed"}
    assert {c.id for c in pipeline.components} - resolvers <= tasks
    for resolver in resolvers:  # one artifact query task per input channel
        assert {task for task in tasks if task.startswith(resolver + "-")}
    assert all(task in {c.id for c in pipeline.components} or task.split("-")[0] in resolvers for task in tasks)

    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    containers = {name: executor["container"] for name, executor in executors.items() if "container" in executor}
    assert len(containers) == len(pipeline.components) - len(resolvers)
    for name, container in containers.items():
        assert container["image"] == IMAGE, name
        command = list(container["command"])
        assert command[:2] == ["python", "-m"] and importlib.util.find_spec(command[2]), command
    beam_steps = [name for name, container in containers.items() if BEAM_ARG in container["args"]]
    assert "RecGenExampleGen_executor" in beam_steps and "RetrievalEvaluator_executor" in beam_steps


def test_runtime_parameters_feed_the_steps_that_use_them(spec):
    tasks = spec.root.dag.tasks

    def source(task, parameter):
        spec_parameter = tasks[task].inputs.parameters[parameter]
        return spec_parameter.component_input_parameter or json_format.MessageToDict(spec_parameter.runtime_value)

    assert source("RecGenExampleGen", "data_path") == "data_path"
    assert source("RetrievalPusher", "serving_base") == source("GeneratorPusher", "serving_base") == "serving_base"
    for evaluator, model in (("RetrievalEvaluator", "retrieval"), ("GeneratorEvaluator", "generator")):
        assert source(evaluator, "thresholds") == "evaluation_thresholds"
        assert source(evaluator, "thresholds_model") == {"constant": model}


def test_dependencies_follow_the_pipeline(spec):
    tasks = spec.root.dag.tasks
    assert "ValidationGate" in tasks["Transform"].dependent_tasks
    assert "ValidationGate" in tasks["GeneratorTransform"].dependent_tasks
    assert "Transform" in tasks["RetrievalTrainer"].dependent_tasks
    for model in ("Retrieval", "Generator"):
        blessing = tasks[f"{model}Pusher"].inputs.artifacts["model_blessing"].task_output_artifact
        assert (blessing.producer_task, blessing.output_artifact_key) == (f"{model}Evaluator", "blessing")
        assert f"{model}Evaluator" in tasks[f"{model}Pusher"].dependent_tasks


def test_the_local_pipeline_keeps_plain_values(tmp_path):
    config = PipelineConfig(data_path="relative/data", root=str(tmp_path))
    by_id = {c.id: c for c in create_pipeline(config).components}
    assert by_id["RecGenExampleGen"].exec_properties["data_path"] == os.path.abspath("relative/data")
    assert by_id["RetrievalPusher"].exec_properties["serving_base"] == str(tmp_path / "serving")
    assert by_id["RetrievalEvaluator"].exec_properties["thresholds"] is None


def test_thresholds_parameter_rewrites_only_the_thresholds():
    config = EvaluationConfig(top_ks=(5,))
    built = proto_utils.proto_to_json(retrieval_eval_config(config))
    assert with_thresholds(built, thresholds_json(config), "retrieval") == built
    changed = config.replace(retrieval_floors={"hr@5": 0.4}, retrieval_max_drops={})
    assert with_thresholds(built, json.dumps({"retrieval_floors": {"hr@5": 0.4}, "retrieval_max_drops": {}}),
                           "retrieval") == proto_utils.proto_to_json(retrieval_eval_config(changed))
    with pytest.raises(ValueError, match="top_ks"):
        with_thresholds(built, '{"top_ks": [1]}', "retrieval")


def test_dockerfile_installs_the_lock_and_the_project_where_the_runner_expects_them():
    dockerfile = (PROJECT / "kubeflow" / "Dockerfile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (PROJECT / "Makefile").read_text(), re.M).group(1)
    assert re.search(r"^FROM python:3\.10[\w.]*-bookworm$", dockerfile, re.M)
    assert f"uv=={uv_version}" in dockerfile and re.search(r"uv pip sync .*requirements\.lock", dockerfile)
    assert re.search(r"^ENV TF_USE_LEGACY_KERAS=1", dockerfile, re.M)
    assert re.search(r"^WORKDIR (\S+)$", dockerfile, re.M).group(1) == IMAGE_SOURCE_DIR
    include = re.search(r"include=\[(.*?)\]", (PROJECT / "setup.py").read_text(), re.S).group(1)
    packages = {name for name in re.findall(r'"([\w.*]+)"', include) if "." not in name}
    assert set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M)) == packages
    assert re.search(r"uv pip install .*--no-deps \.$", dockerfile, re.M)


class FakeKfpApi(http.server.ThreadingHTTPServer):
    """The v2beta1 endpoints kfp.Client 2.5.0 calls to create runs and recurring runs; records requests."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeKfpHandler)
        self.requests, self.experiments = [], {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def posted(self, path: str) -> list:
        return [body for method, p, _, body in self.requests if (method, p) == ("POST", path)]

    def answer(self, method: str, path: str, query: dict, body):
        if (method, path) == ("GET", "/apis/v2beta1/healthz"):
            return {"multi_user": False}
        if (method, path) == ("GET", "/apis/v2beta1/experiments"):
            name = json.loads(query["filter"][0])["predicates"][0]["stringValue"]
            known = [{"experiment_id": self.experiments[name], "display_name": name}] if name in self.experiments else []
            return {"experiments": known} if known else {}
        if (method, path) == ("POST", "/apis/v2beta1/experiments"):
            self.experiments[body["display_name"]] = f"experiment-{len(self.experiments) + 1}"
            return {"experiment_id": self.experiments[body["display_name"]], "display_name": body["display_name"]}
        if (method, path) == ("POST", "/apis/v2beta1/runs"):
            return {"run_id": "run-1", "display_name": body["display_name"], "experiment_id": body["experiment_id"]}
        if (method, path) == ("POST", "/apis/v2beta1/recurringruns"):
            return {"recurring_run_id": "recurring-1", "display_name": body["display_name"]}
        return None


class FakeKfpHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self._respond()

    def do_POST(self):
        self._respond()

    def _respond(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path, _, query = self.path.partition("?")
        query = urllib.parse.parse_qs(query)
        self.server.requests.append((self.command, path, query, body))
        answer = self.server.answer(self.command, path, query, body)
        payload = json.dumps(answer if answer is not None else {"error": "not found"}).encode()
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def kfp_api():
    server = FakeKfpApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_submit_creates_a_run_of_the_compiled_spec_with_the_parameters(kfp_api, spec, capsys):
    thresholds = json.dumps({"generator_floors": {"bleu-1": 2.0}})
    assert recgen_main(["kubeflow", "submit", "--host", kfp_api.url, "--experiment", "nightly", "--run-name", "r1",
                        "--param", "data_path=/mnt/other", "--param", f"evaluation_thresholds={thresholds}"]
                       + PIPELINE_OPTIONS) == 0
    (experiment,) = kfp_api.posted("/apis/v2beta1/experiments")
    (run,) = kfp_api.posted("/apis/v2beta1/runs")
    assert experiment["display_name"] == "nightly"
    assert run["experiment_id"] == kfp_api.experiments["nightly"] and run["display_name"] == "r1"
    assert parse_spec(run["pipeline_spec"]) == spec
    assert run["runtime_config"]["parameters"] == {"data_path": "/mnt/other", "evaluation_thresholds": thresholds}
    assert "created run run-1" in capsys.readouterr().out


def test_schedule_creates_a_recurring_run_on_the_cron(kfp_api, spec):
    kfp_api.experiments["nightly"] = "experiment-existing"
    assert recgen_main(["kubeflow", "schedule", "--host", kfp_api.url, "--experiment", "nightly", "--job-name",
                        "retrain", "--cron", "0 30 2 * * 1-5", "--param", "serving_base=gs://b/models"]
                       + PIPELINE_OPTIONS) == 0
    assert kfp_api.posted("/apis/v2beta1/experiments") == []  # found, not created
    (recurring,) = kfp_api.posted("/apis/v2beta1/recurringruns")
    assert recurring["trigger"]["cron_schedule"]["cron"] == "0 30 2 * * 1-5"
    assert recurring["experiment_id"] == "experiment-existing" and recurring["display_name"] == "retrain"
    assert recurring["mode"] == "ENABLE" and recurring["no_catchup"] is True
    assert parse_spec(recurring["pipeline_spec"]) == spec
    assert recurring["runtime_config"]["parameters"] == {"serving_base": "gs://b/models"}


@pytest.mark.parametrize("cron, says", [("0 0 25 * * *", "is not a cron expression"),
                                        ("61 * * * *", "is not a cron expression"),
                                        ("every day", "2 fields; give five")])
def test_a_bad_cron_fails_before_any_request(kfp_api, capsys, cron, says):
    assert recgen_main(["kubeflow", "schedule", "--host", kfp_api.url, "--cron", cron]) == 1
    error = capsys.readouterr().err
    assert says in error and "Traceback" not in error
    assert kfp_api.requests == []


def test_an_unreachable_host_or_a_bad_parameter_exits_1_with_a_message(kfp_api, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert recgen_main(["kubeflow", "submit", "--host", dead]) == 1
    error = capsys.readouterr().err
    assert f"cannot reach the KFP API at {dead}: " in error and "Traceback" not in error

    assert recgen_main(["kubeflow", "submit", "--host", kfp_api.url, "--param", "data_root=/x"]) == 1
    assert "no such pipeline parameter" in capsys.readouterr().err
    assert recgen_main(["kubeflow", "submit", "--host", kfp_api.url, "--param", "evaluation_thresholds={}x"]) == 1
    assert "evaluation_thresholds" in capsys.readouterr().err
    assert kfp_api.posted("/apis/v2beta1/runs") == []
