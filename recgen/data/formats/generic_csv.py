"""A generic CSV of events with an optional items CSV: the format to bring your own data in.

``events.csv`` needs a header naming at least ``user_id,item_id,timestamp``; ``rating``,
``text`` and ``summary`` columns are optional. ``timestamp`` is Unix seconds or an ISO 8601
date-time. ``items.csv`` (beside it) has ``item_id`` and any of ``title``, ``categories``
(``|``-separated) and ``description``. Files may be gzipped (``events.csv.gz``).

Example ``events.csv``::

    user_id,item_id,timestamp,rating,text
    u1,i9,2024-03-01T10:00:00Z,5,"warm tone, great for beginners"
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

from recgen.data.canonical import DataError, Event, Item, MalformedRowReport
from recgen.data.formats.rows import (convert_rows, expect_fields, optional_text, parse_id,
                                      parse_rating, parse_timestamp)
from recgen.data.lines import csv_rows, read_header

EVENT_COLUMNS = ("user_id", "item_id", "timestamp")


def _find(folder: Path, stem: str) -> Optional[Path]:
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def events_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    found = _find(path, "events")
    if found is None:
        raise DataError(f"{path}: no events.csv or events.csv.gz in this folder")
    return found


def has_event_header(path: Path) -> bool:
    return set(EVENT_COLUMNS) <= {c.strip() for c in read_header(path)}


def has_text_columns(path: Path) -> bool:
    """Whether the events file has a ``text`` or ``summary`` column."""
    return bool({"text", "summary"} & {c.strip() for c in read_header(events_file(path))})


def _columns(path: Path, required: tuple) -> Dict[str, int]:
    header = [c.strip() for c in read_header(path)]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}: header {header} lacks required column(s) {missing}")
    return {name: index for index, name in enumerate(header)}


def _cell(fields: List[str], columns: Dict[str, int], name: str) -> Optional[str]:
    index = columns.get(name)
    return fields[index] if index is not None and index < len(fields) else None


def event_columns(events: Path) -> Dict[str, int]:
    """Column name -> index in the header of an events file; raises ``DataError`` when one is missing."""
    return _columns(events, EVENT_COLUMNS)


def event_converter(columns: Dict[str, int]) -> Callable[[List[str]], Event]:
    """The converter of one row's fields for a header's ``columns``."""
    width = max(columns[c] for c in EVENT_COLUMNS) + 1

    def convert(fields):
        expect_fields(fields, width, ", ".join(EVENT_COLUMNS))
        return Event(parse_id(fields[columns["user_id"]], "user_id"),
                     parse_id(fields[columns["item_id"]], "item_id"),
                     parse_timestamp(fields[columns["timestamp"]]),
                     parse_rating(_cell(fields, columns, "rating")),
                     optional_text(_cell(fields, columns, "text")),
                     optional_text(_cell(fields, columns, "summary")))

    return convert


def read_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    events = events_file(path)
    convert = event_converter(event_columns(events))
    rows = ((line, fields) for line, fields in csv_rows(events, report) if line > 1)
    yield from convert_rows(rows, events, report, convert)


def read_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    items = _find(path if path.is_dir() else path.parent, "items")
    if items is None:
        return
    columns = _columns(items, ("item_id",))

    def convert(fields):
        categories = _cell(fields, columns, "categories") or ""
        return Item(parse_id(_cell(fields, columns, "item_id"), "item_id"),
                    (_cell(fields, columns, "title") or "").strip(),
                    tuple(c.strip() for c in categories.split("|") if c.strip()),
                    (_cell(fields, columns, "description") or "").strip())

    rows = ((line, fields) for line, fields in csv_rows(items, report) if line > 1)
    yield from convert_rows(rows, items, report, convert)
