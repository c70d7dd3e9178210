"""What ``recgen data inspect`` reports: counts, time range and malformed rows of a source.

Example:
    >>> import tempfile
    >>> from recgen.data.sources import open_source
    >>> from recgen.data.synthetic import SyntheticConfig, write_generic_csv
    >>> folder, _ = write_generic_csv(SyntheticConfig(users=20, items=10, seed=7), tempfile.mkdtemp())
    >>> summary = summarize(open_source(folder))
    >>> summary.events, summary.users, summary.items
    (568, 20, 10)
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Optional

from recgen.data.canonical import MalformedRowReport
from recgen.data.sources import Source
from recgen.progress import RowProgress


@dataclasses.dataclass
class SourceSummary:
    """Counts over a source's events; ``items`` counts distinct items that have events."""

    format: str
    events: int
    users: int
    items: int
    first_timestamp: Optional[int]
    last_timestamp: Optional[int]
    malformed_rows: int
    events_with_text: int
    catalog_items_with_metadata: int
    report: MalformedRowReport

    def to_json_dict(self) -> dict:
        fields = ("format", "events", "users", "items", "first_timestamp", "last_timestamp",
                  "malformed_rows", "events_with_text", "catalog_items_with_metadata")
        result = {name: getattr(self, name) for name in fields}
        result["first_bad_rows"] = self.report.to_dict()["first_bad_rows"]
        return result

    def to_text(self) -> str:
        def when(ts):
            if ts is None:
                return "-"
            return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()

        lines = [f"format          {self.format}",
                 f"events          {self.events:,}",
                 f"users           {self.users:,}",
                 f"items           {self.items:,}",
                 f"time range      {when(self.first_timestamp)} .. {when(self.last_timestamp)}",
                 f"events w/ text  {self.events_with_text:,}",
                 f"items w/ meta   {self.catalog_items_with_metadata:,}",
                 f"malformed rows  {self.malformed_rows:,}"]
        if self.report.malformed:
            lines.append(self.report.describe())
        return "\n".join(lines)


def summarize(source: Source, show_progress: bool = False) -> SourceSummary:
    report = MalformedRowReport()
    users, items = set(), set()
    count = with_text = 0
    first = last = None
    progress = RowProgress("reading events", enabled=show_progress)
    for event in source.events(report):
        count += 1
        users.add(event.user_id)
        items.add(event.item_id)
        with_text += bool(event.text or event.summary)
        first = event.timestamp if first is None else min(first, event.timestamp)
        last = event.timestamp if last is None else max(last, event.timestamp)
        progress.update(count)
    progress.done(count)
    with_metadata = sum(1 for item in source.items(report) if item.item_id in items)
    return SourceSummary(source.format, count, len(users), len(items), first, last,
                         report.malformed, with_text, with_metadata, report)
