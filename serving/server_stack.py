"""The one place RecGen's servers are wired together: the model server, the event store, the
model client, the ``Recommender`` and the recommendation service, from one ``StackOptions``.

``recgen serve`` (each of its ``--workers`` too) and the tests' server fixtures start their
servers here; the serving benchmark starts ``recgen serve``.

Example::

    stack = start_stack(StackOptions(store="build/run/serving-state/events.db", model_base="build/run/serving"))
    stack.service.grpc_address, stack.model_server.grpc_address
    # -> ('127.0.0.1:8600', '127.0.0.1:8500')
    stack.stop()
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from serving.batching import BatchingOptions
from serving.event_store import EventStore, open_event_store
from serving.model_client import GrpcModelClient, InProcessModelClient
from serving.model_server import ModelServer, ModelServerOptions
from serving.recommendation_service import RecommendationServer, ServiceAddress
from serving.recommender import Recommender, RecommenderOptions


@dataclasses.dataclass(frozen=True)
class StackOptions:
    """What to start. Exactly one of ``model_base`` (RecGen's model server over that model base,
    in this process) and ``model_server`` (a TF Serving gRPC endpoint, e.g. stock TF Serving)."""
    store: str  # an event store URL or path (serving/event_store.py)
    model_base: Optional[str] = None
    model_server: Optional[str] = None  # HOST:PORT
    host: str = "127.0.0.1"  # loopback unless told otherwise
    model_ports: Tuple[int, int] = (8500, 8501)  # gRPC, REST; 0: any free port
    service_ports: Tuple[int, int] = (8600, 8601)
    batching: Optional[BatchingOptions] = BatchingOptions()  # None: every model request runs alone
    recommender: RecommenderOptions = RecommenderOptions()
    # The service calls its own model server over gRPC, as it calls stock TF Serving, instead of
    # straight into its ModelManager.
    models_over_grpc: bool = False
    reuse_port: bool = False  # several processes on these ports (recgen serve --workers)


@dataclasses.dataclass
class ServerStack:
    """The started servers; ``model_server`` is None when the service uses another one."""
    model_server: Optional[ModelServer]
    store: EventStore
    service: RecommendationServer

    def stop(self) -> None:
        self.service.stop()
        if self.model_server:
            self.model_server.stop()
        self.store.close()


def start_stack(options: StackOptions) -> ServerStack:
    """Starts the servers ``options`` ask for and returns them; stops what it started when one
    fails (ValueError for a bad store URL or models.config, OSError for a port in use)."""
    if (options.model_base is None) == (options.model_server is None):
        raise ValueError("give exactly one of model_base and model_server")
    model_server = store = None
    try:
        if options.model_base is not None:
            model_server = ModelServer(ModelServerOptions(
                base_dir=options.model_base, host=options.host, grpc_port=options.model_ports[0],
                rest_port=options.model_ports[1], batching=options.batching, reuse_port=options.reuse_port))
            model_server.start()
        store = open_event_store(options.store)
        if model_server is None or options.models_over_grpc:
            models = GrpcModelClient(options.model_server or model_server.grpc_address)
        else:
            models = InProcessModelClient(model_server.manager)
        service = RecommendationServer(Recommender(store, models, options.recommender), ServiceAddress(
            host=options.host, grpc_port=options.service_ports[0], rest_port=options.service_ports[1],
            reuse_port=options.reuse_port)).start()
    except BaseException:
        if store is not None:
            store.close()
        if model_server is not None:
            model_server.stop()
        raise
    return ServerStack(model_server, store, service)
