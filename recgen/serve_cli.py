"""``recgen serve``, ``recgen recommend`` and ``recgen event``: the serving commands.

    recgen serve --root DIR [--host H] [--store URL] [--token T] [--model-server HOST:PORT] [--workers N]
    recgen recommend --user U [--k 10] [--explain] [--diversity D] [--event ITEM ...] [--json]
    recgen event add --user U --item I [--type view] [--timestamp T] [--text S] [--event-id ID]
    recgen event history --user U [--limit N]

``serve`` starts the TF-Serving-compatible model server on ``DIR/serving`` (unless
``--model-server`` names one already running, e.g. stock TF Serving) and the recommendation
service in front of it, seeded with the histories of the latest run under ``DIR``;
``--workers N`` runs N such processes on the same ports (``serving/workers.py``); each starts its
servers with ``serving/server_stack.py``, from ``stack_options(args)``. The other
commands are thin gRPC clients of the service. A token (``--token`` or ``RECGEN_TOKEN``) makes
the service refuse writes without it, and makes the clients send it.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid

from recgen.contracts.errors import DataError

DEFAULT_SERVICE = "127.0.0.1:8600"
TOKEN_VARIABLE = "RECGEN_TOKEN"
# TF 2.16's oneDNN kernels corrupt the heap when one model runs concurrently at different batch
# sizes (abort "corrupted double-linked list" in MklFusedBatchNormOp, found by the push-under-load
# test). Stock TF Serving's builds do not use oneDNN either; the variable must be set before
# TensorFlow is imported.
ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
# With several workers, each runs TensorFlow on one thread unless these say otherwise: the
# serving graphs are small, and TensorFlow's own thread pools cost more CPU than they save when
# the workers already keep every core busy (measured: retrieval at batch 1, 1.7 ms of CPU
# single-threaded against 3.3-4.6 ms with the default pools on 2 cores).
TF_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
logger = logging.getLogger(__name__)


def stack_options(args):
    """The ``StackOptions`` (serving/server_stack.py) of ``recgen serve``'s arguments; with
    ``--workers``, one worker's share (the workers then share the ports). DataError names a bad
    batching parameters file."""
    from serving.batching import BatchingOptions
    from serving.event_store import default_store_path
    from serving.recommender import RecommenderOptions
    from serving.server_stack import StackOptions
    batching = None
    if not (args.no_batching or args.model_server):
        try:
            batching = BatchingOptions.from_file(args.batching_parameters) if args.batching_parameters \
                else BatchingOptions()
        except ValueError as error:
            raise DataError(str(error)) from None
    return StackOptions(
        store=args.store or default_store_path(args.root), model_server=args.model_server,
        model_base=None if args.model_server else os.path.join(args.root, "serving"), host=args.host,
        model_ports=(args.grpc_port, args.rest_port), service_ports=(args.service_grpc_port, args.service_rest_port),
        batching=batching,
        recommender=RecommenderOptions(token=args.token or os.environ.get(TOKEN_VARIABLE) or None),
        reuse_port=args.workers > 1)


def _import_histories(args) -> None:
    from serving.event_store import default_store_path, open_event_store
    from serving.history_import import import_training_histories
    with contextlib.closing(open_event_store(args.store or default_store_path(args.root))) as store:
        imported = import_training_histories(store, args.root) if args.root else 0
    logger.info(f"event store: {args.store or 'SQLite under ' + args.root}; {imported:,} training events imported")


def _say_ready(host: str, model_ports, service_ports, note: str = "") -> None:
    """The lines saying where the servers listen; the last ends with READY (start_serve_process
    waits for it). ``model_ports``: None when the service uses another model server."""
    if model_ports:
        logger.info(f"model server: gRPC {host}:{model_ports[0]}, REST {host}:{model_ports[1]}")
    logger.info(f"recommendation service: gRPC {host}:{service_ports[0]}, "
                f"REST {host}:{service_ports[1]}{note} {READY}")


def _serve_in_workers(args) -> int:
    """``--workers N``: reserves the ports (port 0 becomes a free one), then runs N processes."""
    from serving.server_stack import start_stack
    from serving.workers import WorkerError, reserve_ports, run_workers
    names = ["service_grpc_port", "service_rest_port"] + ["grpc_port", "rest_port"] * (args.model_server is None)
    try:
        held = reserve_ports(args.host, [getattr(args, name) for name in names])
    except OSError as error:
        raise DataError(str(error)) from None
    for name, sock in zip(names, held):
        setattr(args, name, sock.getsockname()[1])
    for variable in TF_THREAD_VARIABLES:  # read by TensorFlow when a worker imports it
        os.environ.setdefault(variable, "1")

    def ready():
        _say_ready(args.host, (args.grpc_port, args.rest_port) if args.model_server is None else None,
                   (args.service_grpc_port, args.service_rest_port), f", {args.workers} workers")
    try:
        return run_workers(args.workers, start_stack, stack_options(args), ready)
    except WorkerError as error:
        raise DataError(f"recgen serve: {error}") from None
    finally:
        for sock in held:
            sock.close()


def _serve(args) -> int:
    os.environ[ONEDNN_VARIABLE] = "0"
    from serving.server_stack import start_stack
    from serving.workers import stop_on_signals
    if args.root is None and (args.model_server is None or args.store is None):
        raise DataError("serve needs --root, or both --model-server and --store")
    if args.workers < 1:
        raise DataError(f"--workers must be at least 1, got {args.workers}")
    _import_histories(args)
    if args.workers > 1:
        return _serve_in_workers(args)
    try:
        stack = start_stack(stack_options(args))
    except (OSError, ValueError) as error:  # a port in use, a bad models.config
        raise DataError(str(error)) from None
    model_server = stack.model_server
    _say_ready(args.host, (model_server.grpc_port, model_server.rest_port) if model_server else None,
               (stack.service.grpc_port, stack.service.rest_port))
    stopped = threading.Event()
    stop_on_signals(stopped)
    stopped.wait()
    stack.stop()
    return 0


READY = "(ready)"
_READY_LINE = re.compile(r"recommendation service: gRPC (\S+),.*" + re.escape(READY))


def start_serve_process(root: str, store: str, log_path: str, timeout_s: float = 180.0, serve_args=()):
    """``recgen serve [serve_args]`` in a child process on free ports (benchmarks, reliability
    tests); returns ``(process, service address)`` once it says it is ready. RuntimeError with the
    log's tail if it exits or is not ready in ``timeout_s``."""
    log = open(log_path, "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "recgen.cli", "serve", "--root", root, "--store", store, "--grpc-port", "0",
         "--rest-port", "0", "--service-grpc-port", "0", "--service-rest-port", "0", *serve_args],
        stdout=log, stderr=subprocess.STDOUT)
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up and process.poll() is None:
        log.seek(0)
        ready = _READY_LINE.search(log.read())
        if ready:
            return process, ready.group(1)
        time.sleep(0.5)
    process.kill()
    log.seek(0)
    raise RuntimeError(f"recgen serve did not become ready in {timeout_s:.0f} s:\n{log.read()[-3000:]}")


def _stub(args):
    import grpc
    from serving.protos import recommendation_pb2_grpc
    return recommendation_pb2_grpc.RecommendationServiceStub(grpc.insecure_channel(args.address))


def _call(args, method: str, request, metadata=()):
    """The service's answer, retried while it is still starting (``--wait`` seconds)."""
    import grpc
    give_up = time.monotonic() + args.wait
    while True:
        try:
            return getattr(_stub(args), method)(request, timeout=args.timeout, metadata=metadata)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE and time.monotonic() < give_up:
                time.sleep(1.0)
                continue
            raise DataError(f"{method} at {args.address}: {error.code().name}: {error.details()}") from None


def _print(message, as_json: bool) -> None:
    from google.protobuf import json_format
    print(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True,
                                               including_default_value_fields=True)) if as_json else message)


def _recommend(args) -> int:
    from serving.protos import recommendation_pb2 as pb
    request = pb.RecommendRequest(user_id=args.user, k=args.k, explain=args.explain,
                                  recent_events=[pb.Event(item_id=item, type="view") for item in args.event])
    if args.diversity is not None:
        request.diversity = args.diversity
    response = _call(args, "Recommend", request)
    if args.json:
        _print(response, True)
        return 0
    print(f"recommendations for user {response.user_id} ({response.source}, "
          f"retrieval v{response.retrieval_model_version}, {response.history_length} history events):")
    for rank, item in enumerate(response.items, 1):
        print(f"  {rank}. {item.item_id}  {item.title + '  ' if item.title else ''}(score {item.score:.3f})")
        if item.explanation:
            print(f"     \"{item.explanation}\"")
    return 0


def _token_metadata(args):
    token = args.token or os.environ.get(TOKEN_VARIABLE)
    return (("authorization", f"Bearer {token}"),) if token else ()


def _event_add(args) -> int:
    from serving.protos import recommendation_pb2 as pb
    event = pb.Event(event_id=args.event_id or str(uuid.uuid4()), user_id=args.user, item_id=args.item,
                     timestamp=args.timestamp, type=args.type, text=args.text)
    response = _call(args, "RecordEvent", pb.RecordEventRequest(event=event), _token_metadata(args))
    print(f"event {event.event_id}: {'stored' if response.created else 'already stored'} "
          f"(log sequence {response.sequence})")
    return 0


def _event_history(args) -> int:
    from serving.protos import recommendation_pb2 as pb
    response = _call(args, "GetHistory", pb.GetHistoryRequest(user_id=args.user, limit=args.limit))
    if args.json:
        _print(response, True)
        return 0
    for event in response.events:
        print(f"{event.timestamp}  {event.type:<14} {event.item_id}" + (f"  \"{event.text}\"" if event.text else ""))
    return 0


def _client_options(parser) -> None:
    parser.add_argument("--address", default=DEFAULT_SERVICE, help=f"recommendation service (default {DEFAULT_SERVICE})")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the call")
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to keep retrying while the service starts")
    parser.add_argument("--json", action="store_true", help="print the response as JSON")


def add_serving_commands(commands) -> None:
    """Adds ``serve``, ``recommend`` and ``event`` to the ``recgen`` parser's subcommands."""
    serve = commands.add_parser("serve", help="serve the latest pushed models and the recommendation service")
    serve.add_argument("--root", help="pipeline root: models in ROOT/serving, histories from its latest run "
                                      "(optional with --model-server and --store)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    serve.add_argument("--grpc-port", type=int, default=8500)
    serve.add_argument("--rest-port", type=int, default=8501)
    serve.add_argument("--service-grpc-port", type=int, default=8600)
    serve.add_argument("--service-rest-port", type=int, default=8601)
    serve.add_argument("--store", help="sqlite:///path/events.db or redis://host:port/db "
                                       "(default SQLite in ROOT/serving-state)")
    serve.add_argument("--token", help=f"bearer token writes must carry (default ${TOKEN_VARIABLE})")
    serve.add_argument("--model-server", metavar="HOST:PORT",
                       help="use this TF Serving gRPC endpoint instead of starting RecGen's model server")
    serve.add_argument("--batching-parameters", metavar="FILE", help="TF Serving batching parameters file")
    serve.add_argument("--no-batching", action="store_true", help="run every model request on its own")
    serve.add_argument("--workers", type=int, default=1,
                       help="serving processes sharing the ports (default 1; one per core uses every core)")
    serve.set_defaults(handler=_serve)

    recommend = commands.add_parser("recommend", help="ask the running service for recommendations")
    recommend.add_argument("--user", required=True)
    recommend.add_argument("--k", type=int, default=10)
    recommend.add_argument("--explain", action="store_true", help="explain the first items")
    recommend.add_argument("--diversity", type=float, help="MMR weight 0..1 (default: the service's)")
    recommend.add_argument("--event", action="append", default=[], metavar="ITEM",
                           help="a request-time view of ITEM (repeatable; not stored)")
    _client_options(recommend)
    recommend.set_defaults(handler=_recommend)

    event = commands.add_parser("event", help="record or list a user's events").add_subparsers(
        dest="event_command", required=True)
    add = event.add_parser("add", help="record one event (idempotent by --event-id)")
    add.add_argument("--user", required=True)
    add.add_argument("--item", required=True)
    add.add_argument("--type", default="view")
    add.add_argument("--timestamp", type=int, default=0, help="Unix seconds (default now)")
    add.add_argument("--text", default="")
    add.add_argument("--event-id", help="client event id (default a new UUID)")
    add.add_argument("--token", help=f"bearer token (default ${TOKEN_VARIABLE})")
    _client_options(add)
    add.set_defaults(handler=_event_add)
    history = event.add_parser("history", help="a user's stored events, oldest first")
    history.add_argument("--user", required=True)
    history.add_argument("--limit", type=int, default=0)
    _client_options(history)
    history.set_defaults(handler=_event_history)
