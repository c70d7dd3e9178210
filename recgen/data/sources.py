"""Format detection and the ``Source`` handle that streams canonical records from a path.

Example:
    >>> import tempfile
    >>> from recgen.data.synthetic import SyntheticConfig, write_generic_csv
    >>> folder, _ = write_generic_csv(SyntheticConfig(users=20, items=10, seed=7), tempfile.mkdtemp())
    >>> source = open_source(folder)  # a MovieLens folder gives 'movielens_csv', and so on
    >>> source.format
    'generic_csv'
    >>> report = MalformedRowReport()
    >>> events = list(source.events(report))
    >>> len(events), report.malformed
    (568, 0)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Union

from recgen.data.canonical import DataError, Event, Item, MalformedRowReport
from recgen.data.formats import amazon, generic_csv, mind, movielens
from recgen.data.lines import read_header


def _never(path: Path) -> bool:
    return False


def _always(path: Path) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Format:
    """A source format: how to read its events and its items, and whether its events can carry
    review text or summaries (which the explanation generator learns from)."""

    name: str
    description: str
    read_events: Callable[[Path, MalformedRowReport], Iterator[Event]]
    read_items: Callable[[Path, MalformedRowReport], Iterator[Item]]
    has_text: Callable[[Path], bool] = _never
    has_impressions: bool = False  # events carry their impression's shown-and-not-clicked items


FORMATS: Dict[str, Format] = {f.name: f for f in (
    Format("movielens_csv", "MovieLens CSV: ratings.csv, movies.csv, tags.csv (latest-small, 20M/25M/32M)",
           movielens.read_csv_events, movielens.read_csv_items, movielens.has_tags),
    Format("movielens_100k", "MovieLens 100K: u.data, u.item", movielens.read_100k_events,
           movielens.read_100k_items),
    Format("movielens_dat", "MovieLens 1M/10M: ratings.dat, movies.dat", movielens.read_dat_events,
           movielens.read_dat_items),
    Format("amazon_json", "Amazon reviews 2014/2018 JSON lines (.json/.json.gz) + meta_*.json(.gz)",
           amazon.read_events, amazon.read_items, _always),
    Format("generic_csv", "generic CSV: events.csv (user_id,item_id,timestamp,...) + items.csv",
           generic_csv.read_events, generic_csv.read_items, generic_csv.has_text_columns),
    Format("mind", "Microsoft News (MIND): behaviors.tsv, news.tsv (one split, or the train/dev folder pair)",
           mind.read_events, mind.read_items, has_impressions=True),
)}

_FOLDER_MARKERS = (("ratings.csv", "movielens_csv"), ("u.data", "movielens_100k"),
                   ("ratings.dat", "movielens_dat"), ("events.csv", "generic_csv"),
                   ("events.csv.gz", "generic_csv"), (mind.BEHAVIORS, "mind"))


def _detect_file(path: Path) -> Optional[str]:
    for marker, name in _FOLDER_MARKERS:
        if path.name == marker:
            return name
    if amazon.is_json_file(path):
        return "amazon_json"
    if path.name.endswith((".csv", ".csv.gz")):
        header = {c.strip() for c in read_header(path)}
        if {"userId", "movieId", "rating"} <= header:
            return "movielens_csv"
        if generic_csv.has_event_header(path):
            return "generic_csv"
    return None


def detect_format(path: Union[str, Path]) -> str:
    """The format name of a file or folder; raises ``DataError`` when none fits."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        for marker, name in _FOLDER_MARKERS:
            if (path / marker).is_file():
                return name
        if amazon.review_files(path):
            return "amazon_json"
        if mind.is_mind_folder(path):
            return "mind"
        looked_for = ", ".join(m for m, _ in _FOLDER_MARKERS)
        raise DataError(f"{path}: unknown data format: found none of {looked_for}, Amazon "
                        f"*.json(.gz) review files or MIND train/dev folders; pass --format ({', '.join(FORMATS)})")
    name = _detect_file(path)
    if name is None:
        raise DataError(f"{path}: unknown data format; pass --format ({', '.join(FORMATS)})")
    return name


@dataclasses.dataclass(frozen=True)
class Source:
    """A readable data source: a path and its format."""

    path: Path
    format: str

    def events(self, report: MalformedRowReport) -> Iterator[Event]:
        return FORMATS[self.format].read_events(self.path, report)

    def items(self, report: MalformedRowReport) -> Iterator[Item]:
        return FORMATS[self.format].read_items(self.path, report)

    @property
    def has_text(self) -> bool:
        """Whether events can carry review text or summaries (from the format and its files, not the rows)."""
        return FORMATS[self.format].has_text(self.path)

    @property
    def has_impressions(self) -> bool:
        return FORMATS[self.format].has_impressions


def open_source(path: Union[str, Path], format: Optional[str] = None) -> Source:
    """Checks the path and the format at once, so a mistake fails before any work starts."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if format is None:
        return Source(path, detect_format(path))
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; known formats: {', '.join(FORMATS)}")
    return Source(path, format)
