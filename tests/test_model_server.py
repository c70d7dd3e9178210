"""RecGen's model server answers TF Serving's gRPC and REST API as ``tensorflow_model_server`` does.

Clients are the real ``tensorflow-serving-api`` stubs; the models are the synthetic run's
pushed versions (``synthetic_run``), served from a private copy of its model base.
"""
import os
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    prediction_service_pb2_grpc,
)

from recgen.contracts import features as F
from recgen.contracts.model_base import ModelBase
from recgen.contracts.signatures import ITEM_DETAILS_SIGNATURE, predict_request, query_example
from serving.batching import Batcher, BatchingOptions
from serving.errors import ServingError
from tests.serving_fixtures import call_rest, catalog_details, model_server, server_stack  # noqa: F401 (fixtures)

REQUEST = dict(user_id=np.array([b"user_000001"], dtype=object),
               history_item_ids=np.array([[b"item_000003", b"item_000010"]], dtype=object),
               history_timestamps=np.array([[1_000, 2_000]], dtype=np.int64), timestamp=np.array([3_000], dtype=np.int64))


def stubs(server):
    channel = grpc.insecure_channel(server.grpc_address)
    return (prediction_service_pb2_grpc.PredictionServiceStub(channel),
            model_service_pb2_grpc.ModelServiceStub(channel))


def rest(server, path, body=None):
    return call_rest(server.rest_port, path, body)


def test_predict_through_the_tf_serving_stub_matches_the_saved_model(synthetic_run, model_server):
    _, _, model = synthetic_run
    prediction, _ = stubs(model_server)
    inputs = {**REQUEST, "k": tf.make_tensor_proto(10, dtype=tf.int32), "exclude_item_ids": [[b"item_000007"]]}
    response = prediction.Predict(predict_request("retrieval", "recommend", inputs), timeout=30)
    expected = model.signatures["recommend"](
        **{name: tf.constant(value) for name, value in REQUEST.items()}, k=tf.constant(10),
        exclude_item_ids=tf.constant([[b"item_000007"]]))
    assert tf.make_ndarray(response.outputs["item_ids"]).tolist() == expected["item_ids"].numpy().tolist()
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["scores"]), expected["scores"].numpy(), rtol=1e-6)
    assert (response.model_spec.name, response.model_spec.version.value) == ("retrieval", 1)
    assert response.model_spec.signature_name == "recommend"


def test_recommend_examples_is_recommend_over_serialized_queries(synthetic_run, model_server):
    _, _, model = synthetic_run
    prediction, _ = stubs(model_server)
    query = query_example("user_000001", ["item_000003", "item_000010"], [1_000, 2_000], 3_000, exclude=["item_000007"])
    response = prediction.Predict(predict_request("retrieval", "recommend_examples", {"examples": [query]}), timeout=30)
    expected = model.signatures["recommend"](
        **{name: tf.constant(value) for name, value in REQUEST.items()}, k=tf.constant(100),
        exclude_item_ids=tf.constant([[b"item_000007"]]))
    assert tf.make_ndarray(response.outputs["item_ids"]).tolist() == expected["item_ids"].numpy().tolist()
    ids = tf.make_ndarray(response.outputs["item_ids"])[0][:5]
    embeddings = prediction.Predict(predict_request("retrieval", "item_embeddings", {"item_ids": ids}), timeout=30)
    queries = model.signatures["query_embedding"](**{name: tf.constant(value) for name, value in REQUEST.items()})
    np.testing.assert_allclose(tf.make_ndarray(embeddings.outputs["embeddings"]) @ queries["embedding"].numpy()[0],
                               tf.make_ndarray(response.outputs["scores"])[0][:5], rtol=1e-4, atol=1e-5)


def test_model_status_answers_as_tf_serving_does(model_server):
    _, models = stubs(model_server)
    status = models.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "retrieval"}))
    assert [(s.version, s.state, s.status.error_code) for s in status.model_version_status] == \
        [(1, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0)]
    assert status.model_version_status[0].HasField("status")
    with pytest.raises(grpc.RpcError) as missing:
        models.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "retrieval",
                                                                                     "version": {"value": 7}}))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert rest(model_server, "/v1/models/generator") == (200, {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
    code, body = rest(model_server, "/v1/models/nope")
    assert code == 404 and "nope" in body["error"]


def test_model_metadata_is_the_saved_models_signature_defs(model_server):
    prediction, _ = stubs(model_server)
    response = prediction.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec={"name": "retrieval"}, metadata_field=["signature_def"]))
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(model_server.options.base_dir, "retrieval", "1", "saved_model.pb"), "rb") as stream:
        saved.ParseFromString(stream.read())
    assert dict(signatures.signature_def) == dict(saved.meta_graphs[0].signature_def)
    assert {"recommend", "recommend_examples", "item_embeddings", ITEM_DETAILS_SIGNATURE,
            "serving_default"} <= set(signatures.signature_def)
    assert response.model_spec.version.value == 1
    with pytest.raises(grpc.RpcError) as wrong_field:
        prediction.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec={"name": "retrieval"}, metadata_field=["graph"]))
    assert wrong_field.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    code, body = rest(model_server, "/v1/models/retrieval/versions/1/metadata")
    assert code == 200 and body["model_spec"] == {"name": "retrieval", "version": "1", "signature_name": ""}
    assert body["metadata"]["signature_def"]["signature_def"]["item_embeddings"]["inputs"]["item_ids"]["dtype"] == \
        "DT_STRING"


def test_rest_predict_row_and_columnar_formats_equal_grpc(model_server):
    prediction, _ = stubs(model_server)
    ids = [b"item_000001", b"item_000002", b"not-in-the-catalog"]
    grpc_embeddings = tf.make_ndarray(prediction.Predict(
        predict_request("retrieval", "item_embeddings", {"item_ids": ids}), timeout=30).outputs["embeddings"])
    assert not grpc_embeddings[2].any() and grpc_embeddings[0].any()  # unknown id: zeros
    code, rows = rest(model_server, "/v1/models/retrieval:predict",
                      {"signature_name": "item_embeddings", "instances": [i.decode() for i in ids]})
    assert code == 200
    np.testing.assert_allclose(np.array(rows["predictions"]), grpc_embeddings, rtol=1e-6)
    code, columns = rest(model_server, "/v1/models/retrieval/versions/1:predict",
                         {"signature_name": "item_embeddings", "inputs": {"item_ids": [i.decode() for i in ids]}})
    assert code == 200
    np.testing.assert_allclose(np.array(columns["outputs"]), grpc_embeddings, rtol=1e-6)
    code, body = rest(model_server, "/v1/models/retrieval:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["user_000001"], "history_item_ids": [["item_000003", "item_000010"]],
        "history_timestamps": [[1_000, 2_000]], "timestamp": [3_000], "k": 5, "exclude_item_ids": [[""]]}})
    assert code == 200 and len(body["outputs"]["item_ids"][0]) == 5


def test_item_details_are_the_catalogs_titles_and_categories_over_grpc_and_rest(model_server, catalog_details):
    prediction, _ = stubs(model_server)
    ids = ["item_000001", "item_000002", "not-in-the-catalog"]
    expected = [catalog_details["item_000001"], catalog_details["item_000002"], ("", [])]
    outputs = prediction.Predict(predict_request("retrieval", ITEM_DETAILS_SIGNATURE, {"item_ids": ids}),
                                 timeout=30).outputs
    titles, categories = tf.make_ndarray(outputs["titles"]), tf.make_ndarray(outputs["categories"])
    assert titles.shape == (3,) and categories.shape[0] == 3, "every output has the batch dimension"
    assert [(t.decode(), [c.decode() for c in row if c]) for t, row in zip(titles, categories)] == expected
    assert expected[0][0] and expected[0][1], "the synthetic catalog has titles and categories"
    code, rows = rest(model_server, "/v1/models/retrieval:predict",
                      {"signature_name": ITEM_DETAILS_SIGNATURE, "instances": ids})
    assert code == 200
    assert [(row["titles"], [c for c in row["categories"] if c]) for row in rows["predictions"]] == expected


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(synthetic_run, model_server):
    _, _, model = synthetic_run
    prediction, _ = stubs(model_server)
    users = [f"user_{n:06d}" for n in range(16)]
    queries = [query_example(user, ["item_000003"], [1_000], 3_000) for user in users]
    alone = [tf.make_ndarray(prediction.Predict(predict_request("retrieval", "recommend_examples", {"examples": [q]}),
                                                timeout=30).outputs["item_ids"]) for q in queries]
    batcher = model_server.manager.batcher
    batcher.batch_sizes.clear()
    answers = [None] * len(queries)

    def ask(position):
        answers[position] = tf.make_ndarray(prediction.Predict(
            predict_request("retrieval", "recommend_examples", {"examples": [queries[position]]}),
            timeout=30).outputs["item_ids"])
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.tolist() for a in answers] == [a.tolist() for a in alone]
    assert max(batcher.batch_sizes) > 1, "no two concurrent requests shared a batch"
    assert sum(batcher.batch_sizes) == len(queries)


def test_a_malformed_request_in_a_batch_fails_alone():
    def runner(inputs):
        if (inputs["x"] < 0).any():
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "negative")
        return {"y": inputs["x"] * 2}
    batcher = Batcher(BatchingOptions(max_batch_size=8, batch_timeout_s=0.05))
    results = {}

    def ask(value):
        try:
            results[value] = batcher.run("key", runner, {"x": np.array([value])}, 1)["y"].tolist()
        except ServingError as error:
            results[value] = error.code
    threads = [threading.Thread(target=ask, args=(v,)) for v in (1, -1, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert results == {1: [2], -1: grpc.StatusCode.INVALID_ARGUMENT, 3: [6]}
    assert list(batcher.batch_sizes) == [3]


def test_batching_options_come_from_tf_servings_parameters_file(tmp_path):
    with open("serving/kubernetes/config.yaml", encoding="utf-8") as stream:
        import yaml
        config_map = next(d for d in yaml.safe_load_all(stream) if d and d.get("kind") == "ConfigMap")
    (tmp_path / "batching.txt").write_text(config_map["data"]["batching_parameters.txt"])
    options = BatchingOptions.from_file(str(tmp_path / "batching.txt"))
    assert (options.max_batch_size, options.batch_timeout_s, options.num_batch_threads) == (64, 0.002, 4)
    (tmp_path / "bad.txt").write_text("max_batch_size { value: 'many' }")
    with pytest.raises(ValueError, match="bad.txt"):
        BatchingOptions.from_file(str(tmp_path / "bad.txt"))


def test_model_names_cannot_escape_the_model_base(synthetic_run, model_server, tmp_path):
    prediction, _ = stubs(model_server)
    for name in ("../retrieval", "retrieval/../generator", ""):
        with pytest.raises(grpc.RpcError) as error:
            prediction.Predict(predict_request(name, "serving_default", {"examples": [b""]}), timeout=10)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
    (tmp_path / "models.config").write_text(
        'model_config_list { config { name: "x" base_path: "/etc" model_platform: "tensorflow" } }')
    with pytest.raises(ValueError, match="outside the model base"):
        ModelBase(str(tmp_path)).model_dirs()
    (tmp_path / "models.config").write_text(
        'model_config_list { config { name: "../x" base_path: "x" model_platform: "tensorflow" } }')
    with pytest.raises(ValueError, match="model name"):
        ModelBase(str(tmp_path)).model_dirs()


def test_each_version_replays_its_warm_up_records_before_serving(model_server):
    served = model_server.manager.served("retrieval")
    assert served.warm_up() == 32  # 8 for each signature the service calls, and serving_default
    assert model_server.options.host == "127.0.0.1"
    assert F.USER_ID in served.input_specs("recommend")


def test_the_in_process_client_answers_as_the_grpc_client(model_server, catalog_details):
    from serving.model_client import GrpcModelClient, InProcessModelClient, ItemDetails
    query = query_example("user_000001", ["item_000003", "item_000010"], [1_000, 2_000], 3_000)
    over_grpc, in_process = GrpcModelClient(model_server.grpc_address), InProcessModelClient(model_server.manager)
    grpc_ids, grpc_scores, grpc_version = over_grpc.recommend([query], timeout=30)
    ids, scores, version = in_process.recommend([query], timeout=30)
    assert ids.tolist() == grpc_ids.tolist() and version == grpc_version == 1
    np.testing.assert_allclose(scores, grpc_scores, rtol=1e-6)
    asked = [grpc_ids[0][0], b"not-in-the-catalog"]
    expected = [ItemDetails(*catalog_details[asked[0].decode()]), ItemDetails("", [])]
    assert over_grpc.item_details(asked, timeout=30) == in_process.item_details(asked, timeout=30) == expected
    for client in (over_grpc, InProcessModelClient(model_server.manager, retrieval_model="absent")):
        with pytest.raises(ServingError) as error:
            client.predict("absent", "recommend_examples", {"examples": np.array([query], dtype=object)}, 30)
        assert error.value.code == grpc.StatusCode.UNAVAILABLE and "absent" in error.value.message


def test_removing_the_newest_version_rolls_back_to_the_highest_left(synthetic_run, tmp_path):
    import shutil

    from serving.model_manager import AVAILABLE, END, ModelManager
    from tests.serving_fixtures import copy_model_base
    config, _, _ = synthetic_run
    base = copy_model_base(config, tmp_path)
    shutil.rmtree(os.path.join(base, "retrieval"))  # the generator alone: the smaller model loads faster
    os.remove(os.path.join(base, "models.config"))  # every model directory in the base is served
    manager = ModelManager(ModelBase(base))
    manager.refresh()
    shutil.copytree(os.path.join(base, "generator", "1"), os.path.join(base, "generator", "2"))  # a push
    manager.refresh()
    assert manager.served("generator").version == 2

    shutil.rmtree(os.path.join(base, "generator", "2"))
    manager.refresh()
    assert manager.served("generator").version == 1
    assert [(s.version, s.state) for s in manager.status("generator")] == [(1, AVAILABLE), (2, END)]


def test_a_version_that_failed_to_load_is_tried_once_and_reported_even_without_a_message(tmp_path, monkeypatch):
    import serving.model_manager as model_manager
    version_dir = tmp_path / "generator" / "1"
    version_dir.mkdir(parents=True)
    (version_dir / "saved_model.pb").write_bytes(b"")
    attempts = []

    def failing_load(name, version, path):
        attempts.append(version)
        raise ValueError()  # str() of this error is empty

    monkeypatch.setattr(model_manager, "ServedVersion", failing_load)
    manager = model_manager.ModelManager(ModelBase(str(tmp_path)))
    manager.refresh()
    manager.refresh()
    assert attempts == [1]
    [status] = manager.status("generator")
    assert status.state == model_manager.END and status.error == "ValueError()"
