"""Server-side batching: concurrent requests to one signature run as one call, after a bounded wait.

Like TF Serving's ``--enable_batching``: a batch runs when it holds ``max_batch_size`` rows or
when its oldest request has waited ``batch_timeout_micros`` and one of ``num_batch_threads``
slots is free (until then it takes more requests); past ``max_enqueued_batches`` batches'
worth of waiting rows, requests are refused (UNAVAILABLE).
Requests join one batch only when their inputs agree in everything but the 0th dimension
(RecGen's clients send serialized tf.Examples, a ``[rows]`` string tensor, so they always do).
A request without a 0th dimension on every input runs on its own. When a merged batch fails,
its requests are retried one by one, so a malformed request fails alone.

The options come from the same text-proto file ``tensorflow_model_server`` reads
(``--batching_parameters_file``).

Example::

    batcher = Batcher(BatchingOptions(max_batch_size=32, batch_timeout_s=0.002))
    batcher.run(key, run_signature, {"examples": examples}, rows=len(examples))
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time
from concurrent.futures import Future
from typing import Callable, Deque, Dict, List

import grpc
import numpy as np
from google.protobuf import text_format

from serving.errors import ServingError
from serving.protos import batching_parameters_pb2

Runner = Callable[[Dict[str, np.ndarray]], Dict[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    max_batch_size: int = 32
    batch_timeout_s: float = 0.001
    max_enqueued_batches: int = 100
    num_batch_threads: int = 2

    @classmethod
    def from_file(cls, path: str) -> "BatchingOptions":
        """Options from a TF Serving batching parameters file; fields it leaves out keep defaults."""
        proto = batching_parameters_pb2.BatchingParameters()
        try:
            with open(path, encoding="utf-8") as stream:
                text_format.Parse(stream.read(), proto)
        except (OSError, text_format.ParseError) as error:
            raise ValueError(f"batching parameters file {path}: {error}") from None
        given = {field.name: value.value for field, value in proto.ListFields() if hasattr(value, "value")}
        options = cls(**{name: given[name] for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads")
                         if name in given},
                      **({"batch_timeout_s": given["batch_timeout_micros"] / 1e6}
                         if "batch_timeout_micros" in given else {}))
        if min(options.max_batch_size, options.num_batch_threads, options.max_enqueued_batches) < 1:
            raise ValueError(f"batching parameters file {path}: sizes and thread counts must be at least 1")
        return options


@dataclasses.dataclass
class _Task:
    inputs: Dict[str, np.ndarray]
    rows: int
    result: Future = dataclasses.field(default_factory=Future)


class _Batch:
    """Requests that will share one call. The request that opened it (the leader) runs it."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self.tasks: List[_Task] = []
        self.rows = 0
        self.opened_at = time.monotonic()
        self.closed = threading.Event()  # set when it takes no more requests: its leader stops waiting


class Batcher:
    """Open batches per batch key; the request that opens a batch runs it in its own thread.

    The leader waits until its batch is full or ``batch_timeout_s`` has passed, then for one of
    ``num_batch_threads`` slots; its batch takes new requests until then, so while every slot is
    busy batches grow by themselves (with a 0 timeout, as TF Serving's batching guide suggests
    trying on CPUs, a request waits only for a busy slot). Running a batch in its leader's thread
    rather than in a batch thread spares the leader two thread hand-offs and the server its batch
    threads. TF Serving's own scheduler is C++ with no Python binding, hence this class.
    """

    def __init__(self, options: BatchingOptions):
        self.options = options
        self.batch_sizes: Deque[int] = collections.deque(maxlen=10_000)  # rows of recent batches, for tests
        self._open: Dict[tuple, _Batch] = {}
        self._waiting_rows = 0  # rows of requests whose batch has not started
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(options.num_batch_threads)
        self._closed = False

    def run(self, key: tuple, runner: Runner, inputs: Dict[str, np.ndarray], rows: int) -> Dict[str, np.ndarray]:
        """The outputs for ``inputs`` alone, computed in a batch with whatever else shares ``key``."""
        task = _Task(inputs, rows)
        limit = self.options.max_batch_size
        with self._lock:
            if self._closed:
                raise ServingError(grpc.StatusCode.UNAVAILABLE, "the model server is stopping")
            if self._waiting_rows >= self.options.max_enqueued_batches * limit:
                raise ServingError(grpc.StatusCode.UNAVAILABLE,
                                   f"batching queue is full ({self._waiting_rows} rows waiting); retry later")
            batch = self._open.get(key)
            leads = batch is None or batch.rows + rows > limit
            if leads:
                if batch is not None:
                    self._close(key, batch)
                batch = self._open[key] = _Batch(runner)
            batch.tasks.append(task)
            batch.rows += rows
            self._waiting_rows += rows
            if batch.rows >= limit:
                self._close(key, batch)
        if leads:
            self._lead(key, batch)
        return task.result.result()

    @property
    def waiting_rows(self) -> int:
        """Rows of the requests whose batch has not started yet."""
        with self._lock:
            return self._waiting_rows

    def close(self) -> None:
        """Refuses new requests; batches waiting for more rows start at once."""
        with self._lock:
            self._closed = True
            for key, batch in list(self._open.items()):
                self._close(key, batch)

    def _close(self, key: tuple, batch: _Batch) -> None:
        """Takes ``batch`` out of the open ones (call with the lock held)."""
        if self._open.get(key) is batch:
            del self._open[key]
        batch.closed.set()

    def _lead(self, key: tuple, batch: _Batch) -> None:
        batch.closed.wait(max(0.0, batch.opened_at + self.options.batch_timeout_s - time.monotonic()))
        with self._slots:
            with self._lock:
                self._close(key, batch)
                self._waiting_rows -= batch.rows
            self._execute(batch.runner, batch.tasks)

    def _execute(self, runner: Runner, tasks: List[_Task]) -> None:
        total = sum(task.rows for task in tasks)
        self.batch_sizes.append(total)
        if len(tasks) > 1:
            merged = {name: np.concatenate([task.inputs[name] for task in tasks]) for name in tasks[0].inputs}
            try:
                outputs = runner(merged)
            except Exception:  # noqa: BLE001 -- one bad request must not fail the others: retry alone
                outputs = None
            if outputs is not None and all(np.ndim(value) and len(value) == total for value in outputs.values()):
                offsets = np.cumsum([0] + [task.rows for task in tasks])
                for task, start, end in zip(tasks, offsets[:-1], offsets[1:]):
                    task.result.set_result({name: value[start:end] for name, value in outputs.items()})
                return
        for task in tasks:
            try:
                task.result.set_result(runner(task.inputs))
            except Exception as error:  # noqa: BLE001 -- handed to the waiting request thread
                task.result.set_exception(error)


def batch_key(model_key: tuple, signature: str, inputs: Dict[str, np.ndarray]) -> tuple:
    """Requests with equal keys can share a batch: same model, signature, input dtypes and inner shapes."""
    return (model_key, signature,
            tuple(sorted((name, str(value.dtype), value.shape[1:]) for name, value in inputs.items())))
