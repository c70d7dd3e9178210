"""The SQLite event store: one file, WAL journal, ``synchronous=FULL`` (an acknowledged event
survives the process being killed), one connection behind a lock for the service's threads.

Example::

    with SQLiteEventStore("/tmp/recgen/events.db") as store:
        store.record(StoredEvent("e1", "u1", "i9", 1700000000, "click"))
    # -> (StoredEvent(event_id='e1', ..., sequence=1), True)
"""
import contextlib
import dataclasses
import itertools
import os
import sqlite3
import threading
from typing import Iterable, Iterator, List, Optional, Tuple

from recgen.contracts.events import StoredEvent, check_same
from serving.event_store import EventStore, RecentItems, TimedCache, rank_popular, recent_items_of

# ``position`` is the insertion order; ``sequence`` the log position of recorded events (0: imported,
# not logged; queries say ``sequence > 0`` to use its partial index). A trigger keeps ``item_counts``
# (all-time popularity) up to date.
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    text TEXT NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS events_sequence ON events (sequence) WHERE sequence > 0;
CREATE INDEX IF NOT EXISTS events_user_time ON events (user_id, timestamp);
CREATE INDEX IF NOT EXISTS events_time ON events (timestamp);
CREATE TABLE IF NOT EXISTS item_counts (item_id TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS item_counts_rank ON item_counts (count DESC, item_id);
CREATE TRIGGER IF NOT EXISTS events_count AFTER INSERT ON events BEGIN
    INSERT INTO item_counts VALUES (NEW.item_id, 1)
        ON CONFLICT (item_id) DO UPDATE SET count = count + 1;
END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = "event_id, user_id, item_id, timestamp, event_type, text, sequence"
INSERT = f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
IMPORT_BATCH = 10_000


class SQLiteEventStore(EventStore):
    """The event store in the SQLite file at ``path`` (parent folders are created)."""

    def __init__(self, path: str, popular_cache_seconds: float = 5.0):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._popular = TimedCache(popular_cache_seconds)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The lock and one write transaction (committed, or rolled back on an error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, *args) -> List[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def record(self, event: StoredEvent, timestamp_assigned: bool = False) -> Tuple[StoredEvent, bool]:
        with self._transaction() as conn:
            found = conn.execute(f"SELECT {COLUMNS} FROM events WHERE event_id = ?", (event.event_id,)).fetchone()
            if found:
                return check_same(StoredEvent(*found), event, timestamp_assigned), False
            (last,) = conn.execute("SELECT COALESCE(MAX(sequence), 0) FROM events WHERE sequence > 0").fetchone()
            stored = dataclasses.replace(event, sequence=last + 1)
            conn.execute(INSERT, row(stored, stored.sequence))
        return stored, True

    def import_events(self, events: Iterable[StoredEvent]) -> int:
        new = 0
        rows = (row(event, 0) for event in events)
        while batch := list(itertools.islice(rows, IMPORT_BATCH)):
            with self._transaction() as conn:
                new += conn.executemany(INSERT, batch).rowcount
        return new

    def history(self, user_id: str, limit: int) -> List[StoredEvent]:
        rows = self._query(f"SELECT {COLUMNS} FROM events WHERE user_id = ? "
                           "ORDER BY timestamp DESC, position DESC LIMIT ?", user_id, max(limit, 0))
        return [StoredEvent(*row) for row in reversed(rows)]

    def recent_items(self, user_id: str, history_limit: int, seen_limit: int) -> RecentItems:
        with self._lock:
            rows = self._conn.execute("SELECT item_id, timestamp FROM events WHERE user_id = ? "
                                      "ORDER BY timestamp DESC, position DESC", (user_id,))
            return recent_items_of(rows, history_limit, seen_limit)

    def popular_recent(self, k: int, window_seconds: int) -> List[Tuple[str, int]]:
        return self._popular.get((k, window_seconds), lambda: self._rank_popular(k, window_seconds))

    def _rank_popular(self, k: int, window_seconds: int) -> List[Tuple[str, int]]:
        window = self._query(
            "SELECT e.item_id, COUNT(*), c.count FROM events e JOIN item_counts c USING (item_id) "
            "WHERE e.timestamp >= (SELECT MAX(timestamp) FROM events) - ? GROUP BY e.item_id", window_seconds)
        top = self._query("SELECT item_id, count FROM item_counts ORDER BY count DESC, item_id LIMIT ?", 2 * k)
        return rank_popular({item: (count, total) for item, count, total in window}, top, k)

    def events_since(self, sequence: int, limit: int) -> List[StoredEvent]:
        rows = self._query(f"SELECT {COLUMNS} FROM events WHERE sequence > 0 AND sequence > ? "
                           "ORDER BY sequence LIMIT ?", sequence, max(limit, 0))
        return [StoredEvent(*row) for row in rows]

    def meta_get(self, key: str) -> Optional[str]:
        rows = self._query("SELECT value FROM meta WHERE key = ?", key)
        return rows[0][0] if rows else None

    def meta_set(self, key: str, value: str) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (key, value))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def row(event: StoredEvent, sequence: int) -> tuple:
    """The event's values in ``COLUMNS`` order, with this log sequence."""
    return event.event_id, event.user_id, event.item_id, event.timestamp, event.event_type, event.text, sequence
