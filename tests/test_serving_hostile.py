"""1,000 malformed or hostile requests to both servers: each gets a clear error code and a message,
and both servers keep serving."""
import http.client
import json
import random

import grpc
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from recgen.contracts.signatures import predict_request
from serving.protos import recommendation_pb2 as pb
from tests.serving_fixtures import model_server, server_stack, service  # noqa: F401 (fixtures)

ALLOWED_GRPC = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.FAILED_PRECONDITION}
ALLOWED_HTTP = {400, 401, 404, 413}


def raw_call(address, method):
    channel = grpc.insecure_channel(address)
    return channel.unary_unary(method, request_serializer=lambda data: data, response_deserializer=lambda data: data)


def predict(model="retrieval", signature="recommend_examples", **inputs):
    return predict_request(model, signature, inputs).SerializeToString()


def huge_tensor():
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1_000_000_000_000)]))


def recommend(**fields):
    return pb.RecommendRequest(**fields).SerializeToString()


def record(**fields):
    event = dict(event_id="e", user_id="u", item_id="i", type="view")
    event.update(fields)
    return pb.RecordEventRequest(event=pb.Event(**event)).SerializeToString()


def grpc_cases(rng):
    """(server, method, request bytes, metadata) of one hostile gRPC request each."""
    service_method = "/recgen.serving.RecommendationService/"
    model_method = "/tensorflow.serving.PredictionService/Predict"
    token = (("authorization", "Bearer secret-token"),)
    return [
        # random bytes after a tag of wire type 7, which no protobuf message can contain
        ("service", service_method + "Recommend", b"\x0f" + rng.randbytes(rng.randint(1, 200)), ()),
        ("service", service_method + "Recommend", b"\x0a\x02\xff\xfe", ()),  # user_id with bad UTF-8
        ("service", service_method + "RecordEvent", b"\x0a\x05\x12\x03\xc3\x28\x41", token),  # bad UTF-8 inside
        ("service", service_method + "Recommend", recommend(user_id="u", k=10 ** 9), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", k=-3), ()),
        ("service", service_method + "Recommend", recommend(user_id="x" * 10_000), ()),
        ("service", service_method + "Recommend", recommend(user_id=""), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", diversity=float("nan")), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", diversity=7.0), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", explain=True, explain_count=500), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", recent_events=[
            pb.Event(item_id="item_000001")] * 500), ()),
        ("service", service_method + "Recommend", recommend(user_id="u", recent_events=[
            pb.Event(item_id="i" * 1000)]), ()),
        ("service", service_method + "Recommend", recommend(user_id="u" * 2_000_000), ()),  # over the size limit
        ("service", service_method + "RecordEvent", record(), ()),  # no token
        ("service", service_method + "RecordEvent", record(), (("authorization", "Bearer guess"),)),
        ("service", service_method + "RecordEvent", record(text="t" * 100_000), token),
        ("service", service_method + "RecordEvent", record(type="DROP TABLE"), token),
        ("service", service_method + "RecordEvent", record(timestamp=2 ** 62), token),
        ("service", service_method + "RecordEvent", record(event_id=""), token),
        ("service", service_method + "GetHistory", pb.GetHistoryRequest(user_id="u", limit=-1).SerializeToString(), ()),
        ("model", model_method, predict(model="nope", examples=[b"x"]), ()),
        ("model", model_method, predict(model="../retrieval", examples=[b"x"]), ()),
        ("model", model_method, predict(examples=[1.5, 2.5]), ()),  # wrong dtype
        ("model", model_method, predict(examples=[[b"a"], [b"b"]]), ()),  # wrong rank
        ("model", model_method, predict(examples=huge_tensor()), ()),  # claims 10^12 elements
        ("model", model_method, predict(examples=[b"\x0f" + rng.randbytes(40)]), ()),  # not a tf.Example
        ("model", model_method, predict(signature="no_such_signature", examples=[b"x"]), ()),
        ("model", model_method, predict(surprise=[b"x"]), ()),
        ("model", model_method, predict(signature="recommend", user_id=[b"u"], history_item_ids=[[b"i"]],
                                        history_timestamps=[[1]], timestamp=[2], exclude_item_ids=[[b""]],
                                        k=tf.make_tensor_proto(-1, dtype=tf.int32)), ()),
        ("model", model_method, b"\x0f" + rng.randbytes(rng.randint(1, 100)), ()),
    ]


def http_cases(rng):
    """(server, method, path, body bytes, headers) of one hostile REST request each."""
    json_body = {"Content-Type": "application/json"}
    return [
        ("service", "POST", "/v1/recommend", b"{not json", json_body),
        ("service", "POST", "/v1/recommend", b'{"user_id": "\xff\xfe"}', json_body),
        ("service", "POST", "/v1/recommend", json.dumps({"user_id": "u", "k": "ten"}).encode(), json_body),
        ("service", "POST", "/v1/recommend", json.dumps({"user_id": 5}).encode(), json_body),
        ("service", "POST", "/v1/recommend", json.dumps({"user_id": "u", "surprise": 1}).encode(), json_body),
        ("service", "POST", "/v1/recommend", json.dumps([1, 2]).encode(), json_body),
        ("service", "POST", "/v1/recommend", json.dumps({"user_id": "u", "k": 10 ** 12}).encode(), json_body),
        ("service", "POST", "/v1/events", json.dumps({"event_id": "e", "user_id": "u", "item_id": "i",
                                                      "type": "view"}).encode(), json_body),
        ("service", "GET", "/v1/users/u/history?limit=lots", None, {}),
        ("service", "GET", "/v1/nothing/here", None, {}),
        ("service", "POST", "/v1/recommend", None, {**json_body, "Content-Length": str(2 * 1024 * 1024)}),  # too big
        ("model", "POST", "/v1/models/retrieval:predict", json.dumps({"instances": "x"}).encode(), json_body),
        ("model", "POST", "/v1/models/nope:predict", json.dumps({"instances": ["x"]}).encode(), json_body),
        ("model", "POST", "/v1/models/retrieval:predict", json.dumps(
            {"signature_name": "item_embeddings", "inputs": {"item_ids": [{"b64": "%%%"}]}}).encode(), json_body),
        ("model", "POST", "/v1/models/retrieval:predict", json.dumps(
            {"signature_name": "item_embeddings", "instances": [1, 2]}).encode(), json_body),
        ("model", "GET", "/v1/models/..%2Fretrieval", None, {}),
        ("model", "POST", "/v1/models/retrieval:predict", rng.randbytes(64), json_body),
    ]


def test_a_thousand_hostile_requests_each_get_a_clear_error_and_the_servers_keep_serving(service, model_server):
    rng = random.Random(7)
    addresses = {"service": service.grpc_address, "model": model_server.grpc_address}
    ports = {"service": service.rest_port, "model": model_server.rest_port}
    seen = {}
    for number in range(1000):
        if number % 2 == 0:
            cases = grpc_cases(rng)
            server, method, data, metadata = cases[(number // 2) % len(cases)]
            try:
                raw_call(addresses[server], method)(data, timeout=30, metadata=metadata)
                pytest.fail(f"{method} {data[:60]!r} was accepted")
            except grpc.RpcError as error:
                code, message = error.code(), error.details()
            assert code in ALLOWED_GRPC, f"{method} {data[:60]!r}: {code} {message}"
        else:
            cases = http_cases(rng)
            server, verb, path, body, headers = cases[(number // 2) % len(cases)]
            connection = http.client.HTTPConnection("127.0.0.1", ports[server], timeout=30)
            connection.request(verb, path, body=body, headers=headers)
            response = connection.getresponse()
            code, message = response.status, json.loads(response.read())["error"]
            connection.close()
            assert code in ALLOWED_HTTP, f"{verb} {path} {(body or b'')[:60]!r}: {code} {message}"
        assert message, f"request {number} got {code} without a message"
        seen[code] = seen.get(code, 0) + 1
    print("status codes of 1,000 hostile requests:", {str(code): count for code, count in seen.items()})
    assert len(seen) >= 6
    from serving.protos import recommendation_pb2_grpc
    client = recommendation_pb2_grpc.RecommendationServiceStub(grpc.insecure_channel(service.grpc_address))
    assert len(client.Recommend(pb.RecommendRequest(user_id="user_000001", k=5), timeout=30).items) == 5
