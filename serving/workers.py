"""``recgen serve --workers N``: N serving processes behind the same ports.

One Python process serves about one core's worth of requests: its global interpreter lock is
the limit, not TensorFlow. With ``--workers N`` the parent reserves the ports, then starts N
worker processes that each run all of ``recgen serve``'s servers bound with SO_REUSEPORT; the
kernel spreads incoming *connections* over them (a client's channel stays with one worker, so
a client that wants several workers opens several channels). The workers share the event
store: SQLite in WAL mode works across processes on one machine, Redis across machines.

The parent reports ready once every worker is. It stops the workers on SIGTERM or SIGINT.
When one worker dies, it stops the others and returns 1, so that whatever supervises
``recgen serve`` (systemd, Kubernetes) restarts the set; a worker whose parent dies stops.

Example::

    held = reserve_ports("127.0.0.1", [8600, 0])
    [sock.getsockname()[1] for sock in held]
    # -> [8600, 43127]
    run_workers(2, start_worker_servers, args, on_ready=lambda: print("ready"))
"""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import threading
from typing import Callable, List, Sequence

logger = logging.getLogger(__name__)

READY, FAILED = "ready", "failed"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WorkerError(RuntimeError):
    """A worker failed to start; the message is its own error."""


def reserve_ports(host: str, ports: Sequence[int]) -> List[socket.socket]:
    """SO_REUSEPORT sockets bound (not listening) on ``ports``; port 0 picks a free one.

    They hold the port numbers the workers bind for as long as the parent keeps them open. A
    socket that does not listen takes no connections, so the workers get them all. OSError
    names a port that another program holds.
    """
    held = []
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            for other in held:
                other.close()
            raise OSError(f"cannot reserve {host}:{port} for the workers: {error.strerror}") from None
        held.append(sock)
    return held


def stop_on_signals(stopped: threading.Event) -> None:
    """SIGINT and SIGTERM set ``stopped``."""
    for signal_number in STOP_SIGNALS:
        signal.signal(signal_number, lambda *_: stopped.set())


def _worker_main(start: Callable, args, connection) -> None:
    """A worker process: starts its servers, says so to the parent, serves until told to stop
    (a signal) or until the parent is gone (its end of the pipe closes)."""
    stopped = threading.Event()
    stop_on_signals(stopped)
    try:
        servers = start(args)
    except Exception as error:  # noqa: BLE001 -- reported to the parent, which stops the set
        connection.send((FAILED, f"{type(error).__name__}: {error}"))
        raise SystemExit(1) from None
    connection.send((READY, ""))

    def watch_parent():
        try:
            connection.recv()  # the parent sends nothing: this returns when its end closes
        except EOFError:
            pass
        stopped.set()
    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    stopped.wait()
    servers.stop()


def _stop_all(processes: List[multiprocessing.Process], grace_s: float = 10.0) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(grace_s)
        if process.is_alive():
            process.kill()
            process.join()


def _wait_until_ready(processes, pipes, stopped: threading.Event) -> None:
    """Returns when every worker said ready; WorkerError when one failed or exited first."""
    waiting = dict(zip(pipes, processes))
    while waiting and not stopped.is_set():
        for pipe in multiprocessing.connection.wait(list(waiting), timeout=0.5):
            try:
                state, message = pipe.recv()
            except EOFError:
                state, message = FAILED, f"exited with code {waiting[pipe].exitcode} before it was ready"
            if state == FAILED:
                raise WorkerError(f"{waiting[pipe].name}: {message}")
            del waiting[pipe]


def run_workers(count: int, start: Callable, args, on_ready: Callable[[], None]) -> int:
    """Runs ``start(args)`` (which starts servers and returns an object with ``stop()``) in
    ``count`` fresh processes, calls ``on_ready`` once all have started, and serves until a
    signal (returns 0) or until a worker dies (stops the others, returns 1). WorkerError when
    one fails to start. ``start`` must be importable by name: workers are spawned, not forked
    (TensorFlow does not survive a fork)."""
    context = multiprocessing.get_context("spawn")
    stopped = threading.Event()
    stop_on_signals(stopped)
    processes, pipes = [], []
    try:
        for number in range(count):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_worker_main, args=(start, args, child_end),
                                      name=f"worker {number + 1}/{count}")
            process.start()
            child_end.close()
            processes.append(process)
            pipes.append(parent_end)
        _wait_until_ready(processes, pipes, stopped)
        if stopped.is_set():
            return 0
        on_ready()
        while not stopped.is_set():
            ended = multiprocessing.connection.wait([process.sentinel for process in processes], timeout=0.5)
            if ended:
                dead = [process for process in processes if process.sentinel in ended]
                for process in dead:
                    process.join()  # its sentinel is ready: it has exited, the exit code follows
                logger.error(f"recgen serve: {', '.join(f'{p.name} exited with code {p.exitcode}' for p in dead)}; "
                             "stopping the other workers")
                return 1
        return 0
    finally:
        _stop_all(processes)
