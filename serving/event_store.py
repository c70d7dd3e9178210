"""The recommendation service's online event store: durable, idempotent by client event id.

Two backends share this interface: SQLite (the default: one machine, one or several service
processes, e.g. ``recgen serve --workers N``) and Redis (several replicas on several machines
sharing one server). ``open_event_store`` picks one by URL.

Example (every method of ``EventStore``, on SQLite):
    >>> import os, tempfile
    >>> store = open_event_store("sqlite:///" + os.path.join(tempfile.mkdtemp(), "events.db"))
    >>> store.import_events([StoredEvent("t1", "u1", "i3", 1690000000, "rating")])  # not logged
    1
    >>> store.record(StoredEvent("e1", "u1", "i9", 1700000000, "click"))[1]  # new
    True
    >>> store.record(StoredEvent("e1", "u1", "i9", 1700000000, "click"))[1]  # a retry: already there
    False
    >>> [event.item_id for event in store.history("u1", 2)]
    ['i3', 'i9']
    >>> store.recent_items("u1", history_limit=1, seen_limit=10)
    RecentItems(history=[('i9', 1700000000)], seen=['i9', 'i3'])
    >>> store.popular_recent(2, 86400)
    [('i9', 1), ('i3', 0)]
    >>> [event.sequence for event in store.events_since(0, 10)]  # the retraining log
    [1]
    >>> store.meta_set("imported", "train-2024-05-01")
    >>> store.meta_get("imported")
    'train-2024-05-01'
"""
import abc
import itertools
import os
import sqlite3
import threading
import time
import urllib.parse
from typing import Callable, Dict, Hashable, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, TypeVar

from recgen.contracts.errors import DataError
from recgen.contracts.events import StoredEvent

T = TypeVar("T")


class RecentItems(NamedTuple):
    """What a recommendation reads of one user: ``history``, the latest ``(item_id, timestamp)``
    pairs oldest first, and ``seen``, distinct item ids most recent first."""
    history: List[Tuple[str, int]]
    seen: List[str]


def recent_items_of(newest_first: Iterable[Tuple[str, int]], history_limit: int, seen_limit: int) -> RecentItems:
    """``RecentItems`` from a user's ``(item_id, timestamp)`` pairs, newest first; reads the pairs
    no further than both lists need.

    >>> recent_items_of([("z", 4), ("x", 3), ("y", 2), ("x", 1)], history_limit=2, seen_limit=5)
    RecentItems(history=[('x', 3), ('z', 4)], seen=['z', 'x', 'y'])
    """
    pairs = iter(newest_first)
    history = list(itertools.islice(pairs, max(history_limit, 0)))
    seen = dict.fromkeys(item_id for item_id, _ in history)
    for item_id, _ in pairs:
        if len(seen) >= seen_limit:
            break
        seen.setdefault(item_id)
    history.reverse()
    return RecentItems(history, list(seen)[:max(seen_limit, 0)])


def rank_popular(window: Mapping[str, Tuple[int, int]], all_time_top: Sequence[Tuple[str, int]],
                 k: int) -> List[Tuple[str, int]]:
    """The popular-and-recent list from ``window`` (item -> (count in window, all-time count))
    and ``all_time_top`` (the 2k most popular items of all time, (item, count)):
    window count, then all-time count, then item id; filled from all time with count 0."""
    ranked = sorted(window, key=lambda item: (-window[item][0], -window[item][1], item))[:k]
    fill = sorted((pair for pair in all_time_top if pair[0] not in window), key=lambda p: (-p[1], p[0]))
    return [(item, window[item][0]) for item in ranked] + [(item, 0) for item, _ in fill[:k - len(ranked)]]


class TimedCache:
    """Remembers each computed value for ``seconds`` (0: computes every time); thread-safe."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._values: Dict[Hashable, Tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            expires, value = self._values.get(key, (0.0, None))
        if now < expires:
            return value  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._values[key] = (now + self.seconds, value)
        return value


class EventStore(abc.ABC):
    """Where the service keeps user events: histories, the retraining log, popularity."""

    @abc.abstractmethod
    def record(self, event: StoredEvent, timestamp_assigned: bool = False) -> Tuple[StoredEvent, bool]:
        """Stores one event durably before returning; idempotent by ``event_id``.

        Returns the stored event (a new one with the next log sequence 1, 2, 3, ...) and whether
        it is new; the same id with other content raises EventConflict. With
        ``timestamp_assigned`` (the client sent no time, the service stamped it) a stored event's
        timestamp is not compared: a retry a second later is the same event.
        """

    @abc.abstractmethod
    def import_events(self, events: Iterable[StoredEvent]) -> int:
        """Bulk-imports known histories (sequence 0, not in the log); ids already stored are
        skipped as they are. Returns how many were new.
        """

    @abc.abstractmethod
    def history(self, user_id: str, limit: int) -> List[StoredEvent]:
        """The user's latest ``limit`` events, oldest first (by timestamp, then insertion)."""

    @abc.abstractmethod
    def recent_items(self, user_id: str, history_limit: int, seen_limit: int) -> RecentItems:
        """The user's latest ``history_limit`` (item, timestamp) pairs, oldest first, and at most
        ``seen_limit`` distinct items of all their events, most recent first: everything a
        recommendation reads of the user, in one read.
        """

    @abc.abstractmethod
    def popular_recent(self, k: int, window_seconds: int) -> List[Tuple[str, int]]:
        """The cold-start list: ``(item_id, count in window)`` for the k items with the most
        events at timestamps >= newest timestamp - ``window_seconds``, ties by all-time count,
        then item id; filled with the all-time most popular. May be a few seconds old.
        """

    @abc.abstractmethod
    def events_since(self, sequence: int, limit: int) -> List[StoredEvent]:
        """The retraining log: at most ``limit`` recorded events after ``sequence``, in order."""

    @abc.abstractmethod
    def meta_get(self, key: str) -> Optional[str]:
        """A bookkeeping value, or None."""

    @abc.abstractmethod
    def meta_set(self, key: str, value: str) -> None:
        """Stores a bookkeeping value."""

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the connection."""

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def default_store_path(root: str) -> str:
    """The SQLite store ``recgen serve --root`` and ``recgen retrain --root`` share by default."""
    return os.path.join(root, "serving-state", "events.db")


def store_backend(url: str) -> Tuple[str, str]:
    """``("sqlite", path)`` or ``("redis", url)``: the backend a store URL names, checked without
    opening it; a DataError names a malformed or unsupported URL.

    >>> store_backend("sqlite:///tmp/events.db"), store_backend("redis://cache:6379/0")
    (('sqlite', '/tmp/events.db'), ('redis', 'redis://cache:6379/0'))
    >>> store_backend("mysql://db/events")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recgen.contracts.errors.DataError: unsupported event store URL 'mysql://db/events': use ...
    """
    if "://" not in url:
        if not url:
            raise DataError("event store URL is empty: give sqlite:///path/events.db, a path or redis://host:port/db")
        return "sqlite", url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
            raise DataError(f"malformed SQLite URL {url!r}: expected sqlite:///absolute/path/events.db")
        return "sqlite", parts.path
    if parts.scheme in ("redis", "rediss"):
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if not parts.hostname or not port_ok or not (parts.path.strip("/") or "0").isdigit():
            raise DataError(f"malformed Redis URL {url!r}: expected redis://host:port/db (db a number)")
        return "redis", url
    raise DataError(f"unsupported event store URL {url!r}: use sqlite:///path/events.db or redis://host:port/db")


def open_event_store(url: str, **options) -> EventStore:
    """``sqlite:///abs/path/events.db`` or a file path: SQLite; ``redis://host:port/db``: Redis
    (``store_backend``). ``options`` go to the backend's constructor.
    """
    backend, target = store_backend(url)
    if backend == "sqlite":
        from serving.sqlite_event_store import SQLiteEventStore
        try:
            return SQLiteEventStore(target, **options)
        except (OSError, sqlite3.Error) as error:  # e.g. a folder that cannot be created
            raise DataError(f"event store {target}: {error}") from None
    from serving.redis_event_store import RedisEventStore
    return RedisEventStore(target, **options)
