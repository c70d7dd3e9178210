"""The user event RecGen's service records, as every layer that handles one sees it.

Example:
    >>> event = StoredEvent("e1", "u1", "i9", 1700000000, "click")
    >>> check_same(event, StoredEvent("e1", "u1", "i9", 1700000000, "click")) == event
    True
"""
import dataclasses

CONTENT_FIELDS = ("user_id", "item_id", "timestamp", "event_type", "text")


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    """One user event; ``sequence`` is its place in the store's log (0: imported, not logged)."""
    event_id: str
    user_id: str
    item_id: str
    timestamp: int
    event_type: str
    text: str = ""
    sequence: int = 0


class EventConflict(ValueError):
    """An event id recorded again with different content."""


def check_same(stored: StoredEvent, event: StoredEvent, timestamp_assigned: bool = False) -> StoredEvent:
    """Returns ``stored`` when ``event`` has the same content, else raises EventConflict.

    ``timestamp_assigned``: the service gave ``event`` its timestamp (the client sent none), so a
    retry matches whatever time the first call was given."""
    for field in CONTENT_FIELDS:
        if field == "timestamp" and timestamp_assigned:
            continue
        if getattr(stored, field) != getattr(event, field):
            raise EventConflict(f"event {event.event_id!r} is already stored with {field}="
                                f"{getattr(stored, field)!r}, not {getattr(event, field)!r}")
    return stored
