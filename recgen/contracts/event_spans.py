"""Event spans: the service's new events, written as numbered data spans for the next training run.

Each retraining cycle turns the events the recommendation service logged since the last span
into ``<spans_dir>/span-00001/``, ``span-00002/``, ...: an ``events.csv`` in the generic CSV
format (``recgen.data.formats.generic_csv``) and a ``span.json`` saying which part of the
service's log it holds. ExampleGen reads the source data set followed by every span, in span
order, so the new events extend the users' histories (and may bring new users and items).

A span directory appears whole or not at all (written aside, then renamed), so a crash while
writing loses nothing: the next cycle writes the same events again.

Example:
    >>> import tempfile
    >>> spans_dir = tempfile.mkdtemp()
    >>> events = [SpanEvent("u1", "i9", 1700000000), SpanEvent("u2", "i3", 1700000060, "great")]
    >>> write_span(spans_dir, events, first_sequence=1, last_sequence=2).events
    2
    >>> [(span.number, span.last_sequence) for span in list_spans(spans_dir)], next_sequence(spans_dir)
    ([(1, 2)], 3)
    >>> list(read_span_events(list_spans(spans_dir)[0].events_path)) == events
    True
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterable, Iterator, List, NamedTuple, Optional, Union

from recgen.contracts.errors import DataError

SPAN_INFO = "span.json"
EVENTS_FILE = "events.csv"
_SPAN_DIR = re.compile(r"^span-(\d{5})$")
COLUMNS = ("user_id", "item_id", "timestamp", "text")


class SpanEvent(NamedTuple):
    """One logged event as a span stores it (every interaction counts, whatever its type)."""

    user_id: str
    item_id: str
    timestamp: int
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Span:
    """One span: its number, its folder, and the service-log sequences it covers (inclusive)."""

    number: int
    path: Path
    first_sequence: int
    last_sequence: int
    events: int

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE


def _span(path: Path) -> Span:
    try:
        info = json.loads((path / SPAN_INFO).read_text(encoding="utf-8"))
        return Span(int(info["span"]), path, int(info["first_sequence"]), int(info["last_sequence"]),
                    int(info["events"]))
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path / SPAN_INFO}: not a readable span description ({error})") from error


def list_spans(spans_dir: Optional[Union[str, Path]]) -> List[Span]:
    """Every complete span under ``spans_dir``, oldest first (none when the folder is missing,
    or not given: ``None`` or ``""``)."""
    if not spans_dir or not Path(spans_dir).is_dir():
        return []
    return [_span(path) for path in sorted(Path(spans_dir).iterdir()) if _SPAN_DIR.match(path.name)]


def next_sequence(spans_dir: Union[str, Path]) -> int:
    """The first service-log sequence no span holds yet (1 when there is none)."""
    spans = list_spans(spans_dir)
    return spans[-1].last_sequence + 1 if spans else 1


def read_span_events(events_path: Union[str, Path]) -> Iterator[SpanEvent]:
    """The events of one span's ``events.csv``, as ``write_span`` wrote them."""
    with open(events_path, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            yield SpanEvent(row["user_id"], row["item_id"], int(row["timestamp"]), row["text"])


def write_span(spans_dir: Union[str, Path], events: Iterable[SpanEvent], first_sequence: int,
               last_sequence: int) -> Span:
    """Writes the next span atomically and returns it."""
    spans_dir = Path(spans_dir)
    spans = list_spans(spans_dir)
    number = spans[-1].number + 1 if spans else 1
    final = spans_dir / f"span-{number:05d}"
    partial = spans_dir / f".partial-{final.name}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    count = 0
    with open(partial / EVENTS_FILE, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for event in events:
            writer.writerow(event)
            count += 1
    info = {"span": number, "first_sequence": first_sequence, "last_sequence": last_sequence, "events": count}
    (partial / SPAN_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.rename(partial, final)
    return _span(final)
