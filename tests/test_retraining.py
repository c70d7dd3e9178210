"""The local retraining loop: served events -> a new span -> a retrained, blessed, served model;
a worse model is refused and the old one keeps serving; the schedule survives failed cycles."""
import os
import time

import grpc
import pytest

from pipelines.recgen_pipeline import PipelineConfig
from pipelines.retrain_schedule import run_schedule
from pipelines.retraining import (BUSY, FAILED, NOT_BLESSED, NO_NEW_EVENTS, PUSHED, CycleChanges, cycle_lock,
                                  read_cycle_log, run_cycle)
from recgen import cli
from recgen.serve_cli import start_serve_process
from serving.event_store import default_store_path
from serving.history_import import import_training_histories
from serving.protos import recommendation_pb2 as pb
from serving.protos import recommendation_pb2_grpc
from serving.sqlite_event_store import SQLiteEventStore
from tests.background_runs import background_result

NEW_ITEM, NEW_USER = "brand_new_item", "newcomer"
FANS = [f"user_{n:06d}" for n in range(8)]  # existing users who try the new item
BYSTANDER = "user_000050"                   # an existing user who does not


@pytest.fixture(scope="module")
def served(request, tmp_path_factory):
    """A retrieval-only run on small synthetic data (``tests/pipeline_runs.retraining_pipeline``, run in
    the background from the start of the session), served by `recgen serve` in a child process."""
    config = PipelineConfig.from_json(background_result(request, "served")["config"])
    process, address = start_serve_process(config.root, default_store_path(config.root),
                                           str(tmp_path_factory.mktemp("retraining") / "serve.log"))
    channel = grpc.insecure_channel(address)
    yield config, recommendation_pb2_grpc.RecommendationServiceStub(channel)
    channel.close()
    process.terminate()
    process.wait(timeout=30)


def _item_ids(response):
    return {item.item_id for item in response.items}


def _served_version(stub, user, version, timeout_s=15.0):
    """The first Recommend answered by ``version`` of the retrieval model (fails after ``timeout_s``)."""
    give_up = time.monotonic() + timeout_s
    while True:
        response = stub.Recommend(pb.RecommendRequest(user_id=user, k=100, diversity=0.0), timeout=5)
        if response.retrieval_model_version == version or time.monotonic() > give_up:
            assert response.retrieval_model_version == version
            return response
        time.sleep(0.25)


def _record(stub, events):
    """RecordEvent for each (user, item) in order, one second apart, ending now."""
    now = int(time.time())
    for n, (user, item) in enumerate(events):
        event = pb.Event(event_id=f"{user}-{item}-{now}", user_id=user, item_id=item,
                         timestamp=now - len(events) + n, type="purchase")
        assert stub.RecordEvent(pb.RecordEventRequest(event=event), timeout=5).created


def _vocabulary(config, version, name):
    with open(os.path.join(config.model_base, "retrieval", str(version), "assets", name), encoding="utf-8") as f:
        return {line.rstrip("\n") for line in f}


def test_a_cycle_trains_on_served_events_and_the_server_picks_the_new_version_up(served):
    config, stub = served
    assert NEW_ITEM not in _item_ids(_served_version(stub, BYSTANDER, 1))
    # Each fan: the new item, then two known items, so the new item lands in the train split.
    events = [(user, item) for user in FANS for item in (NEW_ITEM, "item_000001", "item_000002")]
    events += [(NEW_USER, item) for item in ("item_000003", NEW_ITEM, "item_000004", "item_000005")]
    _record(stub, events)

    assert cli.main(["retrain", "--root", config.root]) == 0

    cycle = read_cycle_log(config.root)[-1]
    assert (cycle["status"], cycle["span"], cycle["new_events"]) == (PUSHED, 1, len(events))
    assert (cycle["served_before"], cycle["served_after"]) == ({"retrieval": 1}, {"retrieval": 2})
    assert cycle["models"]["retrieval"]["blessed"]
    # The running server serves version 2 without a restart, and its catalog has the new item.
    assert NEW_ITEM in _item_ids(_served_version(stub, BYSTANDER, 2))
    for name, value in (("item_id", NEW_ITEM), ("user_id", NEW_USER)):
        assert value not in _vocabulary(config, 1, name) and value in _vocabulary(config, 2, name)
    # Seeding a store from the new run's examples does not store the logged events a second time.
    with SQLiteEventStore(default_store_path(config.root)) as store:
        import_training_histories(store, config.root)
        assert [e.item_id for e in store.history(NEW_USER, 100)] == [item for user, item in events
                                                                     if user == NEW_USER]


def test_a_worse_model_is_refused_and_the_old_version_keeps_serving(served):
    config, stub = served
    assert run_cycle(config.root).status == NO_NEW_EVENTS
    _record(stub, [(BYSTANDER, "item_000006"), (NEW_USER, "item_000007")])

    worse = CycleChanges(retrieval={"max_steps": 1, "warm_start": False})
    outcome = run_cycle(config.root, changes=worse)

    assert (outcome.status, outcome.span, outcome.new_events) == (NOT_BLESSED, 2, 2)
    assert outcome.served_before == outcome.served_after == {"retrieval": 2}
    assert not outcome.models["retrieval"]["blessed"] and outcome.models["retrieval"]["failed"]
    time.sleep(1.0)  # more than the server's polling interval
    _served_version(stub, BYSTANDER, 2, timeout_s=0)
    assert [c["status"] for c in read_cycle_log(config.root)] == [PUSHED, NO_NEW_EVENTS, NOT_BLESSED]


def test_the_schedule_logs_failed_and_overlapping_cycles_and_goes_on(tmp_path):
    root = str(tmp_path / "never-trained")
    outcomes = run_schedule("* * * * * *", lambda: run_cycle(root), max_cycles=2)  # every second
    assert [o.status for o in outcomes] == [FAILED, FAILED]
    assert "recgen pipeline run" in outcomes[0].error
    with cycle_lock(root):
        assert run_cycle(root).status == BUSY
    assert [c["status"] for c in read_cycle_log(root)] == [FAILED, FAILED, BUSY]
    assert cli.main(["retrain", "--root", root]) == 1
    assert cli.main(["schedule", "--root", root, "--cron", "* * * * * *", "--max-cycles", "1"]) == 0
    assert len(read_cycle_log(root)) == 5
