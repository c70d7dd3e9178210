"""Reading source files line by line, with line numbers, per-line decoding and .gz support.

Decoding is per line so that one wrongly encoded row is reported and skipped
instead of failing the whole file; a truncated .gz stream is reported the same
way after every complete line before it has been kept.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "events.txt"
    >>> _ = path.write_bytes(b"first\\n\\nthird \\xff\\nfourth\\n")  # line 3 is not UTF-8
    >>> report = MalformedRowReport()
    >>> list(numbered_lines(path, report)), report.malformed
    ([(1, 'first'), (4, 'fourth')], 1)
"""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from recgen.data.canonical import DataError, MalformedRowReport

UTF8 = "utf-8"
# MovieLens 100K/1M/10M ship Latin-1 files; newer copies are sometimes re-encoded as
# UTF-8. Trying UTF-8 first and falling back to Latin-1 reads both correctly.
UTF8_OR_LATIN1 = "utf-8|latin-1"


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _decode(raw: bytes, encoding: str) -> str:
    if encoding == UTF8_OR_LATIN1:
        try:
            return raw.decode(UTF8)
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return raw.decode(encoding)


def numbered_lines(path: Path, report: MalformedRowReport, encoding: str = UTF8,
                   data: Optional[bytes] = None, first_line: int = 1) -> Iterator[Tuple[int, str]]:
    """Yields ``(line_number, text)`` for every non-blank line, line numbers from ``first_line``.

    ``data``: the bytes of a range of whole lines of ``path`` (``recgen.data.shards``) to read
    instead of the file. Lines that do not decode, and a compressed stream that ends early,
    are counted in ``report`` with the file name and line number.
    """
    if data is None and not path.is_file():
        raise DataError(f"{path}: no such file")
    number = first_line - 1
    with (_open_binary(path) if data is None else io.BytesIO(data)) as stream:
        try:
            for raw in stream:
                number += 1
                try:
                    text = _decode(raw, encoding).rstrip("\r\n")
                except UnicodeDecodeError as error:
                    report.reject(str(path), number, f"not valid {encoding}: {error.reason} "
                                  f"at byte {error.start}", raw.decode("latin-1").rstrip())
                    continue
                if text.strip():
                    yield number, text
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            report.reject(str(path), number + 1,
                          f"compressed file is truncated or corrupt after line {number}: {error}")


class _LineTracker:
    """Feeds decoded lines to ``csv.reader`` and remembers the number of the last one."""

    def __init__(self, lines: Iterator[Tuple[int, str]]):
        self._lines = lines
        self.last = 0

    def __iter__(self):
        for number, text in self._lines:
            self.last = number
            yield text


def csv_rows(path: Path, report: MalformedRowReport, delimiter: str = ",", encoding: str = UTF8,
             lines: Optional[Iterator[Tuple[int, str]]] = None) -> Iterator[Tuple[int, List[str]]]:
    """Yields ``(line_number, fields)`` of a CSV file (or of its ``lines``), quoted fields and
    multi-line values included."""
    tracker = _LineTracker(lines if lines is not None else numbered_lines(path, report, encoding))
    reader = csv.reader(tracker, delimiter=delimiter, strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.reject(str(path), tracker.last, f"unparseable CSV: {error}")
            continue
        yield tracker.last, fields


def separated_rows(path: Path, report: MalformedRowReport, separator: str,
                   encoding: str = UTF8) -> Iterator[Tuple[int, List[str]]]:
    """Yields ``(line_number, fields)`` of an unquoted separated file such as ``u.data`` or ``ratings.dat``."""
    for number, text in numbered_lines(path, report, encoding):
        yield number, text.split(separator)


def read_header(path: Path) -> List[str]:
    """The first line of a (possibly gzipped) CSV file as a list of column names."""
    with _open_binary(path) as stream:
        first = stream.readline().decode(UTF8, errors="replace")
    return next(csv.reader(io.StringIO(first)), [])
