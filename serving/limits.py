"""Bounds on what the recommendation service accepts, and the checks that enforce them.

Every check raises ``ServingError(INVALID_ARGUMENT)`` naming the field, the value's size and
the bound.

Example:
    >>> ServiceLimits().check_k(0)
    Traceback (most recent call last):
    ...
    serving.errors.ServingError: k must be 1..100, got 0
"""
from __future__ import annotations

import dataclasses
import re

from serving.errors import invalid

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class ServiceLimits:
    max_k: int = 100  # the retrieval model's recommend_examples returns 100 candidates
    max_recent_events: int = 50
    default_history_page: int = 50  # GetHistory's events when the request sets no limit
    max_seen_items: int = 1000  # stored items excluded from a recommendation
    max_id_chars: int = 128
    max_event_type_chars: int = 32
    max_text_chars: int = 2000
    max_explain: int = 10
    max_history_page: int = 1000
    future_tolerance_s: int = 86_400  # timestamps this far ahead of the server clock are refused

    @staticmethod
    def check_range(field: str, value, low, high):
        """``value`` when ``low <= value <= high`` (NaN is not); INVALID_ARGUMENT otherwise."""
        if not low <= value <= high:
            raise invalid(f"{field} must be {low}..{high}, got {value}")
        return value

    def check_k(self, k: int) -> int:
        return self.check_range("k", k, 1, self.max_k)

    def check_id(self, field: str, value: str) -> str:
        if not value or not value.strip():
            raise invalid(f"{field} is required")
        if len(value) > self.max_id_chars:
            raise invalid(f"{field} has {len(value)} characters, more than {self.max_id_chars}")
        return value

    def check_event(self, field: str, event, now: float) -> None:
        """An event's ids, type, text and time; ``event.timestamp`` 0 means now."""
        self.check_id(f"{field}.user_id", event.user_id)
        self.check_id(f"{field}.item_id", event.item_id)
        if len(event.type) > self.max_event_type_chars or not _EVENT_TYPE.match(event.type):
            raise invalid(f"{field}.type {event.type[:40]!r} must be 1-{self.max_event_type_chars} lowercase "
                          "letters, digits or '_' (e.g. view, click, purchase)")
        if len(event.text) > self.max_text_chars:
            raise invalid(f"{field}.text has {len(event.text)} characters, more than {self.max_text_chars}")
        if event.timestamp < 0 or event.timestamp > now + self.future_tolerance_s:
            raise invalid(f"{field}.timestamp {event.timestamp} is not a Unix time in seconds up to "
                          f"{self.future_tolerance_s} s from now")

    def check_count(self, field: str, count: int, bound: int) -> None:
        if count > bound:
            raise invalid(f"{field} has {count} entries, more than {bound}")
