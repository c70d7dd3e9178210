"""Registering servicers so that every bad request gets a clear status code.

grpcio answers a request it cannot parse (truncated bytes, a ``string`` field holding invalid
UTF-8) with INTERNAL "Exception deserializing request!". ``add_service`` registers a servicer
from its service descriptor with a deserializer that never raises: the method then answers
INVALID_ARGUMENT naming the message and the parse error. ``ServingError`` raised by a method
becomes its status code; anything else becomes INTERNAL with the exception's message, logged.

Example::

    add_service(server, prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"],
                PredictionServicer(manager))
"""
from __future__ import annotations

import functools
import logging

import grpc
from google.protobuf import symbol_database

from serving.errors import ServingError

logger = logging.getLogger(__name__)


class Undecodable:
    """Stands in for a request message that did not parse."""

    def __init__(self, message_name: str, error: Exception):
        self.reason = f"request is not a valid {message_name}: {error}"


def _lenient_parser(message_class):
    def parse(data: bytes):
        try:
            return message_class.FromString(data)
        except Exception as error:  # noqa: BLE001 -- protobuf raises DecodeError, UnicodeDecodeError, ...
            return Undecodable(message_class.DESCRIPTOR.full_name, error)
    return parse


def _answering_errors(method):
    @functools.wraps(method)
    def call(request, context):
        if isinstance(request, Undecodable):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        try:
            return method(request, context)
        except ServingError as error:
            context.abort(error.code, error.message)
        except Exception as error:  # noqa: BLE001 -- the server stays up; the caller learns why
            logger.exception(f"{method.__qualname__}: unexpected error")
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
    return call


def add_service(server: grpc.Server, service, servicer) -> None:
    """Registers ``servicer``'s methods for the service ``service`` (a ServiceDescriptor)."""
    database = symbol_database.Default()
    handlers = {}
    for method in service.methods:
        request_class = database.GetSymbol(method.input_type.full_name)
        response_class = database.GetSymbol(method.output_type.full_name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _answering_errors(getattr(servicer, method.name)),
            request_deserializer=_lenient_parser(request_class),
            response_serializer=response_class.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
