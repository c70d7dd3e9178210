"""A small threaded JSON-over-HTTP server for the REST APIs (model server and recommendation service).

Written on the standard library's ``ThreadingHTTPServer`` (no web framework in the pinned set
fits a blocking TensorFlow call better): routes are (method, path pattern, handler); bodies
are bounded; bad JSON, bad UTF-8, unknown paths and ``ServingError``s become JSON errors
``{"error": "..."}`` with an HTTP status, and the server keeps serving.

Example::

    api = [("GET", r"/v1/ping", lambda request: {"ok": True})]
    server = start_json_server("127.0.0.1", 8080, api, "ping")
"""
from __future__ import annotations

import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List, Optional, Tuple
from urllib.parse import parse_qs

import grpc

from serving.errors import ServingError, invalid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024


class JsonRequest:
    """What a route handler gets: the path match, the parsed body, the headers and the query."""

    def __init__(self, match: re.Match, body, headers, query: Optional[dict] = None):
        self.match, self.body, self.headers, self.query = match, body, headers, query or {}

    def field(self, name: str, default=None):
        if not isinstance(self.body, dict):
            raise invalid("the request body must be a JSON object")
        return self.body.get(name, default)


Route = Tuple[str, str, Callable[[JsonRequest], object]]


def _handler_class(routes: List[Route], max_body_bytes: int, name: str):
    compiled = [(method, re.compile(f"^{pattern}$"), handle) for method, pattern, handle in routes]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"recgen-{name}"

        def do_GET(self):  # noqa: N802 (http.server's names)
            self._dispatch("GET")

        def do_POST(self):  # noqa: N802
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            try:
                status, payload = 200, self._answer(method)
            except ServingError as error:
                status, payload = error.http_status, {"error": error.message}
            except Exception as error:  # noqa: BLE001 -- the server stays up; the caller learns why
                logger.exception(f"{name} REST: unexpected error")
                status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
            self._send(status, payload)

        def _answer(self, method: str):
            path, _, query = self.path.partition("?")
            for route_method, pattern, handle in compiled:
                match = pattern.match(path)
                if match and route_method == method:
                    return handle(JsonRequest(match, self._body() if method == "POST" else None, self.headers,
                                              parse_qs(query)))
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"no {method} route for {path}")

        def _body(self):
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                raise invalid("a Content-Length header is required") from None
            if length > max_body_bytes:
                self.close_connection = True  # the body is not read
                raise ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   f"body of {length:,} bytes is over the limit of {max_body_bytes:,}", 413)
            data = self.rfile.read(length)
            try:
                return json.loads(data.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise invalid(f"the body is not UTF-8: {error}") from None
            except ValueError as error:
                raise invalid(f"the body is not JSON: {error}") from None

        def _send(self, status: int, payload) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 -- quiet: one line per request is too much
            pass

    return Handler


class JsonServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class SharedPortJsonServer(JsonServer):
    """Binds with SO_REUSEPORT: several processes serve one port (Python 3.10's socketserver
    has no ``allow_reuse_port`` yet)."""

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def start_json_server(host: str, port: int, routes: List[Route], name: str,
                      max_body_bytes: int = MAX_BODY_BYTES, reuse_port: bool = False) -> JsonServer:
    """Serves ``routes`` on ``host:port`` (port 0: any free one) in a background thread;
    ``reuse_port``: shared with other processes that bind it the same way."""
    server_class = SharedPortJsonServer if reuse_port else JsonServer
    server = server_class((host, port), _handler_class(routes, max_body_bytes, name))
    threading.Thread(target=server.serve_forever, name=f"{name}-rest", daemon=True).start()
    return server


def bearer_token(headers) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    value = headers.get("Authorization", "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else None
