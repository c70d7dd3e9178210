"""Server-side batching (serving/batching.py) on a toy runner: when batches start, how they grow, refusals."""
import threading
import time

import grpc
import numpy as np
import pytest

from serving.batching import Batcher, BatchingOptions
from serving.errors import ServingError


class GatedRunner:
    """Doubles ``x``; the first call waits until ``release`` is set, so the test controls when the slot frees."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = []

    def __call__(self, inputs):
        self.calls.append(inputs["x"].tolist())
        if len(self.calls) == 1:
            self.started.set()
            assert self.release.wait(10)
        return {"y": inputs["x"] * 2}


def ask_in_threads(batcher, runner, values):
    results, threads = {}, []

    def ask(value):
        try:
            results[value] = batcher.run("key", runner, {"x": np.array([value])}, 1)["y"].tolist()
        except ServingError as error:
            results[value] = error.code
    for value in values:
        threads.append(threading.Thread(target=ask, args=(value,)))
        threads[-1].start()
    return results, threads


def wait_until(condition, seconds=10.0):
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.001)


def test_requests_arriving_while_the_only_slot_is_busy_share_the_next_batch():
    batcher = Batcher(BatchingOptions(max_batch_size=8, batch_timeout_s=0.0, num_batch_threads=1))
    runner = GatedRunner()
    first, first_threads = ask_in_threads(batcher, runner, [1])
    assert runner.started.wait(10)
    rest, threads = ask_in_threads(batcher, runner, [2, 3, 4])
    wait_until(lambda: batcher.waiting_rows == 3)  # all three wait for the slot in one open batch
    runner.release.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert first == {1: [2]} and rest == {2: [4], 3: [6], 4: [8]}
    assert list(batcher.batch_sizes) == [1, 3]
    assert sorted(runner.calls[1]) == [2, 3, 4]


def test_a_full_batch_starts_without_waiting_for_the_timeout():
    batcher = Batcher(BatchingOptions(max_batch_size=2, batch_timeout_s=30.0))
    started = time.monotonic()
    results, threads = ask_in_threads(batcher, lambda inputs: {"y": inputs["x"] * 2}, [5, 6])
    for thread in threads:
        thread.join(20)
    assert results == {5: [10], 6: [12]} and list(batcher.batch_sizes) == [2]
    assert time.monotonic() - started < 20


def test_a_lone_request_runs_after_the_timeout():
    batcher = Batcher(BatchingOptions(max_batch_size=32, batch_timeout_s=0.05))
    started = time.monotonic()
    assert batcher.run("key", lambda inputs: {"y": inputs["x"] + 1}, {"x": np.array([1])}, 1)["y"].tolist() == [2]
    assert 0.05 <= time.monotonic() - started < 5
    assert list(batcher.batch_sizes) == [1]


def test_past_the_queue_bound_requests_are_refused_and_the_waiting_ones_still_run():
    batcher = Batcher(BatchingOptions(max_batch_size=1, batch_timeout_s=0.0, num_batch_threads=1,
                                      max_enqueued_batches=1))
    runner = GatedRunner()
    first, first_threads = ask_in_threads(batcher, runner, [1])
    assert runner.started.wait(10)
    waiting, waiting_threads = ask_in_threads(batcher, runner, [2])
    wait_until(lambda: batcher.waiting_rows == 1)
    with pytest.raises(ServingError) as refused:
        batcher.run("key", runner, {"x": np.array([3])}, 1)
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE and "queue is full" in refused.value.message
    runner.release.set()
    for thread in first_threads + waiting_threads:
        thread.join(10)
    assert first == {1: [2]} and waiting == {2: [4]}


def test_a_closed_batcher_refuses_new_requests():
    batcher = Batcher(BatchingOptions())
    batcher.close()
    with pytest.raises(ServingError) as refused:
        batcher.run("key", lambda inputs: inputs, {"x": np.array([1])}, 1)
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
