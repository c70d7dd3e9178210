"""Seeding the event store with the histories the models were trained on.

The service reads users' histories from its store; at start it imports every event of the
latest ExampleGen output (each example's target event, and each user's latest history), once
per ExampleGen artifact. Imported events are not part of the retraining log: that data is
already in the pipeline's input. Events that came from retraining's spans are left out: the
service logged them itself (with their own ids), and importing them again would double them.

Example::

    import_training_histories(store, "build/run")
    # -> 10261
"""
from __future__ import annotations

import glob
import os
from typing import Dict, Iterator, Set, Tuple

from recgen.contracts import features as F
from recgen.contracts.event_spans import read_span_events
from recgen.contracts.events import StoredEvent
from recgen.contracts.examples_io import dense_example_batches
from recgen.contracts.run_root import RunRoot, latest_ingestion_report
from serving.event_store import EventStore

IMPORTED_EXAMPLES_KEY = "imported_examples_uri"
IMPORTED_TYPE = "training_data"


def _event(user: bytes, item: bytes, timestamp: int) -> StoredEvent:
    user_id, item_id = user.decode("utf-8"), item.decode("utf-8")
    return StoredEvent(event_id=f"data:{user_id}:{item_id}:{timestamp}", user_id=user_id, item_id=item_id,
                       timestamp=int(timestamp), event_type=IMPORTED_TYPE)


def training_events(examples_uri: str, batch_size: int = 4096) -> Iterator[StoredEvent]:
    """Every example's target event, then every user's latest history (duplicates share an id)."""
    files = sorted(glob.glob(os.path.join(examples_uri, "Split-*", "*.gz")))
    latest: Dict[bytes, Tuple[int, list, list]] = {}
    for batch in dense_example_batches(files, batch_size):
        rows = zip(batch[F.USER_ID].numpy(), batch[F.ITEM_ID].numpy(), batch[F.TIMESTAMP].numpy(),
                   batch[F.HISTORY_ITEM_IDS].numpy(), batch[F.HISTORY_TIMESTAMPS].numpy())
        for user, item, timestamp, history_ids, history_timestamps in rows:
            yield _event(user, item, timestamp)
            if timestamp >= latest.get(user, (-1,))[0]:
                latest[user] = (timestamp, history_ids, history_timestamps)
    for user, (_, history_ids, history_timestamps) in latest.items():
        yield from (_event(user, item, timestamp) for item, timestamp in zip(history_ids, history_timestamps) if item)


def _span_event_keys(ingestion_report: dict) -> Set[Tuple[str, str, int]]:
    """(user, item, timestamp) of every event the examples took from retraining's spans."""
    return {(event.user_id, event.item_id, event.timestamp)
            for span in ingestion_report.get("spans", []) for event in read_span_events(span["path"])}


def import_training_histories(store: EventStore, root: str) -> int:
    """Imports the latest run's examples under pipeline root ``root`` unless done; returns new events."""
    report = latest_ingestion_report(RunRoot(root))
    if report is None or store.meta_get(IMPORTED_EXAMPLES_KEY) == report["examples_uri"]:
        return 0
    logged = _span_event_keys(report)
    count = store.import_events(event for event in training_events(report["examples_uri"])
                                if (event.user_id, event.item_id, event.timestamp) not in logged)
    store.meta_set(IMPORTED_EXAMPLES_KEY, report["examples_uri"])
    return count
