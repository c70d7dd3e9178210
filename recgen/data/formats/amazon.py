"""Amazon reviews (2014 and 2018 releases) as JSON lines, plain or gzipped, with optional metadata.

A folder may hold review files and metadata files; metadata files are the ones whose
name starts with ``meta`` (as ``meta_Musical_Instruments.json.gz``). Reviews give events
(reviewerID, asin, unixReviewTime, overall, reviewText, summary); metadata gives items
(asin, title, 2014 ``categories`` or 2018 ``category``, description, brand).
The 2014 metadata files are Python literals rather than strict JSON; both are read.
"""
from __future__ import annotations

import ast
import datetime
import json
from pathlib import Path
from typing import Iterator, List

from recgen.data.canonical import Event, Item, MalformedRowReport
from recgen.data.formats.rows import (RowError, convert_rows, optional_text, parse_id,
                                      parse_rating, parse_timestamp)
from recgen.data.lines import numbered_lines

JSON_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")


def is_json_file(path: Path) -> bool:
    return path.is_file() and path.name.endswith(JSON_SUFFIXES)


def is_metadata_file(path: Path) -> bool:
    return path.name.startswith("meta")


def review_files(path: Path) -> List[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if is_json_file(p) and not is_metadata_file(p))


def metadata_files(path: Path) -> List[Path]:
    folder = path if path.is_dir() else path.parent
    return sorted(p for p in folder.iterdir() if is_json_file(p) and is_metadata_file(p))


def _parse_object(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        try:
            record = ast.literal_eval(line)  # 2014 metadata: Python dict literals
        except (ValueError, SyntaxError):
            raise RowError(f"not a JSON object: {error.msg} at column {error.colno}") from None
    if not isinstance(record, dict):
        raise RowError(f"expected a JSON object, found {type(record).__name__}")
    return record


def _review_time(record: dict) -> int:
    if record.get("unixReviewTime") not in (None, ""):
        return parse_timestamp(record["unixReviewTime"], "unixReviewTime")
    if record.get("reviewTime"):  # "02 28, 2014"
        try:
            day = datetime.datetime.strptime(record["reviewTime"], "%m %d, %Y")
        except ValueError:
            raise RowError(f"field 'reviewTime' is not 'MM DD, YYYY': {record['reviewTime']!r}") from None
        return int(day.replace(tzinfo=datetime.timezone.utc).timestamp())
    raise RowError("field 'unixReviewTime' is missing")


def _review_event(line: str) -> Event:
    record = _parse_object(line)
    return Event(parse_id(record.get("reviewerID"), "reviewerID"), parse_id(record.get("asin"), "asin"),
                 _review_time(record), parse_rating(record.get("overall"), "overall"),
                 optional_text(record.get("reviewText")), optional_text(record.get("summary")))


def _categories(record: dict) -> tuple:
    raw = record.get("category", record.get("categories")) or []
    flat = []
    for entry in raw:  # 2014: list of category paths; 2018: one flat list
        flat.extend(entry if isinstance(entry, list) else [entry])
    return tuple(dict.fromkeys(str(c).strip() for c in flat if str(c).strip()))


def _description(record: dict) -> str:
    description = record.get("description") or ""
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    brand = optional_text(record.get("brand"))
    text = str(description).strip()
    return f"{text} Brand: {brand}".strip() if brand else text


def _metadata_item(line: str) -> Item:
    record = _parse_object(line)
    return Item(parse_id(record.get("asin"), "asin"), str(record.get("title") or "").strip(),
                _categories(record), _description(record))


def read_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    for reviews in review_files(path):
        yield from convert_rows(numbered_lines(reviews, report), reviews, report, _review_event)


def read_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    for metadata in metadata_files(path):
        yield from convert_rows(numbered_lines(metadata, report), metadata, report, _metadata_item)
