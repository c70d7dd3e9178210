"""The Kubernetes manifests in serving/kubernetes/: stock TF Serving (GPU), the recommendation
service and Redis, read as YAML and checked against each other and against TF Serving's
config protos. No cluster is needed."""
import posixpath
from pathlib import Path

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

# TF Serving's BatchingParameters (the fields, names and numbers of its session_bundle_config.proto,
# which tensorflow-serving-api does not ship), as RecGen's model server reads them.
from serving.protos.batching_parameters_pb2 import BatchingParameters

FOLDER = Path(__file__).resolve().parents[1] / "serving" / "kubernetes"
TF_SERVING_IMAGE = "tensorflow/serving:2.16.1-gpu"
MODELS = {"retrieval", "generator"}
# Objects the manifests reference but do not define, each named in README.md for the user to
# create (a Secret is never committed).
USER_PROVIDED = {("Secret", "recgen-token")}
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}


def load_documents():
    documents = []
    for path in sorted(FOLDER.glob("*.yaml")):
        with open(path) as stream:
            documents += [(path.name, doc) for doc in yaml.safe_load_all(stream) if doc is not None]
    return documents


@pytest.fixture(scope="module")
def documents():
    return load_documents()


@pytest.fixture(scope="module")
def objects(documents):
    """``{(kind, name): manifest}`` of every Kubernetes object (the kustomization left out)."""
    found = {}
    for _, doc in documents:
        if doc.get("kind") == "Kustomization":
            continue
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in found, f"{key} defined twice"
        found[key] = doc
    return found


def of_kind(objects, *kinds):
    return {name: doc for (kind, name), doc in objects.items() if kind in kinds}


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def only_container(workload):
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, [c["name"] for c in containers]
    return containers[0]


def flags(container):
    """``--name=value`` arguments as ``{name: value}``; a bare ``--name`` maps to "true"."""
    parsed = {}
    for argument in container.get("args", []):
        assert argument.startswith("--"), argument
        name, _, value = argument[2:].partition("=")
        assert name not in parsed, f"--{name} given twice"
        parsed[name] = value if _ else "true"
    return parsed


def port_number(container, port):
    """A probe's or Service's port (a number or a container port's name) as a number."""
    if isinstance(port, int):
        return port
    numbers = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in numbers, f"{port!r} is not a port of container {container['name']}"
    return numbers[port]


@pytest.fixture(scope="module")
def tf_serving(objects):
    matches = [doc for doc in of_kind(objects, "Deployment").values()
               if only_container(doc)["image"].split(":")[0] == "tensorflow/serving"]
    assert len(matches) == 1, "one TF Serving Deployment"
    return matches[0]


@pytest.fixture(scope="module")
def tf_flags(tf_serving):
    return flags(only_container(tf_serving))


def mount_of(workload, container, predicate):
    """The mountPath of the container's volume whose pod volume satisfies ``predicate``."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    paths = [mount["mountPath"] for mount in container.get("volumeMounts", [])
             if predicate(volumes.get(mount["name"], {})) and "subPath" not in mount]
    assert len(paths) == 1, paths
    return paths[0]


@pytest.fixture(scope="module")
def tf_config_map(objects, tf_serving):
    names = [volume["configMap"]["name"] for volume in pod_spec(tf_serving)["volumes"] if "configMap" in volume]
    assert len(names) == 1, names
    assert ("ConfigMap", names[0]) in objects, f"ConfigMap {names[0]} is not defined in {FOLDER}"
    return objects[("ConfigMap", names[0])]


# --- the files ---------------------------------------------------------------------------------

def test_kustomization_lists_every_manifest_and_only_existing_files(documents):
    kustomizations = [doc for name, doc in documents if name == "kustomization.yaml"]
    assert len(kustomizations) == 1 and kustomizations[0]["kind"] == "Kustomization"
    resources = kustomizations[0]["resources"]
    manifests = {path.name for path in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(resources) == sorted(manifests)
    assert {"tf-serving.yaml", "config.yaml", "recommendation-service.yaml", "redis.yaml"} <= manifests


def test_every_document_is_an_object_with_a_name(documents):
    for file, doc in documents:
        assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), file
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"], file


# --- TF Serving --------------------------------------------------------------------------------

def test_tf_serving_runs_the_pinned_gpu_image_with_a_gpu(tf_serving):
    container = only_container(tf_serving)
    assert container["image"] == TF_SERVING_IMAGE
    assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound]), bound
    assert tf_serving["spec"]["replicas"] >= 2


def test_tf_serving_flags(tf_flags):
    assert tf_flags["port"] == "8500" and tf_flags["rest_api_port"] == "8501"
    assert tf_flags["enable_batching"] == "true"
    assert tf_flags["enable_model_warmup"] == "true"
    assert tf_flags["model_config_file"] == "/config/models.config"
    assert tf_flags["batching_parameters_file"] == "/config/batching_parameters.txt"
    assert int(tf_flags["model_config_file_poll_wait_seconds"]) > 0
    assert int(tf_flags["file_system_poll_wait_seconds"]) > 0


def test_tf_serving_runs_the_server_binary_itself(tf_serving):
    """The image's entrypoint script would add --model_name and --model_base_path."""
    assert only_container(tf_serving)["command"] == ["/usr/bin/tensorflow_model_server"]


def test_config_files_are_where_the_config_map_is_mounted(tf_serving, tf_flags, tf_config_map):
    container = only_container(tf_serving)
    name = tf_config_map["metadata"]["name"]
    mount = mount_of(tf_serving, container, lambda volume: volume.get("configMap", {}).get("name") == name)
    for flag in ("model_config_file", "batching_parameters_file"):
        directory, key = posixpath.split(tf_flags[flag])
        assert directory == mount, f"--{flag}={tf_flags[flag]} is not under {mount}"
        assert key in tf_config_map["data"], f"ConfigMap {name} has no key {key}"


def test_models_config_names_both_models_under_the_mounted_model_base(tf_serving, tf_flags, tf_config_map, objects):
    container = only_container(tf_serving)
    model_base = mount_of(tf_serving, container, lambda volume: "persistentVolumeClaim" in volume)
    claim = [v for v in pod_spec(tf_serving)["volumes"] if "persistentVolumeClaim" in v][0]
    assert claim["persistentVolumeClaim"].get("readOnly") is True
    assert [m for m in container["volumeMounts"] if m["mountPath"] == model_base][0].get("readOnly") is True
    assert model_base == "/models"

    text = tf_config_map["data"][posixpath.basename(tf_flags["model_config_file"])]
    config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    entries = {entry.name: entry for entry in config.model_config_list.config}
    assert set(entries) == MODELS
    for name, entry in entries.items():
        assert entry.base_path == posixpath.join(model_base, name)
        assert entry.model_platform == "tensorflow"
        assert entry.model_version_policy.WhichOneof("policy_choice") == "latest"
        assert entry.model_version_policy.latest.num_versions == 1


def test_models_config_is_what_the_pusher_writes_for_a_serving_base_at_the_mount(tmp_path, tf_config_map):
    """ModelBasePusher's own models.config, for a serving base at ``tmp_path``, names the same
    models and platform, with the same paths relative to the base (the ConfigMap's base is /models)."""
    from components.model_base_pusher import write_models_config
    for name in MODELS:
        (tmp_path / name / "1").mkdir(parents=True)
    with open(write_models_config(str(tmp_path))) as stream:
        pushed = text_format.Parse(stream.read(), model_server_config_pb2.ModelServerConfig())
    ours = text_format.Parse(tf_config_map["data"]["models.config"], model_server_config_pb2.ModelServerConfig())

    def entries(config, base):
        return {(e.name, posixpath.relpath(e.base_path, base), e.model_platform) for e in config.model_config_list.config}

    assert entries(ours, "/models") == entries(pushed, str(tmp_path))
    # The Pusher sets no version policy, i.e. TF Serving's default: the latest version only.
    assert all(not e.HasField("model_version_policy") for e in pushed.model_config_list.config)


def test_batching_parameters_parse_with_gpu_sized_values(tf_flags, tf_config_map):
    text = tf_config_map["data"][posixpath.basename(tf_flags["batching_parameters_file"])]
    parameters = text_format.Parse(text, BatchingParameters())
    assert parameters.max_batch_size.value == 64
    assert parameters.batch_timeout_micros.value == 2000
    assert parameters.max_enqueued_batches.value == 100
    assert parameters.num_batch_threads.value == 4
    # Rank-1 serialized-example inputs have nothing to pad (see config.yaml).
    assert not parameters.pad_variable_length_inputs
    assert not parameters.enable_large_batch_splitting.value


def test_batching_parameters_parser_rejects_unknown_fields():
    with pytest.raises(text_format.ParseError):
        text_format.Parse("max_batch_size { value: 64 }\nmax_batch_sizes { value: 1 }", BatchingParameters())


def test_probes_use_model_status_on_the_rest_port_and_the_grpc_port(tf_serving, tf_flags, tf_config_map):
    container = only_container(tf_serving)
    rest, grpc = int(tf_flags["rest_api_port"]), int(tf_flags["port"])
    config = text_format.Parse(tf_config_map["data"]["models.config"], model_server_config_pb2.ModelServerConfig())
    served = {entry.name for entry in config.model_config_list.config}
    checked = set()
    for probe in ("readinessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert port_number(container, get["port"]) == rest, probe
        prefix, _, name = get["path"].rpartition("/")
        assert prefix == "/v1/models" and name in served, get["path"]
        checked.add(name)
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/retrieval"
    assert checked == MODELS
    assert port_number(container, container["livenessProbe"]["tcpSocket"]["port"]) == grpc


# --- Redis and the recommendation service ------------------------------------------------------

def test_redis_is_durable_on_acknowledgement(objects):
    statefulsets = of_kind(objects, "StatefulSet")
    assert set(statefulsets) == {"redis"}
    redis = statefulsets["redis"]
    assert redis["spec"]["replicas"] == 1
    container = only_container(redis)
    assert container["image"] == "redis:7.2"
    arguments = container["args"]
    pairs = dict(zip(arguments[::2], arguments[1::2]))
    assert pairs == {"--appendonly": "yes", "--appendfsync": "always"}
    templates = {t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]}
    assert [m["mountPath"] for m in container["volumeMounts"] if m["name"] in templates] == ["/data"]
    assert ("Service", redis["spec"]["serviceName"]) in objects


def test_recommendation_service_reaches_tf_serving_and_redis_through_their_services(objects):
    deployment = of_kind(objects, "Deployment")["recommendation-service"]
    assert deployment["spec"]["replicas"] == 2
    container = only_container(deployment)
    assert container["image"] == "recgen:latest"
    command = container["command"]
    assert command[:2] == ["recgen", "serve"]
    options = dict(zip(command[2::2], command[3::2]))
    assert options == {"--model-server": "tf-serving:8500", "--store": "redis://redis:6379/0", "--host": "0.0.0.0"}

    def service_port(host_port):
        host, port = host_port.rsplit(":", 1)
        assert ("Service", host) in objects, f"no Service {host}"
        return int(port) in {p["port"] for p in objects[("Service", host)]["spec"]["ports"]}

    assert service_port(options["--model-server"])
    assert service_port(options["--store"].split("//", 1)[1].split("/", 1)[0])
    env = {e["name"]: e for e in container["env"]}
    assert env["RECGEN_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "recgen-token"
    assert port_number(container, container["readinessProbe"]["tcpSocket"]["port"]) == 8600
    assert {p["containerPort"] for p in container["ports"]} == {8600, 8601}


# --- wiring ------------------------------------------------------------------------------------

def test_every_service_selects_exactly_one_workload_and_targets_its_ports(objects):
    workloads = of_kind(objects, *WORKLOAD_KINDS)
    services = of_kind(objects, "Service")
    assert set(services) == {"tf-serving", "recommendation-service", "redis"}
    for name, service in services.items():
        selector = service["spec"]["selector"]
        assert selector
        selected = [w for w in workloads.values()
                    if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(selected) == 1, f"Service {name} selects {len(selected)} workloads"
        workload = selected[0]
        # The workload's own selector must match its pod labels too (the API server rejects it otherwise).
        assert workload["spec"]["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        container = only_container(workload)
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert port_number(container, target) in {p["containerPort"] for p in container["ports"]}


def references(workload):
    """``{(kind, name)}`` of the ConfigMaps, Secrets and PVCs a workload's pods use."""
    found = set()
    spec = pod_spec(workload)
    templates = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            found.add(("ConfigMap", volume["configMap"]["name"]))
        if "secret" in volume:
            found.add(("Secret", volume["secret"]["secretName"]))
        if "persistentVolumeClaim" in volume:
            found.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
    for container in spec["containers"] + spec.get("initContainers", []):
        for env in container.get("env", []):
            source = env.get("valueFrom", {})
            if "secretKeyRef" in source:
                found.add(("Secret", source["secretKeyRef"]["name"]))
            if "configMapKeyRef" in source:
                found.add(("ConfigMap", source["configMapKeyRef"]["name"]))
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.add(("Secret", source["secretRef"]["name"]))
            if "configMapRef" in source:
                found.add(("ConfigMap", source["configMapRef"]["name"]))
        for mount in container.get("volumeMounts", []):
            volume_names = {v["name"] for v in spec.get("volumes", [])} | templates
            assert mount["name"] in volume_names, f"volumeMount {mount['name']} has no volume"
    return found


def test_every_referenced_config_map_secret_and_claim_is_defined_or_documented(objects):
    referenced = set()
    for workload in of_kind(objects, *WORKLOAD_KINDS).values():
        referenced |= references(workload)
    assert ("PersistentVolumeClaim", "recgen-model-base") in referenced
    assert ("Secret", "recgen-token") in referenced
    missing = {reference for reference in referenced if reference not in objects}
    assert missing == USER_PROVIDED, f"referenced but neither defined nor documented: {missing - USER_PROVIDED}"
    readme = (FOLDER / "README.md").read_text()
    for kind, name in USER_PROVIDED:
        assert f"{kind} `{name}`" in readme, f"README.md does not tell the user to create {kind} {name}"


def test_readme_names_every_file_and_the_apply_command():
    readme = (FOLDER / "README.md").read_text()
    assert "kubectl apply -k serving/kubernetes" in readme
    for path in FOLDER.glob("*.yaml"):
        assert f"`{path.name}`" in readme, path.name
    assert "`recgen serve`" in readme
