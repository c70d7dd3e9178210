"""The recommendation service over gRPC (``serving/protos/recommendation.proto``, port 8600) and REST (8601).

REST routes take and return the proto messages as JSON (``json_format``, field names as in
the .proto; unknown fields are refused):

* ``POST /v1/recommend`` - a ``RecommendRequest`` -> ``RecommendResponse``;
* ``POST /v1/events`` - an ``Event`` -> ``RecordEventResponse`` (needs ``Authorization: Bearer``
  when the service has a token);
* ``GET  /v1/users/{user_id}/history[?limit=N]`` -> ``GetHistoryResponse``.

Example:
    $ curl -d '{"user_id": "u1", "k": 5, "explain": true}' http://127.0.0.1:8601/v1/recommend
"""
from __future__ import annotations

import dataclasses
from typing import Optional
from urllib.parse import unquote

from google.protobuf import json_format

from serving.errors import invalid
from serving.grpc_handlers import add_service
from serving.http_json import JsonRequest, bearer_token
from serving.protos import recommendation_pb2 as pb
from serving.recommender import Recommender
from serving.server_pair import ServerPair

SERVICE = pb.DESCRIPTOR.services_by_name["RecommendationService"]
MAX_REQUEST_BYTES = 1024 * 1024


def _metadata_token(context) -> Optional[str]:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer "):]
    return None


class RecommendationServicer:
    """``recgen.serving.RecommendationService``."""

    def __init__(self, recommender: Recommender):
        self.recommender = recommender

    def Recommend(self, request, context):  # noqa: N802 (gRPC method names)
        deadline = self.recommender.deadline(context.time_remaining(), request.explain)
        return self.recommender.recommend(request, deadline)

    def RecordEvent(self, request, context):  # noqa: N802
        self.recommender.authorize_write(_metadata_token(context))
        return self.recommender.record_event(request)

    def GetHistory(self, request, context):  # noqa: N802
        return self.recommender.history(request)


def _parsed(body, message_class):
    if not isinstance(body, dict):
        raise invalid(f"the body must be a JSON object ({message_class.DESCRIPTOR.name})")
    try:
        return json_format.ParseDict(body, message_class())
    except json_format.ParseError as error:
        raise invalid(f"{message_class.DESCRIPTOR.name}: {error}") from None


def _as_json(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)


def recommendation_routes(recommender: Recommender) -> list:
    def recommend(request: JsonRequest):
        message = _parsed(request.body, pb.RecommendRequest)
        return _as_json(recommender.recommend(message, recommender.deadline(None, message.explain)))

    def record_event(request: JsonRequest):
        recommender.authorize_write(bearer_token(request.headers))
        return _as_json(recommender.record_event(pb.RecordEventRequest(event=_parsed(request.body, pb.Event))))

    def history(request: JsonRequest):
        limit = request.query.get("limit", ["0"])[0]
        if not limit.isdigit():
            raise invalid(f"limit must be a whole number, got {limit!r}")
        return _as_json(recommender.history(pb.GetHistoryRequest(
            user_id=unquote(request.match["user_id"]), limit=int(limit))))

    return [("POST", r"/v1/recommend", recommend), ("POST", r"/v1/events", record_event),
            ("GET", r"/v1/users/(?P<user_id>[^/]+)/history", history)]


@dataclasses.dataclass(frozen=True)
class ServiceAddress:
    host: str = "127.0.0.1"  # loopback unless told otherwise
    grpc_port: int = 8600  # 0: any free port
    rest_port: int = 8601
    threads: int = 64
    reuse_port: bool = False  # several processes on these ports (recgen serve --workers)


class RecommendationServer(ServerPair):
    """gRPC and REST front ends of one ``Recommender``."""

    def __init__(self, recommender: Recommender, address: ServiceAddress = ServiceAddress()):
        super().__init__("recommendations", address.host, address.grpc_port, address.rest_port, address.threads,
                         MAX_REQUEST_BYTES, address.reuse_port)
        self.recommender = recommender
        add_service(self.grpc, SERVICE, RecommendationServicer(recommender))

    def start(self) -> "RecommendationServer":
        self.listen(recommendation_routes(self.recommender))
        return self
