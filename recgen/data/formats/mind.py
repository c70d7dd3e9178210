"""Microsoft News (MIND, MIND-small / MIND-large): ``behaviors.tsv`` and ``news.tsv``, read as
clicks and articles.

Per MIND's published format (tab separated, no header, UTF-8):

- ``news.tsv``: news id, category, subcategory, title, abstract, URL, title entities, abstract
  entities. An article becomes an item: its title, categories ``(category, subcategory)`` and its
  abstract as the description. The entity columns (Wikidata JSON) are not read.
- ``behaviors.tsv``: impression id, user id, time (``MM/DD/YYYY hh:mm:ss AM/PM``, read as UTC),
  history (space-separated news ids the user clicked before the log period, oldest first, no
  times), impressions (space-separated ``N123-1`` clicked / ``N123-0`` shown and not clicked).

Every click is an event at its impression's time, carrying the impression's shown-and-not-clicked
articles (``Event.impression_item_ids``). The history is the same in every impression of a user,
so it is read once per user: the ``i``-th of ``n`` history clicks (from 0) becomes an event at
``t0 - n + i`` seconds, ``t0`` being the user's earliest impression in the data, so history comes
before every impression and keeps its order. Clicks of one impression share its time and keep
their order in the impression list.

A folder is either one MIND split (``behaviors.tsv`` beside ``news.tsv``) or the official
release's pair of split folders (``MINDsmall_train`` and ``MINDsmall_dev``): ``*train*`` is read
before ``*dev*``. MIND-large's ``test`` split has no click labels and is not read.

Example:
    >>> parse_impressions("N1-1 N2-0 N3-0")
    (['N1'], ['N2', 'N3'])
    >>> parse_mind_time("11/15/2019 8:55:22 AM")
    1573808122
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from recgen.data.canonical import DataError, Event, Item, MalformedRowReport
from recgen.data.formats.rows import RowError, convert_rows, expect_fields, parse_id
from recgen.data.lines import separated_rows

BEHAVIORS, NEWS = "behaviors.tsv", "news.tsv"
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"


def _is_split(folder: Path) -> bool:
    return (folder / BEHAVIORS).is_file() and (folder / NEWS).is_file()


def split_folders(path: Path) -> List[Path]:
    """The MIND split folders under ``path``, in reading order (train before dev); [] when none."""
    folder = path if path.is_dir() else path.parent
    if _is_split(folder):
        return [folder]
    children = [child for child in sorted(folder.iterdir()) if child.is_dir() and _is_split(child)]
    train = [child for child in children if "train" in child.name.lower()]
    dev = [child for child in children if "dev" in child.name.lower() and child not in train]
    return train + dev


def is_mind_folder(path: Path) -> bool:
    return path.is_dir() and bool(split_folders(path))


def _folders(path: Path) -> List[Path]:
    folders = split_folders(path)
    if not folders:
        raise DataError(f"{path}: no MIND split here (a folder with {BEHAVIORS} and {NEWS}, or "
                        f"*train* / *dev* folders holding them)")
    return folders


def parse_mind_time(text: str) -> int:
    """Unix seconds of a MIND time, e.g. ``11/15/2019 8:55:22 AM`` (UTC)."""
    try:
        moment = datetime.datetime.strptime(text.strip(), TIME_FORMAT)
    except ValueError:
        raise RowError(f"field 'time' is not MM/DD/YYYY hh:mm:ss AM/PM: {text!r}") from None
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp())


def parse_impressions(text: str) -> Tuple[List[str], List[str]]:
    """``(clicked, not_clicked)`` news ids of an impression list, each in list order."""
    clicked, shown = [], []
    for token in text.split():
        news, _, label = token.rpartition("-")
        if not news or label not in ("0", "1"):
            raise RowError(f"field 'impressions': {token!r} is not <news id>-1 or <news id>-0")
        (clicked if label == "1" else shown).append(news)
    return clicked, shown


def _behavior(fields: List[str]) -> Tuple[str, int, List[str], List[str], List[str]]:
    """``(user, time, history, clicked, not_clicked)`` of one behaviors.tsv row."""
    expect_fields(fields, 5, "impression id, user id, time, history, impressions")
    parse_id(fields[0], "impression id")
    clicked, shown = parse_impressions(fields[4])
    return parse_id(fields[1], "user id"), parse_mind_time(fields[2]), fields[3].split(), clicked, shown


def _first_impression_times(folders: List[Path]) -> Dict[str, int]:
    """Each user's earliest impression time; malformed rows are left to the reading pass to report."""
    first: Dict[str, int] = {}
    ignored = MalformedRowReport()
    for folder in folders:
        for user, time, *_ in convert_rows(separated_rows(folder / BEHAVIORS, ignored, "\t"), folder / BEHAVIORS,
                                           ignored, _behavior, "\t"):
            first[user] = min(time, first.get(user, time))
    return first


def read_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    folders = _folders(path)
    first_time = _first_impression_times(folders)
    with_history: Set[str] = set()
    for folder in folders:
        rows = separated_rows(folder / BEHAVIORS, report, "\t")
        for user, time, history, clicked, shown in convert_rows(rows, folder / BEHAVIORS, report, _behavior, "\t"):
            if user not in with_history:
                with_history.add(user)
                start = first_time[user] - len(history)
                yield from (Event(user, news, start + n) for n, news in enumerate(history))
            yield from (Event(user, news, time, impression_item_ids=tuple(shown)) for news in clicked)


def _article(fields: List[str]) -> Item:
    expect_fields(fields, 4, "news id, category, subcategory, title")
    categories = tuple(dict.fromkeys(c.strip() for c in fields[1:3] if c.strip()))
    abstract = fields[4].strip() if len(fields) > 4 else ""
    return Item(parse_id(fields[0], "news id"), fields[3].strip(), categories, abstract)


def read_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    seen: Set[str] = set()
    for folder in _folders(path):
        rows = separated_rows(folder / NEWS, report, "\t")
        for item in convert_rows(rows, folder / NEWS, report, _article, "\t"):
            if item.item_id not in seen:  # the train and dev splits repeat most articles
                seen.add(item.item_id)
                yield item
