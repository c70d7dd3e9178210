"""One streaming pass over a source: canonical events into JSON-lines shards, items into memory.

Parsing stays in one process because it is what keeps exact file and line numbers
for malformed rows; everything after it (grouping, splitting, example building,
writing) runs on the Beam runner. Shards are plain text so any runner can read them.

Example::

    staged = stage_events([open_source(path)], "/tmp/staging", shards=4)
    staged.events, staged.report.malformed
    # -> (100836, 0)

Several sources (a data set, then retraining's event spans) are staged in order, as one
stream: ``seq`` keeps counting, so equal timestamps keep their order across sources.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, List, Sequence, Set

from tfx.dsl.io import fileio

from recgen.data import Item, MalformedRowReport, Source
from recgen.data.canonical import DataError
from recgen.progress import RowProgress

SHARD_PATTERN = "events-*.jsonl"


@dataclasses.dataclass
class StagedSource:
    """What the staging pass learned: counts, the catalog, and the malformed-row report."""

    format: str
    events: int
    users: int
    catalog: List[Item]
    items_without_events: int
    report: MalformedRowReport
    events_per_source: List[int]


def stage_events(sources: Sequence[Source], staging_dir: str, shards: int = 4,
                 show_progress: bool = True) -> StagedSource:
    """Writes ``[seq, user, item, timestamp, rating, text, summary]`` lines round-robin into shards.

    The format reported is the first source's; items' content comes from every source."""
    fileio.makedirs(staging_dir)
    report = MalformedRowReport()
    users: Set[str] = set()
    item_ids: Dict[str, None] = {}
    writers = [fileio.open(os.path.join(staging_dir, f"events-{n:05d}.jsonl"), "w")
               for n in range(shards)]
    progress = RowProgress(f"converting {sources[0].format} events", enabled=show_progress)
    seq = 0
    events_per_source = []
    try:
        for source in sources:
            first = seq
            for event in source.events(report):
                writers[seq % shards].write(json.dumps([seq, *event], ensure_ascii=False) + "\n")
                users.add(event.user_id)
                item_ids.setdefault(event.item_id)
                for shown in event.impression_item_ids:  # impression logs: shown items are catalog items
                    item_ids.setdefault(shown)
                seq += 1
                progress.update(seq)
            events_per_source.append(seq - first)
    finally:
        for writer in writers:
            writer.close()
    progress.done(seq)
    if seq == 0:
        raise DataError(f"{sources[0].path}: no events could be read ({report.describe()})")
    metadata = {item.item_id: item for source in sources for item in source.items(report)}
    catalog = [metadata.get(item_id, Item(item_id)) for item_id in item_ids]
    return StagedSource(sources[0].format, seq, len(users), catalog,
                        len(metadata.keys() - item_ids.keys()), report, events_per_source)
