"""The online event store, against SQLite and (when redis-server is installed) Redis."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recgen.contracts.events import EventConflict, StoredEvent
from serving.event_store import open_event_store
from serving.sqlite_event_store import SQLiteEventStore
from tests.redis_server import redis_url  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/events.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def store(store_url):
    with open_event_store(store_url, popular_cache_seconds=0) as opened:
        yield opened


def event(event_id, user="u1", item="i1", timestamp=1000, event_type="click", text=""):
    return StoredEvent(event_id, user, item, timestamp, event_type, text)


def test_record_is_idempotent_by_event_id(store):
    first, new = store.record(event("e1", text="great"))
    assert (first.sequence, new) == (1, True)
    again, new = store.record(event("e1", text="great"))
    assert (again, new) == (first, False)
    assert store.record(event("e2"))[0].sequence == 2
    assert [e.event_id for e in store.events_since(0, 10)] == ["e1", "e2"]


@pytest.mark.parametrize("argument, value, field", [("user", "u2", "user_id"), ("item", "i2", "item_id"),
                                                     ("timestamp", 1001, "timestamp"),
                                                     ("event_type", "purchase", "event_type"),
                                                     ("text", "changed", "text")])
def test_same_event_id_with_other_content_conflicts(store, argument, value, field):
    store.record(event("e1"))
    with pytest.raises(EventConflict, match=f"'e1' is already stored with {field}="):
        store.record(event("e1", **{argument: value}))
    assert len(store.events_since(0, 10)) == 1


def test_a_retry_of_a_service_stamped_event_matches_whatever_time_it_was_stamped_with(store):
    first, _ = store.record(event("e1", timestamp=1000), timestamp_assigned=True)
    again, new = store.record(event("e1", timestamp=1001), timestamp_assigned=True)
    assert (again, new) == (first, False)
    with pytest.raises(EventConflict, match="item_id="):
        store.record(event("e1", item="i2", timestamp=1001), timestamp_assigned=True)


def test_log_is_in_sequence_order_and_pages(store):
    for n in range(10):
        store.record(event(f"e{n}", timestamp=2000 - n))  # the log keeps arrival order, not time order
    log = store.events_since(0, 100)
    assert [e.sequence for e in log] == list(range(1, 11))
    assert [e.event_id for e in log] == [f"e{n}" for n in range(10)]
    assert [e.sequence for e in store.events_since(4, 3)] == [5, 6, 7]
    assert store.events_since(10, 5) == [] and store.events_since(3, 0) == []


def test_sequences_continue_after_reopening(store_url):
    with open_event_store(store_url) as first:
        first.record(event("e1"))
        first.meta_set("imported", "train-1")
    with open_event_store(store_url) as second:
        assert second.record(event("e2"))[0].sequence == 2
        assert second.meta_get("imported") == "train-1"


def test_history_orders_by_time_then_insertion_and_keeps_the_latest(store):
    store.import_events([event("t1", item="a", timestamp=10), event("t2", item="b", timestamp=30)])
    store.record(event("r1", item="c", timestamp=20))
    store.record(event("r2", item="d", timestamp=30))  # same time as t2, inserted later
    store.record(event("r3", item="e", timestamp=5))
    store.record(event("other", user="u2", item="z", timestamp=99))
    assert [e.event_id for e in store.history("u1", 10)] == ["r3", "t1", "r1", "t2", "r2"]
    latest = store.history("u1", 2)
    assert [e.event_id for e in latest] == ["t2", "r2"]
    assert [e.sequence for e in latest] == [0, 2]
    assert store.history("nobody", 5) == [] and store.history("u1", 0) == []


def test_recent_items_are_the_latest_history_and_the_distinct_items_most_recent_first(store):
    for n, (item, timestamp) in enumerate([("x", 1), ("y", 2), ("x", 3), ("z", 4), ("y", 0)]):
        store.record(event(f"e{n}", item=item, timestamp=timestamp))
    store.record(event("other", user="u2", item="w", timestamp=5))
    recent = store.recent_items("u1", history_limit=3, seen_limit=10)
    assert recent.history == [("y", 2), ("x", 3), ("z", 4)]
    assert recent.seen == ["z", "x", "y"]
    assert store.recent_items("u1", history_limit=10, seen_limit=2) == (
        [("y", 0), ("x", 1), ("y", 2), ("x", 3), ("z", 4)], ["z", "x"])
    assert store.recent_items("u1", history_limit=0, seen_limit=1) == ([], ["z"])
    assert store.recent_items("nobody", history_limit=5, seen_limit=3) == ([], [])


def test_recent_items_history_matches_the_stored_history(store):
    store.import_events([event("t1", item="a", timestamp=10), event("t2", item="b", timestamp=30)])
    store.record(event("r1", item="c", timestamp=30))  # same time as t2, inserted later
    expected = [(e.item_id, e.timestamp) for e in store.history("u1", 2)]
    assert store.recent_items("u1", history_limit=2, seen_limit=0).history == expected == [("b", 30), ("c", 30)]


def test_recent_items_read_past_a_page_of_repeats(store):
    store.import_events([event(f"e{n}", item="same", timestamp=n + 1) for n in range(600)]
                        + [event("oldest", item="x", timestamp=0)])
    assert store.recent_items("u1", history_limit=1, seen_limit=5) == ([("same", 600)], ["same", "x"])


def popularity_events():
    """Newest timestamp 1000; with a 100-second window, timestamps 900..1000 count."""
    spec = {"a": [100] * 5, "b": [950, 950, 100], "c": [960, 960], "f": [970, 970], "d": [1000], "g": [900],
            "e": [200, 200, 200], "h": [899]}
    return [event(f"{item}{n}", user=f"u{n}", item=item, timestamp=t)
            for item, times in spec.items() for n, t in enumerate(times)]


def test_popular_recent_ranks_the_window_then_fills_from_all_time(store):
    events = popularity_events()
    store.import_events(events[:6])  # imported events count as much as recorded ones
    for e in events[6:]:
        store.record(e)
    assert store.popular_recent(3, 100) == [("b", 2), ("c", 2), ("f", 2)]  # b wins on all time, c on id
    assert store.popular_recent(5, 100) == [("b", 2), ("c", 2), ("f", 2), ("d", 1), ("g", 1)]
    assert store.popular_recent(8, 100) == [("b", 2), ("c", 2), ("f", 2), ("d", 1), ("g", 1),
                                            ("a", 0), ("e", 0), ("h", 0)]
    assert store.popular_recent(20, 100)[-3:] == [("a", 0), ("e", 0), ("h", 0)]
    assert store.popular_recent(2, 10**6) == [("a", 5), ("b", 3)]


def test_popular_recent_of_an_empty_store(store):
    assert store.popular_recent(5, 100) == []


def test_popular_recent_may_be_cached(store_url):
    with open_event_store(store_url, popular_cache_seconds=60) as cached:
        cached.record(event("e1", item="a"))
        assert cached.popular_recent(2, 100) == [("a", 1)]
        cached.record(event("e2", item="b", timestamp=2000))
        assert cached.popular_recent(2, 100) == [("a", 1)]
        assert cached.popular_recent(2, 50) == [("b", 1), ("a", 0)]


def test_imported_events_are_not_logged_and_import_is_idempotent(store):
    store.record(event("r1"))
    assert store.import_events([event("t1"), event("t2"), event("t1")]) == 2
    assert store.import_events([event("t2"), event("t3"), event("r1")]) == 1
    assert [e.event_id for e in store.events_since(0, 10)] == ["r1"]
    assert store.record(event("t1")) == (event("t1"), False)  # known from training: not logged again
    assert store.record(event("r2"))[0].sequence == 2
    assert len(store.history("u1", 10)) == 5


def test_import_of_100k_events(store):
    events = [event(f"t{n}", user=f"u{n % 5000}", item=f"i{n % 3000}", timestamp=1_600_000_000 + n, text="ok")
              for n in range(100_000)]
    start = time.perf_counter()
    assert store.import_events(iter(events)) == 100_000
    seconds = time.perf_counter() - start
    print(f"\n{type(store).__name__}: imported 100,000 events in {seconds:.2f} s")
    assert store.import_events(events[:1000]) == 0
    assert [e.event_id for e in store.history("u7", 3)] == ["t85007", "t90007", "t95007"]
    assert store.events_since(0, 10) == []
    assert store.popular_recent(1, 0) == [("i999", 1)]


def test_concurrent_records_lose_nothing(store):
    def record_many(thread):
        for n in range(200):
            store.record(event(f"t{thread}-{n}", user=f"u{thread}", timestamp=n))

    threads = [threading.Thread(target=record_many, args=(thread,)) for thread in range(8)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"\n{type(store).__name__}: 1,600 records from 8 threads in {time.perf_counter() - start:.2f} s")
    log = store.events_since(0, 10_000)
    assert sorted(e.sequence for e in log) == list(range(1, 1601))
    assert len({e.event_id for e in log}) == 1600
    assert all(len(store.history(f"u{thread}", 1000)) == 200 for thread in range(8))


RECORDER = """
import sys
from recgen.contracts.events import StoredEvent
from serving.event_store import open_event_store
store = open_event_store(sys.argv[1])
for n in range(1_000_000):
    store.record(StoredEvent(f"e{n}", f"u{n % 7}", f"i{n % 13}", 1_700_000_000 + n, "click"))
    print(f"e{n}", flush=True)
"""


def test_acknowledged_events_survive_sigkill(store_url):
    child = subprocess.Popen([sys.executable, "-c", RECORDER, store_url], cwd=REPO, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = []
    for line in child.stdout:
        lines.append(line)
        if len(lines) == 300:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=30)
    lines += child.stdout.read().splitlines(keepends=True)
    acknowledged = {line.strip() for line in lines if line.endswith("\n")}
    assert child.returncode == -signal.SIGKILL and len(acknowledged) >= 300
    with open_event_store(store_url) as reopened:
        log = reopened.events_since(0, 10**6)
    assert acknowledged <= {e.event_id for e in log}
    assert [e.sequence for e in log] == list(range(1, len(log) + 1))


def test_open_event_store_urls(tmp_path):
    with open_event_store(str(tmp_path / "nested" / "events.db")) as plain:
        assert isinstance(plain, SQLiteEventStore)
    assert (tmp_path / "nested" / "events.db").exists()


@pytest.mark.parametrize("url", ["", "sqlite://relative/events.db", "sqlite:///", "mysql://host/db",
                                 "redis://", "redis://host:port/0", "redis://host:6379/zero"])
def test_open_event_store_rejects_bad_urls(url):
    with pytest.raises(ValueError, match="URL") as error:
        open_event_store(url)
    assert repr(url) in str(error.value) if url else "empty" in str(error.value)
