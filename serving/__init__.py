"""Serving: RecGen's TF-Serving-compatible model server and the recommendation service.

Model server (TF Serving's API over the Pusher's model base):
    model_base.py (layout, names) -> servable.py (one loaded version) -> model_manager.py
    (highest version, polling, swap) -> batching.py -> prediction_service.py (gRPC) and
    model_rest.py (REST) -> model_server.py (both, started together).
Recommendation service:
    event_store.py (+ sqlite_event_store.py, redis_event_store.py) and history_import.py;
    query_examples.py, model_client.py (calls the model server: over gRPC or in-process), mmr.py,
    limits.py ->
    recommender.py (the logic) -> recommendation_service.py (gRPC + REST; protos/).
Shared: errors.py, grpc_handlers.py, http_json.py, server_pair.py, tensors.py, signatures.py,
op_check.py.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
