"""Field parsers shared by the format adapters, and the loop that counts malformed rows.

A converter turns one row's fields into a canonical record or raises ``RowError``
with a reason that names the field; ``convert_rows`` reports those rows with file
and line and keeps going.

Example:
    >>> parse_timestamp("2014-02-28T00:00:00Z")
    1393545600
"""
from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

from recgen.data.canonical import MalformedRowReport

Record = TypeVar("Record")


class RowError(ValueError):
    """One row cannot be converted; the message names the field and the bad value."""


def expect_fields(fields: Sequence[str], count: int, names: str) -> None:
    if len(fields) < count:
        raise RowError(f"expected {count} fields ({names}), found {len(fields)}")


def parse_id(value, field: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise RowError(f"field '{field}' is empty")
    return text


def parse_timestamp(value, field: str = "timestamp") -> int:
    """Unix seconds from an integer, a float, or an ISO 8601 date-time (UTC when no zone is given)."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise RowError(f"field '{field}' is empty")
    try:
        number = float(text)
    except ValueError:
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RowError(f"field '{field}' is not a Unix time or ISO 8601 date: {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return int(moment.timestamp())
    if not math.isfinite(number):
        raise RowError(f"field '{field}' is not a finite number: {text!r}")
    return int(number)


def parse_rating(value, field: str = "rating") -> Optional[float]:
    """A finite float, or None when the field is absent or empty."""
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"field '{field}' is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise RowError(f"field '{field}' is not a finite number: {value!r}")
    return number


def optional_text(value) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def convert_rows(rows: Iterable[Tuple[int, Union[str, List[str]]]], path: Path,
                 report: MalformedRowReport, convert: Callable[..., Record],
                 separator: str = ",") -> Iterator[Record]:
    """Applies ``convert`` to every row (a line or its fields); bad rows are counted with file
    and line, good ones yielded."""
    for line, row in rows:
        try:
            record = convert(row)
        except RowError as error:
            excerpt = row if isinstance(row, str) else separator.join(map(str, row))
            report.reject(str(path), line, str(error), excerpt)
            continue
        report.accept()
        yield record
