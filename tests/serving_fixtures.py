"""Running servers for the serving tests: RecGen's model server over a copy of a run's model
base, and the recommendation service in front of it with a fresh SQLite store.

A test module uses them by importing their names: ``from tests.serving_fixtures import
model_server, service``.
"""
from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request

import pytest


def call_rest(port: int, path: str, body=None, method=None, token=None):
    """``(HTTP status, parsed JSON)`` of one REST call on loopback."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def copy_model_base(config, destination) -> str:
    """A private copy of a run's model base (tests that push must not touch the shared run), its
    ``models.config`` rewritten for the new place."""
    from components.model_base_pusher import write_models_config
    target = os.path.join(str(destination), "serving")
    shutil.copytree(config.model_base, target)
    write_models_config(target)
    return target


@pytest.fixture(scope="module")
def model_server(synthetic_run, tmp_path_factory):
    """RecGen's model server on loopback (any free ports) over a copy of the synthetic run's models."""
    from serving.batching import BatchingOptions
    from serving.model_server import ModelServer, ModelServerOptions
    config, _, _ = synthetic_run
    base = copy_model_base(config, tmp_path_factory.mktemp("model-base"))
    server = ModelServer(ModelServerOptions(base_dir=base, grpc_port=0, rest_port=0,
                                            batching=BatchingOptions(batch_timeout_s=0.005))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(synthetic_run, model_server, tmp_path_factory):
    """The recommendation service over ``model_server``, its store seeded with the run's histories."""
    from serving.event_store import open_event_store
    from serving.history_import import import_training_histories
    from serving.model_client import GrpcModelClient
    from serving.recommendation_service import RecommendationServer, ServiceAddress
    from serving.recommender import Recommender, RecommenderOptions
    config, _, _ = synthetic_run
    store = open_event_store(str(tmp_path_factory.mktemp("store") / "events.db"))
    import_training_histories(store, config.root)
    recommender = Recommender(store, GrpcModelClient(model_server.grpc_address),
                              RecommenderOptions(token="secret-token", default_diversity=0.0))
    server = RecommendationServer(recommender, ServiceAddress(grpc_port=0, rest_port=0)).start()
    yield server
    server.stop()
    store.close()
