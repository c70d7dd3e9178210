"""Running servers for the serving tests: RecGen's model server over a copy of a run's model
base, and the recommendation service in front of it with a fresh SQLite store.

A test module uses them by importing their names: ``from tests.serving_fixtures import
server_stack, model_server, service``; ``catalog_details`` is the run's catalog, to check what
the served items carry.
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
def catalog_details(synthetic_run) -> dict:
    """``{item id: (title, [categories])}`` of the synthetic run's item catalog."""
    from components.artifacts import ItemCatalog
    from recgen.contracts.run_root import latest_artifact_uri
    from trainer.catalog import read_catalog
    config, _, _ = synthetic_run
    catalog = read_catalog(latest_artifact_uri(config, ItemCatalog.TYPE_NAME))
    return {item.decode(): (title.decode(), [c.decode() for c in categories if c])
            for item, title, categories in zip(catalog.item_ids, catalog.titles, catalog.categories)}


@pytest.fixture(scope="module")
def server_stack(synthetic_run, tmp_path_factory):
    """RecGen's servers on loopback (any free ports; ``serving/server_stack.py``) over a copy of the
    synthetic run's models and a fresh SQLite store. The service calls the model server over gRPC,
    as it calls stock TF Serving."""
    from serving.batching import BatchingOptions
    from serving.recommender import RecommenderOptions
    from serving.server_stack import StackOptions, start_stack
    config, _, _ = synthetic_run
    stack = start_stack(StackOptions(
        store=str(tmp_path_factory.mktemp("store") / "events.db"),
        model_base=copy_model_base(config, tmp_path_factory.mktemp("model-base")),
        model_ports=(0, 0), service_ports=(0, 0), batching=BatchingOptions(batch_timeout_s=0.005),
        recommender=RecommenderOptions(token="secret-token", default_diversity=0.0), models_over_grpc=True))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def model_server(server_stack):
    """RecGen's model server of ``server_stack``."""
    return server_stack.model_server


@pytest.fixture(scope="module")
def service(synthetic_run, server_stack):
    """The recommendation service of ``server_stack``, its store seeded with the run's histories."""
    from serving.history_import import import_training_histories
    config, _, _ = synthetic_run
    import_training_histories(server_stack.store, config.root)
    return server_stack.service
