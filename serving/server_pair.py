"""A gRPC server and a REST server that start and stop together (both servers of RecGen use one).

Example::

    pair = ServerPair("model-server", "127.0.0.1", 8500, 8501, threads=32, max_message_bytes=16 << 20)
    add_service(pair.grpc, PREDICTION_SERVICE, PredictionServicer(manager))
    pair.listen(model_routes(manager))
"""
from __future__ import annotations

from concurrent import futures

import grpc

from serving.http_json import start_json_server


class ServerPair:
    """Register gRPC services on ``grpc``, then ``listen`` with the REST routes.

    ``reuse_port`` binds both ports with SO_REUSEPORT, so that several processes can serve the
    same ports (``recgen serve --workers N``); without it, a port in use is an error."""

    def __init__(self, name: str, host: str, grpc_port: int, rest_port: int, threads: int, max_message_bytes: int,
                 reuse_port: bool = False):
        self.name, self.host, self.reuse_port = name, host, reuse_port
        self._ports, self._max_message_bytes = (grpc_port, rest_port), max_message_bytes
        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", int(reuse_port))])
        self.grpc_port = self.rest_port = None
        self.rest = None

    def listen(self, routes: list) -> None:
        """Binds both ports (0: any free one) and starts serving."""
        try:
            self.grpc_port = self.grpc.add_insecure_port(f"{self.host}:{self._ports[0]}")
        except RuntimeError as error:  # grpc says only "Failed to bind"
            raise OSError(f"{self.name}: cannot listen on {self.host}:{self._ports[0]} (in use?): {error}") from None
        self.grpc.start()
        try:
            self.rest = start_json_server(self.host, self._ports[1], routes, self.name, self._max_message_bytes,
                                          self.reuse_port)
        except OSError as error:
            self.grpc.stop(grace=None)
            raise OSError(f"{self.name}: cannot listen on {self.host}:{self._ports[1]}: {error.strerror}") from None
        self.rest_port = self.rest.server_address[1]

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    def stop(self) -> None:
        self.grpc.stop(grace=1)
        if self.rest:
            self.rest.shutdown()
