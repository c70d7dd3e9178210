"""Data ingestion: every supported source format read into one canonical form.

The canonical form (``recgen.data.canonical``) is what the rest of RecGen sees:

- events: ``Event(user_id, item_id, timestamp, rating, text, summary, impression_item_ids)``
- items: ``Item(item_id, title, categories, description)``

``open_source(path, format=None)`` detects the format and returns a ``Source``
whose ``events()`` and ``items()`` stream canonical records while counting
malformed rows in a ``MalformedRowReport``.
"""
from recgen.data.canonical import (DataAnomaliesError, DataError, Event, Item, MalformedDataError,
                                   MalformedRowReport)
from recgen.data.sources import FORMATS, Source, detect_format, open_source

__all__ = [
    "DataAnomaliesError", "DataError", "Event", "Item", "MalformedDataError", "MalformedRowReport",
    "FORMATS", "Source", "detect_format", "open_source",
]
