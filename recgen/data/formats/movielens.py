"""MovieLens in its three layouts, read into canonical events and items.

- ``csv``: latest-small, 20M, 25M, 32M: ``ratings.csv``, ``movies.csv``, optional ``tags.csv``.
  A user's tags of a movie they rated become that event's ``summary`` (their words about it).
- ``100k``: ``u.data`` (tab separated), ``u.item`` (``|`` separated, Latin-1, 19 genre flags).
- ``dat``: 1M and 10M: ``ratings.dat`` and ``movies.dat`` (``::`` separated, Latin-1).

``u.user`` and ``users.dat`` hold demographics, which the canonical form does not carry.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from recgen.data.canonical import Event, Item, MalformedRowReport
from recgen.data.formats.rows import (RowError, convert_rows, expect_fields, parse_id,
                                      parse_rating, parse_timestamp)
from recgen.data.lines import UTF8_OR_LATIN1, csv_rows, separated_rows

ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western")
NO_GENRES = "(no genres listed)"


def rating_event(fields: List[str]) -> Event:
    expect_fields(fields, 4, "user, item, rating, timestamp")
    return Event(parse_id(fields[0], "userId"), parse_id(fields[1], "movieId"),
                 parse_timestamp(fields[3]), parse_rating(fields[2]))


def _split_genres(text: str) -> Tuple[str, ...]:
    return tuple(g for g in text.strip().split("|") if g and g != NO_GENRES)


def _skip_header(rows: Iterator[Tuple[int, List[str]]], first_column: str):
    for line, fields in rows:
        if line == 1 and fields and fields[0].strip() == first_column:
            continue
        yield line, fields


# --- MovieLens CSV (latest-small, 20M, 25M, 32M) ---------------------------------------------

def tags_by_rating(folder: Path, report: MalformedRowReport) -> Dict[Tuple[str, str], List[str]]:
    tags_path = folder / "tags.csv"
    tags: Dict[Tuple[str, str], List[str]] = defaultdict(list)
    if not tags_path.is_file():
        return tags

    def convert(fields):
        expect_fields(fields, 3, "userId, movieId, tag")
        return parse_id(fields[0], "userId"), parse_id(fields[1], "movieId"), fields[2].strip()

    rows = _skip_header(csv_rows(tags_path, report), "userId")
    for user, movie, tag in convert_rows(rows, tags_path, report, convert):
        if tag:
            tags[(user, movie)].append(tag)
    return tags


def ratings_file(path: Path) -> Path:
    return path / "ratings.csv" if path.is_dir() else path


def read_csv_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    ratings = ratings_file(path)
    tags = tags_by_rating(ratings.parent, report)
    rows = _skip_header(csv_rows(ratings, report), "userId")
    for event in convert_rows(rows, ratings, report, rating_event):
        words = tags.get((event.user_id, event.item_id))
        yield event._replace(summary=", ".join(words)) if words else event


def _movie_item(fields: List[str]) -> Item:
    """``id, title, genres`` as in movies.csv and movies.dat."""
    expect_fields(fields, 3, "movie id, title, genres")
    return Item(parse_id(fields[0], "movie id"), fields[1].strip(), _split_genres(fields[2]))


def _sibling(path: Path, name: str) -> Path:
    return (path if path.is_dir() else path.parent) / name


def has_tags(path: Path) -> bool:
    """Whether a tags.csv (the users' words, read as event summaries) is beside the ratings."""
    return _sibling(path, "tags.csv").is_file()


def read_csv_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    movies = _sibling(path, "movies.csv")
    if movies.is_file():
        rows = _skip_header(csv_rows(movies, report), "movieId")
        yield from convert_rows(rows, movies, report, _movie_item)


# --- MovieLens 100K ---------------------------------------------------------------------------

def read_100k_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    data = path / "u.data" if path.is_dir() else path
    yield from convert_rows(separated_rows(data, report, "\t"), data, report, rating_event, "\t")


def read_100k_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    items = _sibling(path, "u.item")
    if not items.is_file():
        return

    def convert(fields):
        expect_fields(fields, 5 + len(ML100K_GENRES), "id, title, dates, URL and 19 genre flags")
        flags = fields[5:5 + len(ML100K_GENRES)]
        if any(flag not in ("0", "1") for flag in flags):
            raise RowError(f"genre flags must be 0 or 1, found {'|'.join(flags)!r}")
        genres = tuple(g for g, flag in zip(ML100K_GENRES, flags) if flag == "1" and g != "unknown")
        return Item(parse_id(fields[0], "movie id"), fields[1].strip(), genres)

    rows = separated_rows(items, report, "|", UTF8_OR_LATIN1)
    yield from convert_rows(rows, items, report, convert, "|")


# --- MovieLens 1M / 10M -----------------------------------------------------------------------

def read_dat_events(path: Path, report: MalformedRowReport) -> Iterator[Event]:
    data = path / "ratings.dat" if path.is_dir() else path
    rows = separated_rows(data, report, "::", UTF8_OR_LATIN1)
    yield from convert_rows(rows, data, report, rating_event, "::")


def read_dat_items(path: Path, report: MalformedRowReport) -> Iterator[Item]:
    movies = _sibling(path, "movies.dat")
    if movies.is_file():
        rows = separated_rows(movies, report, "::", UTF8_OR_LATIN1)
        yield from convert_rows(rows, movies, report, _movie_item, "::")
