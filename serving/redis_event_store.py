"""The Redis event store, for several service replicas sharing one Redis server.

Every write is one Lua script (idempotency check, event hash, the user's history sorted set, the
log stream, popularity), so it is atomic across replicas. Durability: an event is on disk when
``record`` returns only if redis-server runs with ``appendonly yes`` and ``appendfsync always``.

Keys, under ``prefix``: ``event:<id>`` (hash), ``history:<user>`` (sorted set by timestamp of
``<position>:<event id>``), ``timeline`` (sorted set by timestamp of ``<position>:<item id>``),
``popular`` (sorted set of items by minus their all-time count, so ties rank by item id),
``log`` (stream with ids ``<sequence>-0``), ``sequence`` and ``position`` (counters), ``meta``.

Example::

    with RedisEventStore("redis://127.0.0.1:6379/0") as store:
        store.record(StoredEvent("e1", "u1", "i9", 1700000000, "click"))
    # -> (StoredEvent(event_id='e1', ..., sequence=1), True)
"""
import collections
import dataclasses
import itertools
import json
from typing import Iterable, Iterator, List, Optional, Tuple

import redis

from recgen.contracts.events import CONTENT_FIELDS, StoredEvent, check_same
from serving.event_store import EventStore, RecentItems, TimedCache, rank_popular, recent_items_of

# KEYS: sequence, position, log, popular, timeline, then per event its hash and its user's history.
# ARGV: logged (1 or 0) and a JSON list of [event_id, user_id, item_id, timestamp, event_type, text].
# Returns per event its new sequence (0 when not logged), or -1 when the id is already stored.
STORE_EVENTS = """
local logged = ARGV[1] == '1'
local results = {}
for i, event in ipairs(cjson.decode(ARGV[2])) do
    local id, user, item, ts, kind, text = unpack(event)
    local event_key, history_key = KEYS[4 + 2 * i], KEYS[5 + 2 * i]
    if redis.call('EXISTS', event_key) == 1 then
        results[i] = -1
    else
        local sequence = 0
        if logged then
            sequence = redis.call('INCR', KEYS[1])
            redis.call('XADD', KEYS[3], sequence .. '-0', 'event_id', id, 'user_id', user,
                'item_id', item, 'timestamp', ts, 'event_type', kind, 'text', text)
        end
        local position = string.format('%016d', redis.call('INCR', KEYS[2]))
        redis.call('HSET', event_key, 'user_id', user, 'item_id', item, 'timestamp', ts,
            'event_type', kind, 'text', text, 'sequence', sequence)
        redis.call('ZADD', history_key, ts, position .. ':' .. id)
        redis.call('ZADD', KEYS[5], ts, position .. ':' .. item)
        redis.call('ZINCRBY', KEYS[4], -1, item)
        results[i] = sequence
    end
end
return results
"""
IMPORT_BATCH = 1000
PAGE = 256


class RedisEventStore(EventStore):
    """The event store in the Redis database at ``url``, its keys under ``prefix``."""

    def __init__(self, url: str, prefix: str = "recgen:", popular_cache_seconds: float = 5.0):
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._store_events = self._redis.register_script(STORE_EVENTS)
        self._popular = TimedCache(popular_cache_seconds)

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _store(self, events: List[StoredEvent], logged: bool) -> List[int]:
        """The script's answer: per event its sequence (0: not logged), or -1 if already stored."""
        keys = [self._key(name) for name in ("sequence", "position", "log", "popular", "timeline")]
        for event in events:
            keys += [self._key("event", event.event_id), self._key("history", event.user_id)]
        rows = [[e.event_id, e.user_id, e.item_id, str(e.timestamp), e.event_type, e.text] for e in events]
        return self._store_events(keys=keys, args=["1" if logged else "0", json.dumps(rows, ensure_ascii=False)])

    def record(self, event: StoredEvent, timestamp_assigned: bool = False) -> Tuple[StoredEvent, bool]:
        (sequence,) = self._store([event], logged=True)
        if sequence >= 0:
            return dataclasses.replace(event, sequence=sequence), True
        stored = self._events([event.event_id])[0]  # stored events never change
        return check_same(stored, event, timestamp_assigned), False

    def import_events(self, events: Iterable[StoredEvent]) -> int:
        new, events = 0, iter(events)
        while batch := list(itertools.islice(events, IMPORT_BATCH)):
            new += sum(result >= 0 for result in self._store(batch, logged=False))
        return new

    def _events(self, event_ids: List[str]) -> List[StoredEvent]:
        """The stored events of these ids (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.hmget(self._key("event", event_id), *CONTENT_FIELDS, "sequence")
        return [StoredEvent(event_id, user, item, int(timestamp), kind, text, int(sequence))
                for event_id, (user, item, timestamp, kind, text, sequence) in zip(event_ids, pipe.execute())]

    def history(self, user_id: str, limit: int) -> List[StoredEvent]:
        if limit <= 0:
            return []
        members = self._redis.zrange(self._key("history", user_id), -limit, -1)
        return self._events([member.split(":", 1)[1] for member in members])

    def _newest_first(self, user_id: str) -> Iterator[Tuple[str, int]]:
        """The user's (item id, timestamp) pairs, newest first, a page of event hashes per round trip."""
        for start in itertools.count(0, PAGE):
            members = self._redis.zrange(self._key("history", user_id), start, start + PAGE - 1, desc=True)
            yield from ((event.item_id, event.timestamp)
                        for event in self._events([member.split(":", 1)[1] for member in members]))
            if len(members) < PAGE:
                return

    def recent_items(self, user_id: str, history_limit: int, seen_limit: int) -> RecentItems:
        return recent_items_of(self._newest_first(user_id), history_limit, seen_limit)

    def popular_recent(self, k: int, window_seconds: int) -> List[Tuple[str, int]]:
        return self._popular.get((k, window_seconds), lambda: self._rank_popular(k, window_seconds))

    def _rank_popular(self, k: int, window_seconds: int) -> List[Tuple[str, int]]:
        newest = self._redis.zrange(self._key("timeline"), -1, -1, withscores=True)
        if not newest:
            return []
        members = self._redis.zrange(self._key("timeline"), newest[0][1] - window_seconds, "+inf", byscore=True)
        counts = collections.Counter(member.split(":", 1)[1] for member in members)
        totals = self._redis.zmscore(self._key("popular"), list(counts)) if counts else []
        top = self._redis.zrange(self._key("popular"), 0, 2 * k - 1, withscores=True)
        return rank_popular({item: (count, -int(total)) for (item, count), total in zip(counts.items(), totals)},
                            [(item, -int(score)) for item, score in top], k)

    def events_since(self, sequence: int, limit: int) -> List[StoredEvent]:
        if limit <= 0:
            return []
        entries = self._redis.xrange(self._key("log"), f"{max(sequence, 0) + 1}-0", "+", count=limit)
        return [StoredEvent(**{**fields, "timestamp": int(fields["timestamp"])}, sequence=int(entry_id.split("-")[0]))
                for entry_id, fields in entries]

    def meta_get(self, key: str) -> Optional[str]:
        return self._redis.hget(self._key("meta"), key)

    def meta_set(self, key: str, value: str) -> None:
        self._redis.hset(self._key("meta"), key, value)

    def close(self) -> None:
        self._redis.close()
