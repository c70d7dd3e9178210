"""The canonical records every format adapter produces, and the malformed-row report.

Example:
    >>> report = MalformedRowReport()
    >>> report.accept()
    >>> report.reject("ratings.csv", 7, "timestamp 'abc' is not a number", "1,2,4.0,abc")
    >>> report.malformed, report.total_rows
    (1, 2)
"""
from __future__ import annotations

import dataclasses
from typing import List, NamedTuple, Optional, Tuple

from recgen.contracts.errors import DataError

DEFAULT_MAX_MALFORMED_FRACTION = 0.001  # the error budget: 0.1 % of rows


class MalformedDataError(DataError):
    """More malformed rows than the error budget allows."""


class DataAnomaliesError(DataError):
    """Data validation (ExampleValidator) found anomalies; the message names each one."""


class Event(NamedTuple):
    """One interaction. ``timestamp`` is in Unix seconds; optional fields are None when absent.

    ``impression_item_ids``: for a click in an impression log (MIND), the items shown beside it
    in that impression and not clicked; empty for every other source.
    """

    user_id: str
    item_id: str
    timestamp: int
    rating: Optional[float] = None
    text: Optional[str] = None
    summary: Optional[str] = None
    impression_item_ids: Tuple[str, ...] = ()


class Item(NamedTuple):
    """One catalog item's content features."""

    item_id: str
    title: str = ""
    categories: Tuple[str, ...] = ()
    description: str = ""


@dataclasses.dataclass
class BadRow:
    """Where a malformed row is and why it was rejected."""

    file: str
    line: int
    reason: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason} (row: {self.excerpt!r})"


@dataclasses.dataclass
class MalformedRowReport:
    """Counts accepted and malformed rows; keeps the first few bad rows for the error message."""

    accepted: int = 0
    malformed: int = 0
    first_bad_rows: List[BadRow] = dataclasses.field(default_factory=list)
    keep: int = 10

    @property
    def total_rows(self) -> int:
        return self.accepted + self.malformed

    def accept(self) -> None:
        self.accepted += 1

    def reject(self, file: str, line: int, reason: str, row: str = "") -> None:
        self.malformed += 1
        if len(self.first_bad_rows) < self.keep:
            self.first_bad_rows.append(BadRow(file, line, reason, row[:120]))

    def describe(self, limit: int = 5) -> str:
        """One line per bad row, for logs and error messages."""
        lines = [f"{self.malformed} malformed row(s) of {self.total_rows}"]
        lines += [f"  {row}" for row in self.first_bad_rows[:limit]]
        return "\n".join(lines)

    def check_budget(self, max_fraction: float = DEFAULT_MAX_MALFORMED_FRACTION) -> None:
        """Raises ``MalformedDataError`` naming the first bad rows when over budget."""
        if self.total_rows and self.malformed > max_fraction * self.total_rows:
            raise MalformedDataError(
                f"too many malformed rows: {self.malformed} of {self.total_rows} "
                f"({self.malformed / self.total_rows:.3%}) exceeds the error budget of "
                f"{max_fraction:.3%}; first bad rows:\n{self.describe()}")

    def to_dict(self) -> dict:
        return {"accepted_rows": self.accepted, "malformed_rows": self.malformed,
                "first_bad_rows": [dataclasses.asdict(row) for row in self.first_bad_rows]}
