"""Server-side batching: concurrent requests to one signature run as one call, after a bounded wait.

Like TF Serving's ``--enable_batching``: a batch runs when it holds ``max_batch_size`` rows or
when its oldest request has waited ``batch_timeout_micros``; ``num_batch_threads`` batches run
at once; past ``max_enqueued_batches`` queued batches, requests are refused (UNAVAILABLE).
Requests join one batch only when their inputs agree in everything but the 0th dimension
(RecGen's clients send serialized tf.Examples, a ``[rows]`` string tensor, so they always do).
A request without a 0th dimension on every input runs on its own. When a merged batch fails,
its requests are retried one by one, so a malformed request fails alone.

The options come from the same text-proto file ``tensorflow_model_server`` reads
(``--batching_parameters_file``).

Example:
    >>> batcher = Batcher(BatchingOptions(max_batch_size=32, batch_timeout_s=0.002))
    >>> batcher.run(key, run_signature, {"examples": examples}, rows=len(examples))  # doctest: +SKIP
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
    enqueued_at: float = dataclasses.field(default_factory=time.monotonic)
    result: Future = dataclasses.field(default_factory=Future)


class Batcher:
    """Queues per batch key; ``num_batch_threads`` workers run ready batches."""

    def __init__(self, options: BatchingOptions):
        self.options = options
        self.batch_sizes: Deque[int] = collections.deque(maxlen=10_000)  # rows of recent batches, for tests
        self._queues: Dict[tuple, Deque[_Task]] = {}
        self._runners: Dict[tuple, Runner] = {}
        self._condition = threading.Condition()
        self._closed = False
        self._workers = [threading.Thread(target=self._work, name=f"batch-{n}", daemon=True)
                         for n in range(options.num_batch_threads)]
        for worker in self._workers:
            worker.start()

    def run(self, key: tuple, runner: Runner, inputs: Dict[str, np.ndarray], rows: int) -> Dict[str, np.ndarray]:
        """The outputs for ``inputs`` alone, computed in a batch with whatever else shares ``key``."""
        task = _Task(inputs, rows)
        with self._condition:
            queued_rows = sum(t.rows for queue in self._queues.values() for t in queue)
            if queued_rows >= self.options.max_enqueued_batches * self.options.max_batch_size:
                raise ServingError(grpc.StatusCode.UNAVAILABLE,
                                   f"batching queue is full ({queued_rows} rows waiting); retry later")
            self._queues.setdefault(key, collections.deque()).append(task)
            self._runners[key] = runner
            self._condition.notify()
        return task.result.result()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _work(self) -> None:
        while True:
            with self._condition:
                batch = self._next_batch()
                while batch is None:
                    if self._closed:
                        return
                    self._condition.wait(timeout=self._wait_time())
                    batch = self._next_batch()
            self._execute(*batch)

    def _next_batch(self):
        now = time.monotonic()
        for key, queue in self._queues.items():
            if sum(t.rows for t in queue) >= self.options.max_batch_size or \
                    now - queue[0].enqueued_at >= self.options.batch_timeout_s or self._closed:
                tasks, rows = [], 0
                while queue and (not tasks or rows + queue[0].rows <= self.options.max_batch_size):
                    rows += queue[0].rows
                    tasks.append(queue.popleft())
                runner = self._runners[key]
                if not queue:
                    del self._queues[key], self._runners[key]
                return runner, tasks
        return None

    def _wait_time(self):
        if not self._queues:
            return None
        oldest = min(queue[0].enqueued_at for queue in self._queues.values())
        return max(0.0, oldest + self.options.batch_timeout_s - time.monotonic())

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
