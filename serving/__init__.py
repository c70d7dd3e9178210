"""Serving: RecGen's TF-Serving-compatible model server and the recommendation service.

Serving depends on ``recgen.contracts`` alone (never on ``trainer``, ``components`` or
``pipelines``; ``.importlinter`` checks it), so a serving process loads no training code.

Model server (TF Serving's API over the Pusher's model base, ``recgen.contracts.model_base``):
    servable.py (one loaded version) -> model_manager.py (highest version, polling, swap) ->
    batching.py -> prediction_service.py (gRPC) and model_rest.py (REST) -> model_server.py.
Recommendation service:
    event_store.py (+ sqlite_event_store.py, redis_event_store.py) and history_import.py;
    model_client.py (calls the model server: over gRPC or in-process), mmr.py, limits.py ->
    recommender.py (the logic) -> recommendation_service.py (gRPC + REST; protos/).
server_stack.py: the one place all of them are started together (``recgen serve``, the tests).
Shared: errors.py, grpc_handlers.py, http_json.py, server_pair.py, tensors.py.
Deployment: kubernetes/ (manifests for stock TF Serving, the service and Redis).
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
